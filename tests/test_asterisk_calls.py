"""Calls as Asterisk 11, 12+ and FreePBX write them: legs, talk time, transfers, direction, time zone.

The records are written by hand the way each PBX writes them: Asterisk 12+ keeps the caller's uniqueid on
the leg after a transfer and chains every channel of a call by linkedid; FreePBX exports its cdr table with
a header, one uniqueid per channel and a billsec that starts when the IVR answered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from contracts import CallRules
from ingest import CallRecord, QueueLogEvent, assemble_call, judge_match, load_mapping, read_queue_events
from ingest.assembly import call_key, call_keys, channel_kind, channel_peer, infer_direction, talk_leg
from ingest.cdr import pbx_time, pbx_zone, read_master_csv
from ingest.generic_csv import read_mapped_csv
from ingest.queue_log import read_queue_log
from pipeline.config import ConfigError, Settings, load_settings
from pipeline.ingest_run import IngestRequest, ingest
from simulator.loadgen import speechlike, write_audio
from store.schema import Call, CallLeg, CallOutcome, Operator, Recording, Transfer

T0 = datetime(2026, 3, 2, 9, 0, 0)
MOSCOW = ZoneInfo("Europe/Moscow")


def leg(uniqueid, start, end, answer=None, billsec=0, **fields) -> CallRecord:
    return CallRecord(
        uniqueid=uniqueid,
        source_file="Master.csv",
        source_line=1,
        start=T0 + timedelta(seconds=start),
        answer=None if answer is None else T0 + timedelta(seconds=answer),
        end=T0 + timedelta(seconds=end),
        duration=end - start,
        billsec=billsec,
        disposition="ANSWERED" if answer is not None else "NO ANSWER",
        **fields,
    )


def qevent(name, *data, at=0, agent="PJSIP/101", uniqueid="1772442000.21") -> QueueLogEvent:
    return QueueLogEvent(T0 + timedelta(seconds=at), uniqueid, "support", agent, name, list(data))


# An Asterisk 13 attended transfer: the operator (101) talks 44 s, consults 3105 and completes the transfer;
# the PBX then writes the caller's leg again, same uniqueid, bridged to 3105 for 214 s.
ATTENDED = [
    leg("1772442000.21", 0, 49, answer=5, billsec=44, src="79161234567", dst="8800", dcontext="from-trunk",
        channel="PJSIP/mts-00000021", dstchannel="PJSIP/101-00000022", lastapp="Queue", lastdata="support",
        linkedid="1772442000.21", userfield="20260302-090000-79161234567-8800-1772442000.21.wav"),
    leg("1772442030.23", 30, 49, answer=33, billsec=16, src="101", dst="3105", dcontext="from-internal",
        channel="PJSIP/101-00000022", dstchannel="PJSIP/3105-00000024", lastapp="Dial",
        linkedid="1772442000.21"),
    leg("1772442000.21", 49, 263, answer=49, billsec=214, src="79161234567", dst="3105",
        dcontext="from-internal", channel="PJSIP/mts-00000021", dstchannel="PJSIP/3105-00000024",
        lastapp="Dial", linkedid="1772442000.21"),
]  # fmt: skip


def test_a_post_transfer_leg_is_the_targets_talk_not_the_operators():
    assert {call_key(one) for one in ATTENDED} == {"1772442000.21"}
    call = assemble_call(ATTENDED)
    assert call.billsec == 44  # not 44 + 214 (or 274 with the consultation)
    assert call.answer_at == T0 + timedelta(seconds=5) and call.end_at == T0 + timedelta(seconds=263)
    assert call.direction == "inbound" and call.operator.code == "101"
    assert [(t.kind, t.target, t.source) for t in call.transfers] == [("attended", "3105", "call_record")]
    assert call.recording_file == "20260302-090000-79161234567-8800-1772442000.21.wav"
    # The 44 s recording of the operator's conversation agrees with the call's talk time.
    assert judge_match("accepted", 44.4, call.billsec, "1772442000.21", None) is None
    assert judge_match("accepted", 44.4, 258.0, "1772442000.21", None).code == "duration_mismatch"
    # A recording of the caller's channel over both legs (FreePBX) is the call's too; a third length is not.
    assert judge_match("accepted", 258.4, call.billsec, "1772442000.21", None, whole_call=258.0) is None
    wrong = judge_match("accepted", 120.0, call.billsec, "1772442000.21", None, whole_call=258.0)
    assert (
        wrong.code == "duration_mismatch"
        and "258 s from its first answer to its last leg's end" in wrong.message
    )


def test_legs_without_linkedid_are_chained_by_the_channels_they_share():
    # Asterisk 12+ cdr_csv without newcdrcolumns writes no linkedid: the consultation leg is still the
    # operator's channel of the first leg, and the post-transfer leg the target's channel of the consultation.
    bare = [replace(one, linkedid=None) for one in ATTENDED]
    assert call_keys(bare) == ["1772442000.21"] * 3
    assert call_keys(FREEPBX) == ["1772442300.51"] * 3
    # A channel name the PBX reuses after a restart, hours later, is another call.
    hours = timedelta(hours=10)
    later = replace(bare[1], uniqueid="1772480000.2", start=bare[1].start + hours,
                    answer=bare[1].answer + hours, end=bare[1].end + hours)  # fmt: skip
    assert call_keys([*bare, later]) == ["1772442000.21"] * 3 + ["1772480000.2"]
    # Calls that share nothing stay apart; an agent channel without an instance suffix joins nothing.
    other = leg("1772442500.71", 0, 60, answer=3, billsec=57, src="79035554433", dst="8800",
                channel="SIP/trunk-00000071", dstchannel="Agent/101")  # fmt: skip
    agent = replace(other, uniqueid="1772442500.72", channel="SIP/trunk-00000072")
    assert call_keys([other, agent]) == ["1772442500.71", "1772442500.72"]


def test_a_blind_transfer_has_no_consultation_leg():
    legs = [
        leg("1772442100.31", 0, 35, answer=4, billsec=31, src="79031112233", dst="8800",
            dcontext="from-trunk", channel="SIP/beeline-0000003a", dstchannel="SIP/102-0000003b",
            linkedid="1772442100.31"),
        leg("1772442100.31", 35, 120, answer=38, billsec=82, src="79031112233", dst="3105",
            dcontext="from-internal", channel="SIP/beeline-0000003a", dstchannel="SIP/3105-0000003c",
            linkedid="1772442100.31"),
    ]  # fmt: skip
    call = assemble_call(legs)
    assert call.billsec == 31 and call.operator.code == "102"
    assert [(t.kind, t.target) for t in call.transfers] == [("blind", "3105")]
    # Asterisk 11 wrote a single leg for the same conversation: no transfer seen in the record.
    assert assemble_call(legs[:1]).transfers == []


def test_an_attended_transfer_logged_as_a_bridge_takes_its_target_from_the_legs():
    events = [
        qevent("ENTERQUEUE", "", "79161234567", "1", agent="NONE"),
        qevent("CONNECT", "5", "1772442005.22", "3", at=5),
        qevent("ATTENDEDTRANSFER", "BRIDGE", "9236a0f1-4b7e-4c1d-9f2a-0c2d1e5f9236", "5", "44", "1", at=49),
    ]
    found = read_queue_events(events, ATTENDED)
    assert [(t.kind, t.target) for t in found.transfers] == [("attended", "3105")]
    assert found.wait_seconds == 5 and found.operator.code == "101"
    # The operator's leg was answered at CONNECT: its own talk time stands, the queue says nothing else.
    assert found.talk_seconds is None
    # Without the legs the logged bridge is all there is.
    assert read_queue_events(events).transfers[0].target.startswith("BRIDGE:")


def test_talk_time_starts_at_connect_when_the_leg_was_answered_by_the_queue():
    # Asterisk 11: Queue() answers the caller at once, so billsec (35 s) holds 20 s of waiting.
    answered_by_queue = [
        leg("1772442200.41", 0, 35, answer=0, billsec=35, src="79161234567", dst="8800",
            dcontext="from-trunk", channel="SIP/trunk-00000041", dstchannel="SIP/103-00000042",
            lastapp="Queue")
    ]  # fmt: skip
    events = [
        qevent("ENTERQUEUE", "", "79161234567", "1", agent="NONE", uniqueid="1772442200.41"),
        qevent("CONNECT", "20", "1772442220.42", "2", at=20, agent="SIP/103", uniqueid="1772442200.41"),
        qevent("COMPLETECALLER", "20", "15", "1", at=35, agent="SIP/103", uniqueid="1772442200.41"),
    ]
    found = read_queue_events(events, answered_by_queue)
    assert found.talk_seconds == 15 and found.wait_seconds == 20
    # Without a calltime in the log, CONNECT to the end of the conversation.
    events[-1] = qevent("COMPLETEAGENT", at=35, agent="SIP/103", uniqueid="1772442200.41")
    assert read_queue_events(events, answered_by_queue).talk_seconds == 15
    # Transferred: the operator's talk ends at the transfer, not at the target's hang-up.
    events[-1] = qevent("BLINDTRANSFER", "3105", "from-internal", "20", "12", "1", at=32, agent="SIP/103")
    assert read_queue_events(events, answered_by_queue).talk_seconds == 12


# FreePBX: the caller's leg rings a Local channel of the queue and is answered by the IVR at 0 s; the
# inner leg (its own uniqueid, same linkedid) reaches the operator's phone at 20 s.
FREEPBX = [
    leg("1772442300.51", 0, 35, answer=0, billsec=35, src="79161234567", dst="8800", dcontext="ext-queues",
        channel="PJSIP/rostelecom-00000051", dstchannel="Local/101@from-queue-00000007;1", lastapp="Queue",
        linkedid="1772442300.51", recording="q-8800-79161234567-20260302-090000-1772442300.51.wav"),
    leg("1772442301.52", 1, 19, src="8800", dst="102", dcontext="from-queue",
        channel="Local/102@from-queue-00000006;2", dstchannel="PJSIP/102-00000053", lastapp="Dial",
        linkedid="1772442300.51"),
    leg("1772442301.54", 1, 35, answer=20, billsec=15, src="8800", dst="101", dcontext="from-queue",
        channel="Local/101@from-queue-00000007;2", dstchannel="PJSIP/101-00000055", lastapp="Dial",
        linkedid="1772442300.51"),
]  # fmt: skip


def test_freepbx_legs_are_one_call_talking_on_the_inner_leg():
    assert {call_key(one) for one in FREEPBX} == {"1772442300.51"}
    call = assemble_call(FREEPBX, FREEPBX[0])
    assert call.billsec == 15 and call.answer_at == T0 + timedelta(seconds=20)
    assert call.operator.code == "101" and call.direction == "inbound" and call.transfers == []
    assert call.recording_file == "q-8800-79161234567-20260302-090000-1772442300.51.wav"
    assert talk_leg(FREEPBX, "inbound") is FREEPBX[2]


def test_freepbx_legs_without_answer_and_end_times_get_them_from_duration_and_billsec():
    legs = [
        CallRecord(uniqueid="1772442300.51", source_file="cdr.csv", source_line=2, start=T0, duration=35,
                   billsec=35, src="79161234567", dst="8800", channel="PJSIP/rostelecom-00000051",
                   dstchannel="Local/101@from-queue-00000007;1", linkedid="1772442300.51"),
        CallRecord(uniqueid="1772442301.54", source_file="cdr.csv", source_line=3,
                   start=T0 + timedelta(seconds=1), duration=34, billsec=15, src="8800", dst="101",
                   channel="Local/101@from-queue-00000007;2", dstchannel="PJSIP/101-00000055",
                   linkedid="1772442300.51"),
    ]  # fmt: skip
    call = assemble_call(legs)
    assert call.billsec == 15 and call.answer_at == T0 + timedelta(seconds=20)
    assert call.end_at == T0 + timedelta(seconds=35)


@pytest.mark.parametrize(
    ("channel", "dstchannel", "dcontext", "src", "dst", "direction"),
    [
        # The operator's callback from a 3-digit extension to a customer is outbound.
        ("PJSIP/101-0000001a", "PJSIP/mts-trunk-0000001b", "from-internal", "101", "79161234567", "outbound"),
        ("SIP/101-0000001a", "", "outrt-1", "101", "89161234567", "outbound"),
        # A trunk's call is inbound whatever its caller id looks like (an operator's short id, anonymous).
        ("PJSIP/rostelecom-00000051", "PJSIP/101-00000052", "ext-local", "100", "101", "inbound"),
        ("DAHDI/i1/4951234567-1", "SIP/101-00000001", "from-pstn", "", "8800", "inbound"),
        # Phone to phone is internal.
        ("PJSIP/101-0000001c", "PJSIP/102-0000001d", "from-internal", "101", "102", "internal"),
        # FreePBX's outer leg rings a Local channel: the trunk side decides.
        ("SIP/trunk-0000001e", "Local/101@from-queue-0000000a;1", "ext-queues", "79161234567", "8800",
         "inbound"),
    ],
)  # fmt: skip
def test_direction_from_channels_and_context(channel, dstchannel, dcontext, src, dst, direction):
    assert infer_direction(src, dst, dcontext, channel=channel, dstchannel=dstchannel) == direction
    # The channels decide even where the internal numbers are shorter than the extension.
    tight = CallRules(internal_number_max_length=2)
    if channel_kind(channel) == "trunk" or channel_kind(dstchannel) == "trunk":
        assert infer_direction(src, dst, dcontext, rules=tight, channel=channel, dstchannel=dstchannel) == (
            direction
        )


def test_channel_peers():
    assert channel_peer("PJSIP/101-0000000a") == "101"
    assert channel_peer("SIP/trunk-mts-00000012") == "trunk-mts"
    assert channel_peer("Local/101@from-queue-00000007;2") is None
    assert channel_peer("") is None and channel_peer(None) is None
    assert (channel_kind("SIP/101-00000001"), channel_kind("SIP/trunk-00000001")) == ("phone", "trunk")
    assert channel_kind("PJSIP/74951234567-00000001") == "trunk"
    assert channel_kind("PJSIP/a.petrova-00000001") is None  # a named phone: the numbers decide


def test_an_outbound_callback_is_assembled_as_outbound():
    callback = leg("1772442400.61", 0, 95, answer=12, billsec=83, src="101", dst="79161234567",
                   dcontext="from-internal", channel="PJSIP/101-00000061", dstchannel="PJSIP/mts-00000062",
                   lastapp="Dial")  # fmt: skip
    call = assemble_call([callback])
    assert call.direction == "outbound" and call.operator.code == "101" and call.billsec == 83
    # However short the rules' internal numbers, a call that leaves on a named trunk is outbound.
    named_trunk = leg("1772442400.61", 0, 95, answer=12, billsec=83, src="101", dst="79161234567",
                      channel="PJSIP/101-00000061", dstchannel="PJSIP/trunk-mts-00000062")  # fmt: skip
    assert assemble_call([named_trunk], rules=CallRules(internal_number_max_length=2)).direction == "outbound"


# ---------------------------------------------------------------- time zone and readers


def test_the_pbx_time_zone_applies_to_queue_log_epochs_and_absolute_cdr_times(tmp_path):
    epoch = int(datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC).timestamp())  # 09:00 in Moscow
    (tmp_path / "queue_log").write_text(f"{epoch}|1772442000.21|support|NONE|ENTERQUEUE||79161234567|1\n")
    assert read_queue_log(tmp_path / "queue_log", MOSCOW).rows[0].at == T0
    assert read_queue_log(tmp_path / "queue_log", ZoneInfo("Asia/Yekaterinburg")).rows[
        0
    ].at == T0 + timedelta(hours=2)
    # CDR text times are the PBX's wall clock; epoch seconds and offsets are converted to it.
    assert pbx_time("2026-03-02 09:00:00", MOSCOW) == T0
    assert pbx_time(str(epoch), MOSCOW) == T0
    assert pbx_time("2026-03-02T06:00:00+00:00", MOSCOW) == T0
    assert pbx_zone("") is None and pbx_zone("Europe/Moscow") == MOSCOW
    with pytest.raises(ValueError, match="time zone"):
        pbx_zone("Europe/Atlantis")


def test_pbx_timezone_is_a_setting(tmp_path):
    assert Settings().pbx_timezone == "" and Settings().stage_options().pbx_timezone == ""
    (tmp_path / "callqa.toml").write_text('pbx_timezone = "Europe/Moscow"\n')
    settings = load_settings(tmp_path / "callqa.toml", environ={})
    assert settings.stage_options().pbx_timezone == "Europe/Moscow"
    environ = {"CALLQA_PBX_TIMEZONE": "Asia/Omsk", "CALLQA_CONFIG": str(tmp_path / "absent.toml")}
    assert load_settings(None, environ).pbx_timezone == "Asia/Omsk"
    (tmp_path / "bad.toml").write_text('pbx_timezone = "Moscow time"\n')
    with pytest.raises(ConfigError, match="pbx_timezone"):
        load_settings(tmp_path / "bad.toml", environ={})


MASTER_13 = (
    # Asterisk 13, loguniqueid, loguserfield and newcdrcolumns: peeraccount, linkedid, sequence follow.
    '"","79161234567","8800","from-trunk","""ООО Ромашка"" <79161234567>","PJSIP/mts-00000021",'
    '"PJSIP/101-00000022","Queue","support,t","2026-03-02 09:00:00","2026-03-02 09:00:05",'
    '"2026-03-02 09:00:49",49,44,"ANSWERED","DOCUMENTATION","1772442000.21","","","1772442000.21",41\n'
    '"","101","3105","from-internal","""Петрова"" <101>","PJSIP/101-00000022","PJSIP/3105-00000024","Dial",'
    '"PJSIP/3105,60","2026-03-02 09:00:30","2026-03-02 09:00:33","2026-03-02 09:00:49",19,16,"ANSWERED",'
    '"DOCUMENTATION","1772442030.23","","","1772442000.21",43\n'
    '"","79161234567","3105","from-internal","""ООО Ромашка"" <79161234567>","PJSIP/mts-00000021",'
    '"PJSIP/3105-00000024","Dial","PJSIP/3105,60","2026-03-02 09:00:49","2026-03-02 09:00:49",'
    '"2026-03-02 09:04:23",214,214,"ANSWERED","DOCUMENTATION","1772442000.21","","","1772442000.21",44\n'
)


