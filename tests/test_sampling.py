"""The review queue's sampling strategies."""

from __future__ import annotations

import pytest

from qa_dashboard.sampling import STRATEGIES, review_queue


def _call(i: int, operator: str, score, asr, reasons=(), billsec=60.0) -> dict:
    return {"id": i, "operator": operator, "compliance_score": score, "asr_confidence": asr,
            "exclusion_reasons": list(reasons), "billsec": billsec}  # fmt: skip


CALLS = [
    _call(1, "101", 95, 0.9),
    _call(2, "101", 40, 0.9),
    _call(3, "102", 65, 0.5),
    _call(4, "102", None, 0.3, ["short_transfer"], 140),
    _call(5, "103", 80, 0.8, ["short_call"], 12),
]


def test_targeted_strategies_pick_what_their_name_says():
    assert [c["id"] for c in review_queue(CALLS, "low_score", 10)] == [2, 3]
    assert [c["id"] for c in review_queue(CALLS, "low_asr", 10)] == [4, 3]
    assert [c["id"] for c in review_queue(CALLS, "excluded_long", 10)] == [4]
    assert [c["id"] for c in review_queue(CALLS, "disputed", 10, disputed={5, 1})] == [1, 5]


def test_random_and_stratified_samples():
    picked = review_queue(CALLS, "stratified", 3)
    assert sorted(c["operator"] for c in picked) == ["101", "102", "103"]
    assert len(review_queue(CALLS, "random", 3)) == 3 and all(
        c["why"] for c in review_queue(CALLS, "random", 3)
    )
    with pytest.raises(ValueError, match="unknown sampling strategy"):
        review_queue(CALLS, "everything", 3)
    assert set(STRATEGIES) >= {"random", "stratified", "low_score", "low_asr", "disputed", "excluded_long"}


def _waiting(i: int, *items: tuple[str, bool]) -> dict:
    card = [{"id": name, "title": name.title(), "verdict": "uncertain", "critical": critical}
            for name, critical in items]  # fmt: skip
    return {**_call(i, "101", None, 0.8), "scorecard": {"items": [*card, {"id": "x", "verdict": "pass"}]}}


def test_the_uncertain_queue_puts_calls_left_without_a_score_first():
    calls = [
        _waiting(1, ("sms", False), ("farewell", False)),  # scored meanwhile on its decided items
        _waiting(2, ("greeting", True)),  # a critical item waits: no score, missing from every KPI
        _waiting(3, ("sms", False)),
        {**_call(4, "101", 90, 0.9), "scorecard": {"items": [{"id": "x", "verdict": "pass"}]}},
    ]
    queue = review_queue(calls, "uncertain", 10)
    assert [c["id"] for c in queue] == [2, 1, 3]
    assert queue[0]["why"] == "uncertain, no score until decided: Greeting"
    assert queue[1]["why"] == "uncertain: Sms, Farewell"
    assert [c["id"] for c in review_queue(calls, "uncertain", 1)] == [2], "a short queue keeps the unscored"
