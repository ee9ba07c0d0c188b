"""Clients as readers see them: found by any identifier, and their history of calls and incidents.

Unscoped queries: readers go through `store.api.client_history`, which narrows them to the viewer and masks.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, or_, select

from contracts.phones import DEFAULT_COUNTRY, canonical_phone
from store.schema import Call, CallIncidentLink, CallOutcome, Client, ClientIdentifier, Incident, Operator

_INN_KPP = re.compile(r"(\d{10}|\d{12})(?:\s*[-/ ]\s*(\d{9}))?")


def identifier_kinds(identifier: str, country: str = DEFAULT_COUNTRY) -> tuple[str, ...]:
    """What a typed identifier may be, most specific first: inn (INN or INN-KPP), phone (any written
    form, read in the site's `country`), and always account (a contract or account number may look like
    either)."""
    text = identifier.strip()
    kinds = ("inn",) if _INN_KPP.fullmatch(text) else ()
    if canonical_phone(text, country):
        kinds += ("phone",)
    return (*kinds, "account")


def find_clients(
    conn: Connection,
    identifier: str,
    kinds: tuple[str, ...] = ("inn", "phone", "account"),
    country: str = DEFAULT_COUNTRY,
) -> list[int]:
    """Ids of the clients an identifier names, lowest first, read as each of `kinds` it may be: an INN
    (with its KPP when given, every branch without), a phone in any written form (read in the site's
    `country`), a contract or account number."""
    text = identifier.strip()
    found: set[int] = set()
    for kind in identifier_kinds(text, country):
        if kind not in kinds:
            continue
        if kind == "inn":
            inn, kpp = _INN_KPP.fullmatch(text).groups()
            query = select(Client.id).where(Client.inn == inn)
            if kpp:
                query = query.where(Client.kpp == kpp)
        else:
            value = canonical_phone(text, country) if kind == "phone" else text
            query = select(ClientIdentifier.client_id).where(
                ClientIdentifier.kind == kind, ClientIdentifier.value == value
            )
        found.update(conn.execute(query).scalars())
    return sorted(found)


def client_card(conn: Connection, client_id: int) -> dict | None:
    """A client's name, INN, KPP, phones and accounts (in the order they became known), or None."""
    row = conn.execute(
        select(Client.id, Client.name, Client.inn, Client.kpp).where(Client.id == client_id)
    ).first()
    if row is None:
        return None
    card = {"id": row.id, "name": row.name, "inn": row.inn, "kpp": row.kpp, "phones": [], "accounts": []}
    for kind, value in conn.execute(
        select(ClientIdentifier.kind, ClientIdentifier.value)
        .where(ClientIdentifier.client_id == client_id)
        .order_by(ClientIdentifier.id)
    ):
        card["phones" if kind == "phone" else "accounts"].append(value)
    return card


def _scope(query, operator: str | None, team: str | None):
    if operator:
        query = query.where(Operator.code == operator)
    if team:
        query = query.where(Operator.team == team)
    return query


def client_calls(
    conn: Connection, client_id: int, operator: str | None = None, team: str | None = None
) -> list[dict]:
    """The client's calls, oldest first, with what the analysis decided where it has run; only those of
    `operator` or `team` when given."""
    query = (
        select(
            Call.id, Call.uniqueid, Call.start_at, Call.direction, Call.caller_number, Call.callee_number,
            Call.billsec, Call.disposition, Operator.code.label("operator"), Operator.team,
            CallOutcome.counted, CallOutcome.exclusion_reasons, CallOutcome.purpose, CallOutcome.linked,
            CallOutcome.compliance_score, CallOutcome.repeat_of_call_id,
        )
        .outerjoin(Operator, Operator.id == Call.operator_id)
        .outerjoin(CallOutcome, CallOutcome.call_id == Call.id)
        .where(Call.client_id == client_id)
        .order_by(Call.start_at, Call.id)
    )  # fmt: skip
    return [dict(row) for row in conn.execute(_scope(query, operator, team)).mappings()]


def client_incidents(
    conn: Connection, client_id: int, operator: str | None = None, team: str | None = None
) -> list[dict]:
    """The client's incidents (registered for it, or linked to one of its calls), oldest first, each with
    the client's calls it is linked to; only those registered by `operator` or `team` when given."""
    of_calls = (
        select(CallIncidentLink.incident_id)
        .join(Call, Call.id == CallIncidentLink.call_id)
        .where(Call.client_id == client_id)
    )
    query = (
        select(
            Incident.id, Incident.external_id, Incident.created_at, Incident.knowledge_article,
            Incident.status, Incident.summary, Incident.inn, Incident.kpp, Operator.code.label("operator"),
            Operator.team,
        )
        .outerjoin(Operator, Operator.id == Incident.operator_id)
        .where(or_(Incident.client_id == client_id, Incident.id.in_(of_calls)))
        .order_by(Incident.created_at, Incident.id)
    )  # fmt: skip
    incidents = [dict(row) for row in conn.execute(_scope(query, operator, team)).mappings()]
    links: dict[int, list[int]] = {}
    for incident_id, call_id in conn.execute(
        select(CallIncidentLink.incident_id, CallIncidentLink.call_id)
        .join(Call, Call.id == CallIncidentLink.call_id)
        .where(Call.client_id == client_id)
        .order_by(CallIncidentLink.call_id)
    ):
        links.setdefault(incident_id, []).append(call_id)
    for incident in incidents:
        incident["call_ids"] = links.get(incident["id"], [])
    return incidents
