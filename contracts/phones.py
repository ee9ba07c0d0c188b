"""Phone numbers as people and PBXs write them, reduced to one canonical form.

The site's country (`CallRules.phone_country`, its numbering plan) says how a number written without a
country code reads. In Russia (the default) an optional `8`, `7` or `+7` comes before 10 national digits,
with any brackets, spaces, dashes or dots in between (`+7 916 123-45-67`, `8 (812) 640-77-88`,
`79161234567`, `9161234567`); in the US an optional `1` or `+1` before 10 (`(212) 555-0147`); in the UK a
`0` or `+44` before 10 (`020 7946 0018`). Each becomes E.164 without the plus (`79161234567`,
`12125550147`, `442079460018`). A number in international form with another country code keeps its
digits (`+44 20 7123 4567` -> `442071234567`). Short internal numbers (extensions) and anything that is
not a phone are kept as typed, so they never match a customer's number by accident.

Written once, here: ingest normalises what enters, the store normalises what a person types in a search,
and both must agree (so both read the same country).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from contracts.rules import CallRules

__all__ = [
    "DEFAULT_COUNTRY",
    "NUMBERING_PLANS",
    "NumberingPlan",
    "canonical_phone",
    "has_inns",
    "is_said_phone",
    "normalise_phone",
    "split_phones",
]


@dataclass(frozen=True)
class NumberingPlan:
    """How a country's numbers are written: its code, its national numbers, the prefix dialled before one
    at home, and which digit strings said aloud in a call are phones."""

    country_code: str
    national: str  # the national significant number (a regular expression)
    trunk_prefix: str  # dialled before a national number within the country ("8", "1", "0")
    said: str  # digits said in a call that are a phone (a stricter pattern: INNs and amounts are digits too)

    @cached_property
    def home(self) -> re.Pattern[str]:
        """A national number, with the country code (with or without '+') or the trunk prefix, or bare."""
        code, trunk = self.country_code, self.trunk_prefix
        return re.compile(rf"(?:\+{code}|{code}|{trunk})?({self.national})")


_RUSSIA = NumberingPlan("7", r"[3-9]\d{9}", "8", r"[78]\d{10}|9\d{9}")  # 10 bare digits: a mobile only
_NORTH_AMERICA = NumberingPlan("1", r"[2-9]\d{2}[2-9]\d{6}", "1", r"1?[2-9]\d{2}[2-9]\d{6}")
NUMBERING_PLANS: dict[str, NumberingPlan] = {
    "RU": _RUSSIA,
    "KZ": _RUSSIA,  # Kazakhstan shares Russia's +7 plan
    "US": _NORTH_AMERICA,
    "CA": _NORTH_AMERICA,
    "GB": NumberingPlan("44", r"[1-9]\d{8,9}", "0", r"(?:44|0)[1-9]\d{9}"),
}
DEFAULT_COUNTRY = "RU"

# Separators people put between digit groups: spaces (also no-break), brackets, dashes of any kind, dots.
_SEPARATORS = re.compile(r"[\s().\-\u2010-\u2015\u2212]+")
# A leading label or URI scheme: "tel:", "тел.", "телефон:".
_LABEL = re.compile(r"^(?:tel|тел|телефон|phone)\s*[.:]?\s*", re.IGNORECASE)
# A trailing extension: "доб. 123", "ext 12", "x12", "#12" (the main number identifies the organisation).
_EXTENSION = re.compile(r"\s*(?:доб|добавочный|ext|extension|x|#)\s*[.:]?\s*\d{1,6}$", re.IGNORECASE)
_INTERNATIONAL = re.compile(r"\+([1-9]\d{7,14})")
_TRUNK_IN_BRACKETS = re.compile(r"^(\+\d{1,3})\s*\(0\)")
# Between several numbers in one cell.
_LIST_SPLIT = re.compile(r"\s*(?:[,;\n]|\s(?:или|or)\s)\s*", re.IGNORECASE)

_DEFAULT_RULES = CallRules()


def _plan(country: str) -> NumberingPlan:
    try:
        return NUMBERING_PLANS[country]
    except KeyError:
        raise ValueError(f"no numbering plan for {country!r}: one of {', '.join(NUMBERING_PLANS)}") from None


def canonical_phone(value: str | None, country: str = DEFAULT_COUNTRY) -> str | None:
    """The canonical digits (E.164 without '+') when `value` is a phone number, else None.

    `country` (an ISO code of `NUMBERING_PLANS`) says how a number without a country code reads.
    """
    text = (value or "").strip()
    if not text:
        return None
    plan = _plan(country)
    text = _LABEL.sub("", text)
    text = _EXTENSION.sub("", text)
    text = _TRUNK_IN_BRACKETS.sub(r"\1", text)  # "+44 (0)20 …": the 0 is dialled only at home
    compact = _SEPARATORS.sub("", text)
    if match := plan.home.fullmatch(compact):
        return plan.country_code + match.group(1)
    if (match := _INTERNATIONAL.fullmatch(compact)) and not compact.startswith("+" + plan.country_code):
        digits = match.group(1)
        # Without its '+' the number must not read as a national one, or normalising would not be stable.
        if not plan.home.fullmatch(digits):
            return digits
    return None


def has_inns(country: str = DEFAULT_COUNTRY) -> bool:
    """Whether a 10- or 12-digit number that passes the INN checksum reads as an INN first (Russia's +7
    plan) rather than as a phone: elsewhere about a tenth of phone numbers pass that checksum by chance."""
    return _plan(country).country_code == "7"


def is_said_phone(digits: str, country: str = DEFAULT_COUNTRY) -> bool:
    """Whether digits said in a call (a run of digits, no separators) are a phone number in `country`."""
    return re.fullmatch(_plan(country).said, digits) is not None


def normalise_phone(value: str | None, rules: CallRules | None = None) -> str | None:
    """A phone number in canonical form (read in the rules' `phone_country`); internal numbers and
    non-phones kept as typed (trimmed).

    None or blank gives None. Idempotent: a normalised number normalises to itself.
    """
    text = (value or "").strip()
    if not text:
        return None
    rules = rules or _DEFAULT_RULES
    if rules.is_internal_number(text):
        return text
    return canonical_phone(text, rules.phone_country) or text


def split_phones(value: str | None, rules: CallRules | None = None) -> list[str]:
    """Every number in a cell that may hold several ("+7 916 123-45-67, 8 (812) 640-77-88"), normalised,
    in order, without repeats."""
    found = (normalise_phone(part, rules) for part in _LIST_SPLIT.split(value or ""))
    return list(dict.fromkeys(number for number in found if number))
