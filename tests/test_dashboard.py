"""The dashboard in Streamlit's AppTest: every page for every role, denials, overrides, search, masking."""

from __future__ import annotations

import json
import os
import re

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from store import open_store
from store.schema import AuditEntry, Call, CallOutcome, Evaluation, Operator, Recording
from tests import dashboard_data
from tests.conftest import REPO

APP = str(REPO / "qa_dashboard" / "app.py")
ROLES = {"admin": "admin", "controller": "quality_controller", "lead": "team_lead", "analyst": "analyst",
         "operator": "operator"}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    built = dashboard_data.build(tmp_path_factory.mktemp("dashboard"))
    os.environ["CALLQA_DB"], os.environ["CALLQA_USERS"] = built["url"], str(built["users"])
    yield built
    os.environ.pop("CALLQA_DB", None)
    os.environ.pop("CALLQA_USERS", None)


def _calls(data) -> dict[str, dict]:
    engine = open_store(data["url"], migrate=False)
    with engine.connect() as conn:
        rows = conn.execute(select(Call.id, Call.uniqueid, Operator.code).join(Operator, isouter=True)).all()
    return {uid: {"id": cid, "operator": code} for cid, uid, code in rows}


def page(function: str, username: str, **query) -> AppTest:
    """One page run as a signed-in user (the page functions are what st.navigation runs)."""
    from qa_dashboard.users import load_users

    def run_page(name: str) -> None:
        import qa_dashboard.pages_call as call
        import qa_dashboard.pages_calls as calls
        import qa_dashboard.pages_insight as insight

        functions = {"calls": calls.calls_page, "review": calls.review_page, "call": call.call_page,
                     "operators": insight.operators_page, "search": insight.search_page,
                     "kpis": insight.kpis_page, "audit": insight.audit_page}  # fmt: skip
        functions[name]()

    app = AppTest.from_function(run_page, args=(function,), default_timeout=60)
    app.session_state["viewer"] = load_users()[username].viewer()
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def test_sign_in_with_the_users_file_and_refuse_a_wrong_password(data):
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.text_input[0].input("analyst")
    app.text_input[1].input("wrong")
    app.button[0].click().run()
    assert "Wrong user name or password." in [e.value for e in app.error]
    app.text_input[1].input(dashboard_data.PASSWORD)
    app.button[0].click().run()
    assert not app.exception and "analyst" in app.sidebar.markdown[0].value


@pytest.mark.parametrize("username", list(ROLES))
@pytest.mark.parametrize("function", ["calls", "review", "operators", "search", "kpis", "audit"])
def test_every_page_renders_for_every_role_or_says_why_not(data, username, function):
    app = page(function, username)
    assert not app.exception, app.exception
    role = ROLES[username]
    denied = {
        "operators": role == "operator",
        "search": role == "operator",
        "audit": role != "admin",
    }.get(function, False)
    assert bool(app.error) == denied, [e.value for e in app.error]


def test_an_operator_sees_only_own_calls_and_cannot_open_another_by_query_parameter(data):
    calls = _calls(data)
    app = page("calls", "operator")
    frame = app.dataframe[0].value
    # Named as the roster names them, with the code.
    assert set(frame["operator"]) <= {"Анна Смирнова (101)"} and len(frame) > 0
    other = next(c for c in calls.values() if c["operator"] not in ("101", None))
    denied = page("call", "operator", call=str(other["id"]))
    assert "an operator may open only own calls" in denied.error[0].value
    own = next(c for c in calls.values() if c["operator"] == "101")
    opened = page("call", "operator", call=str(own["id"]))
    assert not opened.error and opened.title[0].value.startswith("Call ")


def test_a_team_lead_sees_the_team_only(data):
    """The team's calls, and the callers abandoned in a queue the team answers (no operator, no team)."""
    frame = page("calls", "lead").dataframe[0].value
    answered = frame[frame["team"] != ""]
    assert len(answered) > 0 and set(answered["team"]) == {"Екатеринбург-1"}
    assert not frame["team"].isna().any(), "no team reads blank, not as None"
    assert set(frame[frame["team"] == ""]["operator"]) <= {"–"}, "a call without a team is one nobody took"


