"""Transfers: from the PBX's records when they have them, from what the operator said when not."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from asr import Utterance
from classifiers.text import normalise

# "соединяю", "перевожу на специалиста", "переключаю на отдел продаж", "сейчас переведу вас на 2050".
SPOKEN = re.compile(
    r"\b(соединяю|перевожу|переведу|переключаю|переключу|transferring|i'?ll transfer|connecting you)"
    r"(?:\s+(?:вас|you))?(?:\s+(?:на|с|to)\s+(?P<target>[^.,!?]{2,60}))?",
    re.IGNORECASE,
)


@dataclass
class TransferFinding:
    """A transfer: how it was found, its kind, its target (extension or words) and when (seconds in)."""

    source: str  # queue_log | call_record | transcript
    kind: str  # attended | blind | channel_change | spoken
    target: str | None = None
    at: float | None = None
    evidence: str | None = None


def target_extension(raw: str | None) -> str | None:
    """The extension in a queue_log transfer target ("BRIDGE:1772720359.15-2100" → "2100", "2050")."""
    if not raw:
        return None
    found = re.findall(r"(?:^|[-:/])(\d{2,6})(?:@|$|[^\d.])", raw + " ")
    return found[-1] if found else raw


def spoken_transfer(utterances: Sequence[Utterance]) -> TransferFinding | None:
    """The last operator utterance announcing a transfer, with the target when it is named."""
    found = None
    for utterance in utterances:
        if utterance.role not in ("operator", None, "unknown"):
            continue
        text = utterance.normalized_text or utterance.text or ""
        match = SPOKEN.search(normalise(text))
        if match:
            target = (match.group("target") or "").strip() or None
            found = TransferFinding("transcript", "spoken", target, utterance.start, text)
    return found


def channel_change(dstchannels: list[str | None]) -> bool:
    """Several call-record legs whose destination channels differ (Asterisk 12+ after a transfer)."""
    peers = {re.sub(r"-[0-9a-f]+$", "", c) for c in dstchannels if c}
    return len(peers) > 1
