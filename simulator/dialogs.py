"""Dialogues for every situation of the registration manual, with what each turn proves.

Operators follow (or break) the script; customers vary their wording, so that text classifiers
cannot learn one sentence per label. Each turn carries tags for the checklist items it fulfils and
the personal data it contains, which become the ground truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.numbers import spell_digits
from simulator.people import (
    COMPANY,
    EMPLOYEES_ASKED_FOR,
    PRODUCTS,
    SPECIAL_ARTICLE,
    TOPIC_BY_LABEL,
    Client,
    Operator,
    Topic,
)

CHECKLIST = ("greeting", "client_identified", "incident_number", "sms_offered", "other_questions", "farewell")


@dataclass
class Turn:
    """One utterance. `tags` name checklist items or events (transfer, hold, drop) it shows."""

    role: str
    text: str
    tags: tuple[str, ...] = ()
    pii: tuple[tuple[str, str], ...] = ()
    hold_after: float = 0.0


@dataclass
class Dialog:
    """A whole conversation and what it means for registration and quality."""

    scenario: str
    purpose: str
    caller_type: str
    turns: list[Turn]
    registration: str  # regular | special | none
    purposes: list[str] = field(default_factory=list)
    transfer: dict | None = None
    dropped: bool = False
    script_breaks: tuple[str, ...] = ()
    not_applicable: tuple[str, ...] = ()


def _female(operator: Operator) -> bool:
    return operator.name.endswith("а")


def _past(operator: Operator, stem: str) -> str:
    """Russian past tense agreeing with the operator: 'зарегистрировал' / 'зарегистрировала'."""
    return stem + ("а" if _female(operator) else "")


def greeting(rng: random.Random, operator: Operator, broken: bool) -> Turn:
    if broken:
        return Turn("operator", rng.choice(("Да, слушаю.", "Алло, говорите.", "Слушаю вас.")))
    text = rng.choice(
        (
            f"Здравствуйте, компания {COMPANY}, меня зовут {operator.name}, чем могу помочь?",
            f"Добрый день, техническая поддержка {COMPANY}, {operator.name}, слушаю вас.",
            f"Компания {COMPANY}, здравствуйте, меня зовут {operator.name}. Чем могу быть полезна?"
            if _female(operator)
            else f"Компания {COMPANY}, здравствуйте, меня зовут {operator.name}. Чем могу быть полезен?",
        )
    )
    return Turn("operator", text, ("greeting",))


def opening(rng: random.Random, client: Client) -> str:
    return rng.choice(
        (
            "Здравствуйте.",
            "Добрый день.",
            f"Добрый день, меня зовут {client.person}.",
            f"Здравствуйте, это {client.person}, компания {client.company}.",
            "Алло, здравствуйте.",
        )
    )


def request_text(rng: random.Random, topic: Topic) -> str:
    return rng.choice(topic.requests).format(product=rng.choice(PRODUCTS))


def identify(rng: random.Random, operator: Operator, client: Client) -> list[Turn]:
    """The operator identifies the client by INN (spoken digit by digit) or by the caller's number."""
    if rng.random() < 0.7:
        ask = rng.choice(
            (
                "Назовите, пожалуйста, ИНН вашей организации.",
                "Подскажите ИНН организации, пожалуйста.",
                "Для начала продиктуйте, пожалуйста, ваш ИНН.",
            )
        )
        say = rng.choice(("ИНН {inn}.", "Да, конечно, {inn}.", "Записывайте, {inn}."))
        return [
            Turn("operator", ask),
            Turn("customer", say.format(inn=spell_digits(client.inn)), pii=(("inn", client.inn),)),
            Turn("operator", f"Спасибо, вижу вашу организацию, {client.company}.", ("client_identified",)),
        ]
    return [
        Turn(
            "operator",
            f"Вижу, что вы звоните с номера, закреплённого за компанией {client.company}, верно?",
            ("client_identified",),
        ),
        Turn("customer", rng.choice(("Да, всё верно.", "Да, это мы.", "Верно."))),
    ]


