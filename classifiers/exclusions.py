"""Which calls the statistics leave out, and why: a list of rules, each a reason code.

The rules are the registration manual's: a short call; a short call that ended in a transfer; an internal
number with no linked incident; and calls that never reached an operator. Their thresholds are the site's
`contracts.CallRules`, the object call assembly reads too.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import CallRules


@dataclass
class CallFacts:
    """What the rules look at for one call."""

    answered: bool
    talk_seconds: float | None  # billsec: answered to hang-up
    transferred: bool
    caller_number: str | None
    linked: bool


def exclusion_reasons(call: CallFacts, rules: CallRules | None = None) -> list[str]:
    """Every reason that applies, in a fixed order; an empty list means the call is counted."""
    rules = rules or CallRules()
    reasons = []
    talk = call.talk_seconds or 0.0
    if not call.answered:
        reasons.append("not_answered")
    else:
        if talk < rules.short_call_seconds:
            reasons.append("short_call")
        if call.transferred and talk < rules.short_transfer_seconds:
            reasons.append("short_transfer")
    if rules.is_internal_number((call.caller_number or "").strip()) and not call.linked:
        reasons.append("internal_unlinked")
    return [r for r in reasons if r not in rules.disabled]


def registration_rate(calls: list[tuple[list[str], bool]]) -> float | None:
    """Linked / counted calls, for (exclusion reasons, linked) pairs; None when nothing is counted."""
    counted = [linked for reasons, linked in calls if not reasons]
    return sum(counted) / len(counted) if counted else None
