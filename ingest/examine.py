"""Everything ingest learns about one recording file, computed without touching the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.audio import AUDIO_EXTENSIONS, AudioInfo, inspect_audio
from ingest.errors import IngestError
from ingest.filenames import parse_recording_name
from ingest.fingerprint import sha256_file
from ingest.validate import Rejection, ValidationOptions, validate_audio


@dataclass
class FileIdentity:
    """A file's content identity: path, size and sha256."""

    path: str
    size_bytes: int
    sha256: str


@dataclass
class RecordingFacts:
    """The outcome of examining one recording: its audio facts, or why it was rejected."""

    identity: FileIdentity
    uniqueid_hint: str | None
    audio: AudioInfo | None
    rejection: Rejection | None


def find_recordings(directory: Path) -> Iterator[Path]:
    """Audio files under `directory` (recursively, in a stable order), by extension."""
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
            yield path


def identify(path: Path) -> FileIdentity:
    """Size and sha256 of a file (cheap: no decoding)."""
    return FileIdentity(str(path), path.stat().st_size, sha256_file(path))


def examine_recording(
    identity: FileIdentity, options: ValidationOptions | None = None, raw_sample_rate: int | None = None
) -> RecordingFacts:
    """Decode and validate one file; never raises for bad audio, returns the rejection instead."""
    path = Path(identity.path)
    name = parse_recording_name(path)
    hint = name.uniqueid if name else None
    if identity.size_bytes == 0:
        return RecordingFacts(identity, hint, None, Rejection("empty", "empty file (0 bytes)"))
    try:
        info = inspect_audio(path, raw_sample_rate)
    except IngestError as e:
        return RecordingFacts(identity, hint, None, Rejection(e.code, e.message))
    except (OSError, ValueError, RuntimeError) as e:
        # Defensive: a decoder failure we did not foresee still becomes a rejection, not a crash.
        return RecordingFacts(
            identity, hint, None, Rejection("not_audio", f"{path.name}: cannot decode ({e})")
        )
    return RecordingFacts(identity, hint, info, validate_audio(info, options))