def consult(rng: random.Random, operator: Operator, topic: Topic, hold: float = 0.0) -> list[Turn]:
    turns = [Turn("customer", rng.choice(topic.details).capitalize() + ".")]
    if hold:
        turns.append(
            Turn(
                "operator",
                "Оставайтесь, пожалуйста, на линии, я уточню информацию.",
                ("hold",),
                hold_after=hold,
            )
        )
        turns.append(Turn("operator", "Спасибо за ожидание."))
    turns.append(Turn("operator", rng.choice(topic.answers).capitalize() + "."))
    turns.append(
        Turn("customer", rng.choice(("Понятно, спасибо.", "Хорошо, попробую.", "Ага, понял.", "Ясно.")))
    )
    return turns


def registration(rng: random.Random, operator: Operator, incident: str, broken: set[str]) -> list[Turn]:
    turns = []
    if "incident_number" not in broken:
        verb = _past(operator, "зарегистрировал")
        turns.append(
            Turn(
                "operator",
                f"Я {verb} ваше обращение, его номер {spell_digits(incident)}.",
                ("incident_number",),
            )
        )
    if "sms_offered" not in broken:
        turns.append(
            Turn(
                "operator",
                rng.choice(
                    (
                        "Номер обращения я отправлю вам в СМС.",
                        "Вам придёт СМС с номером обращения.",
                        "Продублирую номер обращения в СМС на ваш телефон.",
                    )
                ),
                ("sms_offered",),
            )
        )
    return turns


def other_questions(rng: random.Random) -> Turn:
    return Turn(
        "operator",
        rng.choice(
            (
                "Могу я ещё чем-нибудь помочь?",
                "Остались ли у вас ещё вопросы?",
                "Есть ли ещё вопросы ко мне?",
            )
        ),
        ("other_questions",),
    )


def farewell(rng: random.Random, broken: bool) -> list[Turn]:
    if broken:
        return [Turn("customer", "Нет, это всё.")]
    return [
        Turn(
            "customer", rng.choice(("Нет, это всё, спасибо.", "Нет, больше вопросов нет.", "Всё, спасибо."))
        ),
        Turn(
            "operator",
            rng.choice(
                ("Всего доброго, до свидания!", "Спасибо за обращение, до свидания!", "Хорошего дня!")
            ),
            ("farewell",),
        ),
    ]


def registered(
    rng: random.Random,
    operator: Operator,
    client: Client,
    topic: Topic,
    incidents: list[str],
    *,
    scenario: str = "registered",
    breaks: tuple[str, ...] = (),
    hold: float = 0.0,
    repeat: bool = False,
    card: str | None = None,
    second_topic: Topic | None = None,
) -> Dialog:
    """The ordinary call: greeting, question, identification, answer, incident number, SMS, goodbye."""
    broken = set(breaks)
    first = opening(rng, client) + " " + request_text(rng, topic).capitalize() + "."
    if repeat:
        first += rng.choice(
            (" Я уже звонил по этому вопросу на днях.", " Звоню повторно, проблема так и не решилась.")
        )
    turns = [greeting(rng, operator, "greeting" in broken), Turn("customer", first)]
    turns += identify(rng, operator, client)
    turns += consult(rng, operator, topic, hold)
    if card:
        turns += [
            Turn(
                "customer",
                f"Могу продиктовать номер карты: {spell_digits(card, group=4)}.",
                pii=(("card", card),),
            ),
            Turn(
                "operator",
                "Пожалуйста, не называйте данные карты по телефону, оплатить можно по ссылке в счёте.",
            ),
        ]
    turns += registration(rng, operator, incidents[0], broken)
    purposes = [topic.label]
    if second_topic is not None:
        turns.append(other_questions(rng))
        turns.append(
            Turn("customer", "Да, ещё один вопрос. " + request_text(rng, second_topic).capitalize() + ".")
        )
        turns.append(Turn("operator", rng.choice(second_topic.answers).capitalize() + "."))
        verb = _past(operator, "зарегистрировал")
        turns.append(
            Turn(
                "operator",
                f"По второму вопросу я {verb} отдельное обращение, номер {spell_digits(incidents[1])}.",
                ("incident_number",),
            )
        )
        purposes.append(second_topic.label)
    if "other_questions" not in broken:
        turns.append(other_questions(rng))
    turns += farewell(rng, "farewell" in broken)
    return Dialog(
        scenario, topic.label, "client", turns, "regular", purposes, script_breaks=tuple(sorted(broken))
    )


