"""Pipeline stages of the speech layer: transcription (and, through the channel map, roles)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from sqlalchemy import Connection

from diarization.metrics import conversation_metrics
from pipeline.stage_types import Stage, StageError, StageInput
from store.results import save_stage_result
from store.speech import replace_transcript

_TRANSCRIBERS: dict = {}


def asr_options(options: dict):
    """AsrOptions from the run's settings (`language = "auto"` means detect)."""
    from asr import AsrOptions

    values = dict(options.get("asr", {}))
    if values.get("language") in ("auto", ""):
        values["language"] = None
    return AsrOptions(**values)


def _transcriber(options: dict):
    """One Transcriber (and so one loaded model) per worker process and settings."""
    from asr import Transcriber

    asr = asr_options(options)
    key = repr(asr)
    if key not in _TRANSCRIBERS:
        _TRANSCRIBERS[key] = Transcriber(asr)
    return _TRANSCRIBERS[key]


def channel_roles(channels: int, operator_channel: str) -> dict[int, str]:
    """Roles of a stereo recording's channels from the PBX's channel map (operator left by default)."""
    if channels != 2:
        return {}
    operator = 0 if operator_channel == "left" else 1
    return {operator: "operator", 1 - operator: "customer"}


def transcribe(job: StageInput) -> dict:
    """Transcribe a recording: stereo per channel (one party each), mono or fake stereo as one channel."""
    from ingest import IngestError, decode_audio
    from models import ModelError

    try:
        transcriber = _transcriber(job.options)
        audio = decode_audio(job.path, split_channels=True)
    except ModelError as e:
        raise StageError(str(e), permanent=False) from e
    except IngestError as e:
        raise StageError(e.message, permanent=True) from e
    if audio.shape[0] > 1 and job.upstream.get("audio_quality", {}).get("identical_channels"):
        audio = audio.mean(axis=0, keepdims=True)
    transcript = transcriber.transcribe(audio)
    roles = channel_roles(audio.shape[0], job.options.get("operator_channel", "left"))
    result = dataclasses.asdict(transcript)
    for utterance in result["utterances"]:
        channel = utterance["channel"]
        utterance["role"] = roles.get(channel, "unknown") if channel is not None else "unknown"
        utterance["speaker"] = f"channel-{channel}" if channel is not None else None
    result["layout"] = "stereo" if audio.shape[0] == 2 else "mono"
    speech = [SimpleNamespace(**u) for u in result["utterances"]]
    metrics = conversation_metrics(speech, transcript.duration, [len(u.words) for u in speech])
    result["metrics"] = dataclasses.asdict(metrics)
    result["roles_from"] = "channel_map" if roles else None
    return result


def _persist(conn: Connection, stage: Stage, recording_id: int, result: dict) -> None:
    replace_transcript(conn, recording_id, stage.version, result["utterances"])
    summary = {k: v for k, v in result.items() if k != "utterances"}
    summary["utterances"] = len(result["utterances"])
    save_stage_result(conn, recording_id, stage.name, stage.version, summary)


TRANSCRIBE = Stage(
    name="transcribe",
    version="1",
    run=transcribe,
    depends_on=("audio_quality",),
    persist=_persist,
    versioned_by=lambda options: asr_options(options).model,
)
