"""Several recordings of one call: the best copy is the call's recording, the others are alternatives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import func, select

from ingest import (
    CopyOptions,
    RecordingCopy,
    best_copy,
    copy_rank,
    decode_audio,
    judge_match,
)
from ingest.copies import codec_fidelity, difference
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.stages import registered_stages
from simulator.loadgen import make_call_centre, mixmonitor_name, speechlike, write_audio
from store import JobQueue, status_report
from store.api import Viewer, open_call
from store.queue import retire_work
from store.results import save_stage_result
from store.schema import Call, Job, Recording, StageResult, Utterance
from store.speech import replace_transcript

CALLQA = [sys.executable, "-m", "pipeline"]

# ------------------------------------------------------------------ the pure choice


def test_the_order_of_copies_is_stereo_then_rate_then_lossless():
    stereo_alaw = RecordingCopy("a.wav", 2, 8000, "pcm_alaw", 60.0)
    mono_pcm_16k = RecordingCopy("b.wav", 1, 16000, "pcm_s16le", 60.0)
    mono_pcm = RecordingCopy("c.wav", 1, 8000, "pcm_s16le", 60.0)
    mono_ulaw = RecordingCopy("d.wav", 1, 8000, "pcm_mulaw", 60.0)
    mono_mp3 = RecordingCopy("e.mp3", 1, 8000, "mp3float", 60.0)
    mono_gsm = RecordingCopy("f.wav", 1, 8000, "gsm_ms", 60.0)
    ranked = sorted(
        [mono_gsm, mono_mp3, mono_ulaw, mono_pcm, mono_pcm_16k, stereo_alaw], key=copy_rank, reverse=True
    )
    assert [c.path for c in ranked[:4]] == ["a.wav", "b.wav", "c.wav", "d.wav"]
    assert codec_fidelity("flac") == 2 and codec_fidelity("pcm_alaw") == 1 and codec_fidelity("mp3") == 0
    assert best_copy([mono_mp3, stereo_alaw]) == 1
    assert best_copy([mono_pcm, mono_ulaw]) == 0
    # Equal copies: the one registered first stays the call's recording.
    assert best_copy([mono_mp3, RecordingCopy("g.mp3", 1, 8000, "mp3", 60.0)]) == 0
    with pytest.raises(ValueError):
        best_copy([])


def _envelope(seed: int, seconds: float = 30.0) -> np.ndarray:
    audio = speechlike(seconds, 8000, seed=seed)
    frames = audio[: len(audio) // 400 * 400].reshape(-1, 400)
    return np.sqrt((frames**2).mean(axis=1))


def test_a_copy_is_told_from_another_file_by_length_parties_and_content():
    wav = "20260302-090000-79161234567-8800-1772442000.0.wav"
    mp3 = "20260302-090000-79161234567-8800-1772442000.0.mp3"
    same = _envelope(3)
    a = RecordingCopy(wav, 2, 8000, "pcm_s16le", 30.0, same)
    assert difference(a, RecordingCopy(mp3, 1, 8000, "mp3", 30.4, same)) is None
    # A copy that starts a few frames later is still a copy.
    assert difference(a, RecordingCopy(mp3, 1, 8000, "mp3", 29.8, same[6:])) is None
    assert "s against" in difference(a, RecordingCopy(mp3, 1, 8000, "mp3", 24.0, same))
    other_parties = "20260302-090000-79169999999-8800-1772442000.0.mp3"
    assert "parties" in difference(a, RecordingCopy(other_parties, 1, 8000, "mp3", 30.0, same))
    other_talk = RecordingCopy(mp3, 1, 8000, "mp3", 30.0, _envelope(4))
    assert "another conversation" in difference(a, other_talk)
    assert difference(a, RecordingCopy(mp3, 1, 8000, "mp3", None)) is not None
    loose = CopyOptions(duration_tolerance_seconds=10.0)
    assert difference(a, RecordingCopy(mp3, 1, 8000, "mp3", 24.0, same), loose) is None


def test_judge_match_makes_copies_alternatives_and_the_better_one_takes_over():
    env = _envelope(5)
    stereo = RecordingCopy("/rec/x.wav", 2, 8000, "pcm_s16le", 60.0, env)
    mono = RecordingCopy("/rec/x.mp3", 1, 8000, "mp3", 60.2, env)
    worse = judge_match("accepted", 60.2, 62, "1.1", "/rec/x.wav", copy=mono, holder=stereo)
    assert (worse.status, worse.code, worse.replaces) == ("alternative", "alternative", False)
    assert "/rec/x.wav" in worse.message
    better = judge_match("accepted", 60.0, 62, "1.1", "/rec/x.mp3", copy=stereo, holder=mono)
    assert (better.status, better.replaces) == ("accepted", True)
    # A better copy must still agree with the call record's talk time.
    wrong = judge_match("accepted", 60.0, 20, "1.1", "/rec/x.mp3", copy=stereo, holder=mono)
    assert (wrong.status, wrong.code) == ("rejected", "duration_mismatch")
    different = RecordingCopy("/rec/y.wav", 2, 8000, "pcm_s16le", 60.0, _envelope(6))
    conflict = judge_match("accepted", 60.0, 62, "1.1", "/rec/x.mp3", copy=different, holder=mono)
    assert conflict.status == "conflict" and "another conversation" in conflict.message


# ------------------------------------------------------------------ ingest, on both backends


def _request(folder):
    return IngestRequest(
        recordings_dir=folder / "recordings",
        cdr=folder / "Master.csv",
        queue_log=folder / "queue_log",
        incidents=folder / "incidents.csv",
    )


def _mono_copy(call, folder, codec="mp3", extension=".mp3"):
    """What a PBX keeping a second copy writes: the same conversation mixed to mono, compressed."""
    mono = decode_audio(call.path, 8000)
    path = folder / mixmonitor_name(call, extension)
    write_audio(path, mono[None, :], 8000, codec)
    return path


def _recordings(engine, uniqueid):
    with engine.connect() as conn:
        rows = conn.execute(
            select(Recording.path, Recording.status, Recording.id).where(Recording.uniqueid_hint == uniqueid)
        ).all()
    return {row.path: (row.status, row.id) for row in rows}


def _jobs(engine, recording_id):
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(Job).where(Job.recording_id == recording_id)
        ).scalar_one()


def test_stereo_wav_and_mono_mp3_of_one_call_the_wav_is_used(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=3, seconds=(25, 40), stereo=True, seed=21)
    first = calls[0]
    mp3 = _mono_copy(first, tmp_path / "recordings")
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.accepted == 4 and summary.conflicts == 0 and summary.alternatives == 1
    assert not [p for p in summary.problems if p.source == str(mp3)]
    found = _recordings(engine, first.uniqueid)
    assert found[str(first.path)][0] == "accepted" and found[str(mp3)][0] == "alternative"
    # Jobs for the call's recording only: three calls, three recordings' work.
    stages = registered_stages()
    assert summary.jobs_enqueued == 3 * len(stages)
    assert _jobs(engine, found[str(mp3)][1]) == 0 and _jobs(engine, found[str(first.path)][1]) == len(stages)
    with engine.connect() as conn:
        report = status_report(conn)
        call_id = conn.execute(select(Call.id).where(Call.uniqueid == first.uniqueid)).scalar_one()
    assert report.recordings == {"accepted": 3, "alternative": 1}
    assert [a["path"] for a in report.alternatives] == [str(mp3)]
    assert report.alternatives[0]["uniqueid"] == first.uniqueid
    assert not any(p.source == str(mp3) for p in report.problems)
    with engine.begin() as conn:
        detail = open_call(conn, Viewer("admin", "admin"), call_id)
    assert detail["recording"] == str(first.path)
    assert [(a["channels"], a["codec"]) for a in detail["alternatives"]] == [(1, "mp3float")]
    # Sorting does not decide: ingesting again changes nothing.
    again = ingest(engine, _request(tmp_path), workers=1)
    assert again.alternatives == 0 and again.jobs_enqueued == 0
    assert _recordings(engine, first.uniqueid) == found


def _process(engine, recording_id: int, text: str) -> None:
    """Do the work of every job of a recording as a worker would: results and a transcript."""
    queue = JobQueue(engine)
    stages = registered_stages()
    while claimed := [j for j in queue.claim([s.key for s in stages], 50) if j.recording_id == recording_id]:
        for job in claimed:

            def write(conn, job=job):
                save_stage_result(conn, job.recording_id, job.stage, job.version, {"done": True})
                if job.stage == "transcribe":
                    words = [{"start": 0.0, "end": 1.0, "word": text}]
                    turn = {"start": 0.0, "end": 1.0, "text": text, "role": "operator", "words": words}
                    replace_transcript(conn, job.recording_id, job.version, [turn])

            assert queue.complete(job, write)


def test_a_better_copy_in_a_later_ingest_takes_over(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), stereo=True, seed=22)
    first = calls[0]
    held_back = tmp_path / "held_back"
    held_back.mkdir()
    # The first ingest sees only the mono GSM copy of the first call.
    (tmp_path / "recordings" / "mono").mkdir()
    gsm = _mono_copy(first, tmp_path / "recordings" / "mono", codec="gsm", extension=".wav")
    first.path.rename(held_back / first.path.name)
    ingest(engine, _request(tmp_path), workers=1)
    gsm_id = _recordings(engine, first.uniqueid)[str(gsm)][1]
    _process(engine, gsm_id, "mono")
    assert _jobs(engine, gsm_id) == len(registered_stages())

    (held_back / first.path.name).rename(first.path)
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.alternatives == 1 and summary.conflicts == 0
    found = _recordings(engine, first.uniqueid)
    assert found[str(first.path)][0] == "accepted" and found[str(gsm)][0] == "alternative"
    wav_id = found[str(first.path)][1]
    with engine.connect() as conn:
        left = {
            table.__tablename__: conn.execute(
                select(func.count()).select_from(table).where(table.recording_id == gsm_id)
            ).scalar_one()
            for table in (Job, StageResult, Utterance)
        }
        reason = conn.execute(select(Recording.reject_reason).where(Recording.id == gsm_id)).scalar_one()
    assert left == {"jobs": 0, "stage_results": 0, "utterances": 0}, "the worse copy's work is retired"
    assert str(first.path) in reason
    assert summary.jobs_enqueued == len(registered_stages())
    _process(engine, wav_id, "stereo")
    with engine.connect() as conn:
        call_id = conn.execute(select(Call.id).where(Call.uniqueid == first.uniqueid)).scalar_one()
        said = conn.execute(select(Utterance.text).where(Utterance.call_id == call_id)).scalars().all()
        accepted = conn.execute(
            select(func.count()).where(Recording.call_id == call_id, Recording.status == "accepted")
        ).scalar_one()
    assert said == ["stereo"] and accepted == 1, "one result per call"


def test_a_worse_copy_arriving_later_changes_nothing_done(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), stereo=True, seed=23)
    first = calls[0]
    ingest(engine, _request(tmp_path), workers=1)
    wav_id = _recordings(engine, first.uniqueid)[str(first.path)][1]
    _process(engine, wav_id, "stereo")
    late = tmp_path / "recordings" / "late"
    late.mkdir()
    mp3 = _mono_copy(first, late)
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.alternatives == 1 and summary.jobs_enqueued == 0
    assert _recordings(engine, first.uniqueid)[str(mp3)][0] == "alternative"
    assert _jobs(engine, wav_id) == len(registered_stages())


def test_a_different_file_for_a_call_is_still_a_conflict(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), stereo=True, seed=24)
    first = calls[0]
    ingest(engine, _request(tmp_path), workers=1)
    # Same name and length, another conversation, in a worse format.
    other = tmp_path / "recordings" / mixmonitor_name(first, ".mp3")
    write_audio(other, speechlike(first.seconds, 8000, seed=77)[None, :], 8000, "mp3")
    # Same call by name, but a different length beyond tolerance.
    shorter = tmp_path / "recordings" / "other" / mixmonitor_name(first)
    shorter.parent.mkdir()
    write_audio(shorter, decode_audio(first.path, 8000)[None, : 8000 * 10], 8000, "pcm")
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.conflicts == 2 and summary.alternatives == 0
    found = _recordings(engine, first.uniqueid)
    assert {path: status for path, (status, _) in found.items()} == {
        str(first.path): "accepted",
        str(other): "conflict",
        str(shorter): "conflict",
    }
    with engine.connect() as conn:
        report = status_report(conn)
    assert {p.source for p in report.problems if p.code == "conflict"} == {str(other), str(shorter)}
    assert report.alternatives == []


def test_retiring_work_drops_a_running_jobs_result(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=1, seconds=25, seed=25)
    ingest(engine, _request(tmp_path), workers=1)
    recording_id = _recordings(engine, calls[0].uniqueid)[str(calls[0].path)][1]
    queue = JobQueue(engine)
    [job] = queue.claim([registered_stages()[0].key], 1)
    with engine.begin() as conn:
        assert retire_work(conn, recording_id) == len(registered_stages())
    written = []
    assert not queue.complete(job, written.append) and written == []


def test_callqa_status_lists_the_alternatives(db_url, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), stereo=True, seed=26)
    mp3 = _mono_copy(calls[1], tmp_path / "recordings")
    from store import open_store

    engine = open_store(db_url)
    ingest(engine, _request(tmp_path), workers=1)
    engine.dispose()
    env = {**os.environ, "COLUMNS": "250"}
    run = [*CALLQA, "--db", db_url, "status"]
    text = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "1 alternative" in text.stdout and "alternative copies (1)" in text.stdout
    assert str(mp3) in text.stdout.replace("\n", "")
    as_json = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=120)
    report = json.loads(as_json.stdout)
    assert [a["path"] for a in report["alternatives"]] == [str(mp3)]


@pytest.mark.slow
def test_the_stereo_copy_is_the_one_transcribed(engine, tmp_path):
    from asr.transcribe import AsrOptions
    from pipeline.config import StageOptions
    from pipeline.executors import InlineExecutor
    from pipeline.runner import run_jobs

    calls = make_call_centre(tmp_path, calls=1, seconds=20, stereo=True, seed=27)
    mp3 = _mono_copy(calls[0], tmp_path / "recordings")
    options = StageOptions(asr=AsrOptions(cpu_threads=2))
    stages = registered_stages(["audio_quality", "transcribe"], options)
    ingest(engine, _request(tmp_path), workers=1, stage_options=options)
    summary = run_jobs(engine, JobQueue(engine), InlineExecutor(), stages, options=options, site=[])
    assert summary.failed == 0
    found = _recordings(engine, calls[0].uniqueid)
    with engine.connect() as conn:
        transcribed = set(
            conn.execute(select(StageResult.recording_id).where(StageResult.stage == "transcribe")).scalars()
        )
    assert transcribed == {found[str(calls[0].path)][1]}
    assert found[str(mp3)][0] == "alternative"
