"""Spoken English numbers to digits, ahead of the reading of digit runs in `asr.numbers`.

Each English number is written as digits and the rest is left to the shared reader, which joins a
dictated run into one digit string: "five oh two three one" → "5 0 2 3 1" → "50231", "seven seven oh,
double nine" → "7 7 0, 9 9" → "77099". Compound numbers become one number here ("twenty three" → "23",
"one hundred and five" → "105", "two thousand twenty six" → "2026"), so the reader does not split them.

Words that are numbers only among other numbers stay words on their own: "oh" and "o" are a zero only
in a run of three or more number words ("oh, I see", "oh two" stay as said), and a lone "one" is the
pronoun ("the one I bought", "no one"), while "one two three" is dictated digits.
"""

from __future__ import annotations

import re

_UNITS = {"zero": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9}  # fmt: skip
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6}
_ZERO_SLIPS = {"oh", "o"}  # zero when dictating digits
_REPEATS = {"double": 2, "triple": 3}  # "double four": 44
_NUMBER_WORDS = {*_UNITS, *_TEENS, *_TENS, *_SCALES, *_ZERO_SLIPS, *_REPEATS}
# A run of zero-slips counts only among this many number words or more.
_MIN_RUN_FOR_ZERO_SLIP = 3

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
_JOINER = re.compile(r"^[ \t,\-–—]+$")


def _word(token: str) -> str:
    return token.lower()


def _is_number(token: str) -> bool:
    return token.isascii() and (token.isdigit() or _word(token) in _NUMBER_WORDS)


def _runs(tokens: list[str]) -> list[tuple[int, int]]:
    """(first, last) token indices of each run of number tokens joined by spaces, commas or hyphens; "and"
    joins a scale word to the number after it ("one hundred and five")."""
    runs = []
    index = 0
    while index < len(tokens):
        if not _is_number(tokens[index]):
            index += 1
            continue
        first = last = index
        following = index + 2
        while following < len(tokens) and _JOINER.match(tokens[following - 1]):
            if _is_number(tokens[following]):
                last = following
            elif (
                _word(tokens[following]) == "and"
                and _word(tokens[last]) in _SCALES
                and following + 2 < len(tokens)
                and tokens[following + 1].isspace()
                and _word(tokens[following + 2]) in {*_UNITS, *_TEENS, *_TENS}
            ):
                last = following + 2
                following += 2
            else:
                break
            following = last + 2
        runs.append((first, last))
        index = last + 1
    return runs


def _fits(value: int, word: str) -> bool:
    """Whether the word continues the compound number `value` ("twenty" + "three", "hundred" + "five")."""
    if value == 0:
        return False
    if word in _UNITS:
        return value % 10 == 0 and value % 100 != 10
    if word in _TEENS or word in _TENS:
        return value % 100 == 0
    return False


def _groups(tokens: list[str]) -> list[tuple[str, str]]:
    """The numbers of a run (number tokens and the joiners between them) as (joiner before it, digits): a
    compound number is one group, each dictated digit one."""
    groups: list[tuple[str, str]] = []
    total, current, open_ = 0, 0, False  # the number being read: thousands so far, the part below
    repeat, joiner, opened_by = 1, "", ""

    def close() -> None:
        nonlocal total, current, open_
        if open_:
            groups.append((opened_by, str(total + current)))
        total, current, open_ = 0, 0, False

    def add(digits: str) -> None:
        nonlocal repeat
        close()
        before = opened_by if repeat > 1 else joiner  # "double four": the joiner before "double"
        groups.extend([(before if k == 0 else " ", digits) for k in range(repeat)])
        repeat = 1

    for index, token in enumerate(tokens):
        word = _word(token)
        if _JOINER.match(token) or word == "and":  # "one hundred and five": "and" joins like a space
            joiner = joiner or token
            continue
        following = next((_word(t) for t in tokens[index + 1 :] if not _JOINER.match(t)), "")
        if word.isdigit():
            if following in _SCALES and repeat == 1:  # "5 million", "20 thousand": a count, not digits
                close()
                total, current, open_, opened_by = 0, int(word), True, joiner
            else:
                add(word)
        elif word in _REPEATS:
            close()
            repeat = _REPEATS[word]
            opened_by = joiner
        elif word in _SCALES:
            scale = _SCALES[word]
            if not open_:
                opened_by = joiner
            if scale == 100:
                current = (current or 1) * 100 if current < 100 else current
            else:
                total, current = total + (current or 1) * scale, 0
            open_ = True
        else:
            value = 0 if word in _ZERO_SLIPS else _UNITS.get(word, _TEENS.get(word, _TENS.get(word, 0)))
            if repeat > 1 or word in _ZERO_SLIPS or value == 0:  # dictated digits stand alone
                add(str(value))
            elif open_ and _fits(total + current, word):
                current += value
            else:
                close()
                current, open_, opened_by = value, True, joiner
        joiner = ""
    close()
    return groups


def _dictated(run: list[str]) -> bool:
    """Whether a run of number words is numbers at all (see the module's docstring)."""
    words = [w for w in run if not w.isdigit()]
    if all(w == "one" for w in words) and len(run) < _MIN_RUN_FOR_ZERO_SLIP:
        return False  # "this one, one more time"
    if len(run) >= _MIN_RUN_FOR_ZERO_SLIP:
        return True
    if any(w in _ZERO_SLIPS for w in words) or all(w in _REPEATS for w in words):
        return False
    return not any(w in _REPEATS for w in words[-1:])


def spoken_english_numbers(text: str) -> str:
    """`text` with English number words as digits (a compound number one group; dictated digits left apart
    for `asr.numbers` to join)."""
    if not any(c.isascii() and c.isalpha() for c in text):
        return text
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    done = 0
    for first, last in _runs(tokens):
        # "Oh, one, two": an interjection before the numbers, not a zero.
        while first < last and _word(tokens[first]) in _ZERO_SLIPS and "," in tokens[first + 1]:
            first += 2
        span = tokens[first : last + 1]
        numbers = [_word(t) for t in span if _is_number(t)]
        if all(n.isdigit() for n in numbers) or not _dictated(numbers):
            continue  # written digits alone are left as written, for the shared reader
        out.extend(tokens[done:first])
        for k, (joiner, digits) in enumerate(_groups(span)):
            # Between groups the run's own punctuation where it had some (", " reads as a pause).
            out.append(("" if k == 0 else joiner if joiner.strip() else " ") + digits)
        done = last + 1
    out.extend(tokens[done:])
    return "".join(out)
