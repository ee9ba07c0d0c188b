"""The whole pipeline on the committed simulated sites, against their ground truth.

For each site (demo/: Asterisk 11, the shipped topics; sites/north/: Asterisk 13, another company, script,
helpdesk and time zone), ingests it into a fresh SQLite database, trains the purpose model on its
purpose_train.csv, runs every stage on the local process pool (2 workers) and the call outcomes, then
compares with ground_truth.json: per judgement, per scenario of the registration manual, the
registration rate, and whether an analyst can read personal digits anywhere. Also end-to-end throughput
(audio-hours per hour on this machine) and the share of time per stage. The processed folder is kept
where bench/verdicts.py looks for it, so the verdicts of the same code need no second transcription.

Run: .venv/bin/python bench/end_to_end.py [--workers 2] [SITE_FOLDER ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from bench.verdicts import mark_processed, site_cache  # noqa: E402
from pipeline.batch import process_call_centre  # noqa: E402
from simulator.verify import (  # noqa: E402
    readable_personal_digits,
    registration_rates,
    report,
    verify,
)

SITES = [REPO / "demo", REPO / "sites" / "north"]


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


def run_site(site: Path, workers: int) -> dict:
    """The whole pipeline on one site folder into a fresh database, judged against its ground truth."""
    truth = json.loads((site / "ground_truth.json").read_text(encoding="utf-8"))
    audio_seconds = sum(c["duration"] for c in truth["calls"] if c["recording"])
    folder = site_cache(site)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    engine, summary, total, processing, timings = process_call_centre(site, folder, workers)
    mark_processed(folder, summary, total)
    scores = verify(engine, truth)
    rates = registration_rates(engine, truth)
    readable = readable_personal_digits(engine, truth)
    engine.dispose()
    stage_total = sum(timings.values())
    shares = ", ".join(f"{name} {seconds / stage_total:.0%}" for name, seconds in timings.items())
    lines = [
        f"{len(truth['calls'])} calls, {audio_seconds / 60:.1f} min of audio, {workers} worker "
        f"processes: {total:.0f} s end to end (training excluded), {processing:.0f} s in the stages = "
        f"{audio_seconds / 3600 / (total / 3600):.1f} audio-hours per hour.  ",
        f"Share of time per step (stages: worker time): {shares}.  ",
        f"Jobs: {summary.done} done, {summary.failed} failed.",
    ]
    body = (
        "\n".join(lines) + "\n\n" + "\n".join(report(scores)) + "\n\nPer scenario (calls judged right):\n\n"
    )
    body += "\n".join(per_scenario(truth, scores))
    return {"truth": truth, "scores": scores, "rates": rates, "readable": readable, "failed": summary.failed,
            "body": body}  # fmt: skip


def side_by_side(results: dict[str, dict]) -> list[str]:
    """The acceptance figures of every site, one column per site."""

    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    rows = {
        "recordings lost (calls not analysed)": lambda r: str(
            r["scores"]["calls_analysed"].total - r["scores"]["calls_analysed"].correct
        ),
        "exclusions exact": lambda r: fmt(r["scores"]["exclusions_exact"].accuracy),
        "automatic links precision": lambda r: fmt(r["scores"]["incident_links"].precision),
        "automatic links recall": lambda r: fmt(r["scores"]["incident_links"].recall),
        "registration rate (truth → found)": lambda r: f"{fmt(r['rates'][0])} → {fmt(r['rates'][1])}",
        "duplicates exact": lambda r: fmt(r["scores"]["duplicate_incidents"].accuracy),
        "repeat contacts recall": lambda r: fmt(r["scores"]["repeat_contacts"].recall),
        "transfers": lambda r: fmt(r["scores"]["transfer"].accuracy),
        "purpose": lambda r: fmt(r["scores"]["purpose"].accuracy),
        "personal digits readable by an analyst": lambda r: str(len(r["readable"])),
    }
    names = list(results)
    lines = ["| Figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [
        f"| {label} | " + " | ".join(get(results[n]) for n in names) + " |" for label, get in rows.items()
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("sites", nargs="*", type=Path, default=SITES, help="site folders (default: both)")
    args = parser.parse_args()
    results = {site.name: run_site(site, args.workers) for site in args.sites}
    body = "Same thresholds and models on every site; each site's own profile, topics and settings.\n\n"
    body += "\n".join(side_by_side(results))
    for name, result in results.items():
        body += f"\n\n### {name}\n\n" + result["body"]
    print(body)
    write_section("End to end on the simulated sites", "python bench/end_to_end.py", body)


if __name__ == "__main__":
    main()
