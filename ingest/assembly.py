"""Assembling calls from what the PBX wrote: call-record legs and queue_log events.

Pure functions over the importers' dataclasses. They decide what a call was (direction, answered, talk
time, wait, operator, transfers, the recording it names); the store only keeps what they return.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from contracts import CallRules
from contracts.phones import normalise_phone
from ingest.audio import AUDIO_EXTENSIONS
from ingest.identities import OperatorIdentity, operator_identity
from ingest.records import CallRecord, QueueLogEvent

# Dialplan contexts through which calls come in from outside.
_INBOUND_CONTEXT = re.compile(r"from-(trunk|pstn|external|did)|incoming|inbound|ext-queues", re.IGNORECASE)
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
    billsec: float = 0.0  # talk time: answered to hang-up, over all legs
    disposition: str | None = None
    queue: str | None = None
    recording_file: str | None = None  # the file name a record names, if any
    operator: OperatorIdentity | None = None  # how the answering leg names the operator


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
    operator: OperatorIdentity | None = None  # the agent who took the call
    connected: bool = False
    abandoned: bool = False
    transfers: list[TransferEvent] = field(default_factory=list)

    @property
    def disposition(self) -> str | None:
        """ABANDONED for a caller who left the queue without reaching an agent."""
        return "ABANDONED" if self.abandoned and not self.connected else None


def infer_direction(
    src: str | None,
    dst: str | None,
    dcontext: str | None,
    mapped: str | None = None,
    rules: CallRules | None = None,
) -> str:
    """inbound / outbound / internal from what a call record says (a mapped column wins)."""
    if mapped:
        return mapped.lower()
    if dcontext and _INBOUND_CONTEXT.search(dcontext):
        return "inbound"
    rules = rules or CallRules()
    src_internal = rules.is_internal_number(src)
    dst_internal = rules.is_internal_number(dst)
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


def assemble_call(
    legs: Sequence[CallRecord], hint: CallRecord | None = None, rules: CallRules | None = None
) -> AssembledCall:
    """A call from all its legs (in start order), with the mapped columns of `hint` (a newly read leg).

    A transfer can add a leg to a known call, so this runs over every leg of the call, old and new.
    """
    if not legs:
        raise ValueError("a call needs at least one call-record leg")
    hint = hint or legs[0]
    first = legs[0]
    answered = [leg for leg in legs if leg_answered(leg)]
    starts = [leg.start for leg in legs if leg.start]
    ends = [leg.end for leg in legs if leg.end]
    direction = infer_direction(first.src, first.dst, first.dcontext, hint.direction, rules)
    operator = operator_identity(hint.operator, hint.source_file, hint.source_line) or next(
        (who for leg in answered if (who := leg_operator(leg, direction))), None
    )
    return AssembledCall(
        direction=direction,
        answered=bool(answered),
        linkedid=first.linkedid or hint.linkedid,
        caller_number=normalise_phone(first.src, rules),
        callee_number=normalise_phone(first.dst, rules),
        start_at=min(starts) if starts else None,
        answer_at=min((leg.answer for leg in answered if leg.answer), default=None),
        end_at=max(ends) if ends else None,
        duration=(max(ends) - min(starts)).total_seconds()
        if starts and ends
        else sum(leg.duration or 0 for leg in legs),
        billsec=sum(leg.billsec or 0 for leg in legs),
        disposition="ANSWERED" if answered else first.disposition,
        queue=hint.queue,
        recording_file=named_recording(hint),
        operator=operator,
    )


def transfer_target(event: QueueLogEvent) -> str | None:
    """Where a logged transfer went: the extension of a blind one, `context:extension` or bridge otherwise."""
    data = event.data
    return (data[0] if event.event == "BLINDTRANSFER" else ":".join(d for d in data[:2] if d)) or None


def read_queue_events(events: Sequence[QueueLogEvent]) -> QueueFindings:
    """What one call's queue_log events (in time order) say: queue, operator, wait, abandon, transfers."""
    found = QueueFindings()
    for event in events:
        if event.queue:
            found.queue = event.queue
        data = event.data
        if event.event == "ENTERQUEUE":
            found.direction = "inbound"
        elif event.event == "CONNECT":
            found.connected = True
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
        elif event.event in _TRANSFER_EVENTS:
            found.transfers.append(
                TransferEvent(
                    _TRANSFER_EVENTS[event.event], transfer_target(event), event.at, event.fingerprint
                )
            )
    return found
