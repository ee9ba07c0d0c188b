"""The transcription stage in the pipeline: utterances and words stored with roles and the model."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from asr import AsrOptions
from pipeline.config import StageOptions
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import registered_stages
from pipeline.stages.transcribe import TRANSCRIBE
from store import JobQueue
from store.schema import Job, Recording, StageResult, Utterance, Word
from tests.conftest import REPO

DEMO = REPO / "demo"
OPTIONS = StageOptions(asr=AsrOptions(cpu_threads=2), operator_channel="left")


@pytest.mark.slow
def test_transcripts_are_stored_with_roles_and_reprocessed_only_for_a_new_model(engine, tmp_path):
    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    short = [c for c in truth["calls"] if c["recording"] and 20 < c["billsec"] < 40]
    picked = [
        next(c for c in short if c["layout"] == "stereo"),
        next(c for c in short if c["layout"] == "mono"),
    ]
    folder = tmp_path / "recordings"
    folder.mkdir()
    for call in picked:
        shutil.copy(DEMO / call["recording"], folder)
    ingest(
        engine,
        IngestRequest(recordings_dir=folder, cdr=DEMO / "Master.csv"),
        workers=1,
        stage_options=OPTIONS,
    )
    stages = registered_stages(None, OPTIONS)
    summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), stages, options=OPTIONS)
    assert summary.failed == 0 and summary.done == 8, "audio_quality, transcribe, classify, redact for each"

    with engine.connect() as conn:
        rows = conn.execute(
            select(Recording.uniqueid_hint, Utterance.role, Utterance.start, Utterance.end, Utterance.channel)
            .join(Utterance, Utterance.recording_id == Recording.id)
            .order_by(Utterance.recording_id, Utterance.idx)
        ).all()
        words = conn.execute(select(func.count()).select_from(Word)).scalar_one()
        results = list(
            conn.execute(select(StageResult.result).where(StageResult.stage == "transcribe")).scalars()
        )
        speakerless = conn.execute(
            select(func.count()).select_from(Utterance).where(Utterance.speaker.is_(None))
        ).scalar_one()
    result = results[0]
    assert speakerless == 0, "every word has a speaker"
    stereo = [r for r in rows if r.uniqueid_hint == picked[0]["uniqueid"]]
    mono = [r for r in rows if r.uniqueid_hint == picked[1]["uniqueid"]]
    assert {r.role for r in stereo} == {"operator", "customer"}
    assert all(r.role == {0: "operator", 1: "customer"}[r.channel] for r in stereo)
    assert {r.role for r in mono} == {"operator", "customer"}, "mono roles come from diarization"
    assert mono[0].role == "operator", "the operator answers the call"
    assert result_by_layout(results, "mono")["roles_from"] in ("greeting", "voiceprint")
    assert words > 10
    assert result["model"] == "bundled:whisper-base@905e5bf8336b" and result["language"] == "ru"
    for call, found in ((picked[0], stereo), (picked[1], mono)):
        first_said = min(t["start"] for t in call["turns"])
        assert abs(found[0].start - first_said) < 1.0, "timestamps stay where the words were said"

    other = StageOptions(asr=AsrOptions(model="bundled:tiny.en"), operator_channel="left")
    queue = JobQueue(engine)
    added = queue.enqueue_missing([s.key for s in registered_stages(None, other)])
    assert added == 6, "transcription and what depends on it, not audio quality"
    with engine.connect() as conn:
        versions = set(conn.execute(select(Job.version).where(Job.stage == "transcribe")).scalars())
    models = {v.split("@")[0] for v in versions}
    stage = TRANSCRIBE.version  # the stage's own version leads: its code changed, every call is redone
    assert models == {f"{stage}+bundled:whisper-base+builtin", f"{stage}+bundled:tiny.en+builtin"}


def result_by_layout(results: list[dict], layout: str) -> dict:
    return next(r for r in results if r["layout"] == layout)


@pytest.mark.slow
def test_a_tone_recorded_after_the_hangup_does_not_make_a_whole_call_dropped(engine, tmp_path):
    """Some PBXs record a tone to the end after the parties hung up: the sound runs into the recording's
    end while the words stopped seconds before, so the call was not cut off mid-speech."""
    import numpy as np

    from ingest import decode_audio
    from ingest.encode import write_audio

    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    call = next(c for c in truth["calls"] if c["call_id"] == "call-033")
    assert call["layout"] == "stereo" and not call["dropped"]
    audio = decode_audio(DEMO / call["recording"], 8000, split_channels=True)
    t = np.arange(int(1.5 * 8000)) / 8000
    tone = (0.3 * np.sin(2 * np.pi * 425 * t)).astype(np.float32)  # a busy tone, 1.5 s, on both channels
    folder = tmp_path / "recordings"
    folder.mkdir()
    write_audio(folder / call["recording"].split("/")[-1], np.concatenate([audio, [tone, tone]], axis=1),
                8000, "ulaw")  # fmt: skip
    ingest(engine, IngestRequest(recordings_dir=folder, cdr=DEMO / "Master.csv"), workers=1,
           stage_options=OPTIONS)  # fmt: skip
    stages = registered_stages(["audio_quality", "transcribe", "classify"], OPTIONS)
    summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), stages, options=OPTIONS)
    assert summary.failed == 0 and summary.done == 3
    with engine.connect() as conn:
        results = dict(conn.execute(select(StageResult.stage, StageResult.result)).all())
    assert min(c["quiet_at_end"] for c in results["audio_quality"]["channels"]) < 0.2, "sound to the end"
    assert "dropped" not in results["classify"]["conditions"], results["classify"]["conditions"]
