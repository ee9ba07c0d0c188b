"""The people of a simulated support desk: operators, clients, and the topics clients call about."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.numbers import make_inn, make_kpp, make_mobile

CUSTOMER_VOICES = ("base", "low", "high", "high_slow")


@dataclass(frozen=True)
class Operator:
    """An operator: PBX extension, name as said in the greeting, team, voice, and how well they keep to the script."""

    code: str
    name: str
    full_name: str
    team: str
    voice: str
    script_discipline: float
    extension: str = ""  # PBX extension; empty: the code is the extension
    agent: str = ""  # queue_log member name; empty: the extension's channel
    login: str = ""  # helpdesk login; empty: the code

    @property
    def phone(self) -> str:
        return self.extension or self.code


@dataclass(frozen=True)
class Topic:
    """A call purpose: knowledge article, the products it concerns, and ways customers put it."""

    label: str
    title: str
    article: str
    requests: tuple[str, ...]
    details: tuple[str, ...]
    answers: tuple[str, ...]


@dataclass
class Client:
    """A client organisation calling in: its phone (АОН), INN/KPP and the person on the line."""

    phone: str
    inn: str
    kpp: str
    company: str
    person: str
    history: list[str] = field(default_factory=list)
    other_phone: str | None = None  # a second phone the client sometimes calls from


def make_clients(
    rng: random.Random,
    count: int,
    companies: tuple[str, ...],
    names: tuple[str, ...],
    region: str = "66",
    second_phones: bool = False,
) -> list[Client]:
    """Distinct clients with valid INNs and mobile numbers; every third one with a second phone if asked."""
    clients = []
    for i in range(count):
        inn = make_inn(rng, region)
        clients.append(
            Client(make_mobile(rng), inn, make_kpp(inn), companies[i % len(companies)], rng.choice(names))
        )
        if second_phones and i % 3 == 1:
            clients[-1].other_phone = make_mobile(rng)
    return clients
