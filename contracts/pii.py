"""Personal data in text: found by pattern and checksum (card, CVV, phone, passport, e-mail, INN).

Pure detection, shared by the classifiers (identifiers said in a call) and the store (masking what a
viewer reads). Which kinds a role sees is policy, not detection: see `mask_spans`'s `allowed`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[\d\- ]*\d)?(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CVV_CONTEXT = re.compile(r"(cvv|cvc|код на обороте|три цифры|трехзначн|трёхзначн)\D{0,30}(\d{3})(?!\d)", re.I)
CARD_WORDS = re.compile(r"карт|card|visa|виза|мастеркард|mastercard|мир\b", re.I)
CARD_CONTEXT_CHARS = 60
PASSPORT_CONTEXT = re.compile(r"(паспорт\w*)\D{0,40}(\d{2} ?\d{2} ?\d{6})(?!\d)", re.I)
PII_KINDS = ("card", "cvv", "phone", "passport", "email", "inn")
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


@dataclass(frozen=True)
class PiiSpan:
    """A piece of personal data in a text: kind and character offsets."""

    kind: str  # card | cvv | phone | passport | email | inn
    start: int
    end: int


def _check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_is_valid(inn: str) -> bool:
    """Russian INN checksum: 10 digits (organisation) or 12 (person or entrepreneur)."""
    if not inn.isdigit():
        return False
    if len(inn) == 10:
        return _check(inn, _INN10) == int(inn[9])
    if len(inn) == 12:
        return _check(inn, _INN12_A) == int(inn[10]) and _check(inn, _INN12_B) == int(inn[11])
    return False


def luhn_is_valid(number: str) -> bool:
    """Luhn checksum of a card number (13-19 digits)."""
    if not number.isdigit() or not 13 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_phone(digits: str) -> bool:
    """A Russian phone number: 11 digits from 7 or 8, or 10 digits of a mobile (9…)."""
    return (len(digits) == 11 and digits[0] in "78") or (len(digits) == 10 and digits[0] == "9")


def digit_runs(text: str) -> list[tuple[str, int, int]]:
    """Digit strings with their character spans; "12 34-56" is one run "123456"."""
    return [(re.sub(r"\D", "", m.group()), m.start(), m.end()) for m in DIGIT_RUN.finditer(text)]


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


def mask_spans(text: str, allowed: Collection[str], spans: list[PiiSpan] | None = None) -> str:
    """`text` with every span whose kind is not in `allowed` replaced by "[kind]"."""
    out, position = [], 0
    for span in spans if spans is not None else find_pii(text):
        if span.kind in allowed or span.start < position:
            continue
        out += [text[position : span.start], f"[{span.kind}]"]
        position = span.end
    out.append(text[position:])
    return "".join(out)
