"""People's corrections of a call's purpose: stored, applied to the call's outcome, and read back as labelled
examples (the call's words with the corrected purpose) for training the purpose model."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from store.schema import CallOutcome, PurposeCorrection, Utterance


def corrected_purposes(purposes: list | None, label: str, machine: str | None = None) -> list[dict]:
    """A call's purposes with `label` put first as a person's decision (no probability); the others stay."""
    found = purposes or ([{"label": machine, "probability": None}] if machine else [])
    return [{"label": label, "probability": None, "corrected": True}] + [
        p for p in found if p.get("label") != label
    ]


def save_purpose_correction(
    conn: Connection, call_id: int, label: str, corrected_by: str, reason: str | None = None
) -> str | None:
    """Record a person's purpose for a call and make it the outcome's purpose; returns the one it replaced."""
    outcome = conn.execute(
        select(CallOutcome.purpose, CallOutcome.purposes).where(CallOutcome.call_id == call_id)
    ).first()
    previous = outcome.purpose if outcome else None
    conn.execute(
        insert(PurposeCorrection).values(
            call_id=call_id, label=label, previous=previous, reason=reason or None, corrected_by=corrected_by
        )
    )
    if outcome is not None:
        conn.execute(
            update(CallOutcome)
            .where(CallOutcome.call_id == call_id)
            .values(
                purpose=label,
                purpose_probability=None,  # a person's decision, not an estimate
                purposes=corrected_purposes(outcome.purposes, label, previous),
            )
        )
    return previous


def latest_purpose_corrections(conn: Connection) -> dict[int, str]:
    """The newest corrected purpose of each corrected call."""
    rows = conn.execute(
        select(PurposeCorrection.call_id, PurposeCorrection.label).order_by(PurposeCorrection.id)
    ).all()
    return {call_id: label for call_id, label in rows}


def purpose_corrections(conn: Connection, call_id: int) -> list[dict]:
    """Every correction of one call's purpose, oldest first."""
    return [
        dict(row)
        for row in conn.execute(
            select(PurposeCorrection.__table__)
            .where(PurposeCorrection.call_id == call_id)
            .order_by(PurposeCorrection.id)
        ).mappings()
    ]


def corrected_examples(conn: Connection) -> list[tuple[list[dict], str]]:
    """Each corrected call's utterances (`text`, `normalized_text`, in order) with its newest purpose; calls
    without utterances are left out."""
    latest = latest_purpose_corrections(conn)
    if not latest:
        return []
    said: dict[int, list[dict]] = {}
    for row in conn.execute(
        select(Utterance.call_id, Utterance.text, Utterance.normalized_text)
        .where(Utterance.call_id.in_(list(latest)))
        .order_by(Utterance.call_id, Utterance.idx)
    ).mappings():
        said.setdefault(row["call_id"], []).append({k: row[k] for k in ("text", "normalized_text")})
    return [(said[call_id], label) for call_id, label in latest.items() if call_id in said]