def short_call(rng: random.Random, operator: Operator, client: Client) -> Dialog:
    turns = [
        greeting(rng, operator, False),
        Turn("customer", rng.choice(("Ой, извините, я перезвоню позже.", "Извините, уже не актуально."))),
    ]
    return Dialog("short_call", "dropped_no_info", "client", turns, "none", not_applicable=CHECKLIST[1:])


def dropped(rng: random.Random, operator: Operator, client: Client, topic: Topic, with_info: bool) -> Dialog:
    """The line drops: before anything was said (no registration) or after the question (register)."""
    if not with_info:
        turns = [
            greeting(rng, operator, False),
            Turn("customer", "Алло? Алло, вы меня слышите?"),
            Turn("operator", "Да, я вас слышу, говорите, пожалуйста."),
            Turn("customer", "Алло... Ничего не слышно."),
            Turn("operator", "Перезвоните, пожалуйста, вас очень плохо слышно.", ("drop",)),
        ]
        return Dialog(
            "dropped_no_info",
            "dropped_no_info",
            "client",
            turns,
            "none",
            dropped=True,
            not_applicable=CHECKLIST[1:],
        )
    turns = [
        greeting(rng, operator, False),
        Turn("customer", opening(rng, client) + " " + request_text(rng, topic).capitalize() + "."),
        *identify(rng, operator, client),
        Turn("customer", rng.choice(topic.details).capitalize() + ", и ещё...", ("drop",)),
    ]
    return Dialog(
        "dropped_with_info",
        "dropped_with_info",
        "client",
        turns,
        "regular",
        [topic.label],
        dropped=True,
        not_applicable=("incident_number", "sms_offered", "other_questions", "farewell"),
    )


def specific_employee(rng: random.Random, operator: Operator, client: Client) -> Dialog:
    accusative, instrumental = rng.choice(EMPLOYEES_ASKED_FOR)
    turns = [
        greeting(rng, operator, False),
        Turn(
            "customer",
            opening(rng, client)
            + " "
            + rng.choice(
                (
                    f"Соедините меня, пожалуйста, с {instrumental}.",
                    f"Позовите, пожалуйста, к телефону {accusative}.",
                    f"Я хотел бы поговорить с {instrumental}, мне звонили от вас.",
                )
            ),
        ),
        Turn("operator", "Одну минуту, соединяю.", ("transfer",)),
    ]
    return Dialog(
        "specific_employee",
        "specific_employee",
        "client",
        turns,
        "none",
        transfer={"kind": "attended", "target": "2031", "logged": True},
        not_applicable=CHECKLIST[1:],
    )


def transfer_to_line(rng: random.Random, operator: Operator, client: Client, logged: bool) -> Dialog:
    """A question for another department: transferred by short number, no registration needed."""
    turns = [
        greeting(rng, operator, False),
        Turn(
            "customer",
            opening(rng, client)
            + " "
            + rng.choice(
                (
                    "Хотим подключить новый тариф для филиала, кто этим занимается?",
                    "Подскажите, как заключить договор на обслуживание ещё одной организации?",
                    "Хочу узнать про коммерческое предложение для нашей сети магазинов.",
                )
            ),
        ),
        Turn(
            "operator",
            "Этим занимается отдел продаж. Переключаю вас на отдел продаж, добавочный два ноль пять ноль.",
            ("transfer",),
        ),
        Turn("customer", "Хорошо, спасибо."),
    ]
    return Dialog(
        "transfer_short",
        "sales_question",
        "client",
        turns,
        "none",
        transfer={"kind": "blind", "target": "2050", "logged": logged},
        not_applicable=CHECKLIST[1:],
    )


