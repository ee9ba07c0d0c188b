"""The whole pipeline on the committed demo call centre, against its ground truth.

Ingests demo/ into a fresh SQLite database, trains the purpose model on demo/purpose_train.csv, runs
every stage on the local process pool (2 workers) and the call-level analysis, then compares with
ground_truth.json: per judgement, and per scenario of the registration manual. Also end-to-end
throughput (audio-hours per hour on this machine) and the share of time per stage.

Run: .venv/bin/python bench/end_to_end.py [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from pipeline.batch import process_call_centre  # noqa: E402
from simulator.verify import report, verify  # noqa: E402

DEMO = REPO / "demo"


def per_scenario(truth: dict, scores: dict) -> list[str]:
    """For each scenario, how many of its calls each judgement got right."""
    calls = {c["call_id"]: c["scenario"] for c in truth["calls"]}
    judged = ("exclusions_exact", "transfer", "purpose", "incident_links", "repeat_contacts")
    misses: dict[str, set[str]] = {
        name: {m.split()[0] for m in scores[name].misses} for name in judged if name in scores
    }
    checklist = {
        m.split()[0] for name, s in scores.items() if name.startswith("checklist:") for m in s.misses
    }
    counts: dict[str, int] = defaultdict(int)
    for scenario in calls.values():
        counts[scenario] += 1
    rows = ["| Scenario | Calls | Exclusions | Transfer | Purpose | Links | Repeat | Checklist |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for scenario in sorted(counts):
        ids = [cid for cid, s in calls.items() if s == scenario]

        def right(missed: set[str], ids: list[str] = ids) -> str:
            return f"{sum(cid not in missed for cid in ids)}/{len(ids)}"

        cells = [right(misses.get(name, set())) for name in judged]
        rows.append(f"| {scenario} | {len(ids)} | " + " | ".join(cells) + f" | {right(checklist)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    audio_seconds = sum(c["duration"] for c in truth["calls"] if c["recording"])
    with tempfile.TemporaryDirectory() as folder:
        engine, summary, total, processing, timings = process_call_centre(DEMO, Path(folder), args.workers)
        scores = verify(engine, truth)
    stage_total = sum(timings.values())
    shares = ", ".join(f"{name} {seconds / stage_total:.0%}" for name, seconds in timings.items())
    lines = [
        f"{len(truth['calls'])} calls, {audio_seconds / 60:.1f} min of audio, {args.workers} worker "
        f"processes: {total:.0f} s end to end (training excluded), {processing:.0f} s in the stages = "
        f"{audio_seconds / 3600 / (total / 3600):.1f} audio-hours per hour.  ",
        f"Share of time per step (stages: worker time): {shares}.  ",
        f"Jobs: {summary.done} done, {summary.failed} failed.",
    ]
    body = (
        "\n".join(lines) + "\n\n" + "\n".join(report(scores)) + "\n\nPer scenario (calls judged right):\n\n"
    )
    body += "\n".join(per_scenario(truth, scores))
    print(body)
    write_section("End to end on the demo call centre", "python bench/end_to_end.py", body)


if __name__ == "__main__":
    main()
