"""Acceptance: the whole pipeline on the committed demo call centre recovers what is known to be true."""

from __future__ import annotations

import json

import pytest

from pipeline.batch import process_call_centre
from simulator.verify import verify
from store.api import Viewer, export_calls
from tests.conftest import REPO

DEMO = REPO / "demo"


@pytest.mark.slow
def test_the_demo_call_centre_end_to_end(tmp_path):
    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    engine, summary, *_ = process_call_centre(DEMO, tmp_path, workers=2)
    assert summary.failed == 0
    scores = verify(engine, truth)
    assert scores["calls_analysed"].accuracy == 1.0
    # Exclusions come from the records and the manual's rules: exact but for a transfer only said aloud
    # on a mono line (measured 39/40).
    assert scores["exclusions_exact"].accuracy >= 0.95, scores["exclusions_exact"].misses
    assert scores["transfer"].accuracy >= 0.95 and scores["transfer"].precision == 1.0
    assert scores["purpose"].accuracy >= 0.9, scores["purpose"].misses
    assert scores["incident_links"].precision >= 0.95 and scores["incident_links"].recall >= 0.8
    assert scores["duplicate_incidents"].accuracy == 1.0
    assert scores["repeat_contacts"].recall >= 0.6
    assert scores["roles_by_time"].accuracy >= 0.8
    for name, score in scores.items():
        if name.startswith("checklist:"):
            # Misheard 8 kHz synthetic speech makes false failures (BENCHMARKS.md): a floor, not a target.
            assert score.accuracy >= 0.6 and score.recall in (None, 1.0), (name, score.misses)
    # A stretch misheard or given to the wrong party leaves its item uncertain (for a person) rather than
    # failed: pooled over items, few false failures (9 of 222 items measured, 45 before uncertain verdicts)
    # and most items still decided (81 % measured). Uncertain items are judged by nobody in `verify`.
    checklist = [s for name, s in scores.items() if name.startswith("checklist:")]
    items = sum(len(c["checklist"]) for c in truth["calls"] if c["recording"])
    assert sum(s.false_positive for s in checklist) <= 20
    assert sum(s.total for s in checklist) >= 0.7 * items
    card_call = next(c for c in truth["calls"] if c["scenario"] == "card_number")
    card = next(s["value"] for t in card_call["turns"] for s in t["pii"] if s["kind"] == "card")
    with engine.begin() as conn:
        exported = {row["uniqueid"]: row for row in export_calls(conn, Viewer("analyst", "analyst"))}
    said = " ".join(u["text"] for u in exported[card_call["uniqueid"]]["utterances"]).replace(" ", "")
    assert card[-4:] not in said, "personal data masked for analysts"