def test_master_csv_with_new_cdr_columns_reads_linkedid_and_sequence(tmp_path):
    (tmp_path / "Master.csv").write_text(MASTER_13, encoding="utf-8")
    result = read_master_csv(tmp_path / "Master.csv")
    assert result.problems == []
    assert [(r.uniqueid, r.linkedid, r.sequence) for r in result.rows] == [
        ("1772442000.21", "1772442000.21", 41),
        ("1772442030.23", "1772442000.21", 43),
        ("1772442000.21", "1772442000.21", 44),
    ]
    assert result.rows[0].start == T0


# ---------------------------------------------------------------- through the store, both backends


def test_an_asterisk_13_transferred_call_is_one_call_with_its_recording_accepted(engine, tmp_path):
    (tmp_path / "Master.csv").write_text(MASTER_13, encoding="utf-8")
    epoch = int(datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC).timestamp())  # PBX in Moscow
    (tmp_path / "queue_log").write_text(
        f"{epoch}|1772442000.21|support|NONE|ENTERQUEUE||79161234567|1\n"
        f"{epoch + 5}|1772442000.21|support|PJSIP/101|CONNECT|5|1772442005.22|3\n"
        f"{epoch + 49}|1772442000.21|support|PJSIP/101|ATTENDEDTRANSFER|BRIDGE|"
        f"9236a0f1-4b7e-4c1d-9f2a-0c2d1e5f9236|5|44|1\n",
        encoding="utf-8",
    )
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    name = "20260302-090000-79161234567-8800-1772442000.21.wav"
    write_audio(recordings / name, speechlike(44.2, 8000, seed=3)[None, :], 8000, "pcm")
    request = IngestRequest(
        recordings_dir=recordings,
        cdr=tmp_path / "Master.csv",
        queue_log=tmp_path / "queue_log",
        pbx_timezone="Europe/Moscow",
    )
    summary = ingest(engine, request, workers=1)
    assert summary.accepted == 1 and summary.rejected_after_matching == 0, summary.problems
    again = ingest(engine, request, workers=1)
    assert again.call_legs_added == 0
    with engine.connect() as conn:
        calls = conn.execute(select(Call.uniqueid, Call.billsec, Call.direction, Call.wait_seconds)).all()
        legs = conn.execute(select(CallLeg.id)).all()
        status = conn.execute(select(Recording.status)).scalar_one()
        transfers = conn.execute(select(Transfer.kind, Transfer.target, Transfer.source)).all()
    assert [tuple(c) for c in calls] == [("1772442000.21", 44, "inbound", 5)]
    assert len(legs) == 3 and status == "accepted"
    assert sorted(tuple(t) for t in transfers) == [
        ("attended", "3105", "call_record"),
        ("attended", "3105", "queue_log"),
    ]


