"""Dialogues for every situation of the registration manual, with what each turn proves.

Operators follow (or break) their site's script (`simulator.site.Script`); customers vary their
wording, so that text classifiers cannot learn one sentence per label. Each turn carries tags for the checklist items it fulfils and
the personal data it contains, which become the ground truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.numbers import spell_digits
from simulator.people import Client, Operator, Topic
from simulator.site import Site

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


def say(site: Site, operator: Operator, template: str, **values: str) -> str:
    """A script template in the operator's words: company, own name, verbs agreeing with the operator."""
    script = site.script
    female = _female(operator)
    return template.format(
        company=site.company,
        name=operator.name,
        helpful="полезна" if female else "полезен",
        registered=_past(operator, script.registered_verb),
        found=script.found_verb_female if female else script.found_verb,
        **values,
    )


def greeting(rng: random.Random, site: Site, operator: Operator, broken: bool) -> Turn:
    if broken:
        return Turn("operator", rng.choice(site.script.careless_greetings))
    return Turn("operator", say(site, operator, rng.choice(site.script.greetings)), ("greeting",))


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


def request_text(rng: random.Random, site: Site, topic: Topic) -> str:
    return rng.choice(topic.requests).format(product=rng.choice(site.products))


def identify(rng: random.Random, site: Site, operator: Operator, client: Client) -> list[Turn]:
    """The operator identifies the client by INN (spoken digit by digit) or by the caller's number."""
    if rng.random() < 0.7:
        ask = rng.choice(site.script.ask_inn)
        answer = rng.choice(("ИНН {inn}.", "Да, конечно, {inn}.", "Записывайте, {inn}."))
        found = say(site, operator, site.script.found_by_inn, client=client.company)
        return [
            Turn("operator", ask),
            Turn("customer", answer.format(inn=spell_digits(client.inn)), pii=(("inn", client.inn),)),
            Turn("operator", found, ("client_identified",)),
        ]
    by_phone = say(site, operator, site.script.found_by_phone, client=client.company)
    return [
        Turn("operator", by_phone, ("client_identified",)),
        Turn("customer", rng.choice(("Да, всё верно.", "Да, это мы.", "Верно."))),
    ]


def consult(
    rng: random.Random, site: Site, operator: Operator, topic: Topic, hold: float = 0.0
) -> list[Turn]:
    turns = [Turn("customer", rng.choice(topic.details).capitalize() + ".")]
    if hold:
        turns.append(Turn("operator", site.script.hold, ("hold",), hold_after=hold))
        turns.append(Turn("operator", site.script.after_hold))
    turns.append(Turn("operator", rng.choice(topic.answers).capitalize() + "."))
    turns.append(
        Turn("customer", rng.choice(("Понятно, спасибо.", "Хорошо, попробую.", "Ага, понял.", "Ясно.")))
    )
    return turns


def registration(
    rng: random.Random, site: Site, operator: Operator, incident: str, broken: set[str]
) -> list[Turn]:
    turns = []
    if "incident_number" not in broken:
        text = say(site, operator, site.script.registered, number=spell_digits(incident))
        turns.append(Turn("operator", text, ("incident_number",)))
    if "sms_offered" not in broken:
        turns.append(Turn("operator", rng.choice(site.script.sms), ("sms_offered",)))
    return turns


def other_questions(rng: random.Random, site: Site) -> Turn:
    return Turn("operator", rng.choice(site.script.other_questions), ("other_questions",))


def farewell(rng: random.Random, site: Site, operator: Operator, broken: bool) -> list[Turn]:
    if broken:
        return [Turn("customer", "Нет, это всё.")]
    return [
        Turn(
            "customer", rng.choice(("Нет, это всё, спасибо.", "Нет, больше вопросов нет.", "Всё, спасибо."))
        ),
        Turn("operator", say(site, operator, rng.choice(site.script.farewells)), ("farewell",)),
    ]


