"""Spoken Russian numbers to digits: "двенадцать тысяч триста" → "12300", "два ноль четыре" → "204".

Two ways of saying numbers meet in a support call. Quantities (money, dates, durations, counts) are
compound numbers: "две тысячи двадцать шестой год" → "2026 год", "12 тысяч рублей" → "12000 рублей",
"полторы тысячи" → "1500". Identifiers (incident numbers, INN, KPP, phones) are dictated digit by digit
or in groups: "семьсот семьдесят, ноль, двенадцать" → "770012". A run of number words is read into
compound numbers place by place (a word whose place is already taken starts the next group), and the
groups of a run join into one digit string, which is how identifiers are dictated. A comma (a pause)
or a hyphen ends a compound number ("семьсот, двенадцать" is two groups); a quantity (a number with
тысяча/миллион) or an ordinal keeps its own digits and is never glued to its neighbours; two numbers
joined by a hyphen are a range ("две-три минуты" → "2-3 минуты"). A lone ordinal is a number only in
a date ("третьего марта" → "3 марта"), so "в первую очередь" stays as said.

Recognition slips handled: Whisper's own digits ("6-6-5-8", "204 818", "2.4.8.1.7") join the same way;
«на» standing for «ноль» inside a dictated run of digits ("два на четыре восемь один семь") is a zero, an
ordinary «на» ("два на четыре метра") is left alone; spelled letter names «и эн эн», «ка пэ пэ» become
ИНН, КПП. Digits that recognition dropped cannot be restored here.

English number words ("five oh two", "twenty three", "double four") are written as digits first
(`asr.numbers_en`), so a desk in English or in both languages gets the same joined digit strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asr.numbers_en import spoken_english_numbers

# Cardinal forms in every case: value by word.
_UNITS = {
    "ноль": 0, "нуль": 0, "ноля": 0, "нуля": 0, "нолю": 0, "нулю": 0, "нолем": 0, "нулем": 0,
    "один": 1, "одна": 1, "одно": 1, "одного": 1,
    "два": 2, "две": 2, "двух": 2, "двум": 2, "двумя": 2,
    "три": 3, "трех": 3, "трем": 3, "тремя": 3,
    "четыре": 4, "четырех": 4, "четырем": 4, "четырьмя": 4,
    "пять": 5, "пяти": 5, "пятью": 5, "шесть": 6, "шести": 6, "шестью": 6,
    "семь": 7, "семи": 7,  # not «семью»: that is also «семья»
    "восемь": 8, "восьми": 8, "восемью": 8, "восьмью": 8, "девять": 9, "девяти": 9, "девятью": 9,
}  # fmt: skip
# Forms of «один» that are ordinary words on their own ("в одном месте") and a number only inside one.
_WEAK_UNITS = {"одну": 1, "одной": 1, "одном": 1, "одним": 1, "одному": 1}
_TEEN_STEMS = {
    "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14,
    "пятнадцат": 15, "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19,
}  # fmt: skip
_TEENS = {stem + ending: v for stem, v in _TEEN_STEMS.items() for ending in ("ь", "и", "ью")}
_TENS = {
    "двадцать": 20, "двадцати": 20, "двадцатью": 20, "тридцать": 30, "тридцати": 30, "тридцатью": 30,
    "сорок": 40, "сорока": 40, "пятьдесят": 50, "пятидесяти": 50, "пятьюдесятью": 50,
    "шестьдесят": 60, "шестидесяти": 60, "шестьюдесятью": 60, "семьдесят": 70, "семидесяти": 70,
    "семьюдесятью": 70, "восемьдесят": 80, "восьмидесяти": 80, "восемьюдесятью": 80,
    "девяносто": 90, "девяноста": 90,
}  # fmt: skip
_HUNDREDS = {"сто": 100, "ста": 100}
for _nominative, _oblique, _value in (
    ("двести", "двух", 200), ("триста", "трех", 300), ("четыреста", "четырех", 400),
    ("пятьсот", "пяти", 500), ("шестьсот", "шести", 600), ("семьсот", "семи", 700),
    ("восемьсот", "восьми", 800), ("девятьсот", "девяти", 900),
):  # fmt: skip
    _HUNDREDS[_nominative] = _value
    for _ending in ("сот", "стам", "стах"):
        _HUNDREDS[_oblique + _ending] = _value
_HUNDREDS |= {"двумястами": 200, "тремястами": 300, "четырьмястами": 400, "пятьюстами": 500,
              "шестьюстами": 600, "семьюстами": 700, "восемьюстами": 800, "девятьюстами": 900}  # fmt: skip
# Multipliers: the singular forms count on their own ("тысяча" is 1000), the others need a count.
_MULTIPLIERS = {
    **dict.fromkeys(("тысяча", "тысячу", "тысячей", "тысяче"), 1000),
    **dict.fromkeys(("тысячи", "тысяч", "тысячам", "тысячами", "тысячах"), 1000),
    **dict.fromkeys(("миллион", "миллиона", "миллионов", "миллиону", "миллионом", "миллионе"), 10**6),
    **dict.fromkeys(("миллионам", "миллионами", "миллионах"), 10**6),
    **dict.fromkeys(("миллиард", "миллиарда", "миллиардов", "миллиарду", "миллиардом"), 10**9),
}
_MULTIPLIER_ALONE = {"тысяча", "тысячу", "тысячей", "тысяче", "миллион", "миллиард"}
# «тысячи» alone is "thousands" ("тысячи клиентов") but one thousand after these ("до тысячи рублей").
_BEFORE_ONE_THOUSAND = {"до", "около", "от", "из", "свыше", "более", "менее", "больше", "меньше", "порядка"}
_HALF = {"полтора", "полторы", "полутора"}  # one and a half, only before a multiplier

# Ordinals: stem -> (value, the place it needs free). An ordinal ends the number it closes.
_ORDINAL_STEMS = {
    "перв": (1, 1), "втор": (2, 1), "трет": (3, 1), "четверт": (4, 1), "пят": (5, 1), "шест": (6, 1),
    "седьм": (7, 1), "восьм": (8, 1), "девят": (9, 1),
    **{stem: (v, 10) for stem, v in _TEEN_STEMS.items()},
    "двадцат": (20, 10), "тридцат": (30, 10), "сороков": (40, 10), "пятидесят": (50, 10),
    "шестидесят": (60, 10), "семидесят": (70, 10), "восьмидесят": (80, 10), "девяност": (90, 10),
    "сот": (100, 100), "двухсот": (200, 100), "трехсот": (300, 100), "четырехсот": (400, 100),
    "пятисот": (500, 100), "шестисот": (600, 100), "семисот": (700, 100), "восьмисот": (800, 100),
    "девятисот": (900, 100), "тысячн": (1000, 10**9), "двухтысячн": (2000, 10**9),
}  # fmt: skip
_HARD_ENDINGS = ("ый", "ой", "ая", "ое", "ого", "ому", "ым", "ом", "ую", "ые", "ых", "ыми")
_SOFT_ENDINGS = ("ий", "ья", "ье", "ьего", "ьему", "ьим", "ьем", "ью", "ьи", "ьих", "ьими")
_ORDINALS = {
    stem + ending: value
    for stem, value in _ORDINAL_STEMS.items()
    for ending in (_SOFT_ENDINGS if stem == "трет" else _HARD_ENDINGS)
}
# A lone ordinal is a number only in a date ("третьего марта", "двухтысячном году"), not in
# "в первую очередь" or "во-вторых".
_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря")  # fmt: skip
_DATE_WORDS = frozenset((*_MONTHS, "число", "числа", "числу", "год", "года", "году", "годом", "годах", "век",
                         "века", "веке"))  # fmt: skip
_ZERO_SLIP = "на"  # Whisper's «ноль» inside dictated digits

NUMBER_WORDS = frozenset(
    (*_UNITS, *_WEAK_UNITS, *_TEENS, *_TENS, *_HUNDREDS, *_MULTIPLIERS, *_HALF, *_ORDINALS)
)

_TOKEN = re.compile(r"\w+|[^\w]+", re.UNICODE)
# Number tokens of a run may be separated by spaces, commas or hyphens (Whisper writes "6-6-5-8").
_JOINER = re.compile(r"^[\s,\-–—]*$")
# Digits dictated one by one or in groups that Whisper wrote with dots ("2.4.8.4", "2 .4 .829",
# "7.921.456.78.90"); times, versions, dates and addresses ("10.30", "3.5.1", "01.03.2026",
# "192.168.1.10") stay as written.
_DOT_CHAIN = re.compile(r"(?<!\d)(?<!\d\.)\d{1,3}(?:\s?\.\s?\d{1,3}){2,}(?![\d])")
_ABBREVIATIONS = (  # spelled letter names of the identifiers' own names
    (re.compile(r"\bи[\s\-]*эн[\s\-]*эн\b", re.I), "ИНН"),
    (re.compile(r"\bк[аэ][\s\-]*пэ[\s\-]*пэ\b", re.I), "КПП"),
)


@dataclass(frozen=True)
class _Num:
    """One number token: its value, the place it needs free, the smallest place it fills."""

    value: int
    needs: int
    fills: int
    kind: str  # "digits", "word", "weak", "multiplier", "half", "ordinal", "zero_slip"
    raw: str = ""  # the digits as written, for digit tokens


def _lower(token: str) -> str:
    return token.lower().replace("ё", "е")


def _place(value: int) -> int:
    return 100 if value >= 100 else 10 if value >= 10 else 1


def _classify(token: str) -> _Num | None:
    """The number a single token stands for, whatever its context; None for other words."""
    if token.isdigit():
        if token.isascii() and (len(token) > 3 or (len(token) > 1 and token[0] == "0")):
            return _Num(int(token), 10**9, 1, "digits", token)  # a digit string of its own
        if token.isascii():
            return _Num(int(token), _place(int(token)), 1, "digits", token)
        return None
    word = _lower(token)
    if word in _UNITS:
        return _Num(_UNITS[word], 1, 1, "word")
    if word in _WEAK_UNITS:
        return _Num(_WEAK_UNITS[word], 1, 1, "weak")
    if word in _TEENS:
        return _Num(_TEENS[word], 10, 1, "word")
    if word in _TENS:
        return _Num(_TENS[word], 10, 10, "word")
    if word in _HUNDREDS:
        return _Num(_HUNDREDS[word], 100, 100, "word")
    if word in _MULTIPLIERS:
        return _Num(_MULTIPLIERS[word], 10**9, 1, "multiplier")
    if word in _HALF:
        return _Num(0, 10**9, 1, "half")
    if word in _ORDINALS:
        value, needs = _ORDINALS[word]
        return _Num(value, needs, 1, "ordinal")
    if word == _ZERO_SLIP:
        return _Num(0, 1, 1, "zero_slip")
    return None


def _single_digit(num: _Num | None) -> bool:
    """A token that is one dictated digit: a unit word or one written digit."""
    return num is not None and num.kind in ("word", "digits") and num.needs == 1 and len(num.raw) <= 1


@dataclass
class _Group:
    """One number of a run as it is read: thousands and the part below the last multiplier."""

    high: int = 0
    low: int | None = None
    rank: int = 1000  # the smallest place filled in `low`; places below it are free
    multiplier: int | None = None  # the last multiplier applied
    raw: str | None = None  # a digit token's own digits (leading zeros) while nothing else is added
    ordinal: bool = False
    half: bool = False  # «полторы»: the count of the next multiplier is 1.5

    def empty(self) -> bool:
        return self.low is None and self.multiplier is None and not self.half

    def takes(self, num: _Num) -> bool:
        """Whether `num` continues this number (its place is free) rather than starting the next one."""
        if self.ordinal:
            return False
        if num.kind == "multiplier":
            return not self.empty() and (self.multiplier is None or num.value < self.multiplier)
        if self.half or self.empty() or num.value == 0:  # a zero is always a digit of its own
            return False
        return self.low is None or num.needs < self.rank

    def add(self, num: _Num) -> None:
        if num.kind == "multiplier":
            count = 1.5 if self.half else (self.low if self.low is not None else 1)
            self.high += int(count * num.value)
            self.low, self.rank, self.multiplier, self.raw, self.half = None, 1000, num.value, None, False
            return
        self.raw = num.raw if self.empty() and num.kind == "digits" else None
        self.low = (self.low or 0) + num.value
        self.rank = num.fills
        self.ordinal = num.kind == "ordinal"

    def digits(self) -> str:
        if self.raw is not None and self.multiplier is None:
            return self.raw
        return str(self.high + (self.low or 0))

    @property
    def quantity(self) -> bool:
        """A number built with a multiplier or an ordinal: never glued to a neighbour."""
        return self.multiplier is not None or self.ordinal


def _next_word(tokens: list[str], index: int) -> str:
    """The word after tokens[index] across whitespace only, lower-cased ('' if none)."""
    if index + 2 < len(tokens) and tokens[index + 1].isspace():
        return _lower(tokens[index + 2])
    return ""


def _starts_group(num: _Num, tokens: list[str], index: int) -> bool:
    """Whether `num` (tokens[index]) may open a new number on its own."""
    if num.kind == "zero_slip":
        return False
    if num.kind in ("half", "weak"):  # «полторы тысячи», «одну тысячу»
        return _next_word(tokens, index) in _MULTIPLIERS
    if num.kind == "multiplier":
        word = _lower(tokens[index])
        before = _lower(tokens[index - 2]) if index >= 2 and tokens[index - 1].isspace() else ""
        return word in _MULTIPLIER_ALONE or (word == "тысячи" and before in _BEFORE_ONE_THOUSAND)
    if num.kind == "ordinal":
        return _next_word(tokens, index) in _DATE_WORDS
    return True


def _decimal_count(tokens: list[str], index: int) -> tuple[_Num, int] | None:
    """'1,5 тысячи' / '2.5 миллиона' starting at tokens[index]: the count and the multiplier's index."""
    if index + 4 < len(tokens) and tokens[index + 1] in (",", ".") and tokens[index + 2].isdigit():
        multiplier = _classify(tokens[index + 4])
        if tokens[index + 3].isspace() and multiplier is not None and multiplier.kind == "multiplier":
            count = float(f"{tokens[index]}.{tokens[index + 2]}")
            value = count * multiplier.value
            if tokens[index].isascii() and tokens[index + 2].isascii() and value == int(value):
                return _Num(int(value), 10**9, 1, "multiplier"), index + 4
    return None


