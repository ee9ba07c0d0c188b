"""Call outcomes as a stage, and scores with people in them: one effective score that every reader shows."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from asr.transcribe import AsrOptions
from classifiers import PurposeModel
from contracts import CallRules
from ingest.roster import read_roster
from models import trained
from pipeline.config import AnalyticsSettings, StageOptions
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import registered_stages, site_stages
from qa_dashboard.sampling import review_queue
from store import JobQueue
from store.api import Viewer, disputed_calls, kpi_table, list_calls, open_call, override_verdict, respond
from store.kpi import CompositeOptions
from store.operators import save_roster
from store.outcomes import effective_scorecard, review_state
from store.schema import Call, CallOutcome
from store.search import SearchFilter, search_utterances
from store.search_query import parse
from tests.conftest import REPO

DEMO = REPO / "demo"
CALLQA = [sys.executable, "-m", "pipeline"]
# The composite as a site may configure it: the compliance score against a target of 100.
KPI_TOML = (
    '[analytics.kpi]\ncomponents = ["compliance"]\nnormalisation = "target"\n'
    "[analytics.kpi.targets]\ncompliance = 100.0\n"
)
COMPOSITE = CompositeOptions(
    components=("compliance",), normalisation="target", targets={"compliance": 100.0}
)
ITEMS = [
    {"id": "greeting", "verdict": "pass", "weight": 2.0, "critical": True},
    {"id": "sms_offered", "verdict": "fail", "weight": 1.0, "critical": False},
    {"id": "farewell", "verdict": "pass", "weight": 1.0, "critical": False},
]


def _evaluation(item, verdict, kind, evaluator, reason="because"):
    return {"item_id": item, "verdict": verdict, "kind": kind, "evaluator": evaluator, "reason": reason}


def _calibration(verdict, evaluator):
    return _evaluation("sms_offered", verdict, "calibration", evaluator)


def test_effective_scorecard_applies_overrides_agreed_calibrations_and_resolutions():
    machine = {"items": ITEMS, "forbidden": False, "score": 75.0}
    untouched = effective_scorecard(machine, [])
    assert untouched["compliance_score"] == 75.0 and untouched["review_state"] == "not_reviewed"

    overridden = effective_scorecard(machine, [_evaluation("greeting", "fail", "override", "qc", "no name")])
    greeting = overridden["scorecard"]["items"][0]
    assert overridden["compliance_score"] == 0.0, "a failed critical item zeroes the score"
    assert greeting["machine_verdict"] == "pass" and greeting["verdict"] == "fail"
    assert (greeting["decided_by"], greeting["decision_reason"], greeting["decision_kind"]) == (
        "qc",
        "no name",
        "override",
    )
    assert overridden["review_state"] == "reviewed"

    disagree = [_calibration("pass", "a"), _calibration("fail", "b")]
    assert effective_scorecard(machine, disagree)["compliance_score"] == 75.0, "disagreement changes nothing"
    alone = [_calibration("pass", "a")]
    assert effective_scorecard(machine, alone)["compliance_score"] == 75.0, "one evaluator is no agreement"
    agree = [_calibration("pass", "a"), _calibration("pass", "b")]
    agreed = effective_scorecard(machine, agree)
    assert agreed["compliance_score"] == 100.0
    sms = agreed["scorecard"]["items"][1]
    assert sms["decision_kind"] == "calibration" and sms["decided_by"] == "a, b"
    assert agreed["review_state"] == "not_reviewed", "calibration is blind: no review of the call"

    override_then_agreement = [_evaluation("sms_offered", "fail", "override", "qc"), *agree]
    assert effective_scorecard(machine, override_then_agreement)["compliance_score"] == 75.0, "override wins"

    disputed = [_evaluation("greeting", "fail", "override", "qc")]
    responses = [{"action": "acknowledge"}, {"action": "dispute"}]
    assert effective_scorecard(machine, disputed, responses)["review_state"] == "disputed"
    resolution = [*disputed, _evaluation("greeting", "pass", "resolution", "lead", "the name was said")]
    resolved = effective_scorecard(machine, resolution, [*responses, {"action": "resolve"}])
    assert resolved["compliance_score"] == 75.0 and resolved["review_state"] == "resolved"
    assert resolved["scorecard"]["items"][0]["decided_by"] == "lead"
    assert review_state([], [{"action": "acknowledge"}]) == "reviewed"
    assert effective_scorecard(None, [])["compliance_score"] is None


def test_a_run_that_classifies_ends_with_the_outcomes_stage():
    assert [s.name for s in site_stages(None)] == ["outcomes"]
    assert [s.name for s in site_stages(["audio_quality", "transcribe", "classify"])] == ["outcomes"]
    assert site_stages(["audio_quality"]) == []
    assert [s.name for s in site_stages(["outcomes"])] == ["outcomes"] and registered_stages(
        ["outcomes"]
    ) == []
    changed = StageOptions(analytics=AnalyticsSettings(exclusions=CallRules(short_call_seconds=30.0)))
    assert site_stages(None, changed)[0].version != site_stages(None)[0].version, "rules are in the version"


QC = Viewer("qc", "quality_controller")


def _run(engine, options):
    return run_jobs(
        engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options
    )


def _computed_at(conn, call_id):
    return conn.execute(select(CallOutcome.computed_at).where(CallOutcome.call_id == call_id)).scalar()


def _callqa(*args, cwd, url):
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run([*CALLQA, "--db", url, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _kpi_line(output: str, operator: str) -> dict[str, str]:
    """The operator's row of the `callqa kpi` table, by column header."""

    def cells(line: str, edge: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip(edge).split(edge)]

    header = next(line for line in output.splitlines() if "compliance" in line)
    line = next(line for line in output.splitlines() if line.strip("│ ").startswith(operator + " "))
    return dict(zip(cells(header, "┃"), cells(line, "│"), strict=True))


