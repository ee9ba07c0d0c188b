"""Assembling calls from what the PBX wrote: call-record legs and queue_log events.

Pure functions over the importers' dataclasses. They decide what a call was (direction, answered, talk
time, wait, operator, transfers, the recording it names); the store only keeps what they return.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from contracts import CallRules
from contracts.phones import normalise_phone
from ingest.audio import AUDIO_EXTENSIONS
from ingest.identities import OperatorIdentity, operator_identity
from ingest.records import CallRecord, QueueLogEvent

# Dialplan contexts through which calls come in from outside.
_INBOUND_CONTEXT = re.compile(r"from-(trunk|pstn|external|did)|incoming|inbound|ext-queues", re.IGNORECASE)
# Dialplan contexts of the PBX's outbound routes: a local phone dialling out.
_OUTBOUND_CONTEXT = re.compile(r"outrt|outbound|dialout|from-internal-xfer", re.IGNORECASE)
# Channel techs and peer names that are lines to the outside world, not phones.
_TRUNK_PEER = re.compile(r"trunk|provider|gateway|^gw|pstn|sipnet|^dahdi/|^zap/|^khomp/", re.IGNORECASE)
# queue_log transfer data whose first field names how, not where: the target is in the call records.
# A channel instance: tech/peer-<unique sequence>; 'Agent/101' or a bare 'SIP/101' name no single call.
_CHANNEL_INSTANCE = re.compile(r"^(?!local/)[^/]+/.+-[0-9a-f]{6,}$", re.IGNORECASE)
_BRIDGE_TARGETS = {"BRIDGE", "LINK", "APP", "LOCAL", "THREEWAY", "FAIL"}
_TRANSFER_EVENTS = {"ATTENDEDTRANSFER": "attended", "BLINDTRANSFER": "blind", "TRANSFER": "blind"}
_ABANDON_EVENTS = {"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"}


@dataclass
class AssembledCall:
    """One call as its call-record legs describe it."""

    direction: str  # inbound | outbound | internal
    answered: bool
    linkedid: str | None = None
    caller_number: str | None = None
    callee_number: str | None = None
    start_at: datetime | None = None
    answer_at: datetime | None = None
    end_at: datetime | None = None
    duration: float | None = None  # first start to last end (or the legs' durations added up)
    billsec: float = 0.0  # talk time: the operator's leg, answered to hang-up (not IVR, queue or later legs)
    disposition: str | None = None
    queue: str | None = None
    recording_file: str | None = None  # the file name a record names, if any
    operator: OperatorIdentity | None = None  # how the answering leg names the operator
    transfers: list[TransferEvent] = field(default_factory=list)  # what the legs show (source call_record)


@dataclass
class TransferEvent:
    """A transfer the PBX logged: blind or attended, to a target (extension, queue or bridge)."""

    kind: str  # attended | blind
    target: str | None
    at: datetime | None
    key: str  # the logged event's fingerprint: the same event is the same transfer
    source: str = "queue_log"


@dataclass
class QueueFindings:
    """What a call's queue_log events say; None in a field means they say nothing about it."""

    queue: str | None = None
    direction: str | None = None  # "inbound" once the call entered a queue
    wait_seconds: float | None = None
    talk_seconds: float | None = None  # CONNECT to hang-up or transfer: the conversation, without queue
    operator: OperatorIdentity | None = None  # the agent who took the call
    connected: bool = False
    abandoned: bool = False
    transfers: list[TransferEvent] = field(default_factory=list)

    @property
    def disposition(self) -> str | None:
        """ABANDONED for a caller who left the queue without reaching an agent."""
        return "ABANDONED" if self.abandoned and not self.connected else None


def channel_peer(channel: str | None) -> str | None:
    """The peer a channel name carries: 'SIP/101-0000000a' and 'PJSIP/101-00a1' give '101'.

    Local channels ('Local/101@from-queue-0001;2') give None: they are dialplan, not a line or phone.
    """
    if not channel or "/" not in channel:
        return None
    tech, rest = channel.split("/", 1)
    if tech.lower() == "local":
        return None
    if tech.upper() in ("DAHDI", "ZAP", "KHOMP"):
        return channel
    peer = rest.split(";", 1)[0]
    head, _, tail = peer.rpartition("-")
    return head if head and tail and len(tail) >= 6 and tail.isalnum() else peer


def channel_kind(channel: str | None, rules: CallRules | None = None) -> str | None:
    """'trunk' for a line to the outside, 'phone' for a local extension, None when the name says neither."""
    peer = channel_peer(channel)
    if not peer:
        return None
    rules = rules or CallRules()
    if _TRUNK_PEER.search(peer):
        return "trunk"
    if peer.isdigit():
        return "phone" if rules.is_internal_number(peer) else ("trunk" if len(peer) >= 7 else None)
    return None


