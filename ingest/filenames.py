"""Call identity from recording file names (Asterisk MixMonitor style)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# YYYYMMDD-HHMMSS-<src>-<dst>-<uniqueid>.ext ; uniqueid is "epoch.sequence" and may hold dots.
_MIXMONITOR = re.compile(r"^(?P<date>\d{8})-(?P<time>\d{6})-(?P<src>[^-]*)-(?P<dst>[^-]*)-(?P<uniqueid>.+)$")


@dataclass
class RecordingName:
    """What a MixMonitor file name says about its call."""

    started_at: datetime
    src: str
    dst: str
    uniqueid: str


def parse_recording_name(path: Path) -> RecordingName | None:
    """Parse `20231114-221320-79161234567-101-1699989200.42.wav`; None when the name has another shape."""
    match = _MIXMONITOR.match(path.stem if path.suffix else path.name)
    if not match:
        return None
    try:
        started = datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return RecordingName(started, match["src"], match["dst"], match["uniqueid"])