def _snapshot(engine, url, folder, call_id, operator, word):
    """What every reader shows of the call and its operator."""
    lead = Viewer("lead", "quality_controller")
    with engine.connect() as conn:
        calls = list_calls(conn, lead)
        hits = {
            bound: {h["call_id"] for h in search_utterances(conn, parse(word), SearchFilter(**{bound: 50.0}))}
            for bound in ("min_score", "max_score")
        }
        disputed = disputed_calls(conn)
        row = next(r for r in kpi_table(conn, lead, "operator", None, COMPOSITE) if r.group == operator)
    low = {c["id"]: c["why"] for c in review_queue(calls, "low_score", 50, disputed=disputed)}
    export = folder / "calls.csv"
    _callqa("export", "calls", "--out", str(export), cwd=folder, url=url)
    exported = next(r for r in csv.DictReader(export.open(encoding="utf-8")) if r["compliance_score"] != "")
    return {
        "kpi_cli": _kpi_line(_callqa("kpi", cwd=folder, url=url), operator),
        "operators_page": (row.compliance, row.composite),
        "search_min_50": call_id in hits["min_score"],
        "search_max_50": call_id in hits["max_score"],
        "low_score": low.get(call_id),
        "export": (exported["compliance_score"], json.loads(exported["checklist"])["greeting"]),
    }


@pytest.mark.slow
def test_an_override_on_a_processed_call_changes_every_reader(engine, db_url, tmp_path):
    truth = {c["call_id"]: c for c in json.loads((DEMO / "ground_truth.json").read_text("utf-8"))["calls"]}
    call = truth["call-001"]  # registered: the operator greets with the company and own name
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    shutil.copy(DEMO / call["recording"], recordings)
    rows = list(csv.DictReader((DEMO / "purpose_train.csv").open(encoding="utf-8")))
    models = tmp_path / "models"
    model = PurposeModel().fit([r["text"] for r in rows], [r["purpose"] for r in rows])
    trained.save(model, "purpose", models_dir=models)
    analytics = AnalyticsSettings(models_dir=str(models), profile=str(DEMO / "profile.yaml"))
    options = StageOptions(asr=AsrOptions(cpu_threads=2), analytics=analytics,
                           redaction_folder=str(tmp_path / "redacted"))  # fmt: skip
    with engine.begin() as conn:  # the roster gives the operator a team, and so a team lead
        save_roster(conn, read_roster(DEMO / "operators.csv").entries, "test")
    request = IngestRequest(recordings, cdr=DEMO / "Master.csv", queue_log=DEMO / "queue_log",
                            incidents=DEMO / "incidents.csv")  # fmt: skip
    ingest(engine, request, workers=1, stage_options=options)

    # The run alone (no `analyse`) leaves an outcome for every call, with the machine scorecard.
    first = run_jobs(
        engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options
    )
    assert first.failed == 0 and "outcomes" in first.site_results
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(Call)).scalar_one()
            == conn.execute(select(func.count()).select_from(CallOutcome)).scalar_one()
        )
        call_id = conn.execute(select(Call.id).where(Call.uniqueid == call["uniqueid"])).scalar_one()
        computed = conn.execute(
            select(CallOutcome.computed_at).where(CallOutcome.call_id == call_id)
        ).scalar()
        opened = open_call(conn, QC, call_id)
    card = opened["scorecard"]
    greeting = next(i for i in card["items"] if i["id"] == "greeting")
    assert greeting["verdict"] == "pass" and greeting["critical"]
    assert card["score"] == card["machine_score"] > 0 and card["review_state"] == "not_reviewed"
    word = max((u["text"] for u in opened["utterances"] if u["role"] == "operator"), key=len).split()[0]
    word = "".join(ch for ch in word if ch.isalpha())

    # A second run with nothing new recomputes nothing.
    second = run_jobs(
        engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options
    )
    assert second.done == 0 and second.site_up_to_date == ["outcomes"] and not second.site_results
    with engine.connect() as conn:
        assert _computed_at(conn, call_id) == computed

    (tmp_path / "callqa.toml").write_text(KPI_TOML, encoding="utf-8")
    before = _snapshot(engine, db_url, tmp_path, call_id, call["operator"], word)
    assert before["search_min_50"] and not before["search_max_50"]
    assert before["export"] == (str(card["score"]), "pass")

    with engine.begin() as conn:
        override_verdict(conn, QC, call_id, "greeting", "fail", "no company name")
    after = _snapshot(engine, db_url, tmp_path, call_id, call["operator"], word)
    for reader in before:
        assert after[reader] != before[reader], f"{reader} still shows the machine's score"
    assert after["kpi_cli"]["compliance"] == "0.0", "compliance column of `callqa kpi`"
    assert after["operators_page"] == (0.0, COMPOSITE.floor)
    assert not after["search_min_50"] and after["search_max_50"]
    assert after["low_score"] == "score 0"
    assert after["export"] == ("0.0", "fail")
    with engine.connect() as conn:
        card = open_call(conn, QC, call_id)["scorecard"]
    greeting = next(i for i in card["items"] if i["id"] == "greeting")
    assert (greeting["machine_verdict"], greeting["decided_by"], greeting["decision_reason"]) == (
        "pass",
        "qc",
        "no company name",
    )
    assert card["score"] == 0.0 and card["machine_score"] > 0 and card["review_state"] == "reviewed"

    # The decision is an input: the next run recomputes, and keeps it.
    third = run_jobs(
        engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options
    )
    assert "outcomes" in third.site_results
    with engine.connect() as conn:
        assert open_call(conn, QC, call_id)["scorecard"]["score"] == 0.0

    # The operator disputes, the team lead resolves in the operator's favour: the score is back.
    operator = Viewer("op", "operator", operator_code=call["operator"])
    with engine.begin() as conn:
        respond(conn, operator, call_id, "dispute", "I did name the company")
        assert open_call(conn, operator, call_id)["scorecard"]["review_state"] == "disputed"
        lead = Viewer("lead", "team_lead", team=call["team"])
        respond(conn, lead, call_id, "resolve", "the name is on the recording", verdicts={"greeting": "pass"})
        card = open_call(conn, operator, call_id)["scorecard"]
    assert card["review_state"] == "resolved" and card["score"] == card["machine_score"]
    assert next(i for i in card["items"] if i["id"] == "greeting")["decision_kind"] == "resolution"
    status = json.loads(_callqa("status", "--json", cwd=tmp_path, url=db_url))
    assert status["jobs"]["outcomes"] == {"done": 1}
    assert "outcomes: up to date" not in _callqa("run", "--stages", "outcomes", cwd=tmp_path, url=db_url)
    assert "outcomes: up to date" in _callqa("run", "--stages", "outcomes", cwd=tmp_path, url=db_url)