def test_asterisk_12_without_linkedid_in_its_csv_still_gives_one_call(engine, tmp_path):
    without = "".join(line.rsplit(",", 3)[0] + "\n" for line in MASTER_13.splitlines())
    (tmp_path / "Master.csv").write_text(without, encoding="utf-8")
    assert all(r.linkedid is None for r in read_master_csv(tmp_path / "Master.csv").rows)
    ingest(engine, IngestRequest(cdr=tmp_path / "Master.csv"), workers=1)
    with engine.connect() as conn:
        calls = conn.execute(select(Call.uniqueid, Call.billsec, Call.direction)).all()
        transfers = conn.execute(select(Transfer.kind, Transfer.target)).all()
    assert [tuple(c) for c in calls] == [("1772442000.21", 44, "inbound")]
    assert [tuple(t) for t in transfers] == [("attended", "3105")]


def test_a_leg_that_arrives_later_changes_what_the_legs_show(engine, tmp_path):
    lines = MASTER_13.splitlines(keepends=True)
    (tmp_path / "first.csv").write_text(lines[0] + lines[2], encoding="utf-8")
    (tmp_path / "second.csv").write_text(lines[1], encoding="utf-8")
    ingest(engine, IngestRequest(cdr=tmp_path / "first.csv"), workers=1)
    with engine.connect() as conn:
        assert conn.execute(select(Transfer.kind, Transfer.target)).all() == [("blind", "3105")]
    # The consultation leg (same linkedid) shows the transfer was attended: one transfer, now attended.
    ingest(engine, IngestRequest(cdr=tmp_path / "second.csv"), workers=1)
    with engine.connect() as conn:
        assert conn.execute(select(Transfer.kind, Transfer.target)).all() == [("attended", "3105")]
        assert conn.execute(select(Call.uniqueid, Call.billsec)).all() == [("1772442000.21", 44)]


