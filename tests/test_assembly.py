"""Call assembly from call-record legs and queue_log events: exact values, no store involved."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contracts import CallRules
from ingest import CallRecord, QueueLogEvent, assemble_call, judge_match, read_queue_events
from ingest.assembly import infer_direction, named_recording

T0 = datetime(2026, 3, 2, 9, 0, 0)


def leg(uniqueid="1772442000.1", start=0, answer=None, end=60, billsec=0, **fields) -> CallRecord:
    return CallRecord(
        uniqueid=uniqueid,
        source_file="Master.csv",
        source_line=1,
        start=T0 + timedelta(seconds=start),
        answer=None if answer is None else T0 + timedelta(seconds=answer),
        end=T0 + timedelta(seconds=end),
        billsec=billsec,
        duration=end - start,
        **fields,
    )


def event(name, *data, agent=None, at=0, queue="support") -> QueueLogEvent:
    return QueueLogEvent(T0 + timedelta(seconds=at), "1772442000.1", queue, agent, name, list(data))


@pytest.mark.parametrize(
    ("src", "dst", "dcontext", "mapped", "direction"),
    [
        ("79161234567", "8800", "from-trunk", None, "inbound"),
        ("101", "79161234567", "from-internal", None, "outbound"),
        ("101", "102", "from-internal", None, "internal"),
        ("79161234567", "8800", "from-internal", None, "inbound"),
        ("101", "79161234567", "from-trunk", None, "inbound"),  # an inbound context wins over numbers
        ("101", "102", "from-internal", "Outbound", "outbound"),  # a mapped column wins over everything
        ("12345", "79161234567", "", None, "outbound"),
        ("123456", "79161234567", "", None, "inbound"),
    ],
)
def test_direction(src, dst, dcontext, mapped, direction):
    assert infer_direction(src, dst, dcontext, mapped) == direction


def test_the_internal_number_length_is_the_rules_one():
    assert infer_direction("1234", "79161234567", "from-internal") == "outbound"
    short = CallRules(internal_number_max_length=3)
    assert infer_direction("1234", "79161234567", "from-internal", rules=short) == "inbound"
    assert infer_direction("1234", "5678", "", rules=CallRules(internal_number_max_length=4)) == "internal"
    assert infer_direction("1234", "5678", "", rules=short) == "inbound"
    call = leg(src="1234", dst="79161234567", channel="SIP/1234-00000001", answer=5, billsec=55)
    assert assemble_call([call]).direction == "outbound"
    assert assemble_call([call], rules=short).direction == "inbound"


def test_a_transferred_call_is_assembled_from_all_its_legs():
    legs = [
        leg(src="79161234567", dst="8800", dcontext="from-trunk", dstchannel="SIP/101-00000013",
            answer=4, end=70, billsec=66, disposition="ANSWERED", linkedid="1772442000.1"),
        leg(src="79161234567", dst="2100", dcontext="from-internal", dstchannel="SIP/2100-00000015",
            start=70, answer=72, end=130, billsec=58, disposition="ANSWERED"),
    ]  # fmt: skip
    call = assemble_call(legs)
    assert call.direction == "inbound" and call.answered
    assert call.operator.candidates == ("SIP/101", "101")  # the first answered leg's callee
    assert (call.caller_number, call.callee_number, call.linkedid) == ("79161234567", "8800", "1772442000.1")
    assert call.start_at == T0 and call.end_at == T0 + timedelta(seconds=130)
    assert call.answer_at == T0 + timedelta(seconds=4)
    # Talk time is the operator's leg: the post-transfer leg (same uniqueid) is the target's talk.
    assert call.duration == 130.0 and call.billsec == 66
    assert [(t.kind, t.target, t.source) for t in call.transfers] == [("blind", "2100", "call_record")]
    assert call.disposition == "ANSWERED"


def test_answered_unanswered_and_the_operator_of_outbound_calls():
    ringing = leg(src="79161234567", dst="8800", dcontext="from-trunk", disposition="NO ANSWER", end=30)
    unanswered = assemble_call([ringing])
    assert not unanswered.answered and unanswered.disposition == "NO ANSWER"
    assert unanswered.operator is None and unanswered.answer_at is None and unanswered.billsec == 0
    # Talk time alone (no answer time in the record) counts as answered.
    talked = assemble_call([leg(src="79161234567", dst="8800", billsec=12, dstchannel="SIP/105-00000021")])
    assert talked.answered and talked.disposition == "ANSWERED" and talked.operator.code == "105"
    outbound = leg(src="101", dst="79161234567", channel="PJSIP/101-0000000a", dstchannel="SIP/trunk-1",
                   answer=3, billsec=40)  # fmt: skip
    assert assemble_call([outbound]).operator.code == "101"
    # A mapped operator column wins over channels; mapped queue and recording come from the new leg.
    mapped = leg(src="79160001122", operator="ivanova", queue="sales", recording="/rec/call-0001.MP3",
                 answer=2, billsec=30, dstchannel="SIP/101-1")  # fmt: skip
    call = assemble_call([mapped])
    assert (call.operator.code, call.queue, call.recording_file) == ("ivanova", "sales", "call-0001.MP3")


def test_the_recording_a_record_names():
    assert named_recording(leg(userfield="audio:20260302-090000-1.wav")) == "audio:20260302-090000-1.wav"
    assert named_recording(leg(userfield="/var/spool/asterisk/monitor/x.mp3")) == "x.mp3"
    assert named_recording(leg(userfield="DOCUMENTATION")) is None
    assert named_recording(leg()) is None


def test_queue_events_give_queue_operator_wait_and_transfers():
    found = read_queue_events(
        [
            event("ENTERQUEUE", "", "79161234567", "1"),
            event("RINGNOANSWER", "15000", agent="SIP/102", at=1),
            event("CONNECT", "7", "1772442003.2", "2", agent="SIP/101", at=7),
            event("ATTENDEDTRANSFER", "BRIDGE", "1772442010.5-2100", "7", "40", "1", agent="SIP/101", at=47),
            event("BLINDTRANSFER", "2050", "from-internal", "7", "60", "1", agent="SIP/101", at=67),
        ]
    )
    assert (found.queue, found.direction, found.operator.candidates, found.wait_seconds) == (
        "support",
        "inbound",
        ("SIP/101", "101"),
        7,
    )
    assert found.connected and found.disposition is None
    assert [(t.kind, t.target, t.source) for t in found.transfers] == [
        ("attended", "BRIDGE:1772442010.5-2100", "queue_log"),
        ("blind", "2050", "queue_log"),
    ]
    assert found.transfers[0].at == T0 + timedelta(seconds=47)
    assert len({t.key for t in found.transfers}) == 2


@pytest.mark.parametrize(
    ("events", "wait"),
    [
        ([event("ENTERQUEUE", "", "7916"), event("ABANDON", "1", "1", "23", at=23)], 23),
        ([event("ENTERQUEUE", "", "7916"), event("EXITWITHTIMEOUT", "1", "1", "300", at=300)], 300),
        ([event("ENTERQUEUE", "", "7916"), event("EXITEMPTY", "1", "1", "0")], 0),
    ],
)
def test_a_caller_who_left_the_queue_is_abandoned_with_the_wait(events, wait):
    found = read_queue_events(events)
    assert found.abandoned and not found.connected
    assert found.disposition == "ABANDONED" and found.wait_seconds == wait and found.operator is None


def test_queue_events_that_say_nothing_change_nothing():
    found = read_queue_events([event("DID", "8800", queue=None)])
    assert (found.queue, found.direction, found.wait_seconds, found.operator, found.disposition) == (
        (None,) * 5
    )
    assert found.transfers == []


def test_row_identity_ignores_where_a_row_was_read():
    a = leg(src="79161234567", answer=3, billsec=57)
    b = leg(src="79161234567", answer=3, billsec=57)
    b.source_file, b.source_line = "Master-copy.csv", 99
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != leg(src="79161234567", answer=3, billsec=58).fingerprint
    moved = event("CONNECT", "7", agent="SIP/101")
    moved.source_file, moved.source_line = "queue_log.1", 5
    assert moved.fingerprint == event("CONNECT", "7", agent="SIP/101").fingerprint


def test_a_matched_recording_verdict():
    assert judge_match("accepted", 60.0, 62, "1.1", None) is None
    assert judge_match("accepted", 60.0, 0, "1.1", None) is None  # no talk time: nothing to compare
    mismatch = judge_match("accepted", 12.0, 62, "1.1", None)
    assert (mismatch.status, mismatch.code) == ("rejected", "duration_mismatch")
    # A second file for a call that has one is a conflict, whatever its length.
    conflict = judge_match("accepted", 12.0, 62, "1.1", "/rec/first.wav")
    assert (conflict.status, conflict.code) == (
        "conflict",
        "conflict",
    ) and "/rec/first.wav" in conflict.message
    # A file rejected on its own is attached as it is.
    assert judge_match("rejected", 12.0, 62, "1.1", "/rec/first.wav") is None


def test_the_settings_file_gives_one_rules_object_that_survives_stage_options(tmp_path):
    from pipeline.config import call_rules, load_settings

    (tmp_path / "callqa.toml").write_text(
        "[analytics.exclusions]\ninternal_number_max_length = 3\nshort_call_seconds = 30\n"
        'disabled = ["internal_unlinked"]\n'
    )
    settings = load_settings(tmp_path / "callqa.toml", environ={})
    rules = settings.rules
    assert isinstance(rules, CallRules) and rules is settings.analytics.exclusions
    assert (rules.internal_number_max_length, rules.short_call_seconds, rules.short_transfer_seconds) == (
        3,
        30.0,
        150.0,
    )
    rebuilt = call_rules(settings.stage_options())
    assert rebuilt == CallRules(
        short_call_seconds=30.0, internal_number_max_length=3, disabled=("internal_unlinked",)
    )
    assert call_rules(None) == CallRules()