@pytest.mark.slow
def test_callqa_run_alone_leaves_every_calls_outcome_and_a_rerun_with_nothing_new_skips_it(tmp_path):
    from simulator.loadgen import make_call_centre

    make_call_centre(tmp_path, calls=2, seconds=20, unanswered=1, seed=5)
    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    records = ("--cdr", "Master.csv", "--incidents", "incidents.csv")
    _callqa("ingest", "recordings", *records, cwd=tmp_path, url=url)
    first = _callqa("run", "--workers", "0", cwd=tmp_path, url=url)
    assert "analysed 3 calls" in first, first
    status = json.loads(_callqa("status", "--json", cwd=tmp_path, url=url))
    assert status["jobs"]["classify"] == {"done": 2} and status["jobs"]["outcomes"] == {"done": 1}
    second = _callqa("run", "--workers", "0", cwd=tmp_path, url=url)
    assert "analysed" not in second and "outcomes: up to date" in second, second
    again = _callqa("ingest", "recordings", *records, cwd=tmp_path, url=url)
    assert "0 accepted" in again
    third = _callqa("run", "--workers", "0", cwd=tmp_path, url=url)
    assert "analysed 3 calls" in third, "an ingest may have changed records: the outcomes are recomputed"
    analysed = _callqa("analyse", cwd=tmp_path, url=url)
    assert "analysed 3 calls" in analysed, "`callqa analyse` runs the stage even with nothing new"


def test_a_result_rewritten_under_the_id_it_had_makes_the_outcomes_due(engine):
    """A call judged again (a roster name changed) rewrites its classify result; where that result was the
    newest row, SQLite gives the new one the id the old had: the outcomes must still see the change."""
    from store.outcomes import inputs_mark
    from store.results import save_stage_result
    from store.schema import Recording

    with engine.begin() as conn:
        conn.execute(Recording.__table__.insert().values(id=1, path="a.wav", sha256="a" * 64, size_bytes=1,
                                                         status="accepted"))  # fmt: skip
        save_stage_result(conn, 1, "classify", "c1", {"operator_name": ""})
    with engine.connect() as conn:
        before = inputs_mark(conn)
    with engine.begin() as conn:
        save_stage_result(conn, 1, "classify", "c1", {"operator_name": "Алексей Морозов"})
    with engine.connect() as conn:
        assert inputs_mark(conn) != before