def registered(
    rng: random.Random,
    site: Site,
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
    first = opening(rng, client) + " " + request_text(rng, site, topic).capitalize() + "."
    if repeat:
        first += rng.choice(
            (" Я уже звонил по этому вопросу на днях.", " Звоню повторно, проблема так и не решилась.")
        )
    turns = [greeting(rng, site, operator, "greeting" in broken), Turn("customer", first)]
    turns += identify(rng, site, operator, client)
    turns += consult(rng, site, operator, topic, hold)
    if card:
        turns += [
            Turn(
                "customer",
                f"Могу продиктовать номер карты: {spell_digits(card, group=4)}.",
                pii=(("card", card),),
            ),
            Turn("operator", site.script.card_warning),
        ]
    turns += registration(rng, site, operator, incidents[0], broken)
    purposes = [topic.label]
    if second_topic is not None:
        turns.append(other_questions(rng, site))
        turns.append(
            Turn(
                "customer", "Да, ещё один вопрос. " + request_text(rng, site, second_topic).capitalize() + "."
            )
        )
        turns.append(Turn("operator", rng.choice(second_topic.answers).capitalize() + "."))
        text = say(site, operator, site.script.second_registered, number=spell_digits(incidents[1]))
        turns.append(Turn("operator", text, ("incident_number",)))
        purposes.append(second_topic.label)
    if "other_questions" not in broken:
        turns.append(other_questions(rng, site))
    turns += farewell(rng, site, operator, "farewell" in broken)
    return Dialog(
        scenario, topic.label, "client", turns, "regular", purposes, script_breaks=tuple(sorted(broken))
    )


def short_call(rng: random.Random, site: Site, operator: Operator, client: Client) -> Dialog:
    turns = [
        greeting(rng, site, operator, False),
        Turn("customer", rng.choice(("Ой, извините, я перезвоню позже.", "Извините, уже не актуально."))),
    ]
    return Dialog("short_call", "dropped_no_info", "client", turns, "none", not_applicable=CHECKLIST[1:])


def dropped(
    rng: random.Random, site: Site, operator: Operator, client: Client, topic: Topic, with_info: bool
) -> Dialog:
    """The line drops: before anything was said (no registration) or after the question (register)."""
    if not with_info:
        turns = [
            greeting(rng, site, operator, False),
            Turn("customer", "Алло? Алло, вы меня слышите?"),
            Turn("operator", site.script.hear_you),
            Turn("customer", "Алло... Ничего не слышно."),
            Turn("operator", site.script.call_back, ("drop",)),
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
        greeting(rng, site, operator, False),
        Turn("customer", opening(rng, client) + " " + request_text(rng, site, topic).capitalize() + "."),
        *identify(rng, site, operator, client),
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


def specific_employee(rng: random.Random, site: Site, operator: Operator, client: Client) -> Dialog:
    accusative, instrumental = rng.choice(site.callers.employees_asked_for)
    turns = [
        greeting(rng, site, operator, False),
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
        Turn("operator", site.script.connecting, ("transfer",)),
    ]
    return Dialog(
        "specific_employee",
        "specific_employee",
        "client",
        turns,
        "none",
        transfer={"kind": "attended", "target": site.transfer_targets["employee"], "logged": True},
        not_applicable=CHECKLIST[1:],
    )


def transfer_to_line(
    rng: random.Random, site: Site, operator: Operator, client: Client, logged: bool
) -> Dialog:
    """A question for another department: transferred by short number, no registration needed."""
    turns = [
        greeting(rng, site, operator, False),
        Turn("customer", opening(rng, client) + " " + rng.choice(site.callers.sales_requests)),
        Turn("operator", site.script.to_sales, ("transfer",)),
        Turn("customer", "Хорошо, спасибо."),
    ]
    return Dialog(
        "transfer_short",
        "sales_question",
        "client",
        turns,
        "none",
        transfer={"kind": "blind", "target": site.transfer_targets["sales"], "logged": logged},
        not_applicable=CHECKLIST[1:],
    )


def transfer_after_consultation(
    rng: random.Random,
    site: Site,
    operator: Operator,
    client: Client,
    topic: Topic,
    incident: str,
    hold: float,
) -> Dialog:
    """A long consultation that ends with a transfer to the second line; registered as usual."""
    turns = [
        greeting(rng, site, operator, False),
        Turn("customer", opening(rng, client) + " " + request_text(rng, site, topic).capitalize() + "."),
        *identify(rng, site, operator, client),
        *consult(rng, site, operator, topic, hold),
        Turn("customer", "Нет, к сожалению, так не получается, ошибка осталась."),
        *registration(rng, site, operator, incident, set()),
        Turn("operator", site.script.to_second_line, ("transfer",)),
    ]
    return Dialog(
        "transfer_long",
        topic.label,
        "client",
        turns,
        "regular",
        [topic.label],
        transfer={"kind": "attended", "target": site.transfer_targets["second_line"], "logged": True},
        not_applicable=("other_questions", "farewell"),
    )


def special(
    rng: random.Random, site: Site, operator: Operator, client: Client, kind: str, incident: str
) -> Dialog:
    """Calls registered under the special article: wrong number, partner's client, no own line, service centre."""
    callers, answers = site.callers, site.script.special_answers
    wrong_number = rng.choice(callers.wrong_number)
    product = rng.choice(site.products)
    lines = {
        "wrong_number": (wrong_number, callers.wrong_number_reply),
        "partner_client": (callers.partner_client.format(product=product), callers.partner_reply),
        "no_internal_line": (callers.no_internal_line, callers.no_internal_line_reply),
        "service_centre_employee": (callers.service_centre, callers.service_centre_reply),
    }
    ask, reply = lines[kind]
    turns = [
        greeting(rng, site, operator, False),
        Turn("customer", ask),
        Turn("operator", say(site, operator, answers[kind])),
        Turn("customer", reply),
        Turn(
            "operator",
            say(site, operator, site.script.special_registered, number=spell_digits(incident)),
            ("incident_number",),
        ),
        *farewell(rng, site, operator, False),
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


def internal_question(rng: random.Random, site: Site, operator: Operator) -> Dialog:
    """A colleague on an internal number asks something in passing: nothing to register."""
    turns = [
        greeting(rng, site, operator, False),
        Turn("customer", rng.choice(site.callers.internal_questions)),
        Turn("operator", site.callers.internal_answer),
        Turn("customer", "Понял, спасибо, пока."),
    ]
    return Dialog(
        "internal_unlinked", "internal_question", "employee", turns, "none", not_applicable=CHECKLIST[1:]
    )
