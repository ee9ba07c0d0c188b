"""The first stage: per-channel level, activity and clipping of a recording (ingest/quality.py)."""

from __future__ import annotations

from ingest.quality import AudioQuality
from pipeline.stages.base import Stage, StageError, StageInput


def _audio_quality(job: StageInput) -> AudioQuality:
    from ingest.errors import IngestError
    from ingest.quality import recording_quality

    try:
        return recording_quality(job.path)
    except IngestError as e:
        raise StageError(e.message, permanent=True) from e
    except FileNotFoundError as e:
        raise StageError(f"{job.path}: the recording is no longer there", permanent=False) from e


# 2: each channel's quiet at the end (`quiet_at_end`: a recording cut off mid-speech)
AUDIO_QUALITY = Stage(name="audio_quality", version="2", run=_audio_quality, result_type=AudioQuality)
