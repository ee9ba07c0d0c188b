"""Spoken Russian numbers to digits: "шесть шесть пять восемь" → "6658", "двести четыре" → "204".

Incident numbers, INNs, phone and card numbers are dictated digit by digit or in groups; the
analytics need them as digit strings. Adjacent numbers join into one digit string, which is how
support staff dictate identifiers. Whisper's own digit output ("6-6-5-8", "204 818") joins the same way.
"""

from __future__ import annotations

import re

_UNITS = {
    "ноль": 0, "нуль": 0, "один": 1, "одна": 1, "одно": 1, "одного": 1, "два": 2, "две": 2, "двух": 2,
    "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6, "шести": 6,
    "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9,
}  # fmt: skip
_TEENS = {
    "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
}  # fmt: skip
_TENS = {
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
    "восемьдесят": 80, "девяносто": 90,
}  # fmt: skip
_HUNDREDS = {
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600,
    "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
}  # fmt: skip
_THOUSAND = {"тысяча", "тысячи", "тысяч"}
# (words, the place a word needs free, the smallest place it fills): "двадцать" needs the tens,
# "двенадцать" needs the tens and fills the units too.
_PLACES = ((_HUNDREDS, 100, 100), (_TENS, 10, 10), (_TEENS, 10, 1), (_UNITS, 1, 1))
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TEENS) | frozenset(_TENS) | frozenset(_HUNDREDS) | _THOUSAND
# A run of number tokens may be separated by spaces, commas or hyphens (Whisper writes "6-6-5-8").
_TOKEN = re.compile(r"\w+|[^\w]+", re.UNICODE)
_JOINER = re.compile(r"^[\s,\-–—]*$")


def _is_number(token: str) -> bool:
    return token.isdigit() or token.lower().replace("ё", "е") in NUMBER_WORDS


def _words_to_digits(tokens: list[str]) -> str:
    """Digits for a run of number tokens, reading compound numbers and concatenating the rest."""
    out: list[str] = []
    value: int | None = None  # the number being composed (< 1000)
    rank = 1000  # the smallest place already filled in `value`; places below it are free
    thousands: int | None = None

    def close() -> None:
        nonlocal value, rank, thousands
        if thousands is not None:
            out.append(str(thousands * 1000 + (value or 0)))
        elif value is not None:
            out.append(str(value))
        value, rank, thousands = None, 1000, None

    for raw in tokens:
        if raw.isdigit():
            close()
            out.append(raw)
            continue
        word = raw.lower().replace("ё", "е")
        if word in _THOUSAND:
            thousands, value, rank = (value or 1), None, 1000
            continue
        if word in ("ноль", "нуль"):
            close()
            out.append("0")
            continue
        for table, needs, fills in _PLACES:
            if word in table:
                if value is not None and needs >= rank:  # that place is taken: a new number starts
                    close()
                value = (value or 0) + table[word]
                rank = fills
                break
    close()
    return "".join(out)


def normalise_numbers(text: str) -> str:
    """`text` with every run of spoken or written numbers replaced by one digit string."""
    tokens = _TOKEN.findall(text)
    result: list[str] = []
    index = 0
    while index < len(tokens):
        if not _is_number(tokens[index]):
            result.append(tokens[index])
            index += 1
            continue
        run = [tokens[index]]
        end = index + 1
        while end + 1 < len(tokens) and _JOINER.match(tokens[end]) and _is_number(tokens[end + 1]):
            run.append(tokens[end + 1])
            end += 2
        result.append(_words_to_digits(run))
        index = end
    return "".join(result)