def infer_direction(
    src: str | None,
    dst: str | None,
    dcontext: str | None,
    mapped: str | None = None,
    rules: CallRules | None = None,
    channel: str | None = None,
    dstchannel: str | None = None,
) -> str:
    """inbound / outbound / internal from what a call record says (a mapped column wins).

    The channels and the dialplan context decide: a call that came in on a trunk or through an inbound
    context is inbound; a phone's call that leaves on a trunk or through an outbound route is outbound.
    Phones are extensions (peers named by an internal number); a named peer facing one is a trunk.
    Only when they say nothing do the numbers' lengths (the rules' internal numbers) decide.
    """
    if mapped:
        return mapped.lower()
    rules = rules or CallRules()
    caller_side, callee_side = channel_kind(channel, rules), channel_kind(dstchannel, rules)
    # A named peer ('PJSIP/rostelecom-…') facing an extension's phone is the provider's trunk.
    if caller_side is None and callee_side == "phone" and channel_peer(channel):
        caller_side = "trunk"
    elif callee_side is None and caller_side == "phone" and channel_peer(dstchannel):
        callee_side = "trunk"
    if caller_side == "trunk" or (dcontext and _INBOUND_CONTEXT.search(dcontext)):
        return "inbound"
    if callee_side == "trunk" or (dcontext and _OUTBOUND_CONTEXT.search(dcontext)):
        return "outbound"
    src_internal = caller_side == "phone" or rules.is_internal_number(src)
    dst_internal = callee_side == "phone" or rules.is_internal_number(dst)
    if src_internal and not dst_internal:
        return "outbound"
    if src_internal and dst_internal:
        return "internal"
    return "inbound"


def leg_answered(leg: CallRecord) -> bool:
    """A leg was answered when it has an answer time or any talk time."""
    return leg.answer is not None or (leg.billsec or 0) > 0


def leg_operator(leg: CallRecord, direction: str) -> OperatorIdentity | None:
    """The operator on an answered leg: the callee's channel, or the caller's on outbound calls."""
    channel = leg.channel if direction == "outbound" else leg.dstchannel
    return operator_identity(channel, leg.source_file, leg.source_line)


def named_recording(record: CallRecord) -> str | None:
    """The recording file a call record names: a mapped column, or an Asterisk userfield holding a file."""
    for value in (record.recording, record.userfield):
        if value and Path(value).suffix.lower() in AUDIO_EXTENSIONS:
            return Path(value).name
    return None


def call_key(record: CallRecord) -> str:
    """The call a leg belongs to: its `linkedid` chain (Asterisk 1.8+, FreePBX exports), else its uniqueid.

    Every leg of one call carries the linkedid of the channel that started it, so legs with their own
    uniqueids (FreePBX writes one per channel) are one call, under the first channel's uniqueid.
    """
    return record.linkedid or record.uniqueid


def leg_with_times(leg: CallRecord) -> CallRecord:
    """The leg with answer and end times derived where the export left them out (FreePBX's cdr table has
    only `calldate`): end = start + duration, answer = end - billsec."""
    if leg.start is None or (leg.answer and leg.end) or leg.duration is None:
        return leg
    end = leg.end or leg.start + timedelta(seconds=leg.duration)
    answer = leg.answer
    if answer is None and (leg.billsec or 0) > 0:
        answer = end - timedelta(seconds=leg.billsec)
    return replace(leg, answer=answer, end=end)


def whole_call_seconds(legs: Sequence[CallRecord]) -> float | None:
    """For a call of several answered legs (a transfer), the seconds from its first answer to its last
    leg's end: what one recording of the caller's channel covers (FreePBX records it so); else None."""
    timed = [leg_with_times(leg) for leg in legs]
    answered = [leg for leg in timed if leg.answer is not None and leg.end is not None]
    if len(answered) < 2:
        return None
    span = (max(leg.end for leg in answered) - min(leg.answer for leg in answered)).total_seconds()
    return span if span > 0 else None


