"""Stage results and options are dataclasses; JSON only at the store, and stored JSON keeps its shape."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
from sqlalchemy import select

from asr import AsrOptions, NumberReading, Utterance, Word
from classifiers import (
    ClassifierSet,
    ClassifyResult,
    RecordFacts,
    classify_call,
    load_checklist,
    load_taxonomy,
)
from contracts.serialise import from_json, to_json
from diarization import ConversationMetrics, DiarizationSummary, TranscribeResult, conversation_metrics
from diarization.attribution import attribute_stereo
from ingest.quality import AudioQuality, ChannelQuality
from pipeline.config import Settings, StageOptions
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import Stage, get_stage, load_upstream, register_stage, registered_stages
from pipeline.stages.transcribe import TRANSCRIBE, load_summary, stored_summary
from simulator.loadgen import speechlike, write_audio
from store import JobQueue
from store.schema import StageResult


def _through_json(value):
    return json.loads(json.dumps(to_json(value)))


def _call() -> list[Utterance]:
    said = [
        (0, 0.5, 3.0, "Здравствуйте, компания Контур, меня зовут Анна.", 0.9),
        (1, 3.5, 7.0, "Мой ИНН 7707083893, номер карты 4276 3800 1234 5678.", 0.8),
        (0, 7.5, 9.0, "Обращение 204817, соединяю с отделом 2050.", 0.85),
    ]
    utterances = []
    for channel, start, end, text, confidence in said:
        words = [Word(start, end, w, confidence) for w in text.split()[:2]]
        utterances.append(Utterance(start, end, text, text, confidence, channel, words))
    named, _ = attribute_stereo(utterances, {0: "operator", 1: "customer"})
    return named


def _transcribed(layout: str = "mono") -> TranscribeResult:
    utterances = _call()
    metrics = conversation_metrics(utterances, 30.0, [len(u.words) for u in utterances])
    metrics.holds = [(9.0, 30.0)]
    return TranscribeResult(
        utterances=utterances,
        language="ru",
        language_probability=1.0,
        confidence=0.85,
        low_confidence=False,
        model="bundled:whisper-base@905e5bf8336b",
        duration=30.0,
        flags=[],
        layout=layout,
        speakers=2,
        roles_from="channel_map" if layout == "stereo" else "greeting",
        roles_confidence=1.0,
        metrics=metrics,
        diarization=DiarizationSummary("builtin", 0.25) if layout == "mono" else None,
        number_readings=[
            NumberReading(4.0, 7.5, None, "2487", ["его номер 204817", "номер 20487"], [-0.4, -0.6])
        ],
    )


def test_a_transcription_result_survives_json():
    result = _transcribed()
    assert isinstance(result.utterances[0].words[0], Word) and isinstance(result.metrics, ConversationMetrics)
    assert from_json(TranscribeResult, _through_json(result)) == result


def test_the_stored_transcription_result_keeps_its_shape_and_reads_back():
    mono, stereo = stored_summary(_transcribed("mono")), stored_summary(_transcribed("stereo"))
    shape = {"language", "language_probability", "confidence", "low_confidence", "model", "duration", "flags",
             "layout", "speakers", "roles_from", "roles_confidence", "metrics", "utterances",
             "number_readings"}  # fmt: skip
    assert set(stereo) == shape and set(mono) == shape | {"diarization"}, "diarization only for mono calls"
    assert mono["utterances"] == 3 and mono["metrics"]["holds"] == [(9.0, 30.0)]
    back = load_summary(json.loads(json.dumps(mono)))
    assert back == dataclasses.replace(_transcribed("mono"), utterances=[]), "utterances live in their table"


def test_a_classification_result_survives_json_and_keeps_its_stored_shape():
    classifiers = ClassifierSet(load_taxonomy(), load_checklist())
    result = classify_call(_call(), RecordFacts(talk_seconds=60.0, duration=60.0), classifiers)
    assert result.said.inn == ["7707083893"] and result.transfer and result.transfer.kind == "spoken"
    assert {p.kind for p in result.pii} >= {"inn", "card"}
    stored = _through_json(result)
    assert set(stored) == {"purpose", "article", "caller_type", "registration", "transfer", "conditions",
                           "compliance", "said", "keywords", "pii", "classifiers_version",
                           "operator_name"}  # fmt: skip
    assert set(stored["said"]) == {"inn", "kpp", "phone", "card", "incident", "fragments", "reread_incident",
                                   "reread_inn"}  # fmt: skip
    assert set(stored["pii"][0]) == {"utterance", "kind", "start", "end"}
    assert from_json(ClassifyResult, stored) == result


def test_an_audio_quality_result_survives_json():
    quality = AudioQuality(12.0, [ChannelQuality(0, -20.0, -3.0, 0.4, 0.0)], 0.2, False, ["one_way_audio"])
    assert from_json(AudioQuality, _through_json(quality)) == quality


def test_results_written_by_an_older_version_still_read():
    stored = {"backend": "builtin", "overlap_seconds": 1.5, "written_by": "an older version"}
    assert from_json(DiarizationSummary, stored) == DiarizationSummary("builtin", 1.5)
    assert from_json(Word, {"start": 1.0, "end": 1.2, "word": "да", "probability": 0.9}).overlap is False


def test_stage_options_are_typed_picklable_and_version_the_stages():
    settings = Settings(db="sqlite://")
    settings.asr.model = "bundled:tiny.en"
    options = settings.stage_options()
    assert isinstance(options, StageOptions) and options.asr == settings.asr
    assert options.asr is not settings.asr, "stages get a copy"
    assert pickle.loads(pickle.dumps(options)) == options
    transcribe = next(s for s in registered_stages(None, options) if s.name == "transcribe")
    assert transcribe.version.startswith(f"{TRANSCRIBE.version}+bundled:tiny.en+builtin@")
    default = next(s for s in registered_stages(None, StageOptions()) if s.name == "transcribe")
    assert default.version != transcribe.version
    auto = StageOptions(asr=AsrOptions(language="auto"))
    from pipeline.stages.transcribe import asr_options

    assert asr_options(auto).language is None and auto.asr.language == "auto", "the options stay as given"


def test_later_stages_receive_earlier_results_typed(engine, tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    talk = speechlike(6, 8000, seed=4, active=np.arange(600) < 550)  # quiet at the end: not cut off
    write_audio(recordings / "fake-stereo.wav", np.stack([talk, talk]), 8000, "pcm")
    ingest(engine, IngestRequest(recordings_dir=recordings), workers=1)
    seen: list = []
    after = Stage("after_quality", "1", lambda job: seen.append(job) or {}, depends_on=("audio_quality",))
    import pipeline.stages as stages

    register_stage(after)
    try:
        summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), [get_stage("audio_quality"), after])
    finally:
        stages._REGISTRY.pop(after.name)
    assert summary.done == 2 and summary.failed == 0
    (job,) = seen
    quality = job.upstream["audio_quality"]
    assert isinstance(quality, AudioQuality) and quality.identical_channels
    assert isinstance(job.options, StageOptions)
    with engine.connect() as conn:
        stored = conn.execute(select(StageResult.result).where(StageResult.stage == "audio_quality")).scalar()
    assert stored["flags"] == ["identical_channels"] and stored["channels"][0]["channel"] == 0
    assert load_upstream(after, {"audio_quality": stored}) == {"audio_quality": quality}
    assert Path(job.path).name == "fake-stereo.wav"
