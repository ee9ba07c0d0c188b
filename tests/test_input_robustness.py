"""No input aborts an ingest: bad bytes, foreign encodings, unreadable files and links, damaged audio,
duplicate ids and ambiguous dates are reported with the file and line, and everything else is read."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from ingest import read_incidents, read_master_csv, read_queue_log
from pipeline.ingest_run import IngestRequest, ingest
from simulator.loadgen import make_call_centre, speechlike, write_audio
from store import status_report

CALLQA = [sys.executable, "-m", "pipeline"]
RUSSIAN_HEADER = ["Номер", "Дата создания", "ИНН", "Телефон", "Оператор", "Статус", "Тема", "ID звонка"]


def callqa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CALLQA, *args], cwd=cwd, capture_output=True, text=True, env=dict(os.environ), timeout=300
    )


def _call_centre(tmp_path: Path, calls: int = 2, seed: int = 40) -> list:
    return make_call_centre(tmp_path, calls=calls, seconds=8, seed=seed)


def _russian_incidents(path: Path, calls, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(RUSSIAN_HEADER)
    for n, call in enumerate(calls):
        writer.writerow(
            [
                f"ОБР-{n + 1}",
                f"{call.start:%d.%m.%Y %H:%M:%S}",
                "7707083893",
                call.src,
                call.agent,
                "Закрыто",
                "Не проходит оплата по счёту",
                call.uniqueid,
            ]
        )
    path.write_bytes(buffer.getvalue().encode(encoding))


def _spoil_one_byte(path: Path, line: int) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b"|support|", b"|supp\xffort|", 1)
    path.write_bytes(b"\n".join(lines))


# ---------------------------------------------------------------- whole runs through the command


def test_a_bad_byte_and_a_cp1251_export_abort_nothing(db_url, tmp_path):
    calls = _call_centre(tmp_path)
    _spoil_one_byte(tmp_path / "queue_log", 2)
    _russian_incidents(tmp_path / "incidents.csv", calls, "cp1251")
    run = callqa(
        "--db",
        db_url,
        "ingest",
        "recordings",
        "--cdr",
        "Master.csv",
        "--queue-log",
        "queue_log",
        "--incidents",
        "incidents.csv",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "2 found, 2 accepted" in run.stdout, "the recordings are registered"
    assert "incidents: 2 new" in run.stdout, "the cp1251 export with Russian headers is read"
    assert "queue events: 6 new" in run.stdout, "the line with the bad byte is read too"
    assert "queue_log:2: bytes that are not utf-8 text (byte 0xff at column" in run.stdout
    status = callqa("--db", db_url, "status", "--json", cwd=tmp_path)
    assert '"code": "bad_bytes"' in status.stdout


def test_a_cp1251_master_csv_is_read_and_its_encoding_can_be_named(db_url, tmp_path):
    calls = _call_centre(tmp_path)
    text = (tmp_path / "Master.csv").read_text().replace('"Client"', '"Иванова Мария"')
    (tmp_path / "Master.csv").write_bytes(text.encode("cp1251"))
    rows = read_master_csv(tmp_path / "Master.csv").rows
    assert [r.uniqueid for r in rows] == [c.uniqueid for c in calls]
    assert rows[0].clid.startswith('"Иванова Мария"')

    wrong = callqa("--db", db_url, "ingest", "--cdr", "Master.csv", "--cdr-encoding", "klingon", cwd=tmp_path)
    assert wrong.returncode == 2 and "unknown encoding 'klingon'" in wrong.stdout + wrong.stderr
    assert "Traceback" not in wrong.stderr
    run = callqa(
        "--db",
        db_url,
        "ingest",
        "--cdr",
        "Master.csv",
        "--cdr-encoding",
        "cp1251",
        "--queue-log",
        "queue_log",
        "--queue-log-encoding",
        "utf-8",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "call records: 2 new" in run.stdout


def test_duplicate_incident_ids_are_reported_and_a_rerun_changes_nothing(db_url, tmp_path):
    calls = _call_centre(tmp_path)
    with open(tmp_path / "incidents.csv", "a", newline="") as handle:
        csv.writer(handle).writerow(
            ["INC-1000", f"{calls[0].start:%Y-%m-%d %H:%M:%S}", "7707083893", "770701001", calls[0].src,
             "101", calls[0].agent, "reopened", calls[0].uniqueid]
        )  # fmt: skip
    args = ("--db", db_url, "ingest", "--cdr", "Master.csv", "--incidents", "incidents.csv")
    first = callqa(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "incidents: 1 new, 0 updated" in first.stdout
    assert "incident INC-1000 appears 2 times (lines 2, 3); line 3 is used" in first.stdout
    again = callqa(*args, cwd=tmp_path)
    assert "incidents: 0 new, 0 updated" in again.stdout


def test_an_ambiguous_date_is_refused_and_a_date_format_reads_it(db_url, tmp_path):
    calls = _call_centre(tmp_path, calls=1)
    start = calls[0].start  # 2 March: 02/03 reads either way
    text = (tmp_path / "Master.csv").read_text()
    text = text.replace(f"{start:%Y-%m-%d}", f"{start:%d/%m/%Y}")  # start, answer and end
    (tmp_path / "Master.csv").write_text(text)

    result = read_master_csv(tmp_path / "Master.csv")
    assert result.rows == []
    (problem,) = result.problems
    assert problem.line == 1 and "ambiguous date '02/03/2026" in problem.message
    assert "datetime_format" in problem.message and "YYYY-MM-DD" in problem.message

    run = callqa(
        "--db", db_url, "ingest", "--cdr", "Master.csv", "--date-format", "%d/%m/%Y %H:%M:%S", cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "call records: 1 new" in run.stdout
    read = read_master_csv(tmp_path / "Master.csv", datetime_format="%d/%m/%Y %H:%M:%S").rows[0]
    assert read.start == start


def test_unambiguous_slashed_dates_are_read_either_way(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text("id,created_at\nA,13/04/2026 10:00:00\nB,04/13/2026 10:00\nC,05/05/2026\nD,03/04/2026\n")
    result = read_incidents(path)
    assert {r.external_id: r.created_at for r in result.rows} == {
        "A": datetime(2026, 4, 13, 10),
        "B": datetime(2026, 4, 13, 10),
        "C": datetime(2026, 5, 5),
    }
    assert [p.line for p in result.problems] == [5]


# ---------------------------------------------------------------- the recordings folder


def test_an_unreadable_recording_is_reported_and_the_others_registered(engine, tmp_path, monkeypatch):
    calls = _call_centre(tmp_path, calls=3)
    locked = Path(calls[1].path)
    import ingest.examine as examine

    real = examine.sha256_file

    def sha256_file(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(examine, "sha256_file", sha256_file)  # root reads any file: simulate the refusal
    summary = ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    assert summary.accepted == 2 and summary.unreadable == 1
    (problem,) = [p for p in summary.problems if p.code == "unreadable_file"]
    assert problem.source == str(locked) and "Permission denied" in problem.message
    with engine.connect() as conn:
        report = status_report(conn)
    assert any(p.source == str(locked) and p.code == "unreadable_file" for p in report.problems)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_recording_without_read_permission(engine, tmp_path):
    calls = _call_centre(tmp_path, calls=2)
    os.chmod(calls[0].path, 0)
    summary = ingest(engine, IngestRequest(recordings_dir=tmp_path / "recordings"), workers=1)
    assert summary.accepted == 1
    assert any(p.source == str(calls[0].path) and p.code == "unreadable_file" for p in summary.problems)


def test_links_and_unreadable_folders_are_reported(engine, tmp_path, monkeypatch):
    _call_centre(tmp_path, calls=2)
    recordings = tmp_path / "recordings"
    (recordings / "sub").mkdir()
    os.symlink("..", recordings / "sub" / "back")  # a folder link back up: a loop
    os.symlink("self.wav", recordings / "self.wav")  # a link to itself
    os.symlink("deleted.wav", recordings / "gone.wav")  # its target was deleted
    secret = recordings / "secret"
    secret.mkdir()
    write_audio(secret / "hidden.wav", speechlike(3, 8000, seed=1)[None, :], 8000, "pcm")

    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # root lists any folder: simulate the refusal
    summary = ingest(engine, IngestRequest(recordings_dir=recordings), workers=1)
    assert summary.files_seen == 2 and summary.accepted == 2
    found = {(Path(p.source).name, p.code) for p in summary.problems}
    assert {
        ("back", "symlink_loop"),
        ("self.wav", "symlink_loop"),
        ("gone.wav", "dangling_link"),
        ("secret", "unreadable_folder"),
    } <= found
    with engine.connect() as conn:
        stored = {(Path(p.source).name, p.code) for p in status_report(conn).problems}
    assert ("gone.wav", "dangling_link") in stored and ("secret", "unreadable_folder") in stored


def test_a_linked_folder_of_recordings_is_scanned(tmp_path):
    from ingest import scan_recordings

    elsewhere = tmp_path / "archive"
    elsewhere.mkdir()
    write_audio(elsewhere / "a.wav", speechlike(2, 8000, seed=1)[None, :], 8000, "pcm")
    folder = tmp_path / "recordings"
    folder.mkdir()
    os.symlink(elsewhere, folder / "2026-03")
    scan = scan_recordings(folder)
    assert scan.paths == [folder / "2026-03" / "a.wav"] and scan.problems == []


def test_a_damaged_mp3_says_damaged_and_where(tmp_path):
    from ingest import examine_recording, identify

    full = tmp_path / "full.mp3"
    write_audio(full, speechlike(20, 8000, seed=2)[None, :], 8000, "mp3")
    raw = bytearray(full.read_bytes())
    size = len(raw)
    raw[size * 2 // 5 : size * 3 // 5] = bytes(size // 5)  # the middle fifth overwritten with zeros
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(raw)
    facts = examine_recording(identify(damaged))
    assert facts.rejection.code == "corrupt"
    assert "damaged: undecodable data at" in facts.rejection.message
    assert f"of {size})" in facts.rejection.message, "the byte offset says where"
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: size // 2])
    assert examine_recording(identify(cut)).rejection.code == "truncated", (
        "a file that just ends is truncated"
    )


def test_queue_log_lines_after_a_bad_byte_are_read(tmp_path):
    _call_centre(tmp_path, calls=2)
    _spoil_one_byte(tmp_path / "queue_log", 4)
    result = read_queue_log(tmp_path / "queue_log")
    assert len(result.rows) == 6
    assert [(p.line, p.code) for p in result.problems] == [(4, "bad_bytes")]
    assert result.rows[3].queue == "supp\ufffdort"


def test_a_cp1251_roster_is_imported_and_its_encoding_can_be_named(db_url, tmp_path):
    roster = tmp_path / "operators.csv"
    text = "Код;ФИО;Группа;Добавочный\nA-17;Анна Петрова;Поддержка;3105\nA-18;Иван Орлов;Поддержка;3107\n"
    roster.write_bytes(text.encode("cp1251"))
    run = callqa("--db", db_url, "operators", "import", "operators.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 operator(s) imported, 0 row(s) skipped" in run.stdout
    koi8 = tmp_path / "koi8.csv"
    koi8.write_bytes("Код;ФИО\nA-19;Ольга Смирнова\n".encode("koi8-r"))
    named = callqa("--db", db_url, "operators", "import", "koi8.csv", "--encoding", "koi8-r", cwd=tmp_path)
    assert named.returncode == 0 and "1 operator(s) imported" in named.stdout, named.stdout + named.stderr
    from ingest.roster import read_roster

    assert read_roster(koi8, "koi8-r").entries[0].name == "Ольга Смирнова"


def test_a_mapping_file_and_its_data_in_cp1251(tmp_path):
    from ingest import load_mapping, read_mapped_csv

    mapping = tmp_path / "mapping.yaml"
    mapping.write_bytes(
        'delimiter: ";"\ncolumns:\n  uniqueid: "ID звонка"\n  start: "Начало"\n  src: "Кто звонил"\n'.encode(
            "cp1251"
        )
    )
    data = tmp_path / "calls.csv"
    data.write_bytes("ID звонка;Начало;Кто звонил\n1.1;02.03.2026 09:00:00;79161234567\n".encode("cp1251"))
    rows = read_mapped_csv(data, load_mapping(mapping)).rows
    assert [(r.uniqueid, r.start, r.src) for r in rows] == [("1.1", datetime(2026, 3, 2, 9), "79161234567")]


def test_texts_to_label_in_cp1251_and_a_named_encoding(tmp_path):
    texts = tmp_path / "texts.csv"
    texts.write_bytes("text\nНе могу войти в личный кабинет\nВыставьте счёт на оплату\n".encode("cp1251"))
    out = tmp_path / "p.csv"
    predicted = callqa("predict", "purpose", "texts.csv", "--out", str(out), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["text"] for r in rows] == ["Не могу войти в личный кабинет", "Выставьте счёт на оплату"]
    wrong = callqa("predict", "purpose", "texts.csv", "--out", str(out), "--encoding", "nope", cwd=tmp_path)
    assert wrong.returncode == 2 and "unknown encoding 'nope'" in wrong.stdout + wrong.stderr
