"""The second simulated site (sites/north): a desk that differs from the demo in everything the demo
taught us to assume, and what callqa makes of its records without any speech model.

Asterisk 13 writes a post-transfer leg with the caller's uniqueid; stereo calls are kept twice (a stereo
WAV and a mono MP3); queue_log names agents by name, the helpdesk by login; phones are typed by people;
every clock is Novosibirsk time. The whole pipeline on both sites is tests/test_end_to_end.py.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingest.roster import read_roster
from pipeline.batch import site_options
from pipeline.config import load_settings
from pipeline.ingest_run import IngestRequest, ingest
from simulator.site_demo import DEMO
from simulator.site_north import NORTH
from store.operators import save_roster
from store.schema import Call, Incident, Operator, Recording, Transfer
from tests.conftest import REPO

NORTH_DIR = REPO / "sites" / "north"


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((NORTH_DIR / "ground_truth.json").read_text(encoding="utf-8"))


def _cdr_rows() -> list[list[str]]:
    with open(NORTH_DIR / "Master.csv", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_the_second_site_differs_from_the_demo_in_its_files(truth):
    settings = load_settings(NORTH_DIR / "callqa.toml", environ={})
    assert (settings.pbx_timezone, settings.operator_channel) == ("Asia/Novosibirsk", "right")
    # Its profile and topics are named relative to the settings file, wherever callqa runs from.
    assert settings.analytics.profile == str(NORTH_DIR / "profile.yaml")
    assert settings.analytics.taxonomy == str(NORTH_DIR / "topics.yaml")
    # Asterisk 13: after a transfer the caller's uniqueid comes back on a leg to the target.
    rows = _cdr_rows()
    legs = Counter(row[16] for row in rows)
    transferred = [c for c in truth["calls"] if c["transfer"]]
    assert transferred and all(legs[c["uniqueid"]] >= 2 for c in transferred)
    assert all(len(row) == 21 and row[19] for row in rows), "newcdrcolumns: linkedid on every leg"
    # Stereo calls are kept as a stereo WAV and a mono MP3 copy, same uniqueid.
    stereo = [c for c in truth["calls"] if c["layout"] == "stereo"]
    assert len(stereo) >= 8
    for call in stereo:
        assert call["recording"].endswith(".wav") and [p[-4:] for p in call["copies"]] == [".mp3"]
        assert (NORTH_DIR / call["copies"][0]).exists() and call["uniqueid"] in call["copies"][0]
    # The helpdesk: semicolons, Russian headers, logins, phones as typed, day.month.year dates.
    text = (NORTH_DIR / "incidents.csv").read_text(encoding="utf-8")
    header, *lines = text.splitlines()
    assert header.startswith("Номер;Дата создания;ИНН")
    roster = {e.code: dict(e.identities) for e in read_roster(NORTH_DIR / "operators.csv").entries}
    logins = {ids["login"] for ids in roster.values()}
    cells = [line.split(";") for line in lines]
    assert {c[6] for c in cells} <= logins
    assert any(not c[4].isdigit() for c in cells if len(c[4]) > 6), "phones typed, not digits"
    # Queue agents by name; extensions and codes differ.
    agents = {line.split("|")[3] for line in (NORTH_DIR / "queue_log").read_text("utf-8").splitlines()}
    assert {ids["agent"] for ids in roster.values()} <= agents
    assert all(ids["extension"] != code for code, ids in roster.items())
    # The PBX's clock: CDR text times are Novosibirsk wall clock, queue_log epochs are absolute.
    zone = ZoneInfo("Asia/Novosibirsk")
    first = next(r for r in rows if r[16] == truth["calls"][0]["uniqueid"])
    entered = next(line for line in (NORTH_DIR / "queue_log").read_text("utf-8").splitlines()
                   if line.split("|")[1] == first[16] and "ENTERQUEUE" in line)  # fmt: skip
    local = datetime.fromtimestamp(int(entered.split("|")[0]), zone).replace(tzinfo=None)
    assert local == datetime.fromisoformat(first[9])
    # Another company, another script: not one greeting, request or answer in common.
    assert not set(NORTH.script.greetings) & set(DEMO.script.greetings)
    assert NORTH.company != DEMO.company and not {o.code for o in NORTH.operators} & {
        o.code for o in DEMO.operators
    }
    assert not {t.label for t in NORTH.topics} & {t.label for t in DEMO.topics}


def test_the_second_site_ingests_whole(engine, tmp_path, truth):
    """Every recording kept, copies as alternatives, talk time from the operator's leg, transfers and their
    targets from the legs, operators by extension, agent name and login, clients by typed phones."""
    options = site_options(NORTH_DIR, tmp_path)
    with engine.begin() as conn:
        save_roster(conn, read_roster(NORTH_DIR / "operators.csv").entries, "test")
    request = IngestRequest(
        NORTH_DIR / "recordings",
        cdr=NORTH_DIR / "Master.csv",
        queue_log=NORTH_DIR / "queue_log",
        incidents=NORTH_DIR / "incidents.csv",
    )
    summary = ingest(engine, request, workers=1, stage_options=options)
    answered = [c for c in truth["calls"] if c["recording"]]
    copies = sum(len(c["copies"]) for c in truth["calls"])
    assert (summary.rejected, summary.conflicts, summary.alternatives) == (0, 0, copies)
    assert summary.accepted - summary.alternatives == len(answered)
    assert summary.jobs_enqueued == 4 * len(answered), "the copies are not transcribed"
    with engine.connect() as conn:
        calls = {c.uniqueid: c for c in conn.execute(select(Call)).all()}
        operators = {o.id: o.code for o in conn.execute(select(Operator)).all()}
        chosen = {
            r.call_id: r.path for r in conn.execute(select(Recording).where(Recording.status == "accepted"))
        }
        transfers = {(t.call_id, t.target) for t in conn.execute(select(Transfer)).all()}
        incidents = conn.execute(select(Incident)).all()
    assert len(calls) == len(truth["calls"]) and len(operators) == len(NORTH.operators)
    for call in truth["calls"]:
        row = calls[call["uniqueid"]]
        assert row.start_at == datetime.fromisoformat(call["start"]), call["call_id"]
        if not call["recording"]:
            continue
        assert abs(row.billsec - call["billsec"]) <= 1, (call["call_id"], row.billsec, call["billsec"])
        assert operators[row.operator_id] == call["operator"], call["call_id"]
        assert chosen[row.id].endswith(call["recording"].split("/")[-1]), "the stereo WAV is transcribed"
        if call["transfer"]:
            assert (row.id, call["transfer"]["target"]) in transfers, call["call_id"]
    assert all(i.operator_id is not None for i in incidents), "helpdesk logins are the roster's operators"
    with_client = [i for i in incidents if i.inn]
    assert with_client and all(i.client_id is not None for i in with_client)
    # A phone the helpdesk typed for a client («8 (923) 030-87-15») makes that client's calls from it theirs.
    known = {c["caller_number"] for c in truth["calls"] for i in c["incidents"] if c["client"]}
    clients = {row.caller_number: row.client_id for row in calls.values() if row.client_id}
    assert known and known <= set(clients)
    inn_of = {i.client_id: i.inn for i in with_client}
    for call in truth["calls"]:
        if call["caller_number"] in known and call["client"]:
            assert inn_of.get(clients[call["caller_number"]]) == call["client"]["inn"], call["call_id"]
