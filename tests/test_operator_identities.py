"""Operator identities: one person known by extension, queue agent, channel and helpdesk login."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from ingest.identities import identity_candidates, operator_identity
from ingest.roster import read_roster, split_values
from pipeline.ingest_run import IngestRequest, ingest
from store import status_report
from store.operators import operator_identities, resolve_operators, save_roster
from store.schema import Call, Incident, Operator

DEMO_ROSTER = Path(__file__).resolve().parents[1] / "demo" / "operators.csv"


def _report(engine):
    with engine.connect() as conn:
        return status_report(conn)


def _cdr_row(uniqueid: str, dstchannel: str, start: str, answer: str, end: str, billsec: int) -> list[str]:
    return [
        "", "79161234567", "8800", "from-trunk", '"Client" <79161234567>', "PJSIP/trunk-00000001", dstchannel,
        "Queue", "support,t", start, answer, end, str(billsec + 2), str(billsec), "ANSWERED", "DOCUMENTATION",
        uniqueid, "",
    ]  # fmt: skip


def _site(folder: Path) -> IngestRequest:
    """Two calls and three incidents of one helpdesk.

    Call 1 names its operator only by the CDR channel (PJSIP/3105-000001); call 2's CDR leg names nobody
    and its queue_log CONNECT names the agent PJSIP/a.petrova; incident 501 is by the login a.petrova,
    incident 502 (line 3) by b.sidorov, whom no roster knows.
    """
    with (folder / "Master.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(_cdr_row("1772442000.1", "PJSIP/3105-000001", "2026-03-02 10:00:00",
                                 "2026-03-02 10:00:04", "2026-03-02 10:01:04", 60))  # fmt: skip
        writer.writerow(_cdr_row("1772442600.2", "", "2026-03-02 10:10:00",
                                 "2026-03-02 10:10:03", "2026-03-02 10:11:33", 90))  # fmt: skip
    (folder / "queue_log").write_text(
        "1772442600|1772442600.2|support|NONE|ENTERQUEUE||79161234567|1\n"
        "1772442603|1772442600.2|support|PJSIP/a.petrova|CONNECT|3|1772442603.3|2\n"
        "1772442693|1772442600.2|support|PJSIP/a.petrova|COMPLETEAGENT|3|90|1\n",
        encoding="utf-8",
    )
    (folder / "incidents.csv").write_text(
        "id,created_at,inn,kpp,phone,knowledge_article,operator,status,summary,call_uniqueid\n"
        "501,2026-03-02 10:12:00,6638675654,663801001,79161234567,1305,a.petrova,closed,report,\n"
        "502,2026-03-02 10:20:00,6629141776,662901001,79763170669,1201,b.sidorov,closed,signature,\n",
        encoding="utf-8",
    )
    return IngestRequest(cdr=folder / "Master.csv", queue_log=folder / "queue_log",
                         incidents=folder / "incidents.csv")  # fmt: skip


def _roster(folder: Path) -> Path:
    path = folder / "operators.csv"
    path.write_text(
        "Код;ФИО;Группа;Добавочный;Агент очереди;Логин\n"
        "A-17;Анна Петрова;Поддержка-1;3105, 3106;PJSIP/a.petrova;a.petrova\n"
        "A-18;Иван Орлов;Поддержка-1;3107;Agent/3107;i.orlov\n",
        encoding="utf-8",
    )
    return path


def test_identity_candidates_most_specific_first():
    assert identity_candidates("PJSIP/3105-000001") == ("PJSIP/3105", "3105")
    assert identity_candidates("PJSIP/a.petrova-0000001") == ("PJSIP/a.petrova", "a.petrova")
    assert identity_candidates("Agent/101") == ("Agent/101", "101")
    assert identity_candidates("Анна Петрова") == ("Анна Петрова",)
    assert identity_candidates(" ") == () and operator_identity(None) is None
    who = operator_identity("SIP/101-0000000a", "Master.csv", 4)
    assert (who.value, who.code, who.source, who.line) == ("SIP/101", "101", "Master.csv", 4)


def test_the_roster_reads_identity_columns_in_english_and_russian(tmp_path):
    russian = read_roster(_roster(tmp_path))
    assert [e.code for e in russian.entries] == ["A-17", "A-18"] and russian.problems == []
    assert russian.entries[0].identities == [
        ("extension", "3105"), ("extension", "3106"), ("agent", "PJSIP/a.petrova"), ("login", "a.petrova"),
    ]  # fmt: skip
    english = tmp_path / "roster_en.csv"
    english.write_text(
        "code,name,team,extensions,queue_agent,channel,helpdesk_login\n"
        '101,Anna,T1,"101; 201",Анна Петрова,PJSIP/anna-00000a1b,"anna,a.smirnova"\n',
        encoding="utf-8",
    )
    entry = read_roster(english).entries[0]
    assert entry.identities == [
        ("extension", "101"), ("extension", "201"), ("agent", "Анна Петрова"), ("channel", "PJSIP/anna"),
        ("login", "anna"), ("login", "a.smirnova"),
    ]  # fmt: skip
    assert split_values(" 3105 ;3106,, 3105") == ["3105", "3106"]


def test_an_operator_imported_without_a_name_is_imported_and_said_so(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name,team\n101,Анна Смирнова,T1\n102,,T1\n", encoding="utf-8")
    read = read_roster(roster)
    assert [e.code for e in read.entries] == ["101", "102"] and read.problems == [], "nothing skipped"
    assert len(read.warnings) == 1 and ":3: operator 102 has no name" in read.warnings[0]
    no_names = tmp_path / "codes.csv"
    no_names.write_text("code,team\n101,T1\n", encoding="utf-8")
    assert read_roster(no_names).warnings == [], "a roster of codes alone is what it is: no line each"


def test_the_demo_roster_still_imports(engine):
    roster = read_roster(DEMO_ROSTER)
    assert roster.problems == [] and len(roster.entries) >= 4
    with engine.begin() as conn:
        outcome = save_roster(conn, roster.entries, "test")
        assert outcome.applied == len(roster.entries) and outcome.conflicts == []
        names = dict(conn.execute(select(Operator.code, Operator.name)).all())
        identities = operator_identities(conn)
    assert names["101"] == "Анна Смирнова"
    assert identities["101"] == [("code", "101")]


def test_a_channel_an_agent_and_a_login_are_one_operator(engine, tmp_path):
    with engine.begin() as conn:
        outcome = save_roster(conn, read_roster(_roster(tmp_path)).entries, "test")
    assert outcome.conflicts == [] and outcome.identities == 9
    summary = ingest(engine, _site(tmp_path))
    with engine.connect() as conn:
        calls = dict(
            conn.execute(
                select(Call.uniqueid, Operator.code).join(Operator, Call.operator_id == Operator.id)
            ).all()
        )
        incidents = dict(conn.execute(select(Incident.external_id, Operator.code).outerjoin(Operator)).all())
        codes = set(conn.execute(select(Operator.code)).scalars())
    assert calls == {"1772442000.1": "A-17", "1772442600.2": "A-17"}
    assert incidents == {"501": "A-17", "502": None}
    # The unknown login is reported with its file and line, and no operator is invented for it.
    assert codes == {"A-17", "A-18"}
    unknown = [p for p in summary.problems if p.code == "unknown_operator"]
    assert [(Path(p.source).name, p.line, p.message) for p in unknown] == [
        ("incidents.csv", 3, "unknown operator identity 'b.sidorov'")
    ]
    reported = [p for p in _report(engine).problems if p.code == "unknown_operator"]
    assert [(p.kind, Path(p.source).name, p.line) for p in reported] == [("incidents", "incidents.csv", 3)]
    again = ingest(engine, _site(tmp_path))
    # Read again, the file still names him: reported again, kept once.
    assert [p.line for p in again.problems if p.code == "unknown_operator"] == [3]
    assert len([p for p in _report(engine).problems if p.code == "unknown_operator"]) == 1


def test_unknown_channels_and_agents_are_reported_not_invented(engine, tmp_path):
    with engine.begin() as conn:
        save_roster(conn, read_roster(_roster(tmp_path)).entries, "test")
    request = _site(tmp_path)
    text = request.cdr.read_text(encoding="utf-8").replace("PJSIP/3105-000001", "PJSIP/3999-000009")
    request.cdr.write_text(text, encoding="utf-8")
    request.queue_log.write_text(
        request.queue_log.read_text(encoding="utf-8").replace("PJSIP/a.petrova", "Agent/4000"),
        encoding="utf-8",
    )
    summary = ingest(engine, request)
    unknown = {(p.message, p.line) for p in summary.problems if p.code == "unknown_operator"}
    assert ("unknown operator identity 'PJSIP/3999'", 1) in unknown
    assert any(message.startswith("unknown operator identity 'Agent/4000'") for message, _ in unknown)
    with engine.connect() as conn:
        assert set(conn.execute(select(Operator.code)).scalars()) == {"A-17", "A-18"}
        assert set(conn.execute(select(Call.operator_id)).scalars()) == {None}


def test_without_a_roster_extensions_define_operators(engine, tmp_path):
    summary = ingest(engine, _site(tmp_path))
    assert [p for p in summary.problems if p.code == "unknown_operator"] == []
    with engine.connect() as conn:
        calls = dict(
            conn.execute(
                select(Call.uniqueid, Operator.code).join(Operator, Call.operator_id == Operator.id)
            ).all()
        )
    assert calls == {"1772442000.1": "3105", "1772442600.2": "a.petrova"}


def test_an_identity_belongs_to_one_operator(engine, tmp_path):
    roster = tmp_path / "operators.csv"
    roster.write_text(
        "code,name,extension,login\n101,Anna,3105,a.petrova\n102,Ivan,3105,A.Petrova\n103,Olga,101,\n",
        encoding="utf-8",
    )
    with engine.begin() as conn:
        outcome = save_roster(conn, read_roster(roster).entries, "test")
        identities = operator_identities(conn)
    assert len(outcome.conflicts) == 3
    assert outcome.conflicts[0].startswith(f"{roster}:3: extension '3105' of operator 102 already belongs")
    assert "login 'A.Petrova'" in outcome.conflicts[1] and "extension '101'" in outcome.conflicts[2]
    assert identities == {
        "101": [("code", "101"), ("extension", "3105"), ("login", "a.petrova")],
        "102": [("code", "102")],
        "103": [("code", "103")],
    }
    # A new roster that moves the extension from 101 to 102 reassigns it: no conflict.
    roster.write_text("code,extension\n101,3106\n102,3105\n", encoding="utf-8")
    with engine.begin() as conn:
        moved = save_roster(conn, read_roster(roster).entries, "test")
        resolved = resolve_operators(conn, [operator_identity("PJSIP/3105-000002"), "a.petrova", "3106"])
        ids = dict(conn.execute(select(Operator.code, Operator.id)).all())
    assert moved.conflicts == []
    assert resolved.ids == {operator_identity("PJSIP/3105-000002"): ids["102"], "3106": ids["101"]}
    assert resolved.unknown == ["a.petrova"]
