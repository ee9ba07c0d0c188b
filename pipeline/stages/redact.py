"""The redaction stage: a copy of the recording with spoken card numbers and CVV codes muted.

Listeners other than admins only ever get this copy (`store.api.call_audio`), so it is made once, when
the call is processed, not on every play. A recording with nothing to mute needs no copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.stages.base import Stage, StageError, StageInput

DEFAULT_FOLDER = "callqa-redacted"


@dataclass
class RedactResult:
    """Where the audio to play lives (`path`) and how many spans were muted; `path` is the recording
    itself when there was nothing to mute."""

    path: str
    muted: int
    redacted: bool


def redacted_folder(options: dict) -> Path:
    """The configured folder for redacted copies (`redaction.folder`), relative to the working directory."""
    return Path((options.get("redaction") or {}).get("folder") or DEFAULT_FOLDER)


def redact(job: StageInput) -> RedactResult:
    """Mute the card numbers said in one transcribed recording."""
    from ingest import IngestError
    from pipeline.redaction import transcript_spans, write_redacted

    spans = transcript_spans(job.transcript)
    if not spans:
        return RedactResult(path=job.path, muted=0, redacted=False)
    digest = hashlib.sha256(job.path.encode()).hexdigest()[:8]
    out = redacted_folder(job.options).resolve() / f"{job.recording_id}-{Path(job.path).stem}-{digest}.wav"
    try:
        write_redacted(job.path, spans, out)
    except IngestError as e:
        raise StageError(e.message, permanent=True) from e
    except OSError as e:
        raise StageError(f"{out}: cannot write the redacted copy ({e.strerror})", permanent=False) from e
    return RedactResult(path=str(out), muted=len(spans), redacted=True)


REDACT = Stage(
    name="redact",
    version="1",
    run=redact,
    depends_on=("transcribe",),
    versioned_by=lambda options: str(redacted_folder(options)),
    uses_transcript=True,
)
