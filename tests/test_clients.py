"""Clients identified by INN-KPP, a contract or account number or any of their phones, however written;
their history through the viewer-scoped store API; phone search. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import insert, select, text, update

from contracts.text import stems
from ingest import read_incidents
from pipeline.ingest_run import IngestRequest, ingest
from pipeline.stages.outcomes import analyse
from store import make_engine, upgrade
from store.api import AccessDenied, SearchRefused, Viewer, client_history, search
from store.call_records import link_clients_by_said_phones
from store.clients import find_clients
from store.migrate import alembic_config
from store.results import save_stage_result
from store.schema import (
    Call,
    ClientIdentifier,
    Incident,
    IncidentCandidate,
    Operator,
    Recording,
    Utterance,
)
from store.search import SearchFilter, search_utterances
from store.search_query import Phone, parse

QC = Viewer("qc", "quality_controller")
ANALYST = Viewer("ann", "analyst")
LEAD_A = Viewer("lea", "team_lead", team="A")
OPERATOR_201 = Viewer("op", "operator", operator_code="201")
STRANGER = Viewer("who", "auditor")

INCIDENTS = (
    "id,created_at,inn,kpp,phone,contract,operator,summary\n"
    'INC1,2026-03-02 09:03:00,7707083893,770701001,+7 916 123-45-67,,101,"счёт, звоните 89161234567"\n'
    "INC2,2026-03-03 10:05:00,7707083893,770701001,8 (812) 640-77-88,,201,подпись\n"
    "INC3,2026-03-04 11:00:00,,,8-903-000-11-22,Д-2026/17,201,тариф\n"
    "INC4,2026-03-05 12:00:00,7728168971,,,Д-2026/17,101,тариф\n"
    "INC5,2026-03-05 13:00:00,,,нет,,101,без телефона\n"
    "INC6,2026-03-06 13:00:00,,,,4951234567,101,лицевой счёт как номер\n"
)


def _leg(uniqueid: str, src: str, dst: str, start: str, extension: str, context: str = "from-trunk") -> str:
    caller_channel = f"SIP/{extension}-0000001a" if context == "from-internal" else "SIP/trunk-00000001"
    callee_channel = "SIP/trunk-00000002" if context == "from-internal" else f"SIP/{extension}-0000002b"
    return (
        f'"","{src}","{dst}","{context}","","{caller_channel}","{callee_channel}","Dial","","{start}",'
        f'"{start}","{start}","60","60","ANSWERED","DOCUMENTATION","{uniqueid}",""\n'
    )


CDR = (
    _leg("1.1", "79161234567", "8800", "2026-03-02 09:00:00", "101")  # the first phone, as the PBX writes it
    + _leg("2.1", "88126407788", "8800", "2026-03-03 10:00:00", "201")  # the second, with a trunk's 8
    + _leg("3.1", "+79030001122", "8800", "2026-03-04 10:55:00", "201")  # the contract client's phone
    + _leg("4.1", "79990000000", "8800", "2026-03-05 09:00:00", "101")  # nobody known
    + _leg("5.1", "101", "8 916 123-45-67", "2026-03-06 09:00:00", "101", "from-internal")  # a callback
)


@pytest.fixture
def site(engine, tmp_path):
    """The CDR and the helpdesk export ingested; operator 101 in team A, 201 in team B."""
    (tmp_path / "Master.csv").write_text(CDR, encoding="utf-8")
    (tmp_path / "incidents.csv").write_text(INCIDENTS, encoding="utf-8")
    ingest(engine, IngestRequest(cdr=tmp_path / "Master.csv", incidents=tmp_path / "incidents.csv"))
    with engine.begin() as conn:
        for code, team in (("101", "A"), ("201", "B")):
            conn.execute(update(Operator).where(Operator.code == code).values(team=team))
    return engine


def _clients(engine) -> tuple[dict, dict]:
    with engine.connect() as conn:
        calls = dict(conn.execute(select(Call.uniqueid, Call.client_id)).all())
        incidents = dict(conn.execute(select(Incident.external_id, Incident.client_id)).all())
    return calls, incidents


def test_numbers_are_stored_in_one_form(site):
    with site.connect() as conn:
        numbers = dict(conn.execute(select(Call.uniqueid, Call.caller_number)).all())
        callee = conn.execute(select(Call.callee_number).where(Call.uniqueid == "5.1")).scalar()
    assert numbers == {"1.1": "79161234567", "2.1": "78126407788", "3.1": "79030001122",
                       "4.1": "79990000000", "5.1": "101"}  # fmt: skip
    assert callee == "79161234567"
    from pipeline.stages.outcomes import analyse
    from qa_dashboard.pages_calls import table_rows
    from store.api import Viewer, list_calls

    analyse(site)
    with site.connect() as conn:
        listed = {r["uniqueid"]: r for r in list_calls(conn, Viewer("admin", "admin"))}
    customers = {u: r["customer_number"] for u, r in listed.items()}
    assert customers["5.1"] == "79161234567", "a callback's customer is whom the operator called"
    assert customers["1.1"] == "79161234567" and listed["5.1"]["caller_number"] == "101"
    assert list(table_rows([listed["5.1"]])["customer"]) == ["79161234567"]


def test_an_export_and_a_cdr_writing_a_phone_differently_name_the_same_client(site):
    calls, incidents = _clients(site)
    client = incidents["INC1"]
    assert client is not None and calls["1.1"] == client


def test_a_client_with_two_phones_gets_the_calls_of_both(site):
    calls, incidents = _clients(site)
    client = incidents["INC1"]
    assert incidents["INC2"] == client
    assert calls["2.1"] == client and calls["5.1"] == client  # the second phone; an outbound callback
    assert calls["4.1"] is None
    with site.connect() as conn:
        phones = conn.execute(
            select(ClientIdentifier.value).where(
                ClientIdentifier.client_id == client, ClientIdentifier.kind == "phone"
            )
        ).scalars()
        assert sorted(phones) == ["78126407788", "79161234567"]


def test_a_contract_number_identifies_the_client(site):
    calls, incidents = _clients(site)
    assert incidents["INC3"] is not None and incidents["INC4"] == incidents["INC3"] == calls["3.1"]
    assert incidents["INC3"] != incidents["INC1"]
    with site.connect() as conn:
        assert find_clients(conn, "Д-2026/17") == [incidents["INC3"]]
        assert find_clients(conn, "+7 (916) 123 45 67") == [incidents["INC1"]]
        assert find_clients(conn, "7707083893-770701001") == find_clients(conn, "7707083893")
        assert find_clients(conn, "нет") == []


def test_what_is_not_a_phone_identifies_nobody(site):
    _, incidents = _clients(site)
    assert incidents["INC5"] is None


def test_a_phone_said_in_the_call_identifies_the_client(site):
    calls, incidents = _clients(site)
    with site.begin() as conn:
        unknown = conn.execute(select(Call.id).where(Call.uniqueid == "4.1")).scalar()
        known = conn.execute(select(Call.id).where(Call.uniqueid == "3.1")).scalar()
        found = link_clients_by_said_phones(
            conn, {unknown: ["79001112233", "78126407788"], known: ["79161234567"]}
        )
    assert found == {unknown: incidents["INC1"]}  # a call already identified keeps its client
    assert _clients(site)[0]["3.1"] == calls["3.1"]


US_INCIDENTS = (
    "id,created_at,phone,contract,operator,summary\n"
    "SD-1,2026-03-02 09:03:00,+1 (212) 555-0147,,101,billing\n"
    "SD-2,2026-03-03 10:05:00,212.555.0199 or 1-646-555-0100,,201,password reset\n"
    "SD-3,2026-03-04 11:00:00,n/a,AC-17,201,no phone given\n"
)
US_CDR = (
    _leg("u1", "(212) 555-0147", "8800", "2026-03-02 09:00:00", "101")  # the caller id as the trunk sends it
    + _leg("u2", "16465550100", "8800", "2026-03-03 10:00:00", "201")  # with the country's 1
    + _leg("u3", "101", "+1 212 555 0199", "2026-03-04 10:55:00", "101", "from-internal")  # a callback
)


def test_a_us_site_reads_its_customers_numbers_as_american(engine, tmp_path):
    """`phone_country = "US"`: a number written without its country code is a US one, in the records,
    the helpdesk export, a typed search or client lookup, and said in a call."""
    from classifiers.call import said_identifiers
    from contracts import CallRules

    (tmp_path / "Master.csv").write_text(US_CDR, encoding="utf-8")
    (tmp_path / "incidents.csv").write_text(US_INCIDENTS, encoding="utf-8")
    rules = CallRules(phone_country="US")
    request = IngestRequest(cdr=tmp_path / "Master.csv", incidents=tmp_path / "incidents.csv")
    ingest(engine, request, rules=rules)
    calls, incidents = _clients(engine)
    with engine.connect() as conn:
        numbers = dict(conn.execute(select(Call.uniqueid, Call.caller_number)).all())
        callee = conn.execute(select(Call.callee_number).where(Call.uniqueid == "u3")).scalar()
    assert numbers == {"u1": "12125550147", "u2": "16465550100", "u3": "101"} and callee == "12125550199"
    assert calls["u1"] == incidents["SD-1"] is not None
    assert calls["u2"] == incidents["SD-2"] == calls["u3"] is not None, "both of a cell's numbers name it"
    assert incidents["SD-3"] != incidents["SD-1"]  # "n/a" names no client
    with engine.begin() as conn:
        assert find_clients(conn, "212-555-0147", country="US") == [incidents["SD-1"]]
        assert find_clients(conn, "212-555-0147") == [], "read as a Russian number it is nobody's"
        history = client_history(conn, QC, identifier="(646) 555-0100", country="US")
        assert [c["uniqueid"] for c in history["calls"]] == ["u2", "u3"]
    assert parse("(212) 555-0147", "US") == Phone("12125550147")
    said = said_identifiers("you can call me back on 212 555 0199 please", country="US")
    assert said.phone == ["12125550199"] and said.incident == []
    # About a tenth of US numbers pass the Russian INN checksum: on a US site they are phones all the same.
    assert said_identifiers("my number is 212 555 0003", country="US").phone == ["12125550003"]
    assert parse("2125550003", "US") == Phone("12125550003") and parse("2125550003") != Phone("72125550003")


def test_the_history_api_gives_calls_and_incidents_within_the_viewers_scope(site):
    with site.begin() as conn:
        full = client_history(conn, QC, identifier="8 (916) 123-45-67")
        assert [c["uniqueid"] for c in full["calls"]] == ["1.1", "2.1", "5.1"]
        assert [i["external_id"] for i in full["incidents"]] == ["INC1", "INC2"]
        assert full["client"]["phones"] == ["79161234567", "78126407788"]
        assert full["client"]["inn"] == "7707083893"
        client = full["client"]["id"]

        team = client_history(conn, LEAD_A, client)
        assert [c["uniqueid"] for c in team["calls"]] == ["1.1", "5.1"]
        assert [i["external_id"] for i in team["incidents"]] == ["INC1"]
        assert {c["team"] for c in team["calls"]} == {"A"}

        own = client_history(conn, OPERATOR_201, client)
        assert [c["uniqueid"] for c in own["calls"]] == ["2.1"]
        assert [i["external_id"] for i in own["incidents"]] == ["INC2"]

        call = conn.execute(select(Call.id).where(Call.uniqueid == "1.1")).scalar()
        assert client_history(conn, QC, call_id=call)["client"]["id"] == client
        with pytest.raises(AccessDenied):
            client_history(conn, OPERATOR_201, call_id=call)  # not the operator's call


def test_the_history_is_masked_for_roles_that_may_not_read_phones(site):
    with site.begin() as conn:
        with pytest.raises(AccessDenied):
            client_history(conn, ANALYST, identifier="+79161234567")
        with pytest.raises(AccessDenied):
            client_history(conn, STRANGER, identifier="Д-2026/17")
        client = find_clients(conn, "7707083893")[0]
        seen = client_history(conn, ANALYST, client)
        assert seen["client"]["phones"] == ["[phone]", "[phone]"] and seen["client"]["inn"] == "[inn]"
        assert {c["caller_number"] for c in seen["calls"]} <= {"[phone]", "101"}
        assert all("89161234567" not in (i["summary"] or "") for i in seen["incidents"])
        assert client_history(conn, ANALYST, identifier="Д-2026/17")["incidents"]
        # An account number that reads like a phone is still an account number, for any role.
        assert [
            i["external_id"] for i in client_history(conn, ANALYST, identifier="4951234567")["incidents"]
        ] == ["INC6"]
        with pytest.raises(LookupError):
            client_history(conn, QC, identifier="+7 900 000-00-00")


def test_a_phone_typed_in_any_form_finds_the_calls_of_that_number(site):
    with site.begin() as conn:
        ids = dict(conn.execute(select(Call.uniqueid, Call.id)).all())
        for n, uniqueid in enumerate(("1.1", "2.1", "4.1", "5.1"), start=1):
            conn.execute(insert(Recording).values(
                id=n, call_id=ids[uniqueid], path=f"{n}.wav", sha256=str(n) * 64, size_bytes=0,
                status="accepted",
            ))  # fmt: skip
            for idx, said in enumerate(("Здравствуйте, компания.", "Добрый день.")):
                conn.execute(insert(Utterance).values(
                    recording_id=n, call_id=ids[uniqueid], version="t", idx=idx, role="operator", start=idx,
                    end=idx + 1.0, text=said, normalized_text=said, search_text=" ".join(stems(said)),
                ))  # fmt: skip
    for typed in ("+7 916 123-45-67", "8 (916) 123-45-67", "79161234567", "9161234567", '"916.123.45.67"'):
        assert parse(typed) == Phone("79161234567")
        with site.connect() as conn:
            hits = search_utterances(conn, parse(typed))
        assert sorted(h["uniqueid"] for h in hits) == ["1.1", "5.1"]  # one hit per call, either direction
    assert parse("7707083893") != Phone("77707083893")  # a valid INN is searched as said
    with site.begin() as conn:
        assert len(search(conn, QC, "8 916 123 45 67")) == 2
        for masked in (ANALYST, LEAD_A):  # neither reads phones: a phone is no search for them
            with pytest.raises(SearchRefused):
                search(conn, masked, "8 916 123 45 67")
        assert [h["uniqueid"] for h in search(conn, QC, "88126407788")] == ["2.1"]
        in_team = search_utterances(conn, parse("+7 812 640-77-88"), SearchFilter(only_team="A"))
        assert in_team == []  # scope holds for a number too


def test_existing_numbers_and_client_phones_are_normalised_by_the_migration(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO clients (id, phone, inn) VALUES (1, '+7 916 123-45-67', NULL)"))
            conn.execute(text("INSERT INTO clients (id, phone, inn) VALUES (2, 'нет', '7707083893')"))
            conn.execute(text(
                "INSERT INTO calls (id, uniqueid, direction, caller_number, callee_number) "
                "VALUES (1, 'u.1', 'inbound', '89161234567', '8800')"
            ))  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(
                select(ClientIdentifier.client_id, ClientIdentifier.kind, ClientIdentifier.value)
            ).all() == [(1, "phone", "79161234567")]
            assert conn.execute(select(Call.caller_number, Call.callee_number)).one() == (
                "79161234567",
                "8800",
            )
        command.downgrade(alembic_config(engine), "0004")  # and back: a client keeps its first phone
        with engine.connect() as conn:
            assert conn.execute(text("SELECT phone FROM clients ORDER BY id")).scalars().all() == [
                "79161234567",
                None,
            ]
    finally:
        engine.dispose()


def test_the_export_reader_takes_phones_and_contract_numbers_under_english_or_russian_headers(tmp_path):
    russian = tmp_path / "ru.csv"
    russian.write_text(
        "Номер;Дата создания;Телефон;Номер договора\n"
        "1;02.03.2026 09:02:00;+7 916 123-45-67, 8 (812) 640-77-88;Д-17\n",
        encoding="utf-8",
    )
    english = tmp_path / "en.csv"
    english.write_text("id,created_at,phone,account_number\n2,2026-03-02 09:02:00,нет,LS-0042\n")
    (ru,) = read_incidents(russian).rows
    (en,) = read_incidents(english).rows
    assert ru.phones == ["79161234567", "78126407788"] and ru.account == "Д-17"
    assert en.phones == [] and en.account == "LS-0042"  # "нет" is no phone: it names no client


def test_the_analysis_identifies_a_caller_from_an_unknown_number_by_the_phone_said(site):
    with site.begin() as conn:
        call = conn.execute(select(Call.id).where(Call.uniqueid == "4.1")).scalar()
        conn.execute(insert(Recording).values(
            id=9, call_id=call, path="9.wav", sha256="9" * 64, size_bytes=0, status="accepted"
        ))  # fmt: skip
        # A result stored before phones were canonical: ten digits, no country code.
        save_stage_result(conn, 9, "classify", "v", {"said": {"phone": ["9161234567"]}, "purpose": {}})
    analyse(site)
    calls, incidents = _clients(site)
    assert calls["4.1"] == incidents["INC1"]
    with site.connect() as conn:
        reasons = conn.execute(
            select(IncidentCandidate.reasons).where(IncidentCandidate.call_id == call)
        ).scalars()
        assert any("same client" in r for found in reasons for r in found)
