"""Role policy, in one place: the roles, what each may read and write, which dashboard pages it sees, and
which kinds of personal data it sees unmasked. A role not named here may do and see nothing."""

from __future__ import annotations

import re

from contracts.pii import PiiSpan, find_pii, mask_spans

ROLES = ("admin", "quality_controller", "team_lead", "analyst", "operator")
ROLE_TITLES = {
    "admin": "Admin",
    "quality_controller": "Quality controller",
    "team_lead": "Team lead",
    "analyst": "Analyst",
    "operator": "Operator",
}
MAY = {
    "override": {"admin", "quality_controller"},
    "calibrate": {"admin", "quality_controller", "team_lead"},
    "decide_links": {"admin", "quality_controller"},
    "coach": {"admin", "team_lead"},
    "respond": {"operator"},
    "resolve": {"admin", "team_lead"},
    "audit_log": {"admin"},
    "search": {"admin", "quality_controller", "team_lead", "analyst"},
    "scorecards": {"admin", "quality_controller", "team_lead", "analyst"},
    "unredacted_audio": {"admin"},
}
PAGES = ("calls", "call", "review", "operators", "search", "kpis", "audit")
VISIBLE_PAGES = {
    "operator": ("calls", "call"),
    "analyst": ("calls", "call", "operators", "search", "kpis"),
    "team_lead": ("calls", "call", "review", "operators", "search", "kpis"),
    "quality_controller": ("calls", "call", "review", "operators", "search", "kpis"),
    "admin": PAGES,
}
# Who sees what unmasked: quality controllers and admins need the card-free truth to judge a call; nobody
# sees card numbers, their expiry or CVV codes. "number" is a long number nothing says the kind of (it may be
# a phone or a card recognition broke): only the roles that see phones read it.
UNMASKED = {
    "admin": frozenset({"phone", "number", "email", "inn", "passport"}),
    "quality_controller": frozenset({"phone", "number", "inn"}),
    "team_lead": frozenset({"inn"}),
    "analyst": frozenset(),
    "operator": frozenset({"inn"}),
}


def scope_refusal(role: str, operator_code: str | None = None, team: str | None = None) -> str | None:
    """Why an account sees no call at all, or None when its scope is defined.

    Scope fails closed: an operator is limited to an operator code and a team lead to a team, so one without
    it has no calls (never everyone's), and a role not named here has none either.
    """
    if role not in ROLES:
        known = ", ".join(ROLES)
        return f"The role {role!r} is not one callqa knows ({known}): ask an admin to fix the account."
    if role == "operator" and not (operator_code or "").strip():
        return "This operator account has no operator code, so it has no calls: ask an admin to set one."
    if role == "team_lead" and not (team or "").strip():
        return "This team lead account names no team, so it has no calls: ask an admin to set the team."
    return None


def may(role: str, action: str) -> bool:
    """Whether `role` may do `action` (unknown roles and unknown actions: no)."""
    return role in MAY.get(action, ())


def visible_pages(role: str) -> tuple[str, ...]:
    """The dashboard pages `role` sees, in menu order (none for an unknown role)."""
    return VISIBLE_PAGES.get(role, ())


def unmasked_kinds(role: str) -> frozenset[str]:
    """The kinds of personal data `role` reads as said (none for an unknown role)."""
    return UNMASKED.get(role, frozenset())


def mask(text: str, role: str, spans: list[PiiSpan] | None = None, before: str = "") -> str:
    """`text` with every span the role may not see replaced by "[kind]"; unknown roles see nothing.

    `before` is the turn said just before, whose words count as context («номер карты» / the digits).
    """
    return mask_spans(text, unmasked_kinds(role), spans if spans is not None else find_pii(text, before))


# A caller number field holds a phone by definition: no context is needed to know what it is. Extensions
# (the PBX's own short numbers) stay readable.
EXTENSION_DIGITS = 5


def mask_number(number: str | None, role: str) -> str | None:
    """A caller number as the role may read it: "[phone]" unless the role sees phones or it is short."""
    if not number or "phone" in unmasked_kinds(role):
        return number
    return "[phone]" if len(re.sub(r"\D", "", number)) > EXTENSION_DIGITS else mask(number, role)
