"""Identifiers as a support desk speaks them: digit by digit in Russian, with valid checksums."""

from __future__ import annotations

import random

DIGIT_WORDS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def spell_digits(digits: str, group: int = 0) -> str:
    """'6658' -> 'шесть шесть пять восемь'; `group` > 0 puts a comma pause every `group` digits."""
    words = [DIGIT_WORDS[int(d)] for d in digits if d.isdigit()]
    if group <= 0:
        return " ".join(words)
    chunks = [" ".join(words[i : i + group]) for i in range(0, len(words), group)]
    return ", ".join(chunks)


def inn_check_digit(first_nine: str) -> str:
    """The 10th digit of a legal entity's INN."""
    return str(sum(int(d) * w for d, w in zip(first_nine, _INN10_WEIGHTS, strict=True)) % 11 % 10)


def make_inn(rng: random.Random, region: str = "66") -> str:
    """A 10-digit INN with a valid checksum, issued in `region` (66: Sverdlovsk oblast)."""
    body = region + "".join(str(rng.randint(0, 9)) for _ in range(7))
    return body + inn_check_digit(body)


def make_kpp(inn: str) -> str:
    """A KPP of a head office registered where the INN was issued."""
    return inn[:4] + "01001"


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


def make_card(rng: random.Random) -> str:
    """A 16-digit card number that passes the Luhn check (test BIN range)."""
    body = "4276" + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return body + luhn_check_digit(body)


def make_mobile(rng: random.Random) -> str:
    return "79" + "".join(str(rng.randint(0, 9)) for _ in range(9))
