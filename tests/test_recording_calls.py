"""Recordings without call records are calls too, and meet their call record when it arrives."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from contracts.phones import normalise_phone
from ingest import decode_audio, parse_recording_name, recording_call, same_call
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.stages.outcomes import analyse
from qa_dashboard.pages_calls import table_rows
from simulator.loadgen import cdr_row, make_call_centre, mixmonitor_name, write_audio
from store.api import Viewer, export_calls, list_calls, search
from store.schema import Call, Recording, Utterance
from store.speech import replace_transcript

ADMIN = Viewer("admin", "admin")

# ------------------------------------------------------------------ what a file name says


def test_file_names_give_time_parties_and_direction():
    freepbx = parse_recording_name(Path("out-8 (916) 123-45-67-204-20260302-101502-1772446502.7.wav"))
    assert freepbx is None  # a dash inside a number is no FreePBX name: the parts are dash-separated
    name = parse_recording_name(Path("out-89161234567-204-20260302-101502-1772446502.7.wav"))
    assert (name.started_at, name.src, name.dst, name.uniqueid, name.direction) == (
        datetime(2026, 3, 2, 10, 15, 2), "204", "89161234567", "1772446502.7", "outbound",
    )  # fmt: skip
    call = recording_call("/rec/out-89161234567-204-20260302-101502-1772446502.7.wav", "ab" * 32, 42.5)
    assert (call.caller_number, call.callee_number, call.direction) == ("204", "79161234567", "outbound")
    assert call.uniqueid == "1772446502.7" and call.talk_seconds == 42.5
    assert (call.end_at - call.start_at).total_seconds() == 42.5
    inbound = recording_call("/rec/20260302-090000-+7(495)1112233-8800-1772442000.3.wav", "cd" * 32, 30.0)
    assert (inbound.caller_number, inbound.direction) == ("74951112233", "inbound")
    queue = parse_recording_name(Path("q-600-79031112233-20260302-120000-1772452800.1.wav"))
    assert (queue.src, queue.dst, queue.direction) == ("79031112233", "600", "inbound")


def test_a_file_name_without_a_pattern_gives_the_file_time_and_unknown_parties(tmp_path):
    path = tmp_path / "conversation 17.wav"
    path.write_bytes(b"x")
    ended = datetime(2026, 3, 5, 14, 30, 0)
    os.utime(path, (ended.timestamp(), ended.timestamp()))
    call = recording_call(path, "ef" * 32, 90.0)
    assert call.start_at == datetime(2026, 3, 5, 14, 28, 30) and call.end_at == ended
    assert (call.caller_number, call.callee_number, call.direction) == (None, None, "unknown")
    assert call.uniqueid == "recording-" + "ef" * 20 and call.recording_file == "conversation 17.wav"
    # On the PBX's wall clock when its time zone is set.
    zoned = recording_call(path, "ef" * 32, 90.0, zone=timezone(timedelta(hours=3)))
    wall_clock = datetime.fromtimestamp(ended.timestamp(), timezone(timedelta(hours=3))).replace(tzinfo=None)
    assert zoned.end_at == wall_clock


def test_same_call_needs_the_caller_and_the_start_or_answer_time():
    at = datetime(2026, 3, 2, 9, 0, 40)
    record = (datetime(2026, 3, 2, 9, 0, 0), datetime(2026, 3, 2, 9, 0, 38))
    assert same_call(at, ("79161234567", "8800"), *record, ("79161234567", "8800"))
    assert not same_call(at, ("79169999999", "8800"), *record, ("79161234567", "8800"))
    assert not same_call(at, (None, None), *record, (None, "8800"))
    assert not same_call(
        datetime(2026, 3, 2, 9, 5), ("79161234567", "8800"), *record, ("79161234567", "8800")
    )


# ------------------------------------------------------------------ ingest and readers, on both backends


def _calls(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Call.__table__).order_by(Call.start_at)).all()


def _write_cdr(folder: Path, calls, userfields: dict[str, str] | None = None) -> Path:
    path = folder / "Master.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for call in calls:
            row = cdr_row(call)
            row[-1] = (userfields or {}).get(call.uniqueid, "")
            writer.writerow(row)
    return path


def test_a_folder_of_recordings_alone_makes_calls_that_merge_with_their_records_later(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=3, seconds=(25, 40), seed=41)
    folder = tmp_path / "recordings"
    summary = ingest(engine, IngestRequest(recordings_dir=folder), workers=1)
    assert summary.accepted == 3 and not summary.problems and summary.calls_from_recordings == 3
    # Ingesting the folder again makes nothing new.
    repeat = ingest(engine, IngestRequest(recordings_dir=folder), workers=1)
    assert repeat.calls_from_recordings == 0 and repeat.jobs_enqueued == 0
    found = _calls(engine)
    assert len(found) == 3 and {c.source for c in found} == {"recording"}
    for call, row in zip(calls, found, strict=True):
        assert row.uniqueid == call.uniqueid and row.start_at == call.start
        assert row.caller_number == normalise_phone(call.src) and row.direction == "inbound"
        assert row.answer_at == call.start and abs(row.billsec - call.seconds) < 1
    with engine.begin() as conn:
        first = conn.execute(select(Recording.id).where(Recording.path == str(calls[0].path))).scalar_one()
        words = [{"start": 0.0, "end": 2.0, "word": "добрый день"}]
        turn = {"start": 0.0, "end": 2.0, "text": "добрый день", "role": "operator", "words": words}
        replace_transcript(conn, first, "t1", [turn])
    analyse(engine)
    with engine.begin() as conn:
        listed = list_calls(conn, ADMIN)
        exported = export_calls(conn, ADMIN)
        hits = search(conn, ADMIN, "добрый")
    assert [h["call_id"] for h in hits] == [found[0].id]
    assert len(listed) == 3 and {r["source"] for r in listed} == {"recording"}
    page = table_rows(listed)
    assert list(page["call record"]) == ["none"] * 3  # the Calls page shows the mark
    assert list(page["team"]) == [""] * 3, "no team reads blank, not as Python's None"
    assert len(exported) == 3 and not any(e["call_record"] for e in exported)
    assert [e["start"] for e in exported] == [f"{c.start:%Y-%m-%d %H:%M:%S}" for c in calls]
    assert [e["caller_number"] for e in exported] == [normalise_phone(c.src) for c in calls]
    # Judged as far as the data goes: answered (a recording exists), counted when long enough.
    assert all(e["counted"] and "not_answered" not in e["exclusion_reasons"] for e in exported)
    assert exported[0]["utterances"][0]["text"] == "добрый день"

    # The call records arrive: the same three calls, now described by them.
    cdr = _write_cdr(tmp_path, calls)
    again = ingest(engine, IngestRequest(recordings_dir=folder, cdr=cdr), workers=1)
    assert again.call_legs_added == 3 and not again.problems and again.jobs_enqueued == 0
    assert again.recording_calls_matched == 3 and again.calls_from_recordings == 0
    found = _calls(engine)
    assert len(found) == 3 and {c.source for c in found} == {"cdr"}
    assert [c.answer_at for c in found] != [c.start for c in calls]  # the record's answer time now
    analyse(engine)
    with engine.begin() as conn:
        exported = export_calls(conn, ADMIN)
        listed = list_calls(conn, ADMIN)
        accepted = conn.execute(
            select(func.count()).select_from(Recording).where(Recording.status == "accepted")
        ).scalar_one()
        kept = conn.execute(select(Utterance.call_id).where(Utterance.recording_id == first)).scalars().all()
    assert len(exported) == 3 and all(e["call_record"] for e in exported) and accepted == 3
    assert list(table_rows(listed)["call record"]) == [""] * 3
    assert kept == [found[0].id] and exported[0]["utterances"][0]["text"] == "добрый день"


def test_a_recording_named_otherwise_meets_its_record_by_time_and_caller(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), seed=42)
    folder = tmp_path / "recordings"
    # A recorder that writes its own ids: the same time and parties, another uniqueid.
    for call in calls:
        call.path.rename(
            folder / f"{call.start:%Y%m%d-%H%M%S}-{call.src}-{call.dst}-rec{call.uniqueid[-1]}.wav"
        )
    ingest(engine, IngestRequest(recordings_dir=folder), workers=1)
    analyse(engine)
    assert [c.source for c in _calls(engine)] == ["recording", "recording"]
    summary = ingest(engine, IngestRequest(cdr=_write_cdr(tmp_path, calls)), workers=1)
    assert not summary.problems
    found = _calls(engine)
    assert [(c.uniqueid, c.source) for c in found] == [(c.uniqueid, "cdr") for c in calls]
    analyse(engine)
    with engine.begin() as conn:
        exported = export_calls(conn, ADMIN)
        linked = conn.execute(select(Recording.call_id).order_by(Recording.id)).scalars().all()
    assert [e["uniqueid"] for e in exported] == [c.uniqueid for c in calls]
    assert sorted(linked) == sorted(c.id for c in found)


def test_a_copy_with_the_named_recordings_stem_is_an_alternative_of_that_call(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seconds=(25, 40), stereo=True, seed=43)
    folder = tmp_path / "recordings"
    first = calls[0]
    wav = first.path.rename(folder / "support-0001.wav")
    mp3 = folder / "support-0001.mp3"
    write_audio(mp3, decode_audio(wav, 8000)[None, :], 8000, "mp3")
    # Without the record: one call for the two copies, the stereo WAV transcribed.
    summary = ingest(engine, IngestRequest(recordings_dir=folder), workers=1)
    assert summary.accepted == 3 and summary.alternatives == 1 and summary.conflicts == 0
    assert len(_calls(engine)) == 2
    analyse(engine)
    with engine.begin() as conn:
        unnamed = [e for e in export_calls(conn, ADMIN) if e["uniqueid"].startswith("recording-")]
    # No parties in the name: none of the rules that need a caller or a call record fires.
    assert len(unnamed) == 1 and unnamed[0]["caller_number"] is None and not unnamed[0]["call_record"]
    assert unnamed[0]["counted"] and unnamed[0]["exclusion_reasons"] == []
    # The record names support-0001.wav: the copies become that call's, the MP3 stays an alternative.
    cdr = _write_cdr(tmp_path, calls, {first.uniqueid: "support-0001.wav"})
    again = ingest(engine, IngestRequest(recordings_dir=folder, cdr=cdr), workers=1)
    assert again.conflicts == 0 and not [p for p in again.problems if p.code != "alternative"]
    found = {c.uniqueid: c for c in _calls(engine)}
    assert set(found) == {c.uniqueid for c in calls} and {c.source for c in found.values()} == {"cdr"}
    with engine.connect() as conn:
        mine = Recording.call_id == found[first.uniqueid].id
        statuses = dict(conn.execute(select(Recording.path, Recording.status).where(mine)).all())
    assert statuses == {str(wav): "accepted", str(mp3): "alternative"}


def test_a_named_copy_beside_the_records_file_is_an_alternative_when_both_arrive_together(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=1, seconds=30, stereo=True, seed=44)
    folder = tmp_path / "recordings"
    wav = calls[0].path.rename(folder / "support-0002.wav")
    mp3 = folder / "support-0002.mp3"
    write_audio(mp3, decode_audio(wav, 8000)[None, :], 8000, "mp3")
    cdr = _write_cdr(tmp_path, calls, {calls[0].uniqueid: "support-0002.wav"})
    summary = ingest(engine, IngestRequest(recordings_dir=folder, cdr=cdr), workers=1)
    assert summary.alternatives == 1 and summary.conflicts == 0
    found = _calls(engine)
    assert len(found) == 1 and found[0].source == "cdr"
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(Recording.path, Recording.status).where(Recording.call_id == found[0].id)
            ).all()
        )
    assert statuses == {str(wav): "accepted", str(mp3): "alternative"}
    assert mixmonitor_name(calls[0]) != wav.name
