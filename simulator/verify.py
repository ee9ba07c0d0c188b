"""Compare what the pipeline decided about a simulated call centre with its ground truth.

Used by the end-to-end test and the analytics benchmark: per judgement, precision and recall (or
accuracy), so a regression shows where it is.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from store.api import SearchRefused, Viewer, export_calls, export_calls_file, list_calls, open_call, search
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


def registration_rates(engine: Engine, truth: dict) -> tuple[float | None, float | None]:
    """(true, found) registration rate: linked calls / counted calls (answered, not excluded)."""
    counted = [c for c in truth["calls"] if not c["exclusion_reasons"]]
    true_rate = sum(bool(c["incidents"]) for c in counted) / len(counted) if counted else None
    with engine.connect() as conn:
        rows = [r for r in analysed_calls(conn) if r["counted"]]
    found_rate = sum(bool(r["linked"]) for r in rows) / len(rows) if rows else None
    return true_rate, found_rate


# A run of digits as a reader shows it: separated by spaces, dashes, dots or commas, as dictated.
_DIGIT_RUN = re.compile(r"\d(?:[\s.,\-]{0,2}\d)*")
_PERSONAL = ("card", "phone")  # and an individual's (12-digit) INN; a company's INN is public


def _personal_values(truth: dict) -> list[tuple[str, str]]:
    """(call_id, digits) of every card, phone and individual INN said in the simulated calls."""
    return [
        (call["call_id"], span["value"])
        for call in truth["calls"]
        for turn in call["turns"]
        for span in turn["pii"]
        if span["kind"] in _PERSONAL or (span["kind"] == "inn" and len(span["value"]) == 12)
    ]


def _shows(text: str, value: str, window: int = 6) -> bool:
    """Whether a text shows `window` consecutive digits of `value` (or a card's last four) in one run."""
    runs = ["".join(ch for ch in run if ch.isdigit()) for run in _DIGIT_RUN.findall(text)]
    pieces = {value[i : i + window] for i in range(len(value) - window + 1)}
    if len(value) >= 15:
        pieces.add(value[-4:])
    return any(piece in run for run in runs for piece in pieces)


def readable_personal_digits(engine: Engine, truth: dict, role: str = "analyst") -> list[str]:
    """Where a viewer of `role` can read the digits of a card, phone or personal INN said in a call,
    through every reader of the store API: the call list, the call page, search (a digit-prefix probe must
    find nothing or be refused), and the JSON, CSV and XLSX exports. Empty: nowhere."""
    values = _personal_values(truth)
    if not values:
        return []
    viewer = Viewer(role, role)
    uniqueids = {c["call_id"]: c["uniqueid"] for c in truth["calls"]}
    found = []
    with engine.begin() as conn:
        ids = {r["uniqueid"]: r["id"] for r in list_calls(conn, viewer)}
        readers = {
            "call list": json.dumps(list_calls(conn, viewer), ensure_ascii=False, default=str),
            "export json": json.dumps(export_calls(conn, viewer), ensure_ascii=False, default=str),
            "export csv": export_calls_file(conn, viewer, "csv").data.decode("utf-8"),
            "export xlsx": _xlsx_text(export_calls_file(conn, viewer, "xlsx").data),
        }
        for call_id, _ in values:
            page = open_call(conn, viewer, ids[uniqueids[call_id]])
            readers[f"call page {call_id}"] = json.dumps(page, ensure_ascii=False, default=str)
        for call_id, value in values:
            for probe in (value[:4], value[-4:], value[:6]):
                try:
                    hits = search(conn, viewer, probe)
                except SearchRefused:
                    continue
                if hits:
                    found.append(f"{call_id}: a search for {probe} finds {len(hits)} turns")
            found += [f"{call_id}: {name}" for name, text in readers.items() if _shows(text, value)]
    return found


def _xlsx_text(data: bytes) -> str:
    """The text of every sheet and the shared strings of an XLSX file."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return " ".join(book.read(n).decode("utf-8") for n in book.namelist() if n.startswith("xl/"))
