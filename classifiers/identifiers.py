"""Identifiers a call centre needs from speech: incident numbers, INN/KPP, phones, card numbers.

All work on the number-normalised text (spoken digits already joined into digit strings).
"""

from __future__ import annotations

import re

from contracts.phones import DEFAULT_COUNTRY, canonical_phone, has_inns, is_said_phone
from contracts.pii import digit_runs, inn_is_valid, keyword_spans, luhn_is_valid

__all__ = ["identifiers", "inn_is_valid", "luhn_is_valid"]


# A digit run followed by a unit is an amount, a duration or a count ("12000 рублей", "204 минуты"),
# not an identifier.
_UNIT_WORDS = frozenset({"раз", "шт", "лет", "день", "%", "₽"})
_UNIT_STEMS = ("руб", "коп", "процент", "тыс", "млн", "млрд", "минут", "секунд", "час", "сут", "дн",
               "недел", "месяц", "год", "штук", "человек")  # fmt: skip
_NEXT_WORD = re.compile(r"\s*([^\s\d]+)")
_PAUSE = re.compile(r"\s*[,.]\s*")  # a pause in dictation, or the end of one recognised utterance


def _runs(text: str) -> list[tuple[str, int, int]]:
    """Digit runs, with two runs split by a pause joined when together they are a valid INN: a dictated
    INN cut where the speaker paused ("6658, 517818")."""
    runs = digit_runs(text)
    joined: list[tuple[str, int, int]] = []
    index = 0
    while index < len(runs):
        digits, start, end = runs[index]
        if index + 1 < len(runs):
            after, after_start, after_end = runs[index + 1]
            together = digits + after
            if (
                _PAUSE.fullmatch(text, end, after_start)
                and len(together) in (10, 12)
                and inn_is_valid(together)
                and not inn_is_valid(digits)
                and not inn_is_valid(after)
            ):
                joined.append((together, start, after_end))
                index += 2
                continue
        joined.append((digits, start, end))
        index += 1
    return joined


def _is_quantity(text: str, end: int) -> bool:
    """Whether the digit run ending at `end` is followed by a unit of measure or money."""
    found = _NEXT_WORD.match(text, end)
    word = found.group(1).lower().strip(".,;:!?") if found else ""
    return bool(word) and (word in _UNIT_WORDS or word.startswith(_UNIT_STEMS))


# Words that name a number as an account, contract or order number; just before a run (a few words), with
# no incident word between, the run is that number, not an incident's.
_ACCOUNT_WORDS = re.compile(
    r"(?<!\w)(?:лицев\w*|сч[её]т\w*|л/с|договор\w*|контракт\w*|заказ\w*|account\w*|contract\w*|order\w*)",
    re.IGNORECASE,
)
_ACCOUNT_REACH = 30  # characters between the word and the number: «лицевой счёт номер 87654321»


def _said_as_account(text: str, start: int, incident_words: list[int]) -> bool:
    """Whether the run at `start` is said as an account or contract number («лицевой счёт 87654321»)."""
    named = [m.end() for m in _ACCOUNT_WORDS.finditer(text, max(0, start - _ACCOUNT_REACH - 20), start)]
    nearest = max((at for at in named if start - at <= _ACCOUNT_REACH), default=None)
    return nearest is not None and not any(nearest <= at <= start for at in incident_words)


IDENTIFIER_KINDS = ("inn", "kpp", "phone", "card", "incident")
# A number grouped in thousands ("10.452", "10,452"): how a recogniser writes a number said whole. Read as
# one number only after a ticket word; elsewhere it is as likely an amount, a version or an address.
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?![.,]?\d)")


def _ticket_numbers_joined(text: str) -> str:
    """`text` with each thousands-grouped number said just after a ticket word written as one run."""
    ticket_words = [end for kind, _, end in keyword_spans(text) if kind == "incident"]

    def join(found: re.Match[str]) -> str:
        after_ticket_word = any(0 <= found.start() - at <= _ACCOUNT_REACH for at in ticket_words)
        return re.sub(r"[.,]", "", found.group()) if after_ticket_word else found.group()

    return _THOUSANDS.sub(join, text)