def test_an_analyst_never_sees_the_card_number(data):
    card_call = data["truth"]["call-008"]
    card = next(s["value"] for t in card_call["turns"] for s in t["pii"] if s["kind"] == "card")
    app = page("call", "analyst", call=str(_calls(data)[card_call["uniqueid"]]["id"]))
    shown = " ".join(m.value for m in app.markdown).replace(" ", "")
    assert card[-4:] not in shown and card[:6] not in shown
    hits = page("search", "analyst")
    hits.text_input[0].input("карта").run()
    assert card[-4:] not in " ".join(m.value for m in hits.markdown).replace(" ", "")


def test_the_call_page_says_how_the_parties_were_told_apart(data):
    from store.queries import stage_result

    engine = open_store(data["url"], migrate=False)
    for name in ("call-001", "call-030"):
        call = _calls(data)[data["truth"][name]["uniqueid"]]
        with engine.connect() as conn:
            recording = conn.execute(select(Recording.id).where(Recording.call_id == call["id"])).scalar_one()
            transcribed = stage_result(conn, recording, "transcribe")
        shown = " ".join(m.value for m in page("call", "controller", call=str(call["id"])).markdown)
        if transcribed["layout"] == "stereo":
            assert "Who said what: the PBX's channel map" in shown
        else:
            assert f"on one mixed channel (sure {transcribed['roles_confidence']:.0%})" in shown


def test_a_controller_overrides_a_verdict_with_a_reason_and_the_score_recomputes(data):
    call = _calls(data)[data["truth"]["call-001"]["uniqueid"]]
    app = page("call", "controller", call=str(call["id"]))
    before = next(s.value for s in app.subheader if s.value.startswith("Scorecard"))
    app.selectbox(key="override-item").set_value("greeting")  # a critical item
    app.radio(key="override-verdict").set_value("fail")
    next(b for b in app.button if b.label == "Save override").click().run()
    assert any("reason is required" in e.value for e in app.error)
    app.text_input(key="override-reason").input("the greeting had no company name")
    next(b for b in app.button if b.label == "Save override").click().run()
    after = next(s.value for s in app.subheader if s.value.startswith("Scorecard"))
    assert after != before and after.startswith("Scorecard: 0"), "a critical item now fails"
    assert app.text_input(key="override-reason").value == "", "saved: the form starts afresh"
    engine = open_store(data["url"], migrate=False)
    with engine.connect() as conn:
        overrides = conn.execute(select(Evaluation.evaluator, Evaluation.reason)).all()
        actions = set(conn.execute(select(AuditEntry.action)).scalars())
    assert ("controller", "the greeting had no company name") in overrides
    assert {"view", "override"} <= actions


def test_search_finds_word_forms_on_the_operator_side_with_highlights(data):
    app = page("search", "controller")
    app.text_input[0].input("обращение").run()
    app.radio[0].set_value("operator").run()
    texts = [m.value for m in app.markdown if "operator at" in m.value]
    assert texts and all("**" in t for t in texts)
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d · ", t) for t in texts), "to the second"
    app.text_input[0].input("NEAR/3 обращение").run()
    assert app.error and "NEAR" in app.error[0].value
    app.text_input[0].input("6629397297").run()  # an INN read out in a call: not in the index, and it says so
    assert not app.error and any("kept out of the search index" in i.value for i in app.info)


