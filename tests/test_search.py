"""Transcript search on both backends: word forms, phrases, OR, NOT, NEAR, sides and access scope."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from contracts.text import stems
from store.schema import Call, Operator, Recording, Utterance
from store.search import SearchFilter, search_utterances
from store.search_query import QuerySyntaxError, parse

SAID = [
    ("operator", "Здравствуйте, компания Контур, меня зовут Анна."),
    ("customer", "У меня закончился сертификат электронной подписи."),
    ("operator", "Я зарегистрировала ваше обращение, номер обращения придёт в СМС."),
    ("customer", "Выставьте счёт на оплату, пожалуйста."),
    ("customer", "Счёт пришёл, спасибо."),
    ("operator", "Подскажите ваш ИНН."),
    ("operator", "Вот информация и инструкция."),
    ("customer", "Смску с номером не получил."),
]


@pytest.fixture
def indexed(engine):
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        conn.execute(insert(Call).values(id=1, uniqueid="1.1", operator_id=1))
        conn.execute(
            insert(Recording).values(
                id=1, call_id=1, path="-", sha256="0" * 64, size_bytes=0, status="accepted"
            )
        )
        conn.execute(insert(Utterance), [
            {"recording_id": 1, "call_id": 1, "version": "t", "idx": i, "role": role, "start": 3.0 * i,
             "end": 3.0 * i + 2, "text": text, "normalized_text": text, "search_text": " ".join(stems(text))}
            for i, (role, text) in enumerate(SAID)
        ])  # fmt: skip
    return engine


def _found(engine, query: str, **where) -> list[int]:
    with engine.connect() as conn:
        return sorted(
            hit["start"] // 3 for hit in search_utterances(conn, parse(query), SearchFilter(**where))
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("обращения", [2]),  # another form of the same word
        ('"номер обращения"', [2]),
        ('"придет номер"', []),  # the words, but not in this order
        ("счета", [3, 4]),
        ("счет NOT оплата", [4]),
        ("счет -оплата", [4]),
        ("подпись OR компания", [0, 1]),
        ("подписи NEAR/3 сертификат", [1]),
        ("подписи NEAR/0 здравствуйте", []),
        ('"номер обращения" NEAR/2 смс', [2]),  # a phrase on either side
        ('смс NEAR/2 "номер обращения"', [2]),
        ('"номер обращения" NEAR/1 смс', []),  # «придёт в» between
        ('"электронной подписи" NEAR/3 "закончился сертификат"', [1]),
        ('"придет номер" NEAR/5 смс', []),  # the phrase's words in another order
        ('сертификат NEAR/0 "электронной подписи"', [1]),  # counted from where the phrase begins
        ('"электронной подписи" NEAR/0 сертификат', [1]),
        ('"у меня" NEAR/0 "закончился сертификат"', [1]),
        ('"у меня" NEAR/0 "сертификат электронной"', []),
        ("сертификат НЕ подпись", []),
        ("ИНН", [5]),  # a short stem ("ин") is a word, not the start of «информация» and «инструкция»
        ("инструкции", [6]),
        ("СМС", [2, 7]),  # a short word the stemmer left whole still finds its longer forms («смску»)
    ],
)
def test_the_query_language(indexed, query, expected):
    assert _found(indexed, query) == expected


def test_sides_and_scope(indexed):
    assert _found(indexed, "счет OR обращение", role="operator") == [2]
    assert _found(indexed, "счет", only_operator_code="102") == []


def test_queries_that_cannot_be_read_say_why():
    for query, message in (
        ("-счет", "at least one word"),
        ("NEAR/2 счет", "NEAR"),
        ("счет NEAR/2 -оплата", "not one to exclude"),
        ("счет NEAR/2", "after it"),
        ("счет NEAR/2 OR оплата", "after it"),
        ("счет NEAR/2 NEAR/3 оплата", "after it"),
        ("-счет NEAR/2 оплата", "to find on each side"),
        ('"номер обращения" NEAR/3 номер', "different words"),
        ("счет NEAR/51 оплата", "at most NEAR/50"),
        ("", "no words"),
    ):
        with pytest.raises(QuerySyntaxError, match=message):
            parse(query)
