"""A call's purposes in the store: several per call, a person's correction that counts at once, stays through
later analyses, is audited, and comes back as a labelled example for training."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select

from pipeline.stages.outcomes import analyse
from store.api import AccessDenied, Viewer, correct_purpose, list_calls, open_call
from store.purposes import corrected_examples
from store.results import save_stage_result
from store.schema import AuditEntry, Call, CallOutcome, Operator, PurposeCorrection, Recording, Utterance

CONTROLLER = Viewer("qc", "quality_controller")
OPERATOR = Viewer("op", "operator", operator_code="101")
SAID = [
    ("customer", "Добрый день, не приходит счёт на оплату за март."),
    ("operator", "Сейчас проверю и отправлю повторно."),
    ("customer", "И ещё: не могу войти в личный кабинет, пароль не подходит."),
]


@pytest.fixture
def analysed(engine):
    """One analysed call whose model found two purposes (billing first, login above the threshold)."""
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        conn.execute(insert(Call).values(id=1, uniqueid="1.1", operator_id=1, caller_number="79001112233",
                                         billsec=90, answer_at=datetime(2026, 3, 2, 10),
                                         start_at=datetime(2026, 3, 2, 10)))  # fmt: skip
        conn.execute(insert(Recording).values(id=1, call_id=1, path="-", sha256="1" * 64, size_bytes=0,
                                              status="accepted"))  # fmt: skip
        conn.execute(insert(Utterance), [
            {"recording_id": 1, "call_id": 1, "version": "t", "idx": i, "role": role, "start": 5.0 * i,
             "end": 5.0 * i + 4, "text": text, "normalized_text": text}
            for i, (role, text) in enumerate(SAID)
        ])  # fmt: skip
        purpose = {"label": "billing", "probability": 0.55, "alternatives": [["login", 0.35]],
                   "method": "model", "model_version": "purpose-x",
                   "labels": [["billing", 0.55], ["login", 0.35]]}  # fmt: skip
        save_stage_result(conn, 1, "classify", "c1", {"purpose": purpose, "conditions": []})
    analyse(engine)
    return engine


def _outcome(engine) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(CallOutcome.purpose, CallOutcome.purpose_probability, CallOutcome.purposes))
        return dict(row.one()._mapping)


def test_a_call_keeps_all_its_purposes_with_the_top_one_as_before(analysed):
    assert _outcome(analysed) == {
        "purpose": "billing",
        "purpose_probability": 0.55,
        "purposes": [{"label": "billing", "probability": 0.55}, {"label": "login", "probability": 0.35}],
    }


def test_a_correction_counts_at_once_survives_analysis_is_audited_and_becomes_an_example(analysed):
    with analysed.begin() as conn:
        correct_purpose(conn, CONTROLLER, 1, "login", "the customer called about the password")
    corrected = _outcome(analysed)
    assert corrected["purpose"] == "login" and corrected["purpose_probability"] is None
    assert [p["label"] for p in corrected["purposes"]] == ["login", "billing"], "the machine's other stays"
    with analysed.begin() as conn:
        assert list_calls(conn, CONTROLLER)[0]["purpose"] == "login"

    analyse(analysed)  # a later analysis recomputes every outcome: the person's purpose stays
    assert _outcome(analysed)["purpose"] == "login"

    with analysed.begin() as conn:
        page = open_call(conn, CONTROLLER, 1)
        assert page["outcome"]["purpose"] == "login"
        assert [(c["label"], c["previous"], c["corrected_by"]) for c in page["purpose_corrections"]] == [
            ("login", "billing", "qc")
        ]
        entries = conn.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.details)).all()
        assert ("correct_purpose", "qc") in [(a, who) for a, who, _ in entries]
        details = next(d for a, _, d in entries if a == "correct_purpose")
        assert details["purpose"] == "login" and details["previous"] == "billing"

        correct_purpose(conn, CONTROLLER, 1, "billing")  # changed mind: the newest counts
        examples = corrected_examples(conn)
    assert len(examples) == 1 and examples[0][1] == "billing"
    assert [u["text"] for u in examples[0][0]] == [text for _, text in SAID], "the call's words, in order"


def test_only_those_who_may_override_correct_a_purpose_and_a_label_is_required(analysed):
    with analysed.begin() as conn, pytest.raises(AccessDenied):
        correct_purpose(conn, OPERATOR, 1, "login")
    with analysed.begin() as conn, pytest.raises(ValueError, match="purpose is required"):
        correct_purpose(conn, CONTROLLER, 1, "  ")
    with analysed.connect() as conn:
        assert conn.execute(select(PurposeCorrection.id)).all() == []
    assert _outcome(analysed)["purpose"] == "billing"


def test_callqa_train_purpose_learns_from_corrected_calls(tmp_path):
    """A site whose people corrected a call: `callqa train purpose` adds that call's words to the examples."""
    from store import open_store
    from tests.conftest import REPO
    from tests.test_cli import callqa

    engine = open_store(f"sqlite:///{tmp_path / 'callqa.db'}")
    with engine.begin() as conn:
        conn.execute(insert(Call).values(id=1, uniqueid="1.1", start_at=datetime(2026, 3, 2, 10)))
        conn.execute(insert(Recording).values(id=1, call_id=1, path="-", sha256="1" * 64, size_bytes=0,
                                              status="accepted"))  # fmt: skip
        said = SAID[2][1]
        conn.execute(insert(Utterance).values(recording_id=1, call_id=1, version="t", idx=0, start=0.0,
                                              end=4.0, text=said, normalized_text=said))  # fmt: skip
        conn.execute(insert(PurposeCorrection).values(call_id=1, label="password_reset", corrected_by="qc"))
    engine.dispose()
    labels = REPO / "demo" / "purpose_train.csv"
    trained = callqa("train", "purpose", str(labels), "--cv", "3", "--encoder", "none", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "adding 1 corrected call(s)" in trained.stdout + trained.stderr
    texts = tmp_path / "texts.csv"
    texts.write_text(f"text\n{SAID[2][1]}\n", encoding="utf-8")
    predicted = callqa("predict", "purpose", str(texts), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "password_reset" in (tmp_path / "p.csv").read_text(encoding="utf-8"), "a purpose only people gave"
