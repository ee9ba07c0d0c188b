"""Personal data in text: card numbers, their expiry and CVV, phones, passports, e-mail and INNs.

Pure detection, shared by the classifiers (identifiers said in a call) and the store (masking what a
viewer reads, keeping personal digits out of the search index). Which kinds a role sees is policy, not
detection: see `mask_spans`'s `allowed`.

Recognition breaks checksums, lengths and grouping, so detection is driven by context, not by the number:

- A *run* is digits split by spaces, dots, commas, dashes, slashes or brackets ("7.92.1.4.5.6.789",
  "8 (812) 640-77-88" are one run each).
- A run is read in the context of the nearest keyword before it (within `CONTEXT_CHARS`), else the first
  one after it (within `AFTER_CHARS`): card words (карта, card, visa, мир…), phone words (телефон, позвонить,
  плюс семь, +7…), passport words (паспорт, серия), INN words (ИНН, «и эн эн»), CVV words, card expiry words
  (срок, действует до, MM/YY). A bare «номер» takes the kind of the keyword before it («паспорт серия …
  номер …»); alone it only marks long runs. In a card, passport or INN context every run of 4+ digits is
  masked, in a phone context every run of 5+ (shorter ones are extensions), whatever its checksum and
  separators.
- Whatever the context, a Luhn-valid card, a valid INN or a phone-shaped run is masked, and so is any run of
  `LONG_RUN` (10) or more digits, or of `UNEXPLAINED_RUN` (8) or more with no keyword, no unit and not
  written as a date (kind "number": fail closed for roles that see no phones): recognition loses a digit
  or two of a dictated INN, phone or passport, and garbles the word that said what it was («ваш Ант» for
  «ваш ИНН»).
- What stays readable: short numbers (amounts, times, counts), numbers followed by a unit (рублей, минут,
  %…), and identifiers said as such: an incident number (обращение, заявка, инцидент, тикет) of the site's
  length (`incident_digits`), and KPP, contract, account and order numbers — they are how calls are linked
  and found, not personal data. A checksum- or phone-shaped run is masked even there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[\d\- ]*\d)?(?!\d)")
# Recognition scatters digits with any of these: "4111.1111", "8 (812) 640-77-88", "7, 9, 2".
PII_RUN = re.compile(r"(?<!\d)\d(?:[ \t\u00a0]{0,3}[.,\-–—/()]?[ \t\u00a0]{0,3}\(?\d)*(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PII_KINDS = ("card", "expiry", "cvv", "phone", "passport", "email", "inn", "number")
INCIDENT_DIGITS = (5, 8)
CONTEXT_CHARS = 60
AFTER_CHARS = 30
LONG_RUN = 10
UNEXPLAINED_RUN = 8  # a run this long with nothing to say what it is may be most of an INN or a phone
MIN_DIGITS = {"card": 4, "passport": 4, "inn": 4, "phone": 5, "cvv": 2, "expiry": 2, "number": 7}

_MONTHS = r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)\w*"
_KEYWORDS = [
    (
        "card",
        r"карт(?!ридж|инк|офел|ограф)\w*|card\w*|visa|виза|визы|мастеркард\w*|master\s?card|маэстро|maestro|мир\b|банковск\w*",
    ),
    (
        "cvv",
        r"cvv\d?|cvc\d?|cv2|на обороте|обратн\w* сторон\w*|код\w* безопасности|секретн\w* код\w*|три цифры|"
        r"тр[её]хзначн\w*",
    ),
    (
        "expiry",
        r"срок\w*(?:\s+действия)?|действ\w*\s+до|годн\w*\s+до|exp\w*|valid\s+thru|до(?=\s*\d{1,2}\s*/)",
    ),
    (
        "phone",
        r"телефон\w*|тел\b|мобильн\w*|сотов\w*|позвон\w*|перезвон\w*|звоните|звонить|набер\w*|whatsapp|ватсап\w*|"
        r"вацап\w*|телеграм\w*|смс|sms|phone\w*|плюс(?=\s*(?:7|8|семь|восемь))|\+(?=\s*\d)",
    ),
    ("passport", r"паспорт\w*|passport\w*|сери[яиюей]\b"),
    ("inn", r"инн\b|inn\b|и\.?\s?н\.?\s?н\b|и\s+эн\s+эн\b"),
    ("incident", r"обращени\w*|заявк\w*|инцидент\w*|тикет\w*|ticket\w*|incident\w*|inc\b"),
    (
        "identifier",
        r"кпп\b|kpp\b|договор\w*|контракт\w*|сч[её]т\w*|лицев\w*|заказ\w*|order\w*|артикул\w*|"
        r"стать\w*|добавочн\w*|внутренн\w*|серийн\w*|модел\w*|верси\w*|ошибк\w*",
    ),
    ("number", r"номер\w*|№|no\.|number"),
]
KEYWORD = re.compile("|".join(f"(?P<{kind}>(?<!\\w)(?:{words}))" for kind, words in _KEYWORDS), re.I)
UNIT_AFTER = re.compile(
    r"[ \t]*(?:рубл|руб\b|р\.|₽|коп|тысяч|тыс\b|миллион|млн|долл|\$|евро|€|процент|%|минут|мин\b|секунд|"
    r"сек\b|час|дн[еяи]|день|недел|месяц|лет\b|год(?:а|у|ом|ов)?\b|раз\b|штук|шт\b|человек|гб|мб|gb|mb)",
    re.I,
)
MONTH_EXPIRY = re.compile(
    rf"(?:до|срок\w*(?:\s+действия)?|действ\w*\s+до)\s+({_MONTHS}\s+\d{{2,4}})(?!\d)", re.I
)
SLASH_EXPIRY = re.compile(r"(?<![\d/])(0[1-9]|1[0-2])\s?/\s?(\d{2}|20\d{2})(?![\d/])")
CARD_NEARBY_CHARS = 150
# Kinds from the one fewest roles see to the one most see: a run that could be two kinds is the first.
RESTRICTIVENESS = ("card", "cvv", "expiry", "passport", "email", "phone", "number", "inn")
PERSONAL_CONTEXTS = ("card", "cvv", "expiry", "phone", "passport", "inn")
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


@dataclass(frozen=True)
class PiiSpan:
    """A piece of personal data in a text: kind and character offsets."""

    kind: str  # card | expiry | cvv | phone | passport | email | inn | number (a long number, kind unknown)
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


def pii_runs(text: str) -> list[tuple[str, int, int]]:
    """Digit strings as recognition scatters them (spaces, dots, commas, dashes, slashes, brackets)."""
    return [(re.sub(r"\D", "", m.group()), m.start(), m.end()) for m in PII_RUN.finditer(text)]


def _keywords(text: str) -> list[tuple[str, int, int]]:
    return [(m.lastgroup or "", m.start(), m.end()) for m in KEYWORD.finditer(text)]


def keyword_spans(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each context keyword in `text`: card, phone, inn, incident, identifier…"""
    return _keywords(text)