FREEPBX_EXPORT = (
    "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,disposition,"
    "amaflags,accountcode,uniqueid,userfield,did,recordingfile,cnum,linkedid,sequence\n"
    '2026-03-02 09:00:00,"""79161234567"" <79161234567>",79161234567,8800,ext-queues,'
    "PJSIP/rostelecom-00000051,Local/101@from-queue-00000007;1,Queue,400,35,35,ANSWERED,3,,1772442300.51,,"
    "8800,q-8800-79161234567-20260302-090000-1772442300.51.wav,79161234567,1772442300.51,51\n"
    '2026-03-02 09:00:01,"""Очередь"" <8800>",8800,102,from-queue,Local/102@from-queue-00000006;2,'
    "PJSIP/102-00000053,Dial,PJSIP/102,18,0,NO ANSWER,3,,1772442301.52,,,,8800,1772442300.51,52\n"
    '2026-03-02 09:00:01,"""Очередь"" <8800>",8800,101,from-queue,Local/101@from-queue-00000007;2,'
    "PJSIP/101-00000055,Dial,PJSIP/101,34,15,ANSWERED,3,,1772442301.54,,,,8800,1772442300.51,54\n"
    '2026-03-02 10:15:00,"""Петрова"" <101>",101,89031112233,from-internal,PJSIP/101-00000061,'
    "PJSIP/rostelecom-00000062,Dial,PJSIP/89031112233@rostelecom,95,83,ANSWERED,3,,1772446500.61,,,"
    "out-89031112233-101-20260302-101500-1772446500.61.wav,101,1772446500.61,61\n"
)
FREEPBX_MAPPING = (
    "columns:\n  uniqueid: uniqueid\n  start: calldate\n  src: src\n  dst: dst\n  dcontext: dcontext\n"
    "  channel: channel\n  dstchannel: dstchannel\n  lastapp: lastapp\n  duration: duration\n"
    "  billsec: billsec\n  disposition: disposition\n  linkedid: linkedid\n  recording: recordingfile\n"
)


