"""Identifiers a call centre needs from speech: incident numbers, INN/KPP, phones, card numbers.

All work on the number-normalised text (spoken digits already joined into digit strings).
"""

from __future__ import annotations

import re

DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[\d\- ]*\d)?(?!\d)")
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


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


def phone_digits(number: str | None) -> str | None:
    """A phone number reduced to its last 10 digits (drops +7 / 8 prefixes), None when too short."""
    digits = re.sub(r"\D", "", number or "")
    return digits[-10:] if len(digits) >= 10 else None


def identifiers(text: str, incident_digits: tuple[int, int] = (5, 8)) -> dict[str, list[str]]:
    """Identifiers said in a text: valid INNs, KPP-shaped numbers, phones, Luhn-valid cards, incident numbers.

    Incident numbers are digit runs of `incident_digits` length that are not part of another identifier.
    """
    found: dict[str, list[str]] = {"inn": [], "kpp": [], "phone": [], "card": [], "incident": []}
    low, high = incident_digits
    for digits, _, _ in digit_runs(text):
        if luhn_is_valid(digits) and len(digits) >= 15:
            found["card"].append(digits)
        elif len(digits) in (10, 12) and inn_is_valid(digits):
            found["inn"].append(digits)
        elif len(digits) == 9:
            found["kpp"].append(digits)
        elif is_phone(digits):
            found["phone"].append(digits[-10:])
        elif low <= len(digits) <= high:
            found["incident"].append(digits)
    return {k: list(dict.fromkeys(v)) for k, v in found.items()}
