"""Reports over analysed calls: KPI tables by operator, team or period, and masked call exports."""

from __future__ import annotations

from sqlalchemy import Engine

from classifiers import CallKpiFacts, CompositeOptions, KpiRow, add_composite, kpi_rows, mask
from store.queries import CallFilter, analysed_calls, call_details, kpi_facts

GROUPINGS = ("operator", "team", "day", "week", "month")


def _group(value, by: str) -> str:
    """The group label of a call: its operator or team, or its day / ISO week / month."""
    if by in ("operator", "team") or value is None:
        return value or "unknown"
    start = value
    if by == "day":
        return start.strftime("%Y-%m-%d")
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")


def kpi_table(
    engine: Engine,
    by: str = "operator",
    where: CallFilter | None = None,
    options: CompositeOptions | None = None,
) -> list[KpiRow]:
    """KPIs of counted calls grouped `by` operator, team, day, week or month, with the composite."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    with engine.connect() as conn:
        rows = kpi_facts(conn, where, by)
    facts = [
        CallKpiFacts(
            call_id,
            _group(group, by),
            handle or 0.0,
            repeat_of is not None,
            bool(followed),
            bool(linked),
            compliance,
        )
        for call_id, group, handle, repeat_of, followed, linked, compliance in rows
    ]
    return add_composite(kpi_rows(facts), options)


def export_calls(engine: Engine, role: str, where: CallFilter | None = None) -> list[dict]:
    """Per call everything the analysis decided, with transcripts masked for `role`."""
    with engine.connect() as conn:
        rows = analysed_calls(conn, where)
        details = call_details(conn, [r["id"] for r in rows])
    by_id = {r["id"]: r["uniqueid"] for r in rows}
    out = []
    for row in rows:
        detail = details[row["id"]]
        out.append(
            {
                "uniqueid": row["uniqueid"],
                "start": row["start_at"].isoformat(sep=" ") if row["start_at"] else None,
                "operator": row["operator"],
                "team": row["team"],
                "caller_number": mask(row["caller_number"] or "", role),
                "talk_seconds": row["billsec"],
                "counted": row["counted"],
                "exclusion_reasons": row["exclusion_reasons"],
                "transfer": row["transfer"],
                "purpose": row["purpose"],
                "purpose_probability": row["purpose_probability"],
                "caller_type": row["caller_type"],
                # The effective scorecard: the machine's verdicts with people's decisions applied.
                "compliance_score": row["compliance_score"],
                "machine_compliance_score": row["machine_compliance_score"],
                "review_state": row["review_state"],
                "checklist": {i["id"]: i["verdict"] for i in (row["scorecard"] or {}).get("items", [])},
                "asr_confidence": row["asr_confidence"],
                "linked": row["linked"],
                "links": detail["links"],
                "candidates": detail["candidates"],
                "repeat_of": by_id.get(row["repeat_of_call_id"]),
                "followed_by_repeat": row["followed_by_repeat"],
                "utterances": [
                    {
                        "role": u["role"],
                        "start": u["start"],
                        "end": u["end"],
                        "text": mask(u["normalized_text"] or u["text"], role),
                    }
                    for u in detail["utterances"]
                ],
            }
        )
    return out