def call_keys(records: Sequence[CallRecord]) -> list[str]:
    """The call each leg belongs to (one key per record, in order), over the legs read together.

    Legs are one call when they share a uniqueid or a linkedid, or a channel instance
    ('PJSIP/101-00000022') while both are up: Asterisk 12+ without linkedid in its CSV still names the
    operator's channel on the consultation leg of an attended transfer. A chain's key is its linkedid, else
    the uniqueid of its earliest leg (the caller's channel, the one queue_log names).
    """
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    last_of: dict[tuple[str, str], int] = {}
    for i, record in enumerate(records):
        channels = (record.channel, record.dstchannel)
        names = [("id", record.uniqueid), ("id", record.linkedid or record.uniqueid)]
        names += [("ch", ch) for ch in channels if ch and _CHANNEL_INSTANCE.match(ch)]
        for name in names:
            j = last_of.get(name)
            if j is not None and j != i and (name[0] == "id" or _overlap(records[i], records[j])):
                union(i, j)
            last_of[name] = i
    members: dict[int, list[int]] = {}
    for i in range(len(records)):
        members.setdefault(find(i), []).append(i)
    keys: dict[int, str] = {}
    for root, group in members.items():
        linked = next((records[i].linkedid for i in group if records[i].linkedid), None)
        earliest = min(group, key=lambda i: (records[i].start or datetime.max, i))
        keys[root] = linked or records[earliest].uniqueid
    return [keys[find(i)] for i in range(len(records))]


def _overlap(a: CallRecord, b: CallRecord) -> bool:
    """Whether two legs were up at the same time (a channel name is reused after a PBX restart)."""
    if not (a.start and b.start):
        return False
    a_end, b_end = a.end or a.start, b.end or b.start
    return a.start <= b_end and b.start <= a_end


def talk_leg(legs: Sequence[CallRecord], direction: str) -> CallRecord | None:
    """The leg on which the operator talked: the first answered leg whose operator side is a phone.

    A FreePBX-style outer leg (caller to a Local channel) is answered by the IVR, so its billsec holds the
    IVR and the queue wait; the inner leg (Local channel to the phone) holds the conversation. Legs after
    it (Asterisk 12+ writes a post-transfer leg under the same uniqueid) are someone else's talk.
    """
    answered = [leg for leg in legs if leg_answered(leg)]
    for leg in answered:
        side = leg.channel if direction == "outbound" else leg.dstchannel
        if side and channel_peer(side):
            return leg
    return answered[0] if answered else None


def _talk_seconds(leg: CallRecord) -> float:
    if leg.billsec is not None:
        return float(leg.billsec)
    if leg.answer and leg.end:
        return max(0.0, (leg.end - leg.answer).total_seconds())
    return 0.0


def leg_transfers(
    legs: Sequence[CallRecord], talked: CallRecord | None, direction: str
) -> list[TransferEvent]:
    """Transfers the legs show: a leg begun after the operator answered that goes elsewhere.

    Its destination (`dst`) is the target. The operator's own leg to that destination before it (the
    consultation call) makes it attended; without one it was blind.
    """
    if talked is None or talked.answer is None:
        return []
    operator_side = talked.channel if direction == "outbound" else talked.dstchannel
    operator_peer = channel_peer(operator_side)
    later = [leg for leg in legs if leg is not talked and leg.start and leg.start >= talked.answer]
    consultations = [leg for leg in later if operator_peer and channel_peer(leg.channel) == operator_peer]
    transfers = []
    seen_targets: set[str] = set()
    for leg in later:
        if leg in consultations or not leg.dst or leg.dst in (talked.dst, *seen_targets):
            continue
        if channel_peer(leg.dstchannel) == operator_peer and operator_peer:
            continue  # the operator called back into the same call: no transfer
        attended = any(c.dst == leg.dst and c.start and c.start <= leg.start for c in consultations)
        seen_targets.add(leg.dst)
        transfers.append(TransferEvent("attended" if attended else "blind", leg.dst, leg.start,
                                       leg.fingerprint, source="call_record"))  # fmt: skip
    return transfers


def assemble_call(
    legs: Sequence[CallRecord], hint: CallRecord | None = None, rules: CallRules | None = None
) -> AssembledCall:
    """A call from all its legs (in start order), with the mapped columns of `hint` (a newly read leg).

    A transfer can add a leg to a known call, so this runs over every leg of the call, old and new. Talk
    time is the operator's leg's (see `talk_leg`), never the legs' billsec added up.
    """
    if not legs:
        raise ValueError("a call needs at least one call-record leg")
    hint = hint or legs[0]
    legs = [leg_with_times(leg) for leg in legs]
    first = legs[0]
    answered = [leg for leg in legs if leg_answered(leg)]
    starts = [leg.start for leg in legs if leg.start]
    ends = [leg.end for leg in legs if leg.end]
    direction = infer_direction(
        first.src, first.dst, first.dcontext, hint.direction, rules, first.channel, first.dstchannel
    )
    talked = talk_leg(legs, direction)
    operator = operator_identity(hint.operator, hint.source_file, hint.source_line) or next(
        (who for leg in ([talked] if talked else []) + answered if (who := leg_operator(leg, direction))),
        None,
    )
    recording = named_recording(hint) or next(filter(None, (named_recording(leg) for leg in legs)), None)
    return AssembledCall(
        direction=direction,
        answered=bool(answered),
        linkedid=first.linkedid or hint.linkedid,
        caller_number=normalise_phone(first.src, rules),
        callee_number=normalise_phone(first.dst, rules),
        start_at=min(starts) if starts else None,
        answer_at=talked.answer if talked and talked.answer else None,
        end_at=max(ends) if ends else None,
        duration=(max(ends) - min(starts)).total_seconds()
        if starts and ends
        else sum(leg.duration or 0 for leg in legs),
        billsec=_talk_seconds(talked) if talked else 0.0,
        disposition="ANSWERED" if answered else first.disposition,
        queue=hint.queue,
        recording_file=recording,
        operator=operator,
        transfers=leg_transfers(legs, talked, direction),
    )


