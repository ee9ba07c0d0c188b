"""People's checklist decisions as labelled examples: the verdict a person settled on an item beside the
machine's match score for it (what the checklist's match bands are fitted on).

A decision is an override, a resolution of a dispute or an agreed calibration (`store.outcomes`); the
newest one per call and item counts, as in the effective scorecard. Only pass and fail are examples (n/a
says the item did not apply, not how well it was said); an item whose machine verdict has no match score
(analysed before scores were kept, or not judged) is left out.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from store.outcomes import _decisions_by_call, scorecard_decisions
from store.schema import Call, CallOutcome


def checklist_examples(conn: Connection) -> list[dict]:
    """Each decided item: `call` (the call's uniqueid), `item`, `verdict` (pass / fail), `match` (the
    machine's score), `machine_verdict` and `kind` (override / resolution / calibration); oldest call
    first."""
    evaluations, _ = _decisions_by_call(conn)
    if not evaluations:
        return []
    rows = conn.execute(
        select(CallOutcome.call_id, Call.uniqueid, CallOutcome.machine_scorecard)
        .join(Call, Call.id == CallOutcome.call_id)
        .where(CallOutcome.call_id.in_(list(evaluations)))
        .order_by(CallOutcome.call_id)
    ).all()
    out = []
    for call_id, uniqueid, machine in rows:
        scored = {i.get("id"): i for i in (machine or {}).get("items") or []}
        latest = {d["item_id"]: d for d in scorecard_decisions(evaluations[call_id])}  # the later one wins
        for item_id, decision in latest.items():
            item = scored.get(item_id)
            if item is None or item.get("match") is None or decision["verdict"] not in ("pass", "fail"):
                continue
            out.append({"call": uniqueid, "item": item_id, "verdict": decision["verdict"],
                        "match": float(item["match"]), "machine_verdict": item.get("verdict"),
                        "kind": decision["kind"]})  # fmt: skip
    return out