def _context(keywords: list[tuple[str, int, int]], start: int, end: int) -> tuple[str | None, bool]:
    """The kind of context a run at [start, end) is said in (or None); whether personal words are near."""
    before = [k for k in keywords if k[2] <= start and start - k[2] <= CONTEXT_CHARS]
    after = [k for k in keywords if k[1] >= end and k[1] - end <= AFTER_CHARS]
    personal = any(k[0] in PERSONAL_CONTEXTS for k in before + after)
    if before:
        kind = before[-1][0]
        if kind != "number":
            return kind, personal
        # «номер» takes the kind of what it is the number of: «паспорт серия 45 06 номер …».
        named = [k for k in before if k[0] != "number"]
        return (named[-1][0] if named else "number"), personal
    return (after[0][0] if after else None), personal


def _shape(digits: str) -> str | None:
    """What a run is by its digits alone: a valid card, a valid INN or a phone."""
    if luhn_is_valid(digits):
        return "card"
    if len(digits) in (10, 12) and inn_is_valid(digits):
        return "inn"
    return "phone" if is_phone(digits) else None


_DATE = re.compile(r"\s*(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{4})\s*|\s*(\d{4})-(\d{2})-(\d{2})\s*")


def _a_date(said: str) -> bool:
    """Whether a run is written as a date (01.02.2024, 1/2/2024, 2024-02-01) with a real day and month."""
    found = _DATE.fullmatch(said)
    if not found:
        return False
    day, month = (found.group(1), found.group(2)) if found.group(1) else (found.group(6), found.group(5))
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _classify(
    said: str, context: str | None, personal: bool, unit_after: bool, incident_digits: tuple[int, int]
) -> str | None:
    """The kind of personal data a run (`said`: its text) is, or None when it stays readable."""
    digits, low, high = re.sub(r"\D", "", said), *incident_digits
    groups = re.findall(r"\d+", said)  # «обращения 204817, 204818»: a list of incident numbers
    incidents = low <= len(digits) <= high or (len(groups) > 1 and all(low <= len(g) <= high for g in groups))
    if context == "incident" and incidents and not luhn_is_valid(digits):
        return None  # incident numbers said as such: how calls are linked, visible
    labels = [label for label in (_shape(digits),) if label]
    if (
        context in MIN_DIGITS
        and len(digits) >= MIN_DIGITS[context]
        and not (unit_after and len(digits) < LONG_RUN)
    ):
        labels.append(context)  # an amount or a duration next to a card word is not the card
    long = len(digits) >= LONG_RUN and (context not in ("identifier", "incident") or personal)
    unexplained = context is None and len(digits) >= UNEXPLAINED_RUN and not unit_after and not _a_date(said)
    if not labels and (long or unexplained):
        labels.append("number")  # a long number with nothing to say what it is: fail closed
    return min(labels, key=RESTRICTIVENESS.index) if labels else None