def transfer_target(event: QueueLogEvent, legs: Sequence[CallRecord] = ()) -> str | None:
    """Where a logged transfer went: the extension of a blind one; for an attended one the destination
    of the leg the transfer made (`BRIDGE|<bridge id>` names a bridge, not a target), else what it logs."""
    data = event.data
    if event.event == "BLINDTRANSFER":
        return (data[0] if data else None) or None
    if data and data[0].upper() in _BRIDGE_TARGETS and legs:
        talked = talk_leg(legs, "inbound")
        made = leg_transfers(legs, talked, "inbound")
        after = [t for t in made if t.at is None or t.at >= event.at - timedelta(seconds=5)]
        if after or made:
            return (after or made)[0].target
    return ":".join(d for d in data[:2] if d) or None


def _seconds(value: str | None) -> float | None:
    return float(value) if value and value.replace(".", "", 1).isdigit() else None


def read_queue_events(events: Sequence[QueueLogEvent], legs: Sequence[CallRecord] = ()) -> QueueFindings:
    """What one call's queue_log events (in time order) say: queue, operator, wait, talk, abandon,
    transfers; `legs` (the call's records) give attended transfers their target.

    Talk time is CONNECT to hang-up or transfer (the logged calltime). It is given when the call record
    has no better: no answered leg, or a leg answered before CONNECT (by the IVR or the queue, so its
    billsec holds the wait too); a leg answered at CONNECT keeps its own.
    """
    found = QueueFindings()
    legs = [leg_with_times(leg) for leg in legs]
    connected_at: datetime | None = None
    for event in events:
        if event.queue:
            found.queue = event.queue
        data = event.data
        if event.event == "ENTERQUEUE":
            found.direction = "inbound"
        elif event.event == "CONNECT":
            found.connected = True
            connected_at = event.at
            if who := operator_identity(event.agent, event.source_file, event.source_line):
                found.operator = who
            # CONNECT|holdtime|bridged channel uniqueid|ringtime
            if data and data[0].isdigit():
                found.wait_seconds = float(data[0])
        elif event.event in _ABANDON_EVENTS:
            found.abandoned = True
            # ABANDON|position|original position|waittime; the EXIT* events end with the wait time.
            waited = data[2] if event.event == "ABANDON" and len(data) > 2 else (data[-1] if data else "")
            if waited.isdigit():
                found.wait_seconds = float(waited)
        elif event.event in ("COMPLETEAGENT", "COMPLETECALLER"):
            # COMPLETE*|holdtime|calltime|origposition
            found.talk_seconds = _ended_talk(found, data[1] if len(data) > 1 else None, connected_at, event)
        elif event.event in _TRANSFER_EVENTS:
            found.transfers.append(
                TransferEvent(
                    _TRANSFER_EVENTS[event.event], transfer_target(event, legs), event.at, event.fingerprint
                )
            )
            # …TRANSFER|<target fields>|holdtime|calltime|origposition: the calltime is the second last.
            calltime = data[-2] if len(data) >= 4 else None
            found.talk_seconds = _ended_talk(found, calltime, connected_at, event)
    if legs and connected_at is not None and not _answered_before(legs, connected_at):
        found.talk_seconds = None  # the operator's leg was answered at CONNECT: its own talk time stands
    return found


def _answered_before(legs: Sequence[CallRecord], connected_at: datetime) -> bool:
    """Whether the call record's talk leg was answered before the agent connected (by the IVR or the
    queue), so that its billsec holds the wait too; a leg with no answer time says nothing better."""
    talked = talk_leg(legs, "inbound")
    if talked is None or talked.answer is None:
        return True
    return talked.answer < connected_at - timedelta(seconds=1)


def _ended_talk(
    found: QueueFindings, calltime: str | None, connected_at: datetime | None, event: QueueLogEvent
) -> float | None:
    """The first end of the operator's conversation wins (a later transfer is someone else's talk)."""
    if found.talk_seconds is not None:
        return found.talk_seconds
    if (logged := _seconds(calltime)) is not None:
        return logged
    if connected_at is not None:
        return max(0.0, (event.at - connected_at).total_seconds())
    return None
