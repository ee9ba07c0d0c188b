"""How a scorecard adds up, for the machine's verdicts and for the effective ones people corrected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# What the machine says of an item; a person decides pass, fail or n/a (never uncertain).
VERDICTS = ("pass", "fail", "n/a", "uncertain")
DECISIONS = ("pass", "fail", "n/a")


# A forbidden phrase found in a call is a scorecard item a person can decide, under this id prefix.
FORBIDDEN_PREFIX = "forbidden:"


@dataclass
class ScoredItem:
    """One checklist item as it counts in the score (an uncertain one counts nowhere)."""

    id: str
    verdict: str  # pass | fail | n/a | uncertain
    weight: float = 1.0
    critical: bool = False


def forbidden_item(found: Mapping[str, Any]) -> dict:
    """A forbidden phrase found in a call (`fail`: surely said, `uncertain`: maybe) as a scorecard item:
    critical and of no weight, so said it makes the score 0, maybe said it leaves no score until a person
    decides (fail: said; pass: not said), and decided not said it changes nothing."""
    return {
        **found,
        "id": FORBIDDEN_PREFIX + found["id"],
        "weight": 0.0,
        "critical": True,
        "kind": "forbidden",
    }


def scored_forbidden(found_id: str, verdict: str) -> ScoredItem:
    """How a forbidden phrase found in a call counts in the score (see `forbidden_item`)."""
    return ScoredItem(FORBIDDEN_PREFIX + found_id, verdict, 0.0, True)


def scorecard_score(items: Iterable[ScoredItem], forbidden: bool = False) -> float | None:
    """Weighted share of decided items passed (0-100); 0 on a failed critical item or a forbidden phrase.

    Items that do not apply or are undecided count nowhere; None when nothing was decided, and while a
    critical item is uncertain (it may yet fail the call: no score until a person decides it).
    """
    items = list(items)
    judged = [i for i in items if i.verdict in ("pass", "fail")]
    if forbidden or any(i.critical and i.verdict == "fail" for i in judged):
        return 0.0
    if not judged or any(i.critical and i.verdict == "uncertain" for i in items):
        return None
    total = sum(i.weight for i in judged)
    return round(100 * sum(i.weight for i in judged if i.verdict == "pass") / total, 1) if total else None


def apply_decisions(
    items: list[Mapping[str, Any]], decisions: Iterable[Mapping[str, Any]], forbidden: bool = False
) -> tuple[list[dict], float | None]:
    """Machine item dicts (as stored) with people's latest decision per item applied, and the score.

    A decision is a mapping with `item_id`, `verdict`, `by`, `reason` (and optionally `kind`); later
    decisions win. Each changed item keeps its machine verdict in `machine_verdict`.
    """
    latest = {d["item_id"]: d for d in decisions}
    merged = []
    for item in items:
        decision = latest.get(item["id"])
        if decision is None:
            merged.append(dict(item))
            continue
        merged.append({**item, "machine_verdict": item["verdict"], "verdict": decision["verdict"],
                       "decided_by": decision["by"], "decision_reason": decision["reason"],
                       "decision_kind": decision.get("kind", "override")})  # fmt: skip
    scored = [
        ScoredItem(i["id"], i["verdict"], i.get("weight", 1.0), i.get("critical", False)) for i in merged
    ]
    return merged, scorecard_score(scored, forbidden)


def undecided(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The items of a scorecard still uncertain: the machine was not sure and no person has decided."""
    return [i for i in items if i.get("verdict") == "uncertain"]


def agreement(machine: Mapping[str, str], calibrations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Blind calibration: how often evaluators agree with each other and with the machine (per item).

    `machine` maps item ids to the machine's verdicts; each calibration has `evaluator`, `item_id`, `verdict`.
    """
    by_evaluator: dict[str, dict[str, str]] = {}
    for c in calibrations:
        by_evaluator.setdefault(c["evaluator"], {})[c["item_id"]] = c["verdict"]
    people = list(by_evaluator.values())
    pairs = same = 0
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            for item in set(a) & set(b):
                pairs += 1
                same += a[item] == b[item]
    judged = [(item, v) for person in people for item, v in person.items() if item in machine]
    with_machine = sum(machine[item] == v for item, v in judged)
    return {
        "evaluators": len(people),
        "between_evaluators": same / pairs if pairs else None,
        "with_machine": with_machine / len(judged) if judged else None,
    }