def _read_run(tokens: list[str], start: int, stop: int) -> tuple[int, str]:
    """Read the run of number tokens from tokens[start] (before `stop`): (index after it, its digits).

    Returns (start, "") when tokens[start] opens no number.
    """
    first = _classify(tokens[start])
    if first is None or not _starts_group(first, tokens, start):
        return start, ""
    groups: list[_Group] = []
    joiners: list[str] = []  # joiners[k] stands between groups[k] and groups[k + 1]
    items: list[_Num] = []
    current = _Group()
    index, joiner = start, ""
    while True:
        num = _classify(tokens[index])
        assert num is not None
        decimal = _decimal_count(tokens, index) if num.kind == "digits" else None
        if decimal is not None:  # "1,5 тысячи": the count and its multiplier at once
            num, index = decimal
        # A comma or hyphen ends the number being read; «полторы» and "1,5 тысячи" open one.
        opens = num.kind == "half" or decimal is not None or bool(joiner.strip())
        if opens or not current.takes(num):
            if not current.empty():
                groups.append(current)
                joiners.append(joiner)
            current = _Group()
        if num.kind == "half":
            current.half = True
        elif decimal is not None:  # counted already: nothing multiplies it again
            current.high, current.multiplier = num.value, 1
        else:
            current.add(num)
        items.append(num)
        following = index + 2
        if current.ordinal or following >= stop or not _JOINER.match(tokens[index + 1]):
            break
        candidate = _classify(tokens[following])
        if candidate is None or not _continues(candidate, items[-1], current, tokens, following, stop):
            break
        joiner, index = tokens[index + 1], following
    groups.append(current)
    said = sum(len(str(n.raw or n.value)) for n in items if n.kind != "zero_slip")
    if any(n.kind == "zero_slip" for n in items) and said < 4:
        # «на» between a couple of digits is the preposition ("два на четыре метра"): stop before it.
        slip = next(i for i in range(start, index + 1) if _lower(tokens[i]) == _ZERO_SLIP)
        return _read_run(tokens, start, slip)
    return index + 1, _render(groups, joiners)


