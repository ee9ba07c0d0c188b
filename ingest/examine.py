"""Everything ingest learns about one recording file, computed without touching the store."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.audio import AUDIO_EXTENSIONS, AudioInfo, inspect_audio
from ingest.errors import IngestError
from ingest.filenames import parse_recording_name
from ingest.fingerprint import sha256_file
from ingest.records import RowProblem
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


@dataclass
class RecordingScan:
    """Audio files found under a folder, and what could not be looked at (with the path and why)."""

    paths: list[Path] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def scan_recordings(directory: Path) -> RecordingScan:
    """Audio files under `directory`, by extension, in a stable order; never raises for what it meets.

    Linked folders are followed once (a link back to a folder being scanned is a loop); unreadable
    folders, unreadable audio files, dangling links and link loops are reported, not skipped silently.
    """
    scan = RecordingScan()
    try:
        root = Path(os.path.realpath(directory))
    except (OSError, RuntimeError) as e:
        scan.problems.append(RowProblem(str(directory), None, "unreadable_folder", f"cannot resolve ({e})"))
        return scan
    _scan_folder(Path(directory), (root,), set(), scan)
    scan.paths.sort()
    return scan


def _scan_folder(folder: Path, ancestors: tuple[Path, ...], seen: set[Path], scan: RecordingScan) -> None:
    seen.add(ancestors[-1])
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        scan.problems.append(
            RowProblem(
                str(folder), None, "unreadable_folder", f"cannot list this folder ({_why(e)}); skipped"
            )
        )
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_link = entry.is_symlink()
            if is_link and not os.path.exists(path):
                _report_link(path, scan)
                continue
            if entry.is_dir():
                real = Path(os.path.realpath(path))
                if real in ancestors:
                    scan.problems.append(
                        RowProblem(
                            str(path),
                            None,
                            "symlink_loop",
                            f"links back to {real}, a folder above it; skipped",
                        )
                    )
                elif real not in seen:
                    _scan_folder(path, (*ancestors, real), seen, scan)
                continue
            if not entry.is_file() or path.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
        except OSError as e:
            scan.problems.append(
                RowProblem(str(path), None, "unreadable_file", f"cannot look at it ({_why(e)})")
            )
            continue
        if not os.access(path, os.R_OK):
            scan.problems.append(
                RowProblem(
                    str(path), None, "unreadable_file", "no permission to read this recording; skipped"
                )
            )
            continue
        scan.paths.append(path)


def _report_link(path: Path, scan: RecordingScan) -> None:
    """A link whose target cannot be reached: a loop of links, or a target that is gone."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            scan.problems.append(RowProblem(str(path), None, "symlink_loop", "a loop of links; skipped"))
            return
    target = os.readlink(path) if os.path.islink(path) else "?"
    scan.problems.append(
        RowProblem(str(path), None, "dangling_link", f"a link to {target}, which does not exist; skipped")
    )


def _why(error: OSError) -> str:
    return error.strerror or str(error)


def find_recordings(directory: Path) -> Iterator[Path]:
    """Audio files under `directory` (recursively, in a stable order), by extension (see `scan_recordings`
    for what could not be looked at)."""
    yield from scan_recordings(directory).paths


def identify(path: Path) -> FileIdentity:
    """Size and sha256 of a file (cheap: no decoding)."""
    return FileIdentity(str(path), path.stat().st_size, sha256_file(path))


def try_identify(path: Path) -> FileIdentity | RowProblem:
    """`identify`, or the problem (path and why) when the file cannot be read."""
    try:
        return identify(path)
    except OSError as e:
        code = "unreadable_file" if os.path.exists(path) else "missing_file"
        return RowProblem(str(path), None, code, f"cannot read this recording ({_why(e)}); skipped")


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
