"""The redaction stage: a copy of the recording with spoken card numbers and CVV codes muted.

Listeners other than admins only ever get this copy (`store.api.call_audio`), so it is made once, when
the call is processed, not on every play. A recording with nothing to mute needs no copy, unless browsers
cannot play its codec (GSM 06.10 WAV and other telephone codecs): then the stage writes a PCM WAV copy to
play, for everyone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from pipeline.config import StageOptions
from pipeline.stages.base import Stage, StageError, StageInput

DEFAULT_FOLDER = "callqa-redacted"


@dataclass
class RedactResult:
    """Where the audio to play lives (`path`) and how many spans were muted; `path` is the recording
    itself when there was nothing to mute, or its playable copy. `playable`: the unmuted audio as a browser
    plays it (the recording itself, or a PCM WAV copy of a GSM or other telephone-codec file), for those
    allowed the original; "" in results stored before it was kept."""

    path: str
    muted: int
    redacted: bool
    playable: str = ""


def redacted_folder(options: StageOptions) -> Path:
    """The configured folder for redacted copies, relative to the working directory."""
    return Path(options.redaction_folder or DEFAULT_FOLDER)


def redact(job: StageInput) -> RedactResult:
    """Mute the card numbers said in one transcribed recording."""
    from classifiers.redaction import muted_spans
    from ingest import IngestError
    from ingest.encode import write_muted_copy
    from ingest.playback import browser_plays

    transcribed = job.upstream.get("transcribe")
    spans = muted_spans(job.transcript, transcribed.number_readings if transcribed else ())
    digest = hashlib.sha256(job.path.encode()).hexdigest()[:8]
    copy = redacted_folder(job.options).resolve() / f"{job.recording_id}-{Path(job.path).stem}-{digest}"

    def write(out: Path, muted: list[tuple[float, float]]) -> str:
        try:
            write_muted_copy(job.path, muted, out)
        except IngestError as e:
            raise StageError(e.message, permanent=True) from e
        except OSError as e:
            raise StageError(f"{out}: cannot write a copy to play ({e.strerror})", permanent=False) from e
        return str(out)

    playable = job.path if browser_plays(job.path) else write(copy.with_name(f"{copy.name}-play.wav"), [])
    if not spans:
        return RedactResult(path=playable, muted=0, redacted=False, playable=playable)
    return RedactResult(write(copy.with_name(f"{copy.name}.wav"), spans), len(spans), True, playable)


def redact_call_audio(engine: Engine, uniqueid: str, out: Path) -> int:
    """Write a WAV copy of the call's recording with card numbers muted; returns how many spans were muted."""
    from asr.transcribe import Utterance
    from classifiers.redaction import muted_spans
    from contracts.serialise import from_json
    from ingest.encode import write_muted_copy
    from pipeline.stages.transcribe import load_summary
    from store.results import load_stage_results
    from store.speech import call_recording, load_transcript

    with engine.connect() as conn:
        recording = call_recording(conn, uniqueid)
        if recording is None:
            raise LookupError(f"call {uniqueid} has no accepted recording")
        transcript = [from_json(Utterance, u) for u in load_transcript(conn, recording[0])]
        stored = load_stage_results(conn, recording[0]).get("transcribe")
    readings = load_summary(stored).number_readings if stored else []
    spans = muted_spans(transcript, readings)
    write_muted_copy(recording[1], spans, out)
    return len(spans)


REDACT = Stage(
    name="redact",
    version="3",
    run=redact,
    depends_on=("transcribe",),
    versioned_by=lambda options: str(redacted_folder(options)),
    uses_transcript=True,
)