def _continues(num: _Num, previous: _Num, current: _Group, tokens: list[str], index: int, stop: int) -> bool:
    """Whether tokens[index] (a number token) belongs to the run being read (`previous` its last token)."""
    if num.kind == "zero_slip":  # «на» only between two dictated digits (or more «на»)
        if not (_single_digit(previous) or previous.kind == "zero_slip") or current.quantity:
            return False
        after = index
        while after + 2 < stop and tokens[after + 1].isspace() and _lower(tokens[after + 2]) == _ZERO_SLIP:
            after += 2
        following = _classify(tokens[after + 2]) if after + 2 < stop and tokens[after + 1].isspace() else None
        return _single_digit(following)
    needs_count = num.kind == "multiplier" and _lower(tokens[index]) not in _MULTIPLIER_ALONE
    if num.kind in ("weak", "ordinal") or needs_count:  # only as part of the number being read
        return current.takes(num) and tokens[index - 1].isspace()
    return _starts_group(num, tokens, index) or current.takes(num)


def _render(groups: list[_Group], joiners: list[str]) -> str:
    """The groups' digits: joined into one string, except around quantities and in a range "3-4"."""
    out = groups[0].digits()
    for before, joiner, group in zip(groups[:-1], joiners, groups[1:], strict=True):
        a_range = len(groups) == 2 and joiner.strip() in ("-", "–", "—")
        apart = before.quantity or group.quantity or a_range
        out += (joiner if apart else "") + group.digits()
    return out


def _dot_chain(found: re.Match[str]) -> str:
    """A dotted chain of dictated digits as a hyphenated one (read as one run), other chains unchanged."""
    groups = re.findall(r"\d+", found.group())
    singles = sum(len(g) == 1 for g in groups)
    if sum(map(len, groups)) >= 4 and (len(groups) >= 5 or (len(groups[0]) == 1 and singles >= 2)):
        return "-".join(groups)
    return found.group()


def normalise_numbers(text: str) -> str:
    """`text` with spoken and written numbers as digits: compound numbers read as numbers, dictated
    digit groups joined into one digit string. English number words are read too (`asr.numbers_en`)."""
    text = spoken_english_numbers(text)
    for pattern, name in _ABBREVIATIONS:
        text = pattern.sub(name, text)
    text = _DOT_CHAIN.sub(_dot_chain, text)
    tokens = _TOKEN.findall(text)
    result: list[str] = []
    index = 0
    while index < len(tokens):
        end, digits = _read_run(tokens, index, len(tokens))
        if end == index:
            result.append(tokens[index])
            index += 1
        else:
            result.append(digits)
            index = end
    return "".join(result)
