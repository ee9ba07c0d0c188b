"""Ingest on both backends: idempotent, never overwrites, keeps and reports what does not match."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta

from sqlalchemy import func, select

from contracts import CallRules
from ingest import decode_audio
from pipeline.config import Settings
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.stages import registered_stages
from simulator.loadgen import (
    SyntheticCall,
    cdr_row,
    make_call_centre,
    mixmonitor_name,
    speechlike,
    write_audio,
)
from store import status_report
from store.schema import (
    Base,
    Call,
    CallIncidentLink,
    Job,
    Operator,
    Recording,
    RecordingPath,
    Transfer,
)


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
            if name != "audit_log"
        }


def _request(folder):
    return IngestRequest(
        recordings_dir=folder / "recordings",
        cdr=folder / "Master.csv",
        queue_log=folder / "queue_log",
        incidents=folder / "incidents.csv",
    )


def test_ingest_registers_calls_recordings_and_records(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=6, codecs=("pcm", "alaw", "ulaw"), unanswered=2, seed=4)
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.accepted == 6 and summary.rejected == 0
    assert summary.call_legs_added == 8 and summary.incidents_added == 3
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Call.uniqueid, Call.disposition, Call.queue, Operator.code, Call.wait_seconds, Call.direction
            )
            .outerjoin(Operator, Operator.id == Call.operator_id)
            .order_by(Call.start_at)
        ).all()
        linked = conn.execute(select(func.count()).select_from(CallIncidentLink)).scalar_one()
        attached = conn.execute(select(func.count()).where(Recording.call_id.is_not(None))).scalar_one()
    assert [r.uniqueid for r in rows] == [c.uniqueid for c in calls]
    assert [r.disposition for r in rows] == ["ANSWERED"] * 6 + ["ABANDONED"] * 2
    assert {r.queue for r in rows} == {"support"} and {r.direction for r in rows} == {"inbound"}
    assert [r.code for r in rows[:6]] == [c.agent for c in calls[:6]]
    assert rows[0].wait_seconds == 3
    assert linked == 3 and attached == 6
    assert summary.jobs_enqueued == 6 * len(registered_stages())


def test_ingest_twice_adds_nothing(engine, tmp_path):
    make_call_centre(tmp_path, calls=5, unanswered=1, seed=5)
    first = ingest(engine, _request(tmp_path), workers=2)
    before = _counts(engine)
    again = ingest(engine, _request(tmp_path), workers=2)
    assert _counts(engine) == before
    assert again.accepted == 0 and again.recordings_unchanged == 5 and again.jobs_enqueued == 0
    assert (again.records_unchanged, again.queue_events_unchanged) == (
        first.call_legs_added,
        first.queue_events_added,
    ), "each input's rows counted as its own"


def test_same_file_under_another_name_is_one_recording(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=3, seed=6)
    ingest(engine, _request(tmp_path), workers=1)
    shutil.copy(calls[0].path, tmp_path / "recordings" / "copy-of-first.wav")
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.same_content_other_name == 1 and summary.accepted == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Recording)).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(RecordingPath)).scalar_one() == 4


def test_a_different_file_for_a_processed_call_is_flagged_not_used(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=3, seed=7)
    ingest(engine, _request(tmp_path), workers=1)
    first = calls[0]
    intruder = tmp_path / "recordings" / "late" / mixmonitor_name(first)
    intruder.parent.mkdir()
    write_audio(intruder, speechlike(first.seconds, 8000, seed=99)[None, :], 8000, "pcm")
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.conflicts == 1
    with engine.connect() as conn:
        rows = conn.execute(
            select(Recording.path, Recording.status).where(Recording.uniqueid_hint == first.uniqueid)
        )
        by_status = {status: path for path, status in rows}
        report = status_report(conn)
    assert by_status == {"accepted": str(first.path), "conflict": str(intruder)}
    assert any(p.code == "conflict" and p.source == str(intruder) for p in report.problems)


def test_a_broken_recording_put_right_is_no_longer_a_problem(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=3, seed=11)
    good = calls[1].path.read_bytes()
    calls[1].path.write_bytes(good[: len(good) // 3])  # cut short while copying
    ingest(engine, _request(tmp_path), workers=1)
    with engine.connect() as conn:
        report = status_report(conn)
    assert [p.source for p in report.problems if p.kind == "recording"] == [str(calls[1].path)]
    assert report.recordings.get("rejected") == 1

    calls[1].path.write_bytes(good)  # copied again
    ingest(engine, _request(tmp_path), workers=1)
    with engine.connect() as conn:
        report = status_report(conn)
        accepted = conn.execute(
            select(func.count()).where(Recording.path == str(calls[1].path), Recording.status == "accepted")
        ).scalar_one()
    assert accepted == 1
    assert [p for p in report.problems if p.kind == "recording"] == []
    assert "rejected" not in report.recordings and report.recordings["replaced"] == 1, "kept on record"
    assert report.answered_calls_with_recording_refused == 0


def test_a_recording_rewritten_in_place_replaces_its_old_content(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=2, seed=12)
    ingest(engine, _request(tmp_path), workers=1)
    path = calls[0].path
    audio = decode_audio(path, split_channels=True)
    write_audio(path, audio * 0.9, 16000, "pcm")  # re-encoded where it lies: same name, other bytes
    ingest(engine, _request(tmp_path), workers=1)
    with engine.connect() as conn:
        kept = conn.execute(
            select(Recording.status, Recording.sha256).where(Recording.path == str(path))
        ).all()
        report = status_report(conn)
    statuses = sorted(status for status, _ in kept)
    assert statuses == ["accepted", "replaced"], "not a copy of itself: the old content is gone"
    accepted = next(sha for status, sha in kept if status == "accepted")
    assert accepted == hashlib.sha256(path.read_bytes()).hexdigest(), "the content on disk is transcribed"
    assert "alternative" not in report.recordings and not report.problems

    # Rewritten again, now far shorter than the call: rejected, and the content transcribed before stays.
    write_audio(path, audio[:, : audio.shape[1] // 4], 16000, "pcm")
    ingest(engine, _request(tmp_path), workers=1)
    with engine.connect() as conn:
        statuses = sorted(conn.execute(select(Recording.status).where(Recording.path == str(path))).scalars())
    assert statuses == ["accepted", "rejected", "replaced"], "a bad rewrite loses nothing"


def test_unmatched_records_and_recordings_are_kept_and_reported(engine, tmp_path):
    calls = make_call_centre(tmp_path, calls=4, seed=8)
    orphan = calls[3]
    # The call record of the last call is missing at first; one answered call has no recording.
    with open(tmp_path / "Master.csv") as handle:
        rows = list(csv.reader(handle))
    with open(tmp_path / "Master.csv", "w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows[:3])
    calls[0].path.unlink()
    ingest(engine, _request(tmp_path), workers=1)
    with engine.connect() as conn:
        report = status_report(conn)
    assert report.recordings_without_call == 1
    assert report.answered_calls_without_recording == 1
    hint = "a recording renamed from the PBX's name"
    assert hint in _status(engine), "both at once: the user is told they may be one call"

    # The missing call record arrives later, with a talk time far from the recording's length.
    late = SyntheticCall(**{**orphan.__dict__, "seconds": orphan.seconds * 3})
    with open(tmp_path / "late.csv", "w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerow(cdr_row(late))
    summary = ingest(engine, IngestRequest(cdr=tmp_path / "late.csv"), workers=1)
    assert summary.rejected_after_matching == 1
    with engine.connect() as conn:
        status, code, reason = conn.execute(
            select(Recording.status, Recording.reject_code, Recording.reject_reason).where(
                Recording.uniqueid_hint == orphan.uniqueid
            )
        ).one()
        pending = conn.execute(
            select(func.count())
            .select_from(Job)
            .join(Recording)
            .where(Recording.uniqueid_hint == orphan.uniqueid)
        ).scalar_one()
        report = status_report(conn)
    assert (status, code) == ("rejected", "duration_mismatch")
    assert f"call record says {late.seconds}" in reason
    assert pending == 0, "no work may stay queued for a recording that was rejected"
    assert report.answered_calls_without_recording == 1, "the call whose file was refused has one"
    assert report.answered_calls_with_recording_refused == 1
    shown = _status(engine)
    assert "(1 answered without a recording, 1 with their recording refused)" in shown
    assert "duration_mismatch" in shown and f"call record says {late.seconds}" in shown
    assert hint not in shown, "every recording has its call record now"


def _status(engine) -> str:
    """What `callqa status` prints on this database."""
    url = engine.url.render_as_string(hide_password=False)
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline", "--db", url, "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_malformed_rows_are_reported_with_file_and_line(engine, tmp_path):
    make_call_centre(tmp_path, calls=3, seed=9)
    with open(tmp_path / "Master.csv", "a") as handle:
        handle.write('"broken","row"\n')
    with open(tmp_path / "queue_log", "a") as handle:
        handle.write("garbage\n")
    summary = ingest(engine, _request(tmp_path), workers=1)
    assert summary.call_legs_added == 3
    where = {(p.source.rsplit("/", 1)[-1], p.line) for p in summary.problems}
    assert ("Master.csv", 4) in where and ("queue_log", 10) in where
    with engine.connect() as conn:
        report = status_report(conn)
    assert {(p.kind, p.line) for p in report.problems} >= {("cdr", 4), ("queue_log", 10)}
    before = _counts(engine)
    ingest(engine, _request(tmp_path), workers=1)
    assert _counts(engine) == before, "re-reporting a problem must not store it twice"


def test_missing_inputs_fail_only_themselves(engine, tmp_path):
    make_call_centre(tmp_path, calls=2, seed=10)
    request = _request(tmp_path)
    request.queue_log = tmp_path / "no-such-queue_log"
    summary = ingest(engine, request, workers=1)
    assert summary.accepted == 2 and summary.inputs_failed == 1 and not summary.nothing_ran
    assert any(p.code == "missing_file" for p in summary.problems)
    nothing = ingest(engine, IngestRequest(recordings_dir=tmp_path / "nowhere"), workers=1)
    assert nothing.nothing_ran


def test_a_headed_export_is_refused_as_master_csv_and_forgotten_once_read_through_a_mapping(engine, tmp_path):
    from ingest import load_mapping

    export = tmp_path / "cdr_export.csv"
    export.write_text(
        "calldate,src,dst,billsec,disposition,uniqueid\n2026-03-02 09:00:00,2125550147,200,55,ANSWERED,1.1\n"
    )
    mapping = tmp_path / "mapping.yaml"
    columns = [
        "uniqueid",
        "start: calldate",
        "src",
        "dst",
        "billsec",
        "disposition",
        "recording: recording_file",
    ]
    mapping.write_text("columns:\n" + "".join(f"  {c if ':' in c else f'{c}: {c}'}\n" for c in columns))
    summary = ingest(engine, IngestRequest(cdr=export), workers=1)
    assert [(p.code, p.line) for p in summary.problems] == [("headed_csv", None)]
    assert str(summary.problems[0]).startswith(f"{export}: line 1: starts with column names")
    ingest(engine, IngestRequest(cdr=export, cdr_mapping=load_mapping(mapping)), workers=1)
    with engine.begin() as conn:
        listed = [p.code for p in status_report(conn).problems]
    assert listed == ["missing_column"], "the refusal is gone; the misnamed recording column is told"
    mapping.write_text(mapping.read_text().replace("  recording: recording_file\n", ""))
    ingest(engine, IngestRequest(cdr=export, cdr_mapping=load_mapping(mapping)), workers=1)
    with engine.begin() as conn:
        assert status_report(conn).problems == []


def test_a_fixed_input_file_read_again_no_longer_lists_its_whole_file_problem(engine, tmp_path):
    make_call_centre(tmp_path, calls=2, seed=10)
    incidents = tmp_path / "incidents.csv"
    good = incidents.read_text()
    incidents.write_text(good.replace("id,", "ticket,", 1))  # no number column the reader knows
    ingest(engine, _request(tmp_path), workers=1)
    with engine.begin() as conn:
        problems = status_report(conn).problems
        listed = [(p.source, p.code) for p in problems]
    assert (str(incidents), "missing_column") in listed
    shown = next(str(p) for p in problems if p.code == "missing_column")
    assert shown.count(str(incidents)) == 1 and "missing external_id" in shown, "the file is named once"
    rows = good.splitlines()
    incidents.write_text("\n".join([*rows, "INC-9,not a date,,,,,,,"]) + "\n")  # fixed, one bad row added
    ingest(engine, _request(tmp_path), workers=1)
    with engine.begin() as conn:
        listed = [(p.source, p.line, p.code) for p in status_report(conn).problems]
    assert not [p for p in listed if p[2] == "missing_column"], "the fixed file's old problem is gone"
    assert [p[:2] for p in listed] == [(str(incidents), len(rows) + 1)], listed
    incidents.write_text(good)
    ingest(engine, _request(tmp_path), workers=1)
    with engine.begin() as conn:
        kept = [(p.source, p.line) for p in status_report(conn).problems]
    assert kept == [(str(incidents), len(rows) + 1)], "a row gone from the file was never imported"


def test_recordings_matched_by_a_mapped_file_name_column(engine, tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    write_audio(recordings / "call-0001.mp3", speechlike(30, 8000, seed=1)[None, :], 8000, "mp3")
    (tmp_path / "mapping.yaml").write_text(
        "delimiter: ';'\ncolumns:\n  uniqueid: id\n  start: started\n  billsec: talk\n  src: from\n"
        "  operator: agent\n  recording: file\n"
    )
    (tmp_path / "calls.csv").write_text(
        "id;started;talk;from;agent;file\nA-1;2026-03-02 09:00:00;30;79160001122;ivanova;call-0001.mp3\n"
    )
    from ingest import load_mapping

    request = IngestRequest(
        recordings_dir=recordings,
        cdr=tmp_path / "calls.csv",
        cdr_mapping=load_mapping(tmp_path / "mapping.yaml"),
    )
    ingest(engine, request, workers=1)
    with engine.connect() as conn:
        uniqueid, operator = conn.execute(
            select(Call.uniqueid, Operator.code)
            .join(Recording, Recording.call_id == Call.id)
            .join(Operator, Operator.id == Call.operator_id)
        ).one()
    assert (uniqueid, operator) == ("A-1", "ivanova")


def test_queue_log_transfers_and_the_configured_rules_reach_the_calls(engine, tmp_path):
    (tmp_path / "Master.csv").write_text(
        '"","79161234567","8800","from-trunk","","SIP/trunk-00000012","SIP/101-00000013","Queue","support",'
        '"2026-03-02 09:00:00","2026-03-02 09:00:07","2026-03-02 09:01:10","70","63","ANSWERED",'
        '"DOCUMENTATION","1772442000.12",""\n'
        '"","1234","79160001122","from-internal","","","","Dial","",'
        '"2026-03-02 09:05:00","2026-03-02 09:05:03","2026-03-02 09:06:00","60","57","ANSWERED",'
        '"DOCUMENTATION","1772442300.13",""\n',
        encoding="utf-8",
    )
    epoch = int(datetime(2026, 3, 2, 9, 0, 0).timestamp())
    (tmp_path / "queue_log").write_text(
        f"{epoch}|1772442000.12|support|NONE|ENTERQUEUE||79161234567|1\n"
        f"{epoch + 7}|1772442000.12|support|SIP/101|CONNECT|7|1772442007.14|2\n"
        f"{epoch + 40}|1772442000.12|support|SIP/101|ATTENDEDTRANSFER|BRIDGE|1772442040.16-2100|7|33|1\n"
        f"{epoch + 50}|1772442000.12|support|SIP/101|BLINDTRANSFER|2050|from-internal|7|43|1\n",
        encoding="utf-8",
    )
    request = IngestRequest(cdr=tmp_path / "Master.csv", queue_log=tmp_path / "queue_log")
    # Internal numbers of at most 3 digits: the 4-digit caller is a customer, so that call is inbound
    # (its record names no channels, so the numbers decide; a trunk channel would make it outbound).
    settings = Settings()
    settings.analytics.exclusions = CallRules(internal_number_max_length=3)
    options = settings.stage_options()
    ingest(engine, request, workers=1, stage_options=options)
    before = _counts(engine)
    ingest(engine, request, workers=1, stage_options=options)
    assert _counts(engine) == before
    with engine.connect() as conn:
        calls = conn.execute(
            select(Call.uniqueid, Call.direction, Call.wait_seconds, Call.billsec, Operator.code)
            .outerjoin(Operator, Operator.id == Call.operator_id)
            .order_by(Call.uniqueid)
        ).all()
        transfers = conn.execute(
            select(Transfer.kind, Transfer.target, Transfer.source).order_by(Transfer.at)
        ).all()
    assert tuple(calls[0]) == ("1772442000.12", "inbound", 7, 63, "101")
    assert tuple(calls[1])[:4] == ("1772442300.13", "inbound", None, 57)
    assert [tuple(t) for t in transfers] == [
        ("attended", "BRIDGE:1772442040.16-2100", "queue_log"),
        ("blind", "2050", "queue_log"),
    ]


def test_readers_name_operators_and_say_which_recording_was_rejected(engine, tmp_path):
    from ingest.roster import RosterEntry
    from pipeline.stages.outcomes import analyse
    from qa_dashboard.pages_calls import table_rows
    from store.api import Viewer, call_audio, export_calls, kpi_table, list_calls, open_call
    from store.operators import save_roster

    admin = Viewer("admin", "admin")
    calls = make_call_centre(tmp_path, calls=3, seed=12)
    # The second call's record says it lasted three times longer than its file: the file is refused.
    with open(tmp_path / "Master.csv") as handle:
        rows = list(csv.reader(handle))
    shorter = SyntheticCall(**{**calls[1].__dict__, "seconds": calls[1].seconds * 3})
    rows[1] = cdr_row(shorter)
    with open(tmp_path / "Master.csv", "w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)
    calls[2].path.unlink()  # the third has no recording at all
    # An incident registered during the refused call, for its caller, not tied to it by the helpdesk.
    with open(tmp_path / "incidents.csv", "a", newline="") as handle:
        created = f"{calls[1].start + timedelta(minutes=1):%Y-%m-%d %H:%M:%S}"
        row = ["INC-77", created, "", "", calls[1].src, "101", calls[1].agent, "open", ""]
        csv.writer(handle).writerow(row)
    with engine.begin() as conn:
        codes = sorted({c.agent for c in calls})
        save_roster(conn, [RosterEntry(code, f"Оператор {code}", None) for code in codes], "admin")
    ingest(engine, _request(tmp_path), workers=1)
    analyse(engine)
    with engine.begin() as conn:
        listed = {r["uniqueid"]: r for r in list_calls(conn, admin)}
        exported = {e["uniqueid"]: e for e in export_calls(conn, admin)}
        heard = call_audio(conn, admin, listed[calls[1].uniqueid]["id"])
        kpis = kpi_table(conn, admin, "operator")
        refused = open_call(conn, admin, listed[calls[1].uniqueid]["id"])
    states = [exported[c.uniqueid]["recording"] for c in calls]
    assert states == ["accepted", "rejected: duration_mismatch", None]
    page = table_rows([listed[c.uniqueid] for c in calls])
    assert list(page["recording"]) == ["", "rejected: duration_mismatch", "none"]
    assert list(page["operator"]) == [f"Оператор {c.agent} ({c.agent})" for c in calls]
    assert all(exported[c.uniqueid]["operator_name"] == f"Оператор {c.agent}" for c in calls)
    assert heard.path is None and "rejected at import (duration_mismatch" in heard.message
    assert "call record says" in heard.message
    assert {(r.group, r.name) for r in kpis} == {(code, f"Оператор {code}") for code in codes}
    # Nothing was heard of the refused call, but its records still suggest the incident to a person.
    assert [c["incident"] for c in refused["candidates"]] == ["INC-77"] and not refused["links"]