def find_pii(
    text: str, before: str = "", incident_digits: tuple[int, int] = INCIDENT_DIGITS
) -> list[PiiSpan]:
    """Every personal-data span in `text` (number-normalised transcript text or free text).

    `before` is what was said just before (the previous turn): its keywords count as context, so a card
    read out in the turn after «номер карты» is still a card. Spans are offsets into `text`.
    """
    joined = f"{before[-CARD_NEARBY_CHARS:]}\n" if before else ""
    offset = len(joined)
    whole = joined + text
    keywords = _keywords(whole)
    spans = []
    for _digits, start, end in pii_runs(text):
        context, personal = _context(keywords, start + offset, end + offset)
        if context == "expiry" and not _card_nearby(keywords, start + offset):
            context = None  # «срок 3 дня» is not a card's expiry
        said = text[start:end]
        kind = _classify(said, context, personal, bool(UNIT_AFTER.match(text, end)), incident_digits)
        if kind:
            spans.append(PiiSpan(kind, start, end))
    for m in MONTH_EXPIRY.finditer(text):
        if _card_nearby(keywords, m.start() + offset):
            spans.append(PiiSpan("expiry", m.start(1), m.end(1)))
    for m in SLASH_EXPIRY.finditer(text):
        if _card_nearby(keywords, m.start() + offset):
            spans.append(PiiSpan("expiry", m.start(), m.end()))
    spans += [PiiSpan("email", m.start(), m.end()) for m in EMAIL.finditer(text)]
    return _merged(spans)


def find_pii_in_turns(texts: Sequence[str]) -> list[list[PiiSpan]]:
    """`find_pii` of each turn of a conversation, each read after the turn before it."""
    return [find_pii(text, texts[i - 1] if i else "") for i, text in enumerate(texts)]


def _card_nearby(keywords: list[tuple[str, int, int]], position: int) -> bool:
    return any(k[0] in ("card", "cvv") and 0 <= position - k[2] <= CARD_NEARBY_CHARS for k in keywords)


def _merged(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Sorted spans, overlapping ones joined (the wider extent, the kind fewer roles see)."""
    out: list[PiiSpan] = []
    for span in sorted(set(spans), key=lambda s: (s.start, -s.end)):
        if out and span.start < out[-1].end:
            last = out[-1]
            kind = min(last.kind, span.kind, key=RESTRICTIVENESS.index)
            out[-1] = PiiSpan(kind, last.start, max(last.end, span.end))
        else:
            out.append(span)
    return out


def mask_spans(
    text: str, allowed: Collection[str], spans: list[PiiSpan] | None = None, label: bool = True
) -> str:
    """`text` with every span whose kind is not in `allowed` replaced by "[kind]" (a space: `label=False`)."""
    out, position = [], 0
    for span in spans if spans is not None else find_pii(text):
        if span.kind in allowed or span.start < position:
            continue
        out += [text[position : span.start], f"[{span.kind}]" if label else " "]
        position = span.end
    out.append(text[position:])
    return "".join(out)


def unreadable(text: str, before: str = "") -> str:
    """`text` with all personal data blanked out, whoever reads it: what a search index may hold."""
    return mask_spans(text, (), find_pii(text, before), label=False)
