"""Pipeline stages of the speech layer: transcription, who spoke (channels or diarization), roles, metrics."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from sqlalchemy import Connection

from diarization.attribution import attribute_mono, attribute_stereo
from diarization.metrics import conversation_metrics
from pipeline.stages.base import Stage, StageError, StageInput
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


def diarization_options(options: dict):
    """DiarizationOptions from the run's settings."""
    from diarization import DiarizationOptions

    return DiarizationOptions(**options.get("diarization", {}))


def transcribe(job: StageInput) -> dict:
    """Transcribe a recording and say who spoke: stereo per channel (one party each), mono by diarization."""
    from asr import normalise_numbers
    from diarization import diarize
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
    result = dataclasses.asdict(transcript)
    if audio.shape[0] == 2:
        channel_map = channel_roles(2, job.options.get("operator_channel", "left"))
        roles = attribute_stereo(result["utterances"], channel_map)
        result["layout"], result["speakers"] = "stereo", 2
    else:
        options = diarization_options(job.options)
        try:
            who = diarize(audio[0], options)
        except (ModelError, RuntimeError) as e:  # a missing encoder or pyannote pipeline: fix and rerun
            raise StageError(f"diarization: {e}", permanent=False) from e
        result["utterances"], roles = attribute_mono(
            result["utterances"], who, job.voiceprints, options, normalise_numbers
        )
        result["layout"], result["speakers"] = "mono", len(who.speakers)
        overlap = round(sum(end - start for start, end in who.overlaps()), 3)
        result["diarization"] = {"backend": who.backend, "overlap_seconds": overlap}
    result["roles_from"], result["roles_confidence"] = roles.method, roles.confidence
    speech = [SimpleNamespace(**u) for u in result["utterances"]]
    metrics = conversation_metrics(speech, transcript.duration, [len(u.words) for u in speech])
    result["metrics"] = dataclasses.asdict(metrics)
    return result


def _persist(conn: Connection, stage: Stage, recording_id: int, result: dict) -> None:
    from classifiers.text import stems

    for utterance in result["utterances"]:
        utterance["search_text"] = " ".join(stems(utterance.get("normalized_text") or utterance["text"]))
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
    versioned_by=lambda options: f"{asr_options(options).model}+{diarization_options(options).backend}",
    uses_voiceprints=True,
)
