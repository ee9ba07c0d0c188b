"""Spoken numbers to digits: quantities read as numbers, dictated identifiers kept as digit strings."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asr import normalise_numbers
from classifiers.identifiers import identifiers

# A speller written independently of the normaliser: Russian words for 0..999999 in the nominative.
_UNITS = ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"]
_TEENS = ["десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
          "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"]  # fmt: skip
_TENS = ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят",
         "девяносто"]  # fmt: skip
_HUNDREDS = ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот",
             "девятьсот"]  # fmt: skip


def _below_thousand(n: int, feminine: bool = False) -> list[str]:
    words = [_HUNDREDS[n // 100]] if n >= 100 else []
    rest = n % 100
    if 10 <= rest < 20:
        return [*words, _TEENS[rest - 10]]
    if rest >= 20:
        words.append(_TENS[rest // 10])
    if rest % 10:
        unit = _UNITS[rest % 10]
        words.append({"один": "одна", "два": "две"}.get(unit, unit) if feminine else unit)
    return words


def _thousand_form(n: int) -> str:
    if 10 <= n % 100 < 20 or n % 10 in (0, 5, 6, 7, 8, 9):
        return "тысяч"
    return "тысяча" if n % 10 == 1 else "тысячи"


def say(n: int, bare_thousand: bool = False) -> str:
    """`n` (0..999999) in words: "двенадцать тысяч триста"; `bare_thousand` says 1000 as "тысяча"."""
    if n == 0:
        return "ноль"
    thousands, rest = divmod(n, 1000)
    words = []
    if thousands:
        count = [] if thousands == 1 and bare_thousand else _below_thousand(thousands, feminine=True)
        words += [*count, _thousand_form(thousands)]
    return " ".join(words + _below_thousand(rest))


@given(st.integers(0, 999_999), st.booleans())
def test_a_number_said_in_words_comes_back_as_that_number(n, bare_thousand):
    assert normalise_numbers(f"сумма {say(n, bare_thousand)} рублей") == f"сумма {n} рублей"


_GENITIVE_UNITS = ["", "одного", "двух", "трёх", "четырёх", "пяти", "шести", "семи", "восьми", "девяти"]
_GENITIVE_TENS = ["", "", "двадцати", "тридцати", "сорока", "пятидесяти", "шестидесяти", "семидесяти",
                  "восьмидесяти", "девяноста"]  # fmt: skip
_GENITIVE_HUNDREDS = ["", "ста", "двухсот", "трёхсот", "четырёхсот", "пятисот", "шестисот", "семисот",
                      "восьмисот", "девятисот"]  # fmt: skip


def _genitive_below_thousand(n: int, feminine: bool = False) -> list[str]:
    words = [_GENITIVE_HUNDREDS[n // 100]] if n >= 100 else []
    rest = n % 100
    if 10 <= rest < 20:
        return [*words, _TEENS[rest - 10][:-1] + "и"]
    if rest >= 20:
        words.append(_GENITIVE_TENS[rest // 10])
    if rest % 10:
        words.append("одной" if feminine and rest % 10 == 1 else _GENITIVE_UNITS[rest % 10])
    return words


def say_genitive(n: int) -> str:
    """`n` (1..999999) in the genitive: "двенадцати тысяч трёхсот"."""
    thousands, rest = divmod(n, 1000)
    words = []
    if thousands:
        one = thousands % 10 == 1 and thousands % 100 != 11
        words += [*_genitive_below_thousand(thousands, feminine=True), "тысячи" if one else "тысяч"]
    return " ".join(words + _genitive_below_thousand(rest))


@given(st.integers(1, 999_999))
def test_a_number_in_the_genitive_comes_back_as_that_number(n):
    assert normalise_numbers(f"скидка до {say_genitive(n)} рублей") == f"скидка до {n} рублей"


@given(st.integers(1, 999_999))
def test_digits_and_words_mixed_read_as_one_number(n):
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        return
    spoken = " ".join([str(thousands), _thousand_form(thousands), *_below_thousand(rest)])
    assert normalise_numbers(f"итого {spoken}.") == f"итого {n}."


def _dictate(digits: str, cuts: list[int]) -> str:
    """`digits` dictated in groups of 1-3 at `cuts`: a group with a leading zero digit by digit, others as a
    number; a pause (comma) after a group whose last place is free ("семьсот, двенадцать")."""
    parts, start = [], 0
    for cut in [*cuts, len(digits)]:
        group = digits[start:cut]
        start = cut
        if not group:
            continue
        if group[0] == "0" or len(group) == 1:
            spoken = " ".join(_UNITS[int(d)] for d in group)
            open_place = False
        else:
            spoken = " ".join(_below_thousand(int(group)))
            open_place = group.endswith("0")
        parts.append((spoken, open_place))
    text = parts[0][0]
    for (_, open_place), (spoken, _) in itertools.pairwise(parts):
        text += (", " if open_place else " ") + spoken
    return text


@st.composite
def dictations(draw) -> tuple[str, str]:
    digits = draw(st.text(alphabet="0123456789", min_size=4, max_size=16))
    cuts, position = [], 0
    while position < len(digits):
        position += draw(st.integers(1, 3))
        cuts.append(min(position, len(digits)))
    return digits, _dictate(digits, sorted(set(cuts))[:-1])


@given(dictations())
def test_dictated_digit_groups_come_back_exactly(case):
    digits, spoken = case
    assert normalise_numbers(f"записывайте: {spoken}. Спасибо") == f"записывайте: {digits}. Спасибо"


def _dictated_with_zeros(digits: str) -> bool:
    """Starts and ends with a non-zero digit and has at least four of them: a dictated identifier."""
    return digits[0] != "0" != digits[-1] and sum(d != "0" for d in digits) >= 4


@given(st.text(alphabet="0123456789", min_size=5, max_size=12).filter(_dictated_with_zeros))
def test_zero_heard_as_na_inside_dictated_digits_is_a_zero(digits):
    """«на» is read as «ноль» only between digit words of a run of at least four of them."""
    spoken = " ".join("на" if d == "0" else _UNITS[int(d)] for d in digits)
    assert normalise_numbers(f"номер {spoken}, верно?") == f"номер {digits}, верно?"


CASES = [
    # money
    ("Тариф стоит 12 тысяч рублей в год", "Тариф стоит 12000 рублей в год"),
    ("С вас две тысячи четыреста девяносто рублей", "С вас 2490 рублей"),
    ("Продление обойдётся в полторы тысячи", "Продление обойдётся в 1500"),
    ("Списали триста сорок рублей пятьдесят копеек", "Списали 340 рублей 50 копеек"),
    ("Лимит около двухсот пятидесяти тысяч рублей", "Лимит около 250000 рублей"),
    ("Договор на три миллиона двести тысяч", "Договор на 3200000"),
    ("Долг 1,5 тысячи рублей", "Долг 1500 рублей"),
    ("Счёт на 2 тысячи 300 рублей", "Счёт на 2300 рублей"),
    ("Пять тысяч, шесть тысяч, не помню", "5000, 6000, не помню"),
    ("Счёт на 12 300 рублей", "Счёт на 12300 рублей"),
    # dates
    ("Сдать нужно до двадцать пятого апреля", "Сдать нужно до 25 апреля"),
    ("Отчёт за две тысячи двадцать пятый год", "Отчёт за 2025 год"),
    ("Срок до тридцать первого декабря две тысячи двадцать шестого года", "Срок до 31 декабря 2026 года"),
    ("С первого марта изменились формы", "С 1 марта изменились формы"),
    ("Организация работает с двухтысячного года", "Организация работает с 2000 года"),
    # times and durations
    ("Перезвоню в пятнадцать тридцать", "Перезвоню в 1530"),
    ("Мы работаем с девяти до восемнадцати часов", "Мы работаем с 9 до 18 часов"),
    ("Подождите две-три минуты", "Подождите 2-3 минуты"),
    ("Проверка занимает до пяти рабочих дней", "Проверка занимает до 5 рабочих дней"),
    ("Висит уже сорок минут", "Висит уже 40 минут"),
    ("Осталась двадцать одна минута", "Осталась 21 минута"),
    # counts
    ("У нас двенадцать сотрудников и сто двадцать одна накладная", "У нас 12 сотрудников и 121 накладная"),
    ("Переведу вас на двести пятый кабинет", "Переведу вас на 205 кабинет"),
    # dictated identifiers
    ("ИНН семь семь ноль семь ноль восемь три восемь девять три", "ИНН 7707083893"),
    ("ИНН семьдесят семь ноль семь, ноль восемь, тридцать восемь, девяносто три", "ИНН 7707083893"),
    ("и эн эн семь семь ноль семь ноль восемь три восемь девять три", "ИНН 7707083893"),
    ("КПП семьсот семьдесят три, шестьдесят, один ноль ноль один", "КПП 773601001"),
    ("ка-пэ-пэ семь семь три шесть ноль один ноль ноль один", "КПП 773601001"),
    ("Номер обращения два ноль четыре восемь один семь", "Номер обращения 204817"),
    ("Номер обращения двести четыре восемьсот семнадцать", "Номер обращения 204817"),
    ("Записывайте: семьсот семьдесят ноль двенадцать", "Записывайте: 770012"),
    ("Мой телефон восемь девятьсот шестнадцать сто двадцать три сорок пять шестьдесят семь",
     "Мой телефон 89161234567"),
    ("Плюс семь девятьсот двадцать один, четыреста пятьдесят шесть, семьдесят восемь, девяносто",
     "Плюс 79214567890"),
    # as Whisper writes them
    ("ИНН 66-38-675-654", "ИНН 6638675654"),
    ("Номер 204 817, записали?", "Номер 204817, записали?"),
    ("шесть 6 три 8", "6638"),
    ("Номер два на четыре восемь один семь", "Номер 204817"),
    ("Шесть, шесть на 9, 397, 297.", "6609397297."),
    ("Номер обращения 2.4.8.1.7, записали?", "Номер обращения 24817, записали?"),
    ("под номером 2 .0 .4 .8 .1 .7.", "под номером 204817."),
    ("Плюс 7.921.456.78.90", "Плюс 79214567890"),
    ("Перезвоню в 10.30, версия 3.5.1 от 01.03.2026", "Перезвоню в 10.30, версия 3.5.1 от 01.03.2026"),
    ("Шлюз 192.168.1.10, сервер 10.0.0.1", "Шлюз 192.168.1.10, сервер 10.0.0.1"),
    ("ИНН семь семь на семь на восемь три восемь девять три", "ИНН 7707083893"),
    # «на» and other words that only look like numbers
    ("Перезвоню на этой неделе", "Перезвоню на этой неделе"),
    ("Продлим на два дня", "Продлим на 2 дня"),
    ("Экран три на четыре метра", "Экран 3 на 4 метра"),
    ("Коробка три на четыре на пять", "Коробка 3 на 4 на 5"),
    ("Двадцать пять на тридцать", "25 на 30"),
    ("В первую очередь подпись, во-вторых сертификат", "В первую очередь подпись, во-вторых сертификат"),
    ("Подождите одну минуту", "Подождите одну минуту"),
    ("В одном месте работает, в другом нет", "В одном месте работает, в другом нет"),
    ("У нас тысячи клиентов", "У нас тысячи клиентов"),
    ("Штраф до тысячи рублей", "Штраф до 1000 рублей"),
    ("Одну тысячу внесли наличными", "1000 внесли наличными"),
    ("Это заняло полтора часа", "Это заняло полтора часа"),
    ("Звоню за всю семью", "Звоню за всю семью"),
    ("в сотый раз звоню", "в сотый раз звоню"),
    ("Ничего не слышно", "Ничего не слышно"),
]  # fmt: skip


@pytest.mark.parametrize("text, expected", CASES)
def test_realistic_numbers(text, expected):
    assert normalise_numbers(text) == expected


def test_amounts_are_no_incident_numbers():
    said = identifiers(normalise_numbers("Стоит 12 тысяч рублей, а за двести тысяч рублей годовая подписка"))
    assert said["incident"] == [] and said["kpp"] == []


def test_dictated_identifiers_are_found_as_digits():
    text = normalise_numbers(
        "Записывайте, и эн эн семь семь ноль семь ноль восемь три восемь девять три, "
        "КПП семьсот семьдесят три, шестьдесят, один ноль ноль один. "
        "Ваше обращение номер двести четыре, восемьсот семнадцать, стоимость полторы тысячи рублей."
    )
    said = identifiers(text)
    assert (said["inn"], said["kpp"], said["incident"]) == (["7707083893"], ["773601001"], ["204817"])


def test_an_inn_cut_by_a_pause_is_found_whole():
    said = identifiers("ИНН 6658, 517818. Записали? Номер 204 817, сумма 12, 300 рублей")
    assert (said["inn"], said["incident"], said["kpp"]) == (["6658517818"], ["204817"], [])
    assert identifiers("6658, 517819")["inn"] == [], "no valid INN: the runs stay apart"


ENGLISH = [
    ("My account is five oh two three one", "My account is 50231"),
    ("Three, three, eight, one, oh, two, four, nine.", "33810249."),
    ("oh seven seven oh oh, nine double oh one two three", "07700900123"),
    ("double-four one", "441"),
    ("twenty three", "23"),
    ("one hundred and five pounds", "105 pounds"),
    ("in two thousand twenty six", "in 2026"),
    ("It took five minutes, maybe five-six", "It took 5 minutes, maybe 5-6"),
    ("Oh, I see. The one I bought. One moment please.", "Oh, I see. The one I bought. One moment please."),
    ("No one called. Oh two.", "No one called. Oh two."),
    ("It costs $5 million, about 20 thousand a year", "It costs $5000000, about 20000 a year"),
    ("nine double 0 one two three. Triple 5, two", "900123. 5552"),
    ("No, this one, one more time. Oh, one, two, three", "No, this one, one more time. Oh, 123"),
]


@pytest.mark.parametrize("text, expected", ENGLISH)
def test_english_numbers_come_back_as_digits_and_english_words_stay_words(text, expected):
    assert normalise_numbers(text) == expected


def test_an_english_desk_finds_its_dictated_numbers_and_no_russian_kpp():
    said = identifiers(
        normalise_numbers("Your ticket number is five oh two three three. Account four seven two nine one "
                          "eight three oh five, and my mobile is oh seven seven oh oh, nine double oh one "
                          "two three."),
        country="GB",
    )  # fmt: skip
    assert (said["incident"], said["phone"], said["kpp"]) == (["50233"], ["447700900123"], [])
