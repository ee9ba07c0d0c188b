"""The `callqa` command as a user runs it: ingest, run, status, exit codes and messages."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

from sqlalchemy import select

from simulator.loadgen import make_call_centre
from tests.conftest import REPO

CALLQA = [sys.executable, "-m", "pipeline"]


def callqa(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CALLQA, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_one_folder_end_to_end(tmp_path):
    make_call_centre(tmp_path, calls=4, unanswered=1, codecs=("pcm", "gsm"), seed=30)
    (tmp_path / "recordings" / "broken.wav").write_bytes(b"RIFF\x00\x00")
    ingest = callqa(
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
    assert ingest.returncode == 0, ingest.stderr
    assert "5 found, 4 accepted, 1 rejected" in ingest.stdout
    assert "broken.wav" in ingest.stdout
    assert (tmp_path / "callqa.db").exists(), "the default database is a SQLite file in the working directory"

    run = callqa("run", "--workers", "2", "--stages", "audio_quality", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "done: 4, failed: 0" in run.stdout

    status = callqa("status", "--json", cwd=tmp_path)
    report = json.loads(status.stdout)
    assert report["jobs"]["audio_quality"] == {"done": 4}
    assert report["jobs"]["transcribe"] == {"pending": 4}
    assert report["recordings"] == {"accepted": 4, "rejected": 1}
    rejected = [p for p in report["problems"] if p["kind"] == "recording"]
    assert len(rejected) == 1 and rejected[0]["source"].endswith("broken.wav") and rejected[0]["message"]

    again = callqa("ingest", "recordings", "--cdr", "Master.csv", cwd=tmp_path)
    assert "0 accepted" in again.stdout and "5 already known" in again.stdout
    assert "nothing to do" not in again.stderr
    rerun = callqa("run", "--stages", "audio_quality", cwd=tmp_path)
    assert "done: 0, failed: 0" in rerun.stdout


def test_exit_status_is_non_zero_only_when_nothing_could_run(tmp_path):
    missing = callqa("ingest", "no-such-folder", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no such folder of recordings" in missing.stdout
    nothing = callqa("ingest", cwd=tmp_path)
    assert nothing.returncode == 2 and "nothing to ingest" in nothing.stderr
    bad_db = callqa("--db", "postgresql://nobody@127.0.0.1:1/none", "status", cwd=tmp_path)
    assert bad_db.returncode == 2 and "cannot open the database" in bad_db.stderr
    unknown = callqa("run", "--stages", "transcribe-everything", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown stage" in unknown.stderr


def test_settings_file_and_environment(tmp_path):
    (tmp_path / "callqa.toml").write_text('db = "sqlite:///from-file.db"\n[pipeline]\nworkers = 1\n')
    callqa("status", cwd=tmp_path)
    assert (tmp_path / "from-file.db").exists()
    callqa("status", cwd=tmp_path, env={"CALLQA_DB": f"sqlite:///{tmp_path / 'from-env.db'}"})
    assert (tmp_path / "from-env.db").exists()
    (tmp_path / "callqa.toml").write_text("[pipeline]\nwrokers = 1\n")
    typo = callqa("status", cwd=tmp_path)
    assert typo.returncode == 2 and "unknown setting 'wrokers'" in typo.stderr


def test_models_check_names_what_is_missing(tmp_path):
    checked = callqa("models", "check", "bundled:whisper-base", "large-v3", cwd=tmp_path)
    assert checked.returncode == 1
    assert "ok bundled:whisper-base@905e5bf8336b" in checked.stdout
    assert "callqa models fetch large-v3" in checked.stdout


def test_loadgen_rejects_a_malformed_length(tmp_path):
    bad = callqa("loadgen", "out", "--seconds", "a-minute", cwd=tmp_path)
    assert bad.returncode == 2 and "give a number (60) or a range (20-180)" in bad.stderr


def test_operators_enrol_a_voiceprint_and_refuse_a_non_audio_clip(tmp_path, shared_data):
    from store import open_store
    from store.operators import load_voiceprints

    clip = shared_data / "speakers" / "enrollment_audio_katie.wav"
    done = callqa("operators", "enrol", "101", str(clip), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with open_store(f"sqlite:///{tmp_path / 'callqa.db'}").connect() as conn:
        voices = load_voiceprints(conn)
    assert list(voices) == ["101"] and len(voices["101"]) == 256
    (tmp_path / "notes.wav").write_text("not audio")
    refused = callqa("operators", "enrol", "102", str(tmp_path / "notes.wav"), cwd=tmp_path)
    assert refused.returncode == 2 and "notes.wav" in refused.stdout + refused.stderr


def test_train_and_predict_purpose_and_clear_errors_for_bad_files(tmp_path):
    labels = REPO / "demo" / "purpose_train.csv"
    # TF-IDF alone keeps this quick; choosing between feature sets is tested in test_purpose_model.py
    trained = callqa("train", "purpose", str(labels), "--cv", "3", "--encoder", "none", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "accuracy" in trained.stdout and (tmp_path / "callqa-models" / "purpose" / "current.json").exists()
    texts = tmp_path / "texts.csv"
    texts.write_text(
        "text\nНе могу войти в личный кабинет, забыл пароль\n"
        "Выставьте, пожалуйста, счёт на оплату продления\n\n",
        encoding="utf-8",
    )
    predicted = callqa("predict", "purpose", str(texts), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8")))
    assert [r["purpose"] for r in rows] == ["login", "billing"]
    assert all(float(r["probability"]) > 0 for r in rows)
    assert all(r["purposes"].split("; ")[0] == r["purpose"] for r in rows), "every purpose, the top one first"
    wrong = callqa("train", "purpose", str(labels), "--label-column", "topic", cwd=tmp_path)
    assert wrong.returncode == 2 and "no column topic" in wrong.stdout + wrong.stderr
    exported = callqa("export", "calls", "--out", str(tmp_path / "calls.json"), cwd=tmp_path)
    assert exported.returncode == 0 and json.loads((tmp_path / "calls.json").read_text()) == []


def test_the_operator_roster_gives_names_and_teams_and_reports_bad_rows(tmp_path):
    from store import open_store
    from store.schema import Operator

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Код;ФИО;Группа\n101;Анна Смирнова;Екатеринбург-1\n;Без кода;X\n102;Игорь;\n", encoding="utf-8"
    )
    done = callqa("operators", "import", str(roster), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 operator(s) imported, 1 row(s) skipped" in done.stdout and "roster.csv:3" in done.stderr
    with open_store(f"sqlite:///{tmp_path / 'callqa.db'}").connect() as conn:
        rows = conn.execute(select(Operator.code, Operator.name, Operator.team).order_by(Operator.code)).all()
    assert [tuple(r) for r in rows] == [("101", "Анна Смирнова", "Екатеринбург-1"), ("102", "Игорь", None)]
    (tmp_path / "bad.csv").write_text("name,team\nАнна,X\n", encoding="utf-8")
    bad = callqa("operators", "import", str(tmp_path / "bad.csv"), cwd=tmp_path)
    assert bad.returncode == 2 and "no operator code column" in bad.stdout + bad.stderr
    # A personnel number is the code, the extension an identity; the columns used are said, and the rest.
    staff = tmp_path / "staff.csv"
    staff.write_text("Табельный номер;ФИО;Добавочный;Должность\nД-022;Марина Орлова;2001;диспетчер\n")
    told = callqa("operators", "import", str(staff), cwd=tmp_path)
    assert "code ← 'Табельный номер'" in told.stderr and "not read: 'Должность'" in told.stderr, told.stderr
    with open_store(f"sqlite:///{tmp_path / 'callqa.db'}").connect() as conn:
        assert conn.execute(select(Operator.name).where(Operator.code == "Д-022")).scalar() == "Марина Орлова"


def test_the_roster_import_reports_identities_another_operator_has(tmp_path):
    from store import open_store
    from store.operators import operator_identities

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "code,name,extension,agent,login\n"
        "A-17,Анна Петрова,3105;3106,PJSIP/a.petrova,a.petrova\n"
        "A-18,Иван Орлов,3106,Agent/3107,i.orlov\n",
        encoding="utf-8",
    )
    done = callqa("operators", "import", str(roster), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 operator(s) imported, 0 row(s) skipped; 8 identities, 1 refused" in done.stdout
    assert "roster.csv:3: extension '3106' of operator A-18 already belongs to operator A-17" in done.stderr
    with open_store(f"sqlite:///{tmp_path / 'callqa.db'}").connect() as conn:
        assert operator_identities(conn)["A-18"] == [
            ("code", "A-18"),
            ("agent", "Agent/3107"),
            ("login", "i.orlov"),
        ]


def test_callqa_dashboard_starts_the_app_that_ships_with_the_package():
    from pipeline.cli.dashboard_commands import APP

    assert APP.is_file() and APP.parent.name == "qa_dashboard", APP


def test_a_table_written_to_a_file_or_pipe_is_not_cut_to_a_terminal_width(tmp_path):
    shown = callqa("kpi", cwd=tmp_path, env={"COLUMNS": ""})
    assert shown.returncode == 0, shown.stderr
    header = next(line for line in shown.stdout.splitlines() if "handle" in line)
    assert "handle time, s" in header and "far from others" in header, shown.stdout
