"""Identifiers a call centre needs from speech: incident numbers, INN/KPP, phones, card numbers.

All work on the number-normalised text (spoken digits already joined into digit strings).
"""

from __future__ import annotations

from contracts.phones import canonical_phone
from contracts.pii import digit_runs, inn_is_valid, is_phone, luhn_is_valid

__all__ = ["digit_runs", "identifiers", "inn_is_valid", "is_phone", "luhn_is_valid"]


def identifiers(text: str, incident_digits: tuple[int, int] = (5, 8)) -> dict[str, list[str]]:
    """Identifiers said in a text: valid INNs, KPP-shaped numbers, phones (canonical, `contracts.phones`),
    Luhn-valid cards, incident numbers.

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
            found["phone"].append(canonical_phone(digits) or digits)
        elif low <= len(digits) <= high:
            found["incident"].append(digits)
    return {k: list(dict.fromkeys(v)) for k, v in found.items()}