def transfer_after_consultation(
    rng: random.Random, operator: Operator, client: Client, topic: Topic, incident: str, hold: float
) -> Dialog:
    """A long consultation that ends with a transfer to the second line; registered as usual."""
    turns = [
        greeting(rng, operator, False),
        Turn("customer", opening(rng, client) + " " + request_text(rng, topic).capitalize() + "."),
        *identify(rng, operator, client),
        *consult(rng, operator, topic, hold),
        Turn("customer", "Нет, к сожалению, так не получается, ошибка осталась."),
        *registration(rng, operator, incident, set()),
        Turn(
            "operator",
            "Здесь нужен специалист второй линии, перевожу вас на специалиста, оставайтесь на линии.",
            ("transfer",),
        ),
    ]
    return Dialog(
        "transfer_long",
        topic.label,
        "client",
        turns,
        "regular",
        [topic.label],
        transfer={"kind": "attended", "target": "2100", "logged": True},
        not_applicable=("other_questions", "farewell"),
    )


def special(rng: random.Random, operator: Operator, client: Client, kind: str, incident: str) -> Dialog:
    """Calls registered under the special article: wrong number, partner's client, no own line, service centre."""
    lines = {
        "wrong_number": (
            rng.choice(
                ("Алло, это пиццерия?", "Это автосервис на Ленина?", "Здравствуйте, это поликлиника?")
            ),
            f"Нет, вы позвонили в техническую поддержку компании {COMPANY}.",
            "Ой, извините, ошибся номером.",
        ),
        "partner_client": (
            f"Я клиент вашего партнёра, компании Альфа Софт, они не отвечают, а у меня вопрос по {rng.choice(PRODUCTS)}.",
            "По этому вопросу нужно обратиться к вашему партнёру, я передам им вашу заявку.",
            "Хорошо, буду ждать звонка.",
        ),
        "no_internal_line": (
            "У меня вопрос по программе учёта рабочего времени, у неё нет своей линии поддержки?",
            "Отдельной линии у этого продукта нет, я запишу ваш вопрос и передам ответственным.",
            "Спасибо, договорились.",
        ),
        "service_centre_employee": (
            "Это Павел из сервисного центра, звоню по своей работе, нужно уточнить статус заявки клиента.",
            "Заявка в работе, специалист свяжется с клиентом сегодня.",
            "Отлично, спасибо, коллега.",
        ),
    }
    ask, answer, reply = lines[kind]
    verb = _past(operator, "зарегистрировал")
    turns = [
        greeting(rng, operator, False),
        Turn("customer", ask),
        Turn("operator", answer),
        Turn("customer", reply),
        Turn("operator", f"Я {verb} обращение под номером {spell_digits(incident)}.", ("incident_number",)),
        *farewell(rng, False),
    ]
    caller = {"partner_client": "partner", "service_centre_employee": "employee"}.get(kind, "client")
    return Dialog(
        kind,
        kind,
        caller,
        turns,
        "special",
        [kind],
        not_applicable=("client_identified", "sms_offered", "other_questions"),
    )


def internal_question(rng: random.Random, operator: Operator) -> Dialog:
    """A colleague on an internal number asks something in passing: nothing to register."""
    turns = [
        greeting(rng, operator, False),
        Turn(
            "customer",
            rng.choice(
                (
                    "Привет, это Павел из бухгалтерии, подскажи, где найти инструкцию по новому тарифу?",
                    "Коллега, привет, это Света с ресепшена, как переключить звонок на другой отдел?",
                )
            ),
        ),
        Turn("operator", "Инструкция лежит на внутреннем портале, в разделе документы."),
        Turn("customer", "Понял, спасибо, пока."),
    ]
    return Dialog(
        "internal_unlinked", "internal_question", "employee", turns, "none", not_applicable=CHECKLIST[1:]
    )


def special_topic(kind: str) -> tuple[str, str]:
    """(purpose label, knowledge article) of a special situation."""
    return kind, SPECIAL_ARTICLE


def topic(label: str) -> Topic:
    return TOPIC_BY_LABEL[label]
