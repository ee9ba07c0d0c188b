"""Acceptance: the whole pipeline on both committed simulated sites recovers what is known to be true.

The two sites differ in company, script, operators, PBX (Asterisk 11 / 13), recordings (stereo or mono /
stereo WAV with mono copies), helpdesk export and time zone; the thresholds are the same for both.
"""

from __future__ import annotations

import json

import pytest

from pipeline.batch import process_call_centre
from simulator.verify import readable_personal_digits, registration_rates, verify
from tests.conftest import REPO

SITES = [REPO / "demo", REPO / "sites" / "north"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a whole site on 2 cores: 6 min on one CPU, 13 on another (BENCHMARKS.md)
@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_a_simulated_call_centre_end_to_end(site, tmp_path):
    truth = json.loads((site / "ground_truth.json").read_text(encoding="utf-8"))
    engine, summary, *_ = process_call_centre(site, tmp_path, workers=2)
    assert summary.failed == 0
    scores = verify(engine, truth)
    assert scores["calls_analysed"].accuracy == 1.0, "no recording lost"
    # Exclusions come from the records and the manual's rules (measured: every call right on both sites).
    assert scores["exclusions_exact"].accuracy >= 0.95, scores["exclusions_exact"].misses
    assert scores["transfer"].accuracy >= 0.95 and scores["transfer"].precision == 1.0
    assert scores["purpose"].accuracy >= 0.8, scores["purpose"].misses
    links = scores["incident_links"]
    assert links.precision >= 0.95 and links.recall >= 0.9, links.misses
    assert scores["duplicate_incidents"].accuracy == 1.0
    assert scores["repeat_contacts"].recall >= 0.9, scores["repeat_contacts"].misses
    # Mono roles move with the CPU's int8 kernels (north measured 0.855 on an Intel Xeon, 0.797 on an AMD
    # EPYC; demo 0.834 / 0.846): a floor with margin below both.
    assert scores["roles_by_time"].accuracy >= 0.75
    true_rate, found_rate = registration_rates(engine, truth)
    # The registration rate follows the purposes (a floor of 0.8 above): within 0.1 of the truth.
    assert abs(found_rate - true_rate) <= 0.1, (true_rate, found_rate)
    for name, score in scores.items():
        if name.startswith("checklist:"):
            # Misheard 8 kHz synthetic speech makes false failures (BENCHMARKS.md): a floor, not a target.
            assert score.accuracy >= 0.6 and score.recall in (None, 1.0), (name, score.misses)
    # A stretch misheard or given to the wrong party leaves its item uncertain (for a person) rather than
    # failed: pooled over items, few false failures (demo: 9 of 222 items measured, 45 before uncertain
    # verdicts) and most items still decided (measured: demo 79 %, north 74 %); `verify` judges no uncertain
    # item.
    checklist = [s for name, s in scores.items() if name.startswith("checklist:")]
    items = sum(len(c["checklist"]) for c in truth["calls"] if c["recording"])
    assert sum(s.false_positive for s in checklist) <= 0.1 * items
    assert sum(s.total for s in checklist) >= 0.65 * items
    assert readable_personal_digits(engine, truth) == [], "no card or phone digits readable by an analyst"
