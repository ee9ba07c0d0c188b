"""Phone numbers as people and PBXs write them, reduced to one canonical form.

Russian numbering: an optional `8`, `7` or `+7` before 10 national digits, with any brackets, spaces,
dashes or dots in between (`+7 916 123-45-67`, `8 (812) 640-77-88`, `79161234567`, `9161234567`) becomes
E.164 without the plus (`79161234567`). A number in international form with another country code keeps
its digits (`+44 20 7123 4567` -> `442071234567`). Short internal numbers (extensions) and anything that
is not a phone are kept as typed, so they never match a customer's number by accident.

Written once, here: ingest normalises what enters, the store normalises what a person types in a search,
and both must agree.
"""

from __future__ import annotations

import re

from contracts.rules import CallRules

__all__ = ["canonical_phone", "normalise_phone", "split_phones"]

# Separators people put between digit groups: spaces (also no-break), brackets, dashes of any kind, dots.
_SEPARATORS = re.compile(r"[\s().\-\u2010-\u2015\u2212]+")
# A leading label or URI scheme: "tel:", "тел.", "телефон:".
_LABEL = re.compile(r"^(?:tel|тел|телефон|phone)\s*[.:]?\s*", re.IGNORECASE)
# A trailing extension: "доб. 123", "ext 12", "x12", "#12" (the main number identifies the organisation).
_EXTENSION = re.compile(r"\s*(?:доб|добавочный|ext|extension|x|#)\s*[.:]?\s*\d{1,6}$", re.IGNORECASE)
# 10 national digits; Russian (and Kazakh) area and mobile codes start with 3..9.
_RUSSIAN = re.compile(r"(?:\+7|7|8)?([3-9]\d{9})")
_INTERNATIONAL = re.compile(r"\+([1-9]\d{7,14})")
# Between several numbers in one cell.
_LIST_SPLIT = re.compile(r"\s*(?:[,;\n]|\s(?:или|or)\s)\s*", re.IGNORECASE)

_DEFAULT_RULES = CallRules()


def canonical_phone(value: str | None) -> str | None:
    """The canonical digits (E.164 without '+') when `value` is a phone number, else None."""
    text = (value or "").strip()
    if not text:
        return None
    text = _LABEL.sub("", text)
    text = _EXTENSION.sub("", text)
    compact = _SEPARATORS.sub("", text)
    if match := _RUSSIAN.fullmatch(compact):
        return "7" + match.group(1)
    if (match := _INTERNATIONAL.fullmatch(compact)) and not compact.startswith("+7"):
        digits = match.group(1)
        # Without its '+' the number must not read as a Russian one, or normalising would not be stable.
        if not _RUSSIAN.fullmatch(digits):
            return digits
    return None


def normalise_phone(value: str | None, rules: CallRules | None = None) -> str | None:
    """A phone number in canonical form; internal numbers and non-phones kept as typed (trimmed).

    None or blank gives None. Idempotent: a normalised number normalises to itself.
    """
    text = (value or "").strip()
    if not text:
        return None
    if (rules or _DEFAULT_RULES).is_internal_number(text):
        return text
    return canonical_phone(text) or text


def split_phones(value: str | None, rules: CallRules | None = None) -> list[str]:
    """Every number in a cell that may hold several ("+7 916 123-45-67, 8 (812) 640-77-88"), normalised,
    in order, without repeats."""
    found = (normalise_phone(part, rules) for part in _LIST_SPLIT.split(value or ""))
    return list(dict.fromkeys(number for number in found if number))
