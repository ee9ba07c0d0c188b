"""Compare what the pipeline decided about a simulated call centre with its ground truth.

Used by the end-to-end test and the analytics benchmark: per judgement, precision and recall (or
accuracy), so a regression shows where it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from store.queries import analysed_calls, call_details, duplicate_pairs_where


@dataclass
class Score:
    """Counts for one judgement."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    correct: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else None

    @property
    def recall(self) -> float | None:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def judge(self, expected: bool, got: bool, label: str) -> None:
        self.total += 1
        self.correct += expected == got
        self.true_positive += expected and got
        self.false_positive += got and not expected
        self.false_negative += expected and not got
        if expected != got:
            self.misses.append(label)


def verify(engine: Engine, truth: dict) -> dict[str, Score]:
    """Scores per judgement: exclusions (exact reason sets), transfers, purposes, checklist items,
    incident links, duplicates, repeat contacts, and roles of the transcript's words."""
    with engine.connect() as conn:
        rows = {r["uniqueid"]: r for r in analysed_calls(conn)}
        details = call_details(conn, [r["id"] for r in rows.values()])
        duplicates = set(duplicate_pairs_where(conn))
    by_call_id = {r["id"]: uid for uid, r in rows.items()}
    scores: dict[str, Score] = {}

    def score(name: str) -> Score:
        return scores.setdefault(name, Score())

    for call in truth["calls"]:
        row = rows.get(call["uniqueid"])
        if row is None:
            score("calls_analysed").judge(True, False, call["call_id"])
            continue
        cid = call["call_id"]
        score("calls_analysed").judge(True, True, cid)
        score("exclusions_exact").judge(
            True, sorted(row["exclusion_reasons"]) == sorted(call["exclusion_reasons"]), cid
        )
        score("transfer").judge(bool(call["transfer"]), bool(row["transfer"]), cid)
        detail = details[row["id"]]
        if call["recording"] and call["purpose"]:
            score("purpose").judge(
                True, row["purpose"] == call["purpose"], f"{cid} {call['purpose']}→{row['purpose']}"
            )
        items = {
            i["id"]: i["verdict"]
            for i in ((detail["classify"] or {}).get("compliance") or {}).get("items", [])
        }
        for item, verdict in call["checklist"].items():
            # An uncertain item is left for a person: judged here only once the machine decided it.
            if call["recording"] and items.get(item) != "uncertain":
                score(f"checklist:{item}").judge(
                    verdict == "fail", items.get(item) == "fail", f"{cid} {verdict}"
                )
        linked = {link["incident"] for link in detail["links"]}
        for incident in call["incidents"]:
            score("incident_links").judge(True, incident["number"] in linked, f"{cid} {incident['number']}")
        expected_numbers = {i["number"] for i in call["incidents"]}
        for number in linked - expected_numbers:
            score("incident_links").judge(False, True, f"{cid} extra {number}")
        repeat_of = by_call_id.get(row["repeat_of_call_id"])
        expected_repeat = next(
            (c["uniqueid"] for c in truth["calls"] if c["call_id"] == call["repeat_of"]), None
        )
        if expected_repeat or repeat_of:
            score("repeat_contacts").judge(bool(expected_repeat), repeat_of == expected_repeat, cid)
        _roles(call, detail["utterances"], score("roles_by_time"))
    expected_duplicates = {tuple(pair) for pair in truth.get("duplicate_incidents", [])}
    for pair in expected_duplicates | duplicates:
        score("duplicate_incidents").judge(pair in expected_duplicates, pair in duplicates, "-".join(pair))
    return scores


def _roles(call: dict, utterances: list[dict], score: Score) -> None:
    """Each utterance's role against the ground-truth turn it falls in (ambiguous moments skipped)."""
    for utterance in utterances:
        middle = (utterance["start"] + utterance["end"]) / 2
        roles = Counter(t["role"] for t in call["turns"] if t["start"] - 0.3 <= middle <= t["end"] + 0.3)
        if len(roles) == 1:
            expected = next(iter(roles))
            score.judge(True, utterance["role"] == expected, f"{call['call_id']} {middle:.1f}s")


def report(scores: dict[str, Score]) -> list[str]:
    """Markdown rows: judgement, n, precision, recall, accuracy."""

    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    rows = ["| Judgement | n | Precision | Recall | Accuracy |", "|---|---|---|---|---|"]
    for name, s in sorted(scores.items()):
        rows.append(f"| {name} | {s.total} | {fmt(s.precision)} | {fmt(s.recall)} | {fmt(s.accuracy)} |")
    return rows