def test_an_operator_disputes_and_the_team_lead_resolves(data):
    own = next(c for c in _calls(data).values() if c["operator"] == "101")
    app = page("call", "operator", call=str(own["id"]))
    next(b for b in app.button if b.label == "Dispute").click().run()
    assert any("say why" in e.value for e in app.error), "a dispute needs a reason"
    app.text_input[0].input("the greeting was there, at 0:01")
    next(b for b in app.button if b.label == "Dispute").click().run()
    queue = page("review", "controller")
    queue.radio[0].set_value("disputed").run()
    assert len(queue.dataframe[0].value) == 1
    assert any(c.value.startswith("1 call(s) wait for a dispute's resolution") for c in queue.caption)
    lead = page("call", "lead", call=str(own["id"]))
    assert any("dispute: the greeting was there" in m.value for m in lead.markdown)
    lead.text_input(key="resolution").input("agreed: the greeting was there")
    lead.selectbox(key="settle-greeting").set_value("pass")
    next(b for b in lead.button if b.label == "Resolve dispute").click().run()
    assert not [b for b in lead.button if b.label == "Resolve dispute"], "resolved: nothing left to resolve"
    engine = open_store(data["url"], migrate=False)
    with engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        settled = conn.execute(
            select(Evaluation.item_id, Evaluation.verdict).where(Evaluation.kind == "resolution")
        ).all()
    assert actions.count("dispute") == 1 and actions.count("resolve") == 1
    assert [tuple(row) for row in settled] == [("greeting", "pass")], (
        "the disputed item settled as the lead said"
    )


def test_an_analyst_hears_the_redacted_copy_and_the_listen_is_audited(data):
    card_call = _calls(data)[data["truth"]["call-008"]["uniqueid"]]
    app = page("call", "analyst", call=str(card_call["id"]))
    assert not app.exception and not [i.value for i in app.info if "not made yet" in i.value]
    engine = open_store(data["url"], migrate=False)
    with engine.connect() as conn:
        listens = conn.execute(
            select(AuditEntry.actor, AuditEntry.details).where(AuditEntry.action == "listen")
        ).all()
    assert ("analyst", {"redacted": True}) in [(actor, details) for actor, details in listens]


def test_a_controller_corrects_a_calls_purpose_and_an_operator_cannot(data, monkeypatch):
    from store.schema import CallOutcome, PurposeCorrection

    titles = {"billing": "Счёт на оплату", "login": "Вход в кабинет"}
    monkeypatch.setenv("CALLQA_PURPOSE_TITLES", json.dumps(titles, ensure_ascii=False))
    calls = _calls(data)
    call = calls[data["truth"]["call-030"]["uniqueid"]]
    engine = open_store(data["url"], migrate=False)
    with engine.connect() as conn:
        before = conn.execute(select(CallOutcome.purpose).where(CallOutcome.call_id == call["id"])).scalar()
    wanted = "login" if before != "login" else "billing"
    app = page("call", "controller", call=str(call["id"]))
    app.selectbox(key="purpose-label").set_value(wanted)
    app.text_input(key="purpose-reason").input("the customer asked about this")
    next(b for b in app.button if b.label == "Save purpose").click().run()
    assert not app.error
    assert next(m.value for m in app.metric if m.label == "Purpose") == titles[wanted]
    assert any("corrected by controller" in c.value for c in app.caption)
    with engine.connect() as conn:
        rows = conn.execute(select(PurposeCorrection.label, PurposeCorrection.previous)).all()
        actions = set(conn.execute(select(AuditEntry.action)).scalars())
    assert (wanted, before) in rows and "correct_purpose" in actions
    own = next(c for c in calls.values() if c["operator"] == "101")
    opened = page("call", "operator", call=str(own["id"]))
    assert not opened.error and not [b for b in opened.button if b.label == "Save purpose"]


def test_the_kpis_page_names_the_first_contact_of_a_repeat_by_its_call(data):
    calls = _calls(data)
    first, again = sorted(calls, key=lambda uid: calls[uid]["id"])[:2]
    engine = open_store(data["url"], migrate=False)
    with engine.begin() as conn:
        conn.execute(update(CallOutcome).where(CallOutcome.call_id == calls[again]["id"])
                     .values(repeat_of_call_id=calls[first]["id"]))  # fmt: skip
    try:
        app = page("kpis", "controller")
    finally:
        with engine.begin() as conn:
            conn.execute(update(CallOutcome).values(repeat_of_call_id=None))
    assert not app.exception, app.exception
    table = next(d.value for d in app.dataframe if "repeat of" in d.value.columns)
    assert table[["uniqueid", "repeat of"]].values.tolist() == [[again, first]], "calls as the PBX names them"
