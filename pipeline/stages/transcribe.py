"""Pipeline stages of the speech layer: transcription, who spoke (channels or diarization), roles, metrics."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from asr import AsrOptions, model_name
from contracts.serialise import from_json
from diarization import DiarizationOptions, DiarizationSummary, TranscribeResult
from diarization.attribution import attribute_mono, attribute_stereo
from diarization.metrics import conversation_metrics
from pipeline.config import StageOptions
from pipeline.stages.base import Stage, StageError, StageInput
from store.results import save_stage_result
from store.speech import replace_transcript

if TYPE_CHECKING:
    from classifiers.profile import SiteProfile

_TRANSCRIBERS: dict = {}


def asr_options(options: StageOptions) -> AsrOptions:
    """The run's AsrOptions (`language = "auto"` means detect); without a prompt of its own, the decoder
    is told the site's company and product names from the site profile, so it writes them as they are
    spelled instead of as the nearest common words."""
    asr = options.asr
    if asr.language in ("auto", ""):
        asr = dataclasses.replace(asr, language=None)
    if not asr.initial_prompt and not asr.hotwords and options.analytics.profile:
        asr = dataclasses.replace(asr, initial_prompt=_profile_prompt(options.analytics.profile))
    return asr


def _profile_prompt(path: str) -> str:
    return _profile(path).decoder_prompt()


def _profile(path: str) -> SiteProfile:
    """The site profile; a broken one stops the stage (no call can be transcribed as configured)."""
    from classifiers.profile import load_profile
    from classifiers.taxonomy import ConfigFileError

    try:
        return load_profile(Path(path))
    except (ConfigFileError, OSError) as e:
        raise StageError(f"site profile: {e}", configuration=True) from e


def site_cues(options: StageOptions) -> Callable[[str], set[str]] | None:
    """Which of the site profile's company names and script phrase groups an utterance says (None without
    a profile): on a mono line they tell the operator from a caller who opens with the same greeting
    words. The profile is read when a call is transcribed; calls transcribed before a profile edit keep
    their roles."""
    from classifiers.operator_cues import operator_cue_finder

    path = options.analytics.profile
    return operator_cue_finder(_profile(path)) if path else None


def _transcriber(options: StageOptions):
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


def diarization_options(options: StageOptions) -> DiarizationOptions:
    """The run's DiarizationOptions."""
    return options.diarization


def transcribe(job: StageInput) -> TranscribeResult:
    """Transcribe a recording and say who spoke: stereo per channel (one party each), mono by diarization."""
    from asr import normalise_numbers
    from diarization import diarize
    from ingest import IngestError, decode_audio
    from models import ModelError

    try:
        transcriber = _transcriber(job.options)
        cues = site_cues(job.options)
        audio = decode_audio(job.path, split_channels=True)
    except ModelError as e:  # the settings name a model this machine does not have: no call can run
        raise StageError(f"[asr] model: {e}", configuration=True) from e
    except IngestError as e:
        raise StageError(e.message, permanent=True) from e
    quality = job.upstream.get("audio_quality")
    if audio.shape[0] > 1 and quality is not None and quality.identical_channels:
        audio = audio.mean(axis=0, keepdims=True)
    transcript = transcriber.transcribe(audio)
    summary = None
    if audio.shape[0] == 2:
        channel_map = channel_roles(2, job.options.operator_channel)
        utterances, roles = attribute_stereo(transcript.utterances, channel_map)
        layout, speakers = "stereo", 2
    else:
        options = diarization_options(job.options)
        try:
            who = diarize(audio[0], options)
        except ModelError as e:  # a missing encoder or pyannote pipeline: fix the settings and rerun
            raise StageError(f"diarization: {e}", configuration=True) from e
        except RuntimeError as e:
            raise StageError(f"diarization: {e}", permanent=False) from e
        utterances, roles = attribute_mono(
            transcript.utterances, who, job.voiceprints, options, normalise_numbers, cues
        )
        layout, speakers = "mono", len(who.speakers)
        overlap = round(sum(end - start for start, end in who.overlaps()), 3)
        summary = DiarizationSummary(who.backend, overlap)
    metrics = conversation_metrics(utterances, transcript.duration, [len(u.words) for u in utterances])
    return TranscribeResult(
        utterances=utterances,
        language=transcript.language,
        language_probability=transcript.language_probability,
        confidence=transcript.confidence,
        low_confidence=transcript.low_confidence,
        model=transcript.model,
        duration=transcript.duration,
        flags=transcript.flags,
        layout=layout,
        speakers=speakers,
        roles_from=roles.method,
        roles_confidence=roles.confidence,
        metrics=metrics,
        diarization=summary,
        number_readings=transcript.number_readings,
    )


def stored_summary(result: TranscribeResult) -> dict:
    """The stage's stored result: everything but the utterances (kept in their own table), and their count.

    `diarization` is there for mono calls only, as it always was.
    """
    summary = dataclasses.asdict(dataclasses.replace(result, utterances=[]))
    summary["utterances"] = len(result.utterances)
    if summary["diarization"] is None:
        del summary["diarization"]
    return summary


def load_summary(stored: dict) -> TranscribeResult:
    """A stored transcription result, without its utterances (stages that need them get the transcript)."""
    return from_json(TranscribeResult, {**stored, "utterances": []})


def _persist(conn: Connection, stage: Stage, recording_id: int, result: TranscribeResult) -> None:
    from classifiers.text import stems

    rows = []
    for utterance in result.utterances:
        row = dataclasses.asdict(utterance)
        row["search_text"] = " ".join(stems(utterance.normalized_text or utterance.text))
        rows.append(row)
    replace_transcript(conn, recording_id, stage.version, rows)
    save_stage_result(conn, recording_id, stage.name, stage.version, stored_summary(result))


def _version(options: StageOptions) -> str:
    asr = asr_options(options)
    prompt = asr.initial_prompt + "|" + asr.hotwords
    vocabulary = "+v" + hashlib.sha256(prompt.encode()).hexdigest()[:8] if prompt != "|" else ""
    first_pass = "" if asr.recover_speech else "+first-pass"
    one_reading = "" if asr.reread_numbers else "+one-reading"
    return f"{model_name(asr)}+{diarization_options(options).backend}{vocabulary}{first_pass}{one_reading}"


TRANSCRIBE = Stage(
    name="transcribe",
    # 2: lost speech recovered; 3: digits read again; 4: barely heard prompt names dropped;
    # 5: prompt read-backs and decoding loops found whether the decoder writes ё or е;
    # 6: utterance edges where the sound begins and ends; prompt names recovery writes out dropped;
    # 7: a mono call's operator is who speaks the site profile's script;
    # 8: a mono call's speaker labels do not flicker inside a stretch of speech (diarization switch_penalty)
    version="8",
    run=transcribe,
    depends_on=("audio_quality",),
    persist=_persist,
    versioned_by=_version,
    uses_voiceprints=True,
    result_type=TranscribeResult,
    load=load_summary,
)
