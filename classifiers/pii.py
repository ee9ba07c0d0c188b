"""Personal data in transcripts: found by pattern and checksum, masked according to the viewer's role."""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifiers.identifiers import digit_runs, inn_is_valid, is_phone, luhn_is_valid

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CVV_CONTEXT = re.compile(r"(cvv|cvc|код на обороте|три цифры|трехзначн|трёхзначн)\D{0,30}(\d{3})(?!\d)", re.I)
CARD_WORDS = re.compile(r"карт|card|visa|виза|мастеркард|mastercard|мир\b", re.I)
CARD_CONTEXT_CHARS = 60
PASSPORT_CONTEXT = re.compile(r"(паспорт\w*)\D{0,40}(\d{2} ?\d{2} ?\d{6})(?!\d)", re.I)

# Who sees what unmasked: quality controllers and admins need the card-free truth to judge a call; nobody
# sees card numbers or CVV codes.
UNMASKED = {
    "admin": {"phone", "email", "inn", "passport"},
    "quality_controller": {"phone", "inn"},
    "team_lead": {"inn"},
    "analyst": set(),
    "operator": {"inn"},
}


@dataclass(frozen=True)
class PiiSpan:
    """A piece of personal data in a text: kind and character offsets."""

    kind: str  # card | cvv | phone | passport | email | inn
    start: int
    end: int


def find_pii(text: str) -> list[PiiSpan]:
    """Every personal-data span in `text` (number-normalised transcript text or free text)."""
    spans = []
    for digits, start, end in digit_runs(text):
        if luhn_is_valid(digits) or _card_in_context(text, digits, start, end):
            spans.append(PiiSpan("card", start, end))
        elif len(digits) in (10, 12) and inn_is_valid(digits):
            spans.append(PiiSpan("inn", start, end))
        elif is_phone(digits):
            spans.append(PiiSpan("phone", start, end))
    for pattern, kind in ((CVV_CONTEXT, "cvv"), (PASSPORT_CONTEXT, "passport")):
        for m in pattern.finditer(text):
            spans.append(PiiSpan(kind, m.start(2), m.end(2)))
    spans += [PiiSpan("email", m.start(), m.end()) for m in EMAIL.finditer(text)]
    return sorted(set(spans), key=lambda s: (s.start, s.end))


def _card_in_context(text: str, digits: str, start: int, end: int) -> bool:
    """13-19 digits next to a word about cards: a card number even when recognition broke its checksum."""
    if not 13 <= len(digits) <= 19:
        return False
    around = text[max(0, start - CARD_CONTEXT_CHARS) : end + CARD_CONTEXT_CHARS]
    return bool(CARD_WORDS.search(around))


def mask(text: str, role: str, spans: list[PiiSpan] | None = None) -> str:
    """`text` with every span the role may not see replaced by "[kind]"; unknown roles see nothing."""
    allowed = UNMASKED.get(role, set())
    out, position = [], 0
    for span in spans if spans is not None else find_pii(text):
        if span.kind in allowed or span.start < position:
            continue
        out += [text[position : span.start], f"[{span.kind}]"]
        position = span.end
    out.append(text[position:])
    return "".join(out)