def identifiers(
    text: str, incident_digits: tuple[int, int] = (5, 8), country: str = DEFAULT_COUNTRY
) -> dict[str, list[str]]:
    """Identifiers said in a text: valid INNs, KPP-shaped numbers, phones (canonical, `contracts.phones`),
    Luhn-valid cards, incident numbers. `country` says which digit strings are phones
    (`contracts.phones.NUMBERING_PLANS`).

    Incident numbers are digit runs of `incident_digits` length that are not part of another identifier;
    `fragments` are runs one digit shorter (recognition often drops a digit: «пять» heard as «беть»),
    evidence for linking only. Amounts, durations and counts (a run followed by its unit: "12000 рублей")
    are no identifiers, nor is a number said as an account, contract or order number (such a word just
    before it, no incident word between: «лицевой счёт 87654321»).
    """
    found: dict[str, list[str]] = {
        "inn": [],
        "kpp": [],
        "phone": [],
        "card": [],
        "incident": [],
        "fragments": [],
    }
    low, high = incident_digits
    text = _ticket_numbers_joined(text)
    incident_words = [end for kind, _, end in keyword_spans(text) if kind == "incident"]
    inns_first = has_inns(country)
    runs = list(_runs(text))
    # A KPP goes with an INN: read where INNs are (Russia's plan), or where one was said, before or after.
    kpps_read = inns_first or any(len(d) in (10, 12) and inn_is_valid(d) for d, _, _ in runs)
    for digits, start, end in runs:
        if _is_quantity(text, end):
            continue
        if low - 1 <= len(digits) <= high and _said_as_account(text, start, incident_words):
            continue
        if luhn_is_valid(digits) and len(digits) >= 15:
            found["card"].append(digits)
        elif (
            len(digits) in (10, 12)
            and inn_is_valid(digits)
            and (inns_first or not is_said_phone(digits, country))  # a tenth of US phones pass the checksum
        ):
            found["inn"].append(digits)
        elif len(digits) == 9 and kpps_read:
            found["kpp"].append(digits)
        elif is_said_phone(digits, country):
            found["phone"].append(canonical_phone(digits, country) or digits)
        elif low <= len(digits) <= high:
            found["incident"].append(digits)
        elif len(digits) == low - 1:
            found["fragments"].append(digits)
    return {k: list(dict.fromkeys(v)) for k, v in found.items()}


# Lengths of the identifiers whose digits a recogniser may lose or run together when they are dictated.
_DICTATED_LENGTHS = {"inn": (10, 12), "kpp": (9,)}


def misheard_identifier(text: str, kind: str, before: str = "", country: str = DEFAULT_COUNTRY) -> str | None:
    """A digit run in `text` that may be an identifier of `kind` ("inn", "kpp") heard wrong: up to two
    digits short of its length or one over, not a valid one, not a phone, not a quantity, and not said as
    another thing's number (a ticket, an account, a card, a phone, «номер»: a keyword of another kind in
    `text` or just `before` it). Evidence that it was said, too damaged to check; None when there is none."""
    lengths = _DICTATED_LENGTHS.get(kind)
    if not lengths:
        return None
    found = identifiers(text, country=country)
    joined = f"{before}\n{text}"
    offset = len(before) + 1
    named = [(name, end) for name, _, end in keyword_spans(joined)]
    for digits, start, end in _runs(text):
        said_as = [name for name, at in named if at <= start + offset]
        if (
            any(length - 2 <= len(digits) <= length + 1 for length in lengths)
            and digits not in found[kind]
            and not is_said_phone(digits, country)
            and not _is_quantity(text, end)
            and not _said_as_account(text, start, [])
            and (not said_as or said_as[-1] == kind)
        ):
            return digits
    return None
