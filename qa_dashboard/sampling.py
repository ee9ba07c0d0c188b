"""Which calls to review next: uncertain verdicts to decide, random, stratified by operator, or targeted
at likely problems."""

from __future__ import annotations

import random

from contracts import undecided

STRATEGIES = {
    "uncertain": "Uncertain verdicts to decide",
    "random": "Random",
    "stratified": "Same number per operator",
    "low_score": "Low score first",
    "low_asr": "Low ASR confidence",
    "disputed": "Disputed by the operator",
    "excluded_long": "Excluded but long",
}
LOW_SCORE = 70.0
LOW_ASR = 0.6
LONG_SECONDS = 120.0


def _lowest(calls: list[dict], key: str, below: float) -> list[dict]:
    return sorted((c for c in calls if c[key] is not None and c[key] < below), key=lambda c: c[key])


def _unscored(items: list) -> bool:
    """Whether undecided `items` leave their call without a score (a critical one among them)."""
    return any(i.get("critical") for i in items)


def _waiting(items: list) -> str:
    """Why a call is in the uncertain queue: its undecided items, and whether it has no score meanwhile."""
    titles = ", ".join(i.get("title") or i["id"] for i in items)
    return f"uncertain, no score until decided: {titles}" if _unscored(items) else f"uncertain: {titles}"


def review_queue(
    calls: list[dict], strategy: str, size: int, seed: int = 0, disputed: set[int] | None = None
) -> list[dict]:
    """Up to `size` calls (analysed-call rows) chosen by `strategy`, each with a `why`."""
    rng = random.Random(seed)
    if strategy == "uncertain":
        # Items the machine was not sure of count in no score until a person decides them. A call with a
        # critical one waiting has no score at all (it is missing from every KPI): those first, then the
        # calls with the most items to decide.
        pending = [(c, undecided((c.get("scorecard") or {}).get("items") or [])) for c in calls]
        pending = sorted((p for p in pending if p[1]), key=lambda p: (not _unscored(p[1]), -len(p[1])))
        return [{**c, "why": _waiting(items)} for c, items in pending[:size]]
    if strategy == "disputed":
        return [{**c, "why": "disputed"} for c in calls if c["id"] in (disputed or set())][:size]
    if strategy == "random":
        picked = rng.sample(calls, min(size, len(calls)))
        return [{**c, "why": "random"} for c in picked]
    if strategy == "stratified":
        by_operator: dict[str, list[dict]] = {}
        for call in calls:
            by_operator.setdefault(call["operator"] or "unknown", []).append(call)
        per = max(1, size // max(1, len(by_operator)))
        picked = []
        for operator, own in sorted(by_operator.items()):
            picked += [{**c, "why": f"{per} for {operator}"} for c in rng.sample(own, min(per, len(own)))]
        return picked[:size]
    if strategy == "low_score":
        scored = _lowest(calls, "compliance_score", LOW_SCORE)
        return [{**c, "why": f"score {c['compliance_score']:.0f}"} for c in scored[:size]]
    if strategy == "low_asr":
        unsure = _lowest(calls, "asr_confidence", LOW_ASR)
        return [{**c, "why": f"ASR confidence {c['asr_confidence']:.2f}"} for c in unsure[:size]]
    if strategy == "excluded_long":
        long = [c for c in calls if c["exclusion_reasons"] and (c["billsec"] or 0) >= LONG_SECONDS]
        return [{**c, "why": f"excluded ({', '.join(c['exclusion_reasons'])}) after {c['billsec']:.0f} s"}
                for c in long[:size]]  # fmt: skip
    raise ValueError(f"unknown sampling strategy {strategy!r}")
