"""Call identity from recording file names (Asterisk MixMonitor and FreePBX styles), and the call a
recording stands for when no call record describes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from contracts import CallRules
from contracts.phones import normalise_phone

# YYYYMMDD-HHMMSS-<src>-<dst>-<uniqueid>.ext ; uniqueid is "epoch.sequence" and may hold dots.
_MIXMONITOR = re.compile(r"^(?P<date>\d{8})-(?P<time>\d{6})-(?P<src>[^-]*)-(?P<dst>[^-]*)-(?P<uniqueid>.+)$")
# FreePBX: <kind>-<to>-<from>-YYYYMMDD-HHMMSS-<uniqueid>.ext; the kind says the direction.
_FREEPBX = re.compile(
    r"^(?P<kind>in|out|exten|q|external|internal)-(?P<dst>[^-]*)-(?P<src>[^-]*)-"
    r"(?P<date>\d{8})-(?P<time>\d{6})-(?P<uniqueid>.+)$"
)
_FREEPBX_DIRECTION = {"in": "inbound", "exten": "inbound", "q": "inbound", "external": "inbound",
                      "out": "outbound", "internal": "internal"}  # fmt: skip


@dataclass
class RecordingName:
    """What a recording's file name says about its call."""

    started_at: datetime
    src: str
    dst: str
    uniqueid: str
    direction: str | None = None  # when the pattern names it (FreePBX), else None


def parse_recording_name(path: Path) -> RecordingName | None:
    """Parse `20231114-221320-79161234567-101-1699989200.42.wav` (MixMonitor) or
    `in-8001-79161234567-20231114-221320-1699989200.42.wav` (FreePBX); None for another shape."""
    stem = path.stem if path.suffix else path.name
    match = _MIXMONITOR.match(stem) or _FREEPBX.match(stem)
    if not match:
        return None
    try:
        started = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    kind = match.groupdict().get("kind")
    return RecordingName(started, match["src"], match["dst"], match["uniqueid"], _FREEPBX_DIRECTION.get(kind))


@dataclass
class RecordingCall:
    """A call known only from its recording: what the file name (or, failing that, the file) says."""

    uniqueid: str
    start_at: datetime
    end_at: datetime | None
    talk_seconds: float | None  # the recording's length: the recorded leg's talk time
    caller_number: str | None
    callee_number: str | None
    direction: str
    recording_file: str


def recording_call(
    path: str | Path,
    sha256: str,
    decoded_duration: float | None,
    rules: CallRules | None = None,
    file_time: datetime | None = None,
    zone: tzinfo | None = None,
) -> RecordingCall:
    """The call a recording stands for when no call record names it.

    Time, parties and direction come from the file name where its pattern says so (numbers normalised
    like a call record's); otherwise the call starts at `file_time` (default: the file's modification
    time on the PBX's wall clock, `zone`, less the recording's length) and its parties and direction are
    unknown. Times are the PBX's wall clock, as call records keep them. The uniqueid is the
    name's, so that a call record with it arrives on the same call; else one made from the content.
    """
    path = Path(path)
    name = parse_recording_name(path)
    end = None
    if name is None:
        if file_time is None:
            modified = datetime.fromtimestamp(path.stat().st_mtime, zone).replace(tzinfo=None)
            file_time = modified - timedelta(seconds=decoded_duration or 0)
        start = file_time.replace(microsecond=0)
        caller = callee = None
        direction = "unknown"
        uniqueid = f"recording-{sha256[:40]}"
    else:
        start = name.started_at
        caller, callee = normalise_phone(name.src, rules), normalise_phone(name.dst, rules)
        direction = name.direction or _direction(caller, callee, rules or CallRules())
        uniqueid = name.uniqueid
    if decoded_duration is not None:
        end = start + timedelta(seconds=decoded_duration)
    return RecordingCall(uniqueid, start, end, decoded_duration, caller, callee, direction, path.name)


def _direction(caller: str | None, callee: str | None, rules: CallRules) -> str:
    # Numbers are all a MixMonitor name gives: an extension calling out, or a customer calling in.
    if not caller or not callee:
        return "unknown"
    caller_internal, callee_internal = rules.is_internal_number(caller), rules.is_internal_number(callee)
    if caller_internal and callee_internal:
        return "internal"
    if caller_internal:
        return "outbound"
    return "inbound" if callee_internal else "unknown"


def same_call(
    name_start: datetime,
    parties: tuple[str | None, str | None],
    call_start: datetime | None,
    call_answer: datetime | None,
    call_parties: tuple[str | None, str | None],
    tolerance_seconds: float = 5.0,
) -> bool:
    """A recording-only call and a call record are one call: the recording began at the record's start or
    answer (within `tolerance_seconds`) and the caller is the same (numbers as normalised)."""
    caller = parties[0]
    if not caller or caller != call_parties[0]:
        return False
    near = [t for t in (call_start, call_answer) if t is not None]
    return any(abs((name_start - t).total_seconds()) <= tolerance_seconds for t in near)