def test_a_freepbx_export_gives_one_call_per_linkedid_with_the_operators_talk_time(engine, tmp_path):
    (tmp_path / "cdr.csv").write_text(FREEPBX_EXPORT, encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(FREEPBX_MAPPING, encoding="utf-8")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    assert read_mapped_csv(tmp_path / "cdr.csv", mapping).problems == []
    summary = ingest(engine, IngestRequest(cdr=tmp_path / "cdr.csv", cdr_mapping=mapping), workers=1)
    assert summary.call_legs_added == 4
    with engine.connect() as conn:
        calls = conn.execute(
            select(
                Call.uniqueid,
                Call.direction,
                Call.billsec,
                Call.answer_at,
                Call.recording_file,
                Operator.code,
            )
            .outerjoin(Operator, Operator.id == Call.operator_id)
            .order_by(Call.uniqueid)
        ).all()
    assert [tuple(c) for c in calls] == [
        ("1772442300.51", "inbound", 15, T0 + timedelta(seconds=20),
         "q-8800-79161234567-20260302-090000-1772442300.51.wav", "101"),
        ("1772446500.61", "outbound", 83, datetime(2026, 3, 2, 10, 15, 12),
         "out-89031112233-101-20260302-101500-1772446500.61.wav", "101"),
    ]  # fmt: skip


def test_the_shipped_freepbx_mapping_reads_a_freepbx_export_whole(tmp_path):
    from tests.conftest import REPO

    (tmp_path / "cdr.csv").write_text(FREEPBX_EXPORT, encoding="utf-8")
    mapping = load_mapping(REPO / "docs" / "mappings" / "freepbx_cdr.yaml")
    result = read_mapped_csv(tmp_path / "cdr.csv", mapping)
    assert result.problems == [] and len(result.rows) == 4
    first = result.rows[0]
    assert first.recording == "q-8800-79161234567-20260302-090000-1772442300.51.wav"
    assert first.linkedid == "1772442300.51" and first.clid == '"79161234567" <79161234567>'


def test_a_freepbx_recording_of_the_callers_whole_call_is_accepted_not_taken_for_a_wrong_file(
    engine, tmp_path
):
    """FreePBX records the caller's channel from the answer to the hangup, over every leg: its length is the
    whole call's (35 s here), not the operator's talk (15 s). A file of neither length is still refused."""
    (tmp_path / "cdr.csv").write_text(FREEPBX_EXPORT, encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(FREEPBX_MAPPING, encoding="utf-8")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    inbound = "q-8800-79161234567-20260302-090000-1772442300.51.wav"
    outbound = "out-89031112233-101-20260302-101500-1772446500.61.wav"
    write_audio(recordings / inbound, speechlike(35.3, 8000, seed=3)[None, :], 8000, "pcm")
    write_audio(recordings / outbound, speechlike(40.0, 8000, seed=4)[None, :], 8000, "pcm")  # 83 s talked
    request = IngestRequest(
        recordings_dir=recordings,
        cdr=tmp_path / "cdr.csv",
        cdr_mapping=load_mapping(tmp_path / "mapping.yaml"),
    )
    summary = ingest(engine, request, workers=1)
    with engine.connect() as conn:
        status = dict(conn.execute(select(Recording.file_name, Recording.status)).all())
    assert status == {inbound: "accepted", outbound: "rejected"}, summary.problems
    (refused,) = [p for p in summary.problems if p.code == "duration_mismatch"]
    assert "83 s of talk" in refused.message and "from its first answer" not in refused.message  # one leg


def test_an_operators_callback_from_an_extension_is_not_excluded_as_an_internal_call(engine, tmp_path):
    """The internal-number rule looks at the other party: a callback's customer is the number dialled."""
    from pipeline.stages.outcomes import analyse

    (tmp_path / "Master.csv").write_text(
        '"","101","79161234567","from-internal","","PJSIP/101-00000061","PJSIP/mts-00000062","Dial","",'
        '"2026-03-02 09:10:00","2026-03-02 09:10:12","2026-03-02 09:11:35","95","83","ANSWERED",'
        '"DOCUMENTATION","1772442600.61",""\n'
        '"","102","101","from-internal","","PJSIP/102-00000063","PJSIP/101-00000064","Dial","",'
        '"2026-03-02 09:20:00","2026-03-02 09:20:02","2026-03-02 09:21:02","62","60","ANSWERED",'
        '"DOCUMENTATION","1772443200.63",""\n',
        encoding="utf-8",
    )
    ingest(engine, IngestRequest(cdr=tmp_path / "Master.csv"), workers=1)
    analyse(engine)
    with engine.connect() as conn:
        reasons = dict(
            conn.execute(
                select(Call.uniqueid, CallOutcome.exclusion_reasons).join(
                    CallOutcome, CallOutcome.call_id == Call.id
                )
            ).all()
        )
    assert "internal_unlinked" not in reasons["1772442600.61"], "a callback to a customer counts"
    assert "internal_unlinked" in reasons["1772443200.63"], "a colleague's call stays excluded"
