"""Personal data through recognition errors: found by context, masked whatever the checksum and separators."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.pii import find_pii, find_pii_in_turns, unreadable
from store.policy import mask, mask_number

ROLES = ("admin", "quality_controller", "team_lead", "analyst", "operator")


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("номер карты 200512345677 срок 0827", "номер карты [card] срок [expiry]"),  # 12 digits, no Luhn
        ("Плюс 7.92.1.4.5.6.789.", "Плюс [phone]."),
        ("мой ИНН 50010073225", "мой ИНН [inn]"),  # a garbled 11-digit personal INN
        ("и эн эн 5001 0073 2259", "и эн эн [inn]"),
        (
            "карта 4111 1111 1111 1111 действует до 08/27, код на обороте 4 1 7",
            "карта [card] действует до [expiry], код на обороте [cvv]",
        ),
        ("на карте срок действия до августа 27", "на карте срок действия до [expiry]"),
        ("перезвоните мне на 8 (916) 123-45-67 после 18", "перезвоните мне на [phone] после 18"),
        ("паспорт серия 45 06 номер 123 456", "паспорт серия [passport] номер [passport]"),
        ("9161234567 это мой мобильный", "[phone] это мой мобильный"),
        ("карта 4111 1111 годна до 08/27", "карта [card] годна до [expiry]"),  # a unit-like word after it
        ("три цифры с обратной стороны: 4 1 7", "три цифры с обратной стороны: [cvv]"),
        (
            "записывайте: 1234 5678 9012 34",
            "записывайте: [number]",
        ),  # 14 digits, nothing says what: fail closed
        # Most of an INN, its keyword misheard («ваш Ант» for «ваш ИНН»): 9 and 8 of its 10 digits
        ("Записывайте 663867654.", "Записывайте [number]."),
        ("66256341 в шестильный.", "[number] в шестильный."),
    ],
)
def test_personal_digits_are_masked_for_an_analyst_whatever_recognition_did(said, shown):
    assert mask(said, "analyst") == shown


@pytest.mark.parametrize(
    "said",
    [
        "Зарегистрировала обращение 204817, номер придёт в СМС.",  # the incident number links the call
        "по заявке № 2048173 ничего не изменилось",
        "по обращениям 204817, 204818 и 204819",
        "номер обращения 20481733, созданного 5 марта",
        "стоит 12 000 рублей, оплатил картой 1500 рублей",
        "перезвоню в 10:30, через 3 дня, добавочный 2050",
        "ИНН организации указан, КПП 773601001",
        "номер договора 1234567890, лицевой счёт 40817810",
        "срок 3 дня, звонок длился 15 минут",
        "заказ 4111 1111 1111 1112",  # an order number: no card words, fails Luhn
        "серийный номер 20481733, код ошибки 417, картридж 12345",
        "последний раз 2 года назад, 5 лет работаем",
        "Лицензия действует с 01.02.2024 по 01.02.2025",  # 8 digits each, but dates
    ],
)
def test_numbers_that_are_not_personal_stay_readable(said):
    assert mask(said, "analyst") == said and unreadable(said) == said


def test_a_long_number_without_context_is_readable_only_to_roles_that_see_phones():
    said = "записывайте: 1234 5678 9012 34"
    assert mask(said, "quality_controller") == said and mask(said, "admin") == said
    assert mask(said, "team_lead") == mask(said, "operator") == "записывайте: [number]"


def test_the_turn_before_is_context():
    assert [s.kind for s in find_pii("4111 1111 1111 1112")] == ["number"]  # long: masked, kind unknown
    assert [s.kind for s in find_pii("4111 1111 1111 1112", before="Назовите номер вашей карты.")] == ["card"]
    assert mask("2005 1234 5677", "analyst", before="диктую номер карты") == "[card]"
    turns = ["Диктую номер карты.", "2005 1234 5677", "Обращение 204817."]
    assert [[s.kind for s in spans] for spans in find_pii_in_turns(turns)] == [[], ["card"], []]


def test_nobody_reads_card_digits_and_the_index_holds_no_personal_digits():
    said = (
        "карта 2005 1234 5677 до 08/27 cvv 417, телефон +7 916 123 45 67, ИНН 500100732259, обращение 204817"
    )
    for role in ROLES:
        shown = mask(said, role)
        assert "2005" not in shown and "08/27" not in shown and "417" not in shown
    assert "916" in mask(said, "admin") and "5001" in mask(said, "operator")
    assert re.findall(r"\d+", unreadable(said)) == ["204817"]


def test_caller_numbers_are_phones_whatever_their_format():
    for number in ("+7 916 123-45-67", "8 (812) 640-77-88", "79161234567", "9161234567"):
        assert mask_number(number, "analyst") == "[phone]" and mask_number(number, "team_lead") == "[phone]"
        assert mask_number(number, "quality_controller") == number
    assert mask_number("101", "analyst") == "101" and mask_number(None, "analyst") is None


SEPARATORS = ["", "", "", " ", "  ", ".", "-", ",", ", ", ". ", " - ", "–", " (", ") ", "/"]
CONTEXTS = {
    "card": [
        "номер карты {}",
        "Карта {} действует",
        "оплачу картой мир, номер {}",
        "visa {}",
        "{} — это номер карты",
    ],
    "phone": [
        "мой телефон {}",
        "позвоните на {}",
        "Плюс семь {}",
        "+7 {}",
        "{} — мобильный",
        "номер телефона: {}",
    ],
    "inn": ["ИНН {}", "инн клиента {}", "и эн эн {} записали", "мой ИНН, пишите: {}"],
    "passport": ["паспорт {}", "серия и номер паспорта {}", "Паспорт: серия {} выдан"],
}
LENGTHS = {"card": (12, 19), "phone": (9, 12), "inn": (9, 13), "passport": (9, 10)}


@st.composite
def said_in_context(draw):
    kind = draw(st.sampled_from(sorted(CONTEXTS)))
    low, high = LENGTHS[kind]
    digits = draw(st.text(alphabet="0123456789", min_size=low, max_size=high))
    gaps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(digits) - 1, max_size=len(digits) - 1))
    spoken = digits[0] + "".join(gap + digit for gap, digit in zip(gaps, digits[1:], strict=True))
    case = draw(st.sampled_from([str.lower, str.upper, str.capitalize, str]))
    template = case(draw(st.sampled_from(CONTEXTS[kind])))
    lead = draw(st.sampled_from(["", "Да, ", "Хорошо. ", "так, сейчас, "]))
    tail = draw(st.sampled_from(["", ".", ", спасибо", " и всё", "? Верно"]))
    return kind, lead + template.format(spoken) + tail


@settings(max_examples=300, deadline=None)
@given(said_in_context())
def test_separators_inside_personal_digits_never_leave_four_readable(case):
    kind, said = case
    shown = mask(said, "analyst")
    assert len(re.findall(r"\d", shown)) < 4, (kind, said, shown)
    assert len(re.findall(r"\d", unreadable(said))) < 4, (kind, said)
