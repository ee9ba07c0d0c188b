"""The store as the boundary: every reader gets scope and masking from `store.api`, whatever the backend."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from asr.transcribe import Utterance as SpokenUtterance
from asr.transcribe import Word
from contracts.text import stems
from ingest import decode_audio
from ingest.encode import write_audio
from ingest.playback import browser_plays
from pipeline.config import StageOptions
from pipeline.stages import StageInput, get_stage, result_to_json
from store.api import (
    AccessDenied,
    CallFilter,
    SearchRefused,
    Viewer,
    call_audio,
    duplicate_pairs,
    export_calls,
    kpi_table,
    list_calls,
    open_call,
    search,
    visible_pages,
)
from store.results import save_stage_result
from store.schema import (
    AuditEntry,
    Call,
    CallIncidentLink,
    CallOutcome,
    DuplicateIncident,
    Evaluation,
    Incident,
    IncidentCandidate,
    Operator,
    Recording,
    Utterance,
)
from store.search import search_utterances
from store.search_query import parse
from store.speech import reindex_search_text, replace_transcript

CARD = "4111 1111 1111 1111"  # Luhn-valid
PHONE = "79001234567"
SAID = f"Номер карты {CARD}, телефон {PHONE}."
ANALYST = Viewer("ann", "analyst")
LEAD_A = Viewer("lea", "team_lead", team="A")
STRANGER = Viewer("who", "auditor")  # a role the policy does not know
ADMIN = Viewer("root", "admin")
CONTROLLER = Viewer("qc", "quality_controller")


@pytest.fixture
def centre(engine, tmp_path):
    """Two teams, one call each (the card read out in team A's), a duplicate incident per team."""
    audio = np.random.default_rng(0).uniform(-0.3, 0.3, (2, 16000 * 6)).astype(np.float32)
    recording = tmp_path / "call-1.wav"
    write_audio(recording, audio, 16000, "pcm")
    with engine.begin() as conn:
        conn.execute(
            insert(Operator), [{"id": 1, "code": "101", "team": "A"}, {"id": 2, "code": "201", "team": "B"}]
        )
        for i in (1, 2):
            path = str(recording) if i == 1 else "-"
            conn.execute(insert(Call).values(
                id=i, uniqueid=f"{i}.1", operator_id=i, caller_number=PHONE, billsec=60,
                start_at=datetime(2026, 3, i, 10),
            ))  # fmt: skip
            conn.execute(insert(Recording).values(
                id=i, call_id=i, path=path, sha256=str(i) * 64, size_bytes=0, status="accepted"
            ))  # fmt: skip
            conn.execute(insert(CallOutcome).values(
                call_id=i, counted=True, exclusion_reasons=[], linked=True, handle_seconds=60.0 * i,
                compliance_score=80.0,
            ))  # fmt: skip
            conn.execute(insert(Utterance).values(
                recording_id=i, call_id=i, version="t", idx=0, role="customer", start=1.0, end=5.0, text=SAID,
                normalized_text=SAID, search_text=" ".join(stems(SAID)),
            ))  # fmt: skip
        conn.execute(insert(Incident), [
            {"id": n, "external_id": f"INC{n}", "operator_id": 1 if n < 3 else 2} for n in (1, 2, 3, 4)
        ])  # fmt: skip
        conn.execute(insert(DuplicateIncident), [{"incident_id": 2, "duplicate_of_id": 1},
                                                 {"incident_id": 4, "duplicate_of_id": 3}])  # fmt: skip
    return {"engine": engine, "recording": recording, "tmp": tmp_path}


def _no_card_or_phone(text: str) -> bool:
    flat = text.replace(" ", "")
    return "4111111111111111" not in flat and PHONE not in flat and "[card]" in text and "[phone]" in text


def test_an_analyst_reads_search_hits_exports_and_transcripts_masked(centre):
    with centre["engine"].begin() as conn:
        hits = search(conn, ANALYST, "карта")
        exported = export_calls(conn, ANALYST)
        call = open_call(conn, ANALYST, 1)
        rows = list_calls(conn, ANALYST)
    assert len(hits) == 2 and all(_no_card_or_phone(h["text"]) for h in hits)
    assert all(_no_card_or_phone(h["normalized_text"]) for h in hits)
    assert len(exported) == 2 and all(_no_card_or_phone(u["text"]) for r in exported for u in r["utterances"])
    assert all(r["caller_number"] == "[phone]" for r in exported)
    assert _no_card_or_phone(call["utterances"][0]["normalized_text"])
    assert call["outcome"]["caller_number"] == "[phone]" and {r["caller_number"] for r in rows} == {"[phone]"}
    with centre["engine"].begin() as conn:
        controller = open_call(conn, Viewer("qc", "quality_controller"), 1)
    assert PHONE in controller["utterances"][0]["text"] and "[card]" in controller["utterances"][0]["text"]


def test_a_team_lead_gets_only_the_teams_duplicates_and_kpi_rows(centre):
    with centre["engine"].begin() as conn:
        assert duplicate_pairs(conn, LEAD_A) == [("INC1", "INC2")]
        assert duplicate_pairs(conn, ADMIN) == [("INC1", "INC2"), ("INC3", "INC4")]
        assert [r.group for r in kpi_table(conn, LEAD_A, "operator")] == ["101"]
        assert [r.group for r in kpi_table(conn, LEAD_A, "team")] == ["A"]
        assert sorted(r.group for r in kpi_table(conn, ADMIN, "operator")) == ["101", "201"]
        assert [r["operator"] for r in export_calls(conn, LEAD_A)] == ["101"]
        assert {h["operator"] for h in search(conn, LEAD_A, "карта")} == {"101"}


def test_a_team_lead_sees_an_operators_composite_as_a_controller_does(centre):
    lead_b = Viewer("leb", "team_lead", team="B")
    with centre["engine"].begin() as conn:
        desk = {r.group: r.composite for r in kpi_table(conn, CONTROLLER, "operator")}
        (team_b,) = kpi_table(conn, lead_b, "operator")
        (team,) = kpi_table(conn, lead_b, "team")
        teams = {r.group: r.composite for r in kpi_table(conn, CONTROLLER, "team")}
        (filtered,) = kpi_table(conn, ADMIN, "operator", CallFilter(team="B"))  # `callqa kpi --team B`
    assert filtered.composite == desk["201"], "a filter on one team measures it among everyone too"
    assert team_b.group == "201" and team_b.composite == desk["201"] < desk["101"] == 1.0, (
        "twice the handle time"
    )
    assert team.composite == teams["B"] < 1.0, "measured among every team, not alone"


def test_an_unknown_role_sees_nothing(centre):
    with centre["engine"].begin() as conn:
        assert list_calls(conn, STRANGER) == [] and export_calls(conn, STRANGER) == []
        assert kpi_table(conn, STRANGER) == [] and duplicate_pairs(conn, STRANGER) == []
        for reader in (open_call, call_audio):
            with pytest.raises(AccessDenied):
                reader(conn, STRANGER, 1)
        with pytest.raises(AccessDenied):
            search(conn, STRANGER, "карта")
    assert visible_pages(STRANGER.role) == ()
    assert not STRANGER.may("search") and STRANGER.masked(SAID).count("[") == 2


def test_the_redact_stage_mutes_the_card_and_only_its_copy_is_served_to_non_admins(centre):
    engine, recording = centre["engine"], centre["recording"]
    with engine.begin() as conn:
        before = call_audio(conn, ANALYST, 1)
    assert before.path is None and before.redacted and "not made yet" in before.message, "fail closed"
    words = [("номер", 1.0, 1.4), ("карты", 1.5, 1.9)] + [
        (w, 2.0 + 0.25 * i, 2.2 + 0.25 * i) for i, w in enumerate(CARD.replace(" ", ""))
    ]
    transcript = [SpokenUtterance(1.0, 5.0, SAID, SAID, 0.9, role="customer",
                            words=[Word(s, e, w, 0.9) for w, s, e in words])]  # fmt: skip
    stage = get_stage("redact")
    options = StageOptions(redaction_folder=str(centre["tmp"] / "redacted"))
    result = stage.run(
        StageInput(recording_id=1, path=str(recording), options=options, transcript=transcript)
    )
    assert result.redacted and result.muted == 16
    muted = decode_audio(result.path, split_channels=True)
    original = decode_audio(recording, split_channels=True)
    assert muted.shape == original.shape
    assert not muted[:, int(2.0 * 16000) : int(5.8 * 16000)].any(), "the card digits are silent"
    assert np.abs(muted[:, : int(1.5 * 16000)]).max() > 0.1, "the rest is not"
    with engine.begin() as conn:
        save_stage_result(conn, 1, "redact", stage.version, result_to_json(result))
        served = call_audio(conn, ANALYST, 1)
        admin = call_audio(conn, ADMIN, 1)
        listens = (
            conn.execute(select(AuditEntry.details).where(AuditEntry.action == "listen")).scalars().all()
        )
    assert served.path == result.path and served.redacted
    assert admin.path == str(recording) and not admin.redacted
    assert [d["redacted"] for d in listens] == [True, False], "every served listen is audited"
    with pytest.raises(AccessDenied), engine.begin() as conn:
        call_audio(conn, LEAD_A, 2)  # team B's call
    said = [dataclasses.replace(transcript[0], normalized_text="Добрый день")]
    clean = stage.run(StageInput(recording_id=1, path=str(recording), options=options, transcript=said))
    assert not clean.redacted and clean.path == str(recording), "nothing to mute, no copy"


# A call as recognition leaves it: the card read out in the turn after «номер карты», 12 digits that fail
# Luhn; its expiry and CVV; a phone scattered with dots; a garbled 11-digit personal INN; a passport. The
# incident number and an amount are what an analyst must still read.
GARBLED = [
    ("customer", "Хочу оплатить, диктую номер карты."),
    ("customer", "2005 1234 5677, срок 08 27, cvv 4 1 7."),
    ("customer", "Плюс 7.92.1.4.5.6.789. Это мой телефон."),
    ("customer", "ИНН 5001 0073 225, паспорт 45 06 123456."),
    ("operator", "Зарегистрировала обращение 204817, к оплате 1500 рублей."),
]
SECRETS = ("200512345677", "7921456789", "50010073225", "4506123456")
# What recognition wrote before number normalisation: the card's digits spelt out.
SPELT = {
    1: "двадцать ноль пять двенадцать тридцать четыре пятьдесят шесть семьдесят семь, срок 08 27, cvv 417"
}
CALLER = "+7 916 123-45-67"


def _leaks(text: str) -> list[str]:
    """Pieces of 4+ personal digits (or the whole expiry / CVV) readable in `text`, separators ignored.

    Timestamps (audit times with microseconds) go first: their digits, run together, can spell anything.
    """
    text = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?", "", text)
    flat = re.sub(r"[\s.,\-–()/]", "", text)
    pieces = [s[i : i + 4] for s in (*SECRETS, "79161234567") for i in range(len(s) - 3)] + ["0827", "417"]
    return [p for p in pieces if p in flat]


@pytest.fixture
def garbled(engine):
    """One call of team A with the turns above, stored through the store (which computes the index)."""
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        conn.execute(insert(Call).values(id=1, uniqueid="7.1", operator_id=1, caller_number=CALLER,
                                         billsec=60, start_at=datetime(2026, 3, 2, 10)))  # fmt: skip
        conn.execute(insert(Recording).values(id=1, call_id=1, path="-", sha256="7" * 64, size_bytes=0,
                                              status="accepted"))  # fmt: skip
        replace_transcript(conn, 1, "t", [
            {"role": role, "start": 2.0 * i, "end": 2.0 * i + 1.5, "text": SPELT.get(i, said),
             # The stems a caller may pass (card digits and all): the store computes its own.
             "normalized_text": said, "search_text": " ".join(stems(said))}
            for i, (role, said) in enumerate(GARBLED)
        ])  # fmt: skip
        evidence = {"index": 2, "start": 4.0, "text": GARBLED[2][1], "matched": "мой телефон"}
        conn.execute(insert(CallOutcome).values(
            call_id=1, counted=True, exclusion_reasons=[], linked=True, handle_seconds=60.0,
            compliance_score=80.0,
            scorecard={"items": [{"id": "contact", "verdict": "pass", "evidence": evidence}]},
        ))  # fmt: skip
        save_stage_result(conn, 1, "classify", "t", {
            "said": {"inn": [], "kpp": [], "phone": ["9214567890"], "card": [], "incident": ["204817"]},
            "compliance": {"items": [{"id": "contact", "verdict": "pass", "evidence": evidence}]},
            "keywords": ["оплатить", "телефон"], "transfer": None,
        })  # fmt: skip
        conn.execute(insert(Incident).values(id=1, external_id="204817", operator_id=1))
        conn.execute(insert(IncidentCandidate).values(call_id=1, incident_id=1, rank=1, confidence=0.9,
                                                      reasons=["INN 50010073225 said"]))  # fmt: skip
        conn.execute(insert(Evaluation).values(call_id=1, item_id="contact", verdict="pass",
                                               kind="override", evaluator="qc",
                                               reason="назвал телефон 8 921 456 78 90"))  # fmt: skip
    return engine


def test_no_reader_gives_an_analyst_personal_digits_recognition_broke(garbled, tmp_path):
    with garbled.begin() as conn:
        hits = search(conn, ANALYST, "оплатить OR срок OR телефон OR паспорт OR обращение")
        call = open_call(conn, ANALYST, 1)
        exported = export_calls(conn, ANALYST)
        rows = list_calls(conn, ANALYST)
        kpis = kpi_table(conn, ANALYST, "operator")
        duplicates = duplicate_pairs(conn, ANALYST)
    assert len(hits) == 5 and len(exported) == 1
    kpis = [dataclasses.asdict(r) for r in kpis]
    for reader, value in [("search", hits), ("call", call), ("export", exported), ("calls", rows),
                          ("kpi", kpis), ("duplicates", duplicates)]:  # fmt: skip
        assert _leaks(json.dumps(value, ensure_ascii=False, default=str)) == [], reader
    assert "двадцать" not in json.dumps([call, hits, exported], ensure_ascii=False, default=str)
    shown = " ".join(u["text"] for u in call["utterances"])
    assert "204817" in shown and "1500" in shown, "incident numbers and amounts stay readable"
    assert "[card]" in shown and "[expiry]" in shown and "[cvv]" in shown and "[phone]" in shown
    assert rows[0]["caller_number"] == exported[0]["caller_number"] == "[phone]"
    # Digits listed out of their sentence (a card read in groups looks like incident numbers): none.
    assert call["classify"]["said"]["incident"] == ["[number]"]
    with garbled.begin() as conn:
        controller = open_call(conn, Viewer("qc", "quality_controller"), 1)
    assert (
        "7.92.1.4.5.6.789" in controller["utterances"][2]["text"]
        and controller["outcome"]["caller_number"] == CALLER
    )
    assert "[card]" in controller["utterances"][1]["text"], "nobody reads a card"


def test_the_cli_export_gives_an_analyst_no_personal_digits(garbled, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = garbled.url.render_as_string(hide_password=False)
    for name in ("calls.json", "calls.csv"):
        out = tmp_path / name
        result = CliRunner().invoke(
            app, ["--db", url, "export", "calls", "--out", str(out), "--role", "analyst"]
        )
        assert result.exit_code == 0, result.output
        written = out.read_text(encoding="utf-8")
        cells = (
            [c for row in csv.reader(io.StringIO(written)) for c in row]
            if name.endswith("csv")
            else [written]
        )
        assert "204817" in written and [_leaks(c) for c in cells if _leaks(c)] == [], name


def test_the_cli_search_shows_a_role_the_turns_masked_and_audits_it(garbled):
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = garbled.url.render_as_string(hide_password=False)
    runner = CliRunner()
    listed = runner.invoke(app, ["--db", url, "search", "телефон OR обращение", "--json"])
    assert listed.exit_code == 0, listed.output
    hits = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    assert {h["said_by"] for h in hits} == {"customer", "operator"} and len(hits) == 2
    assert all(h["call"] == "7.1" and h["date"] == "2026-03-02 10:00" for h in hits)
    assert [_leaks(h["text"]) for h in hits] == [[], []] and "[phone]" in json.dumps(hits, ensure_ascii=False)
    shown = runner.invoke(app, ["--db", url, "search", "обращение", "--said-by", "operator"])
    assert shown.exit_code == 0 and "204817" in shown.output and "1 hit(s)" in shown.output, shown.output
    refused = runner.invoke(app, ["--db", url, "search", "7921"])  # an analyst may not search by digits
    assert refused.exit_code == 1 and "masked" in refused.output, refused.output
    lead = runner.invoke(app, ["--db", url, "search", "телефон", "--role", "team_lead"])
    assert lead.exit_code == 2 and "--team" in lead.output
    other_team = runner.invoke(app, ["--db", url, "search", "телефон", "--team", "B", "--json"])
    assert other_team.exit_code == 0 and other_team.output.strip() == "", "--team narrows every role's search"
    with garbled.connect() as conn:
        actions = conn.execute(select(AuditEntry.action).where(AuditEntry.action.like("search%"))).scalars()
        assert sorted(actions) == ["search"] * 3 + ["search_refused"], "every search is on record"


def test_an_analyst_cannot_find_or_recover_personal_digits_by_search(garbled):
    probes = [d[:n] for d in (*SECRETS, "0827", "417") for n in range(1, len(d) + 1)]
    probes += ['"2005 1234 5677"', "2005 1234", '"92 1"', "5001 0073", '"45 06"', "08 27", "4 1 7"]
    with garbled.begin() as conn:
        for probe in probes:  # a role that reads numbers masked may not search by digits at all
            with pytest.raises(SearchRefused):
                search(conn, ANALYST, probe)
        for viewer in (CONTROLLER, ADMIN):  # the index holds no personal digits: nobody finds them
            for probe in probes:
                found = {h["start"] for h in search(conn, viewer, probe)}
                assert found <= {8.0}, (viewer.role, probe)  # only the operator's turn (204817, 1500)
        for probe in probes:  # the one index every role's search reads
            assert {h["start"] for h in search_utterances(conn, parse(probe))} <= {8.0}, probe
        assert [h["start"] for h in search(conn, CONTROLLER, "204817")] == [8.0], (
            "incident numbers are searchable"
        )
        assert [h["start"] for h in search(conn, CONTROLLER, "2048")] == [8.0]


def test_an_index_written_before_holds_no_personal_digits_after_reindexing(centre):
    with centre["engine"].begin() as conn:
        assert search(conn, ADMIN, "4111"), "the fixture wrote card digits into the index"
        assert reindex_search_text(conn, only_missing=False) == 2
        assert search(conn, ADMIN, "4111") == [] and search(conn, ADMIN, "7900") == []
        assert len(search(conn, ANALYST, "карта")) == 2


def test_upgrading_a_database_takes_personal_digits_out_of_its_search_index(db_url):
    from store import open_store
    from store.migrate import upgrade

    engine = open_store(db_url, migrate=False)
    upgrade(engine, "0004")  # before the index left personal data out
    with engine.begin() as conn:
        conn.execute(insert(Call).values(id=1, uniqueid="1.1"))
        conn.execute(insert(Recording).values(id=1, call_id=1, path="-", sha256="1" * 64, size_bytes=0,
                                              status="accepted"))  # fmt: skip
        conn.execute(insert(Utterance).values(recording_id=1, call_id=1, version="t", idx=0, role="customer",
                                              start=1.0, end=5.0, text=SAID, normalized_text=SAID,
                                              search_text=" ".join(stems(SAID))))  # fmt: skip
        assert search(conn, ADMIN, "4111") and search(conn, ADMIN, "790")
    upgrade(engine)
    with engine.begin() as conn:
        assert search(conn, ADMIN, "4111") == [] and search(conn, ADMIN, "790") == []
        assert len(search(conn, ADMIN, "карта")) == 1
    engine.dispose()


def test_a_ticket_number_is_found_whether_written_run_together_or_in_thousands(engine):
    grouped, whole = "Я оформила заявку. Номер заявки 10.452.", "Ваше обращение 10452 принято."
    with engine.begin() as conn:
        conn.execute(insert(Call).values(id=1, uniqueid="1.1"))
        conn.execute(insert(Recording).values(id=1, call_id=1, path="-", sha256="1" * 64, size_bytes=0,
                                              status="accepted"))  # fmt: skip
        replace_transcript(conn, 1, "t", [
            {"role": "operator", "start": 1.0, "end": 5.0, "text": grouped},
            {"role": "operator", "start": 6.0, "end": 9.0, "text": whole},
            {"role": "operator", "start": 10.0, "end": 12.0, "text": "Сумма 1.045 рублей, тариф 452."},
        ])  # fmt: skip

        def found(query: str) -> list[float]:
            return sorted(h["start"] for h in search(conn, CONTROLLER, query))

        assert found("10452") == [1.0, 6.0], "the number as the helpdesk writes it"
        assert found('"10.452"') == found('"10 452"') == [1.0, 6.0], "as the transcript shows it"
        assert found('"заявки 10452"') == [1.0] and found('"обращение 10.452"') == [6.0]
        assert found("заявка -10452") == [], "excluded in either form"
        assert found('"1045 рублей"') == [10.0], "an amount too"


def test_an_incident_linked_to_the_call_is_no_longer_suggested_for_it(garbled):
    with garbled.begin() as conn:
        assert [c["incident"] for c in open_call(conn, ANALYST, 1)["candidates"]] == ["204817"]
        link = {"call_id": 1, "incident_id": 1, "source": "automatic", "confidence": 0.97}
        conn.execute(insert(CallIncidentLink).values(**link))
        call = open_call(conn, ANALYST, 1)
    assert [link["incident"] for link in call["links"]] == ["204817"]
    assert call["candidates"] == [], "the Call page offered to accept a link that was already made"


def test_a_team_lead_sees_the_callers_their_teams_queue_lost(centre):
    """A call no operator took (abandoned in the queue) belongs to the teams whose operators answer that
    queue: their lead sees it, another team's lead does not, and it is in no KPI (not counted)."""
    engine = centre["engine"]
    with engine.begin() as conn:
        conn.execute(update(Call).where(Call.id == 1).values(queue="support"))
        conn.execute(update(Call).where(Call.id == 2).values(queue="sales"))
        for call_id, queue in ((3, "support"), (4, "sales"), (5, None)):
            conn.execute(insert(Call).values(
                id=call_id, uniqueid=f"{call_id}.1", queue=queue, caller_number=PHONE, billsec=0,
                start_at=datetime(2026, 3, 3, 9, call_id),
            ))  # fmt: skip
            conn.execute(insert(CallOutcome).values(
                call_id=call_id, counted=False, exclusion_reasons=["not_answered"], linked=False
            ))  # fmt: skip
        lead_a = [r["uniqueid"] for r in list_calls(conn, Viewer("la", "team_lead", team="A"))]
        lead_b = [r["uniqueid"] for r in list_calls(conn, Viewer("lb", "team_lead", team="B"))]
        everyone = [r["uniqueid"] for r in list_calls(conn, ADMIN)]
        operator = [r["uniqueid"] for r in list_calls(conn, Viewer("op", "operator", operator_code="101"))]
        opened = open_call(conn, Viewer("la", "team_lead", team="A"), 3)
        with pytest.raises(AccessDenied):
            open_call(conn, Viewer("lb", "team_lead", team="B"), 3)
    assert opened["uniqueid"] == "3.1", "what the list shows, the lead opens"
    assert sorted(lead_a) == ["1.1", "3.1"] and sorted(lead_b) == ["2.1", "4.1"]
    assert "5.1" in everyone and operator == ["1.1"], "a call in no queue is no team's; operators see own"


def test_a_recording_browsers_cannot_play_is_served_as_a_pcm_copy_of_the_same_audio(centre):
    engine, tmp = centre["engine"], centre["tmp"]
    original = decode_audio(centre["recording"], split_channels=True)
    gsm = tmp / "call-1-gsm.wav"
    write_audio(gsm, original, 16000, "gsm")  # GSM 06.10 in WAV: what many PBXs write; browsers play none
    stage = get_stage("redact")
    options = StageOptions(redaction_folder=str(tmp / "redacted"))
    said = [SpokenUtterance(1.0, 5.0, "Добрый день", "Добрый день", 0.9, role="operator")]
    result = stage.run(StageInput(recording_id=1, path=str(gsm), options=options, transcript=said))
    assert not result.redacted and result.path == result.playable != str(gsm), "a copy, nothing muted"
    assert browser_plays(result.playable) and not browser_plays(gsm)
    copy = decode_audio(result.playable, split_channels=True)
    assert abs(copy.shape[1] - original.shape[1]) < 1600, "the whole call"
    with engine.begin() as conn:
        save_stage_result(conn, 1, "redact", stage.version, result_to_json(result))
        served = {who.role: call_audio(conn, who, 1).path for who in (ANALYST, ADMIN)}
    assert served == {"analyst": result.playable, "admin": result.playable}
