"""Plan a support-desk period: which calls happen when, who takes them, and what they are about.

Every situation of the registration manual appears at least once (when the period is long enough),
the rest of the calls are ordinary registered calls with the operators' own script slips.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator import dialogs
from simulator.dialogs import Dialog
from simulator.numbers import make_card
from simulator.people import CUSTOMER_VOICES, Client, Operator, make_clients
from simulator.site import Site
from simulator.site_demo import DEMO

# Scenarios in priority order: a short period gets the first ones; `registered` fills the rest.
MANDATORY = (
    "short_call", "transfer_short", "transfer_long", "internal_unlinked", "service_centre_employee",
    "dropped_no_info", "dropped_with_info", "multi_question", "specific_employee", "wrong_number",
    "partner_client", "no_internal_line", "repeat_contact", "no_greeting", "no_incident_number",
    "no_farewell", "card_number", "hold_music", "abandoned", "repeat_late", "transfer_short_unlogged",
    "short_call", "internal_unlinked", "repeat_contact", "hold_music", "abandoned", "abandoned",
)  # fmt: skip
REPEATS = {"repeat_contact": (1, 5), "repeat_late": (8, 8)}


@dataclass
class IncidentPlan:
    """An incident the operator registers for a call."""

    number: str
    purpose: str
    article: str
    client: Client | None
    operator: Operator
    linked_in_export: bool
    created_at: datetime | None = None


@dataclass
class CallPlan:
    """One call of the period, before its audio exists."""

    call_id: str
    uniqueid: str
    scenario: str
    start: datetime
    operator: Operator
    caller_number: str
    client: Client | None
    purpose: str
    dialog: Dialog | None = None
    incidents: list[IncidentPlan] = field(default_factory=list)
    stereo: bool = True
    customer_voice: str = "base"
    repeat_of: str | None = None
    hold: float = 0.0
    repeat_base: CallPlan | None = field(default=None, repr=False)


def _scenarios(calls: int, days: int) -> list[str]:
    wanted = [s for s in MANDATORY if s != "repeat_late" or days >= 9][:calls]
    return wanted + ["registered"] * (calls - len(wanted))


def _internal_number(rng: random.Random, site: Site) -> str:
    return str(rng.randint(*site.internal_numbers))


def plan_period(calls: int = 40, days: int = 10, seed: int = 1, site: Site = DEMO) -> list[CallPlan]:
    """Plan `calls` calls over `days` days at `site`; deterministic for a seed."""
    rng = random.Random(seed)
    period_start = site.period_start
    clients = make_clients(
        rng,
        max(8, calls // 2),
        site.client_companies,
        site.client_names,
        site.inn_region,
        second_phones=site.second_phones,
    )
    careless = min(site.operators, key=lambda o: o.script_discipline)
    scenarios = _scenarios(calls, days)
    rng.shuffle(scenarios)
    # Repeats come after the call they repeat, so schedule the others first.
    scenarios.sort(key=lambda s: s in REPEATS)
    plans: list[CallPlan] = []
    for scenario in scenarios:
        operator = careless if scenario.startswith("no_") else rng.choice(site.operators)
        topic = rng.choice(site.topics)
        client = rng.choice(clients)
        base = None
        if scenario in REPEATS:
            low, high = REPEATS[scenario]
            earlier = [p for p in plans if p.scenario in ("registered", "hold_music") and p.client]
            earlier = [p for p in earlier if (p.start - period_start).days + low <= days - 1] or earlier
            base = rng.choice(earlier)
            client = base.client
            topic = site.topic(base.purpose)
            offset = min(rng.randint(low, high), max(days - 1 - (base.start - period_start).days, low))
            start = base.start.replace(hour=9) + timedelta(days=offset, minutes=rng.randint(0, 540))
        else:
            start = period_start + timedelta(days=rng.randrange(days), minutes=rng.randint(0, 540))
        internal = scenario in ("internal_unlinked", "service_centre_employee")
        plans.append(
            CallPlan(
                call_id="",
                uniqueid="",
                scenario=scenario,
                start=start.replace(second=rng.randint(0, 59)),
                operator=operator,
                caller_number=_internal_number(rng, site) if internal else _client_phone(rng, site, client),
                client=None if internal else client,
                purpose=topic.label,
                stereo=rng.random() < 0.5,
                customer_voice=rng.choice([v for v in CUSTOMER_VOICES if v != operator.voice]),
                repeat_base=base,
            )
        )
    plans.sort(key=lambda p: p.start)
    for number, plan in enumerate(plans, start=1):
        plan.call_id = f"call-{number:03d}"
        plan.uniqueid = f"{site.epoch(plan.start)}.{number}"
    next_incident = site.first_incident
    for plan in plans:
        if plan.repeat_base is not None:
            plan.repeat_of = plan.repeat_base.call_id
        plan.dialog, next_incident = _dialog(rng, site, plan, next_incident)
    return plans


def _client_phone(rng: random.Random, site: Site, client: Client) -> str:
    """The number a client calls from: now and then their second phone, where they have one."""
    if site.second_phones and client.other_phone and rng.random() < 0.5:
        return client.other_phone
    return client.phone


def _new_incident(plan: CallPlan, number: int, purpose: str, article: str, linked: bool) -> IncidentPlan:
    return IncidentPlan(str(number), purpose, article, plan.client, plan.operator, linked)


def _dialog(rng: random.Random, site: Site, plan: CallPlan, next_incident: int) -> tuple[Dialog | None, int]:
    """Write the conversation and the incidents it leads to."""
    scenario, operator, client = plan.scenario, plan.operator, plan.client
    topic = site.topic(plan.purpose)
    # 60 % of incidents name their call in the export, the rest are left for automatic linking;
    # internal callers' incidents always do, or the records would wrongly exclude those calls.
    linked = rng.random() < 0.6 or len(plan.caller_number) <= 5

    def incident(purpose: str, article: str) -> str:
        nonlocal next_incident
        plan.incidents.append(_new_incident(plan, next_incident, purpose, article, linked))
        next_incident += 1
        return plan.incidents[-1].number

    if scenario == "abandoned":
        return None, next_incident
    if scenario == "short_call":
        dialog = dialogs.short_call(rng, site, operator, client)
    elif scenario == "dropped_no_info":
        dialog = dialogs.dropped(rng, site, operator, client, topic, with_info=False)
    elif scenario == "dropped_with_info":
        incident(topic.label, topic.article)
        dialog = dialogs.dropped(rng, site, operator, client, topic, with_info=True)
    elif scenario == "specific_employee":
        dialog = dialogs.specific_employee(rng, site, operator, client)
    elif scenario in ("transfer_short", "transfer_short_unlogged"):
        dialog = dialogs.transfer_to_line(rng, site, operator, client, logged=scenario == "transfer_short")
        dialog.scenario = scenario
    elif scenario == "transfer_long":
        plan.hold = rng.uniform(85, 110)  # the call must run past the 150 s transfer threshold
        dialog = dialogs.transfer_after_consultation(
            rng, site, operator, client, topic, incident(topic.label, topic.article), plan.hold
        )
    elif scenario in ("wrong_number", "partner_client", "no_internal_line", "service_centre_employee"):
        plan.client = None if scenario != "partner_client" else client
        dialog = dialogs.special(
            rng, site, operator, client, scenario, incident(scenario, site.special_article)
        )
    elif scenario == "internal_unlinked":
        dialog = dialogs.internal_question(rng, site, operator)
    else:
        breaks: tuple[str, ...] = ()
        if scenario.startswith("no_"):
            breaks = (scenario[3:],)
        elif rng.random() > operator.script_discipline:
            breaks = (rng.choice(("sms_offered", "other_questions")),)
        second = None
        if scenario == "multi_question":
            second = rng.choice([t for t in site.topics if t.label != topic.label])
        if scenario == "hold_music":
            plan.hold = rng.uniform(20, 150)
        card = None
        if scenario == "card_number":
            topic = site.topic(site.card_topic)
            plan.purpose = topic.label
            card = make_card(rng)
        numbers = [incident(topic.label, topic.article)]
        if second is not None:
            numbers.append(incident(second.label, second.article))
        dialog = dialogs.registered(
            rng,
            site,
            operator,
            client,
            topic,
            numbers,
            scenario=scenario,
            breaks=breaks,
            hold=plan.hold,
            repeat=plan.repeat_of is not None,
            card=card,
            second_topic=second,
        )
    return dialog, next_incident
