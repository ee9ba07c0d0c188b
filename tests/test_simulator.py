"""The simulated call centre: committed demo set and the generator itself.

The ground truth is checked against the PBX records with an independent, plain reading of the
registration manual's rules, written here from the source and not from the simulator's code.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from ingest import decode_audio, inspect_audio, parse_recording_name
from simulator.numbers import DIGIT_WORDS, inn_check_digit, luhn_check_digit
from simulator.plan import plan_period
from tests.conftest import REPO

DEMO = REPO / "demo"


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answered(truth) -> list[dict]:
    return [c for c in truth["calls"] if c["recording"]]


def _master_rows() -> dict[str, list[str]]:
    with open(DEMO / "Master.csv", encoding="utf-8") as handle:
        return {row[16]: row for row in csv.reader(handle)}


def _incidents() -> list[dict]:
    with open(DEMO / "incidents.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _queue_events() -> list[list[str]]:
    return [line.split("|") for line in (DEMO / "queue_log").read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------ the committed demo set


def test_every_recording_decodes_and_matches_its_call_record(answered):
    rows = _master_rows()
    for call in answered:
        path = DEMO / call["recording"]
        info = inspect_audio(path)
        assert info.sample_rate == 8000 and info.decode_error is None
        assert info.channels == (2 if call["layout"] == "stereo" else 1)
        billsec = float(rows[call["uniqueid"]][13])
        assert abs(info.decoded_duration - billsec) <= 0.5, call["call_id"]
        name = parse_recording_name(path)
        assert name is not None and name.uniqueid == call["uniqueid"] and name.src == call["caller_number"]


def test_every_turn_is_audible(answered):
    for call in answered:
        audio = decode_audio(DEMO / call["recording"], split_channels=True)
        noise = np.sqrt(np.mean(audio[:, :1600] ** 2)) + 1e-6  # the first 0.1 s precedes every turn
        for turn in call["turns"]:
            channel = audio[call["channels"][turn["role"]]] if call["layout"] == "stereo" else audio[0]
            span = channel[int(turn["start"] * 16000) : int(turn["end"] * 16000)]
            assert span.size > 0 and np.sqrt(np.mean(span**2)) > 5 * noise, (call["call_id"], turn["text"])


def test_turns_are_ordered_and_inside_the_recording(answered):
    for call in answered:
        starts = [t["start"] for t in call["turns"]]
        assert starts == sorted(starts)
        assert all(0 <= t["start"] < t["end"] <= call["duration"] + 0.01 for t in call["turns"])


def _plain_exclusions(row: list[str], linked_calls: set[str], transferred: set[str]) -> list[str]:
    """The manual's exclusion rules applied to one Master.csv row, as a person would read them."""
    uniqueid, src, billsec, disposition = row[16], row[1], int(row[13]), row[14]
    if disposition != "ANSWERED":
        return ["not_answered"]
    reasons = []
    if billsec < 20:
        reasons.append("short_call")
    if uniqueid in transferred and billsec < 150:
        reasons.append("short_transfer")
    if len(src) <= 5 and uniqueid not in linked_calls:
        reasons.append("internal_unlinked")
    return reasons


def test_exclusion_reasons_follow_the_records(truth):
    rows = _master_rows()
    linked = {i["call_uniqueid"] for i in _incidents() if i["call_uniqueid"]}
    transferred = {e[1] for e in _queue_events() if e[4] in ("BLINDTRANSFER", "ATTENDEDTRANSFER")}
    disagreements = []
    for call in truth["calls"]:
        from_records = _plain_exclusions(rows[call["uniqueid"]], linked, transferred)
        if from_records != call["exclusion_reasons"]:
            disagreements.append(call)
    # The only calls the records cannot judge are transfers nobody logged: the speech shows them.
    assert all(c["transfer"] and not c["transfer"]["logged"] for c in disagreements)
    assert len(disagreements) <= 2


def test_every_rule_and_situation_is_covered(truth, answered):
    scenarios = Counter(c["scenario"] for c in truth["calls"])
    for scenario in (
        "registered", "short_call", "transfer_short", "transfer_long", "internal_unlinked",
        "service_centre_employee", "dropped_no_info", "dropped_with_info", "multi_question",
        "specific_employee", "wrong_number", "partner_client", "no_internal_line", "repeat_contact",
        "no_greeting", "no_incident_number", "no_farewell", "card_number", "hold_music", "abandoned",
    ):  # fmt: skip
        assert scenarios[scenario] >= 1, scenario
    reasons = Counter(r for c in truth["calls"] for r in c["exclusion_reasons"])
    assert set(reasons) == {"not_answered", "short_call", "short_transfer", "internal_unlinked"}
    transfers = [c for c in answered if c["transfer"]]
    assert any(c["billsec"] < 150 for c in transfers) and any(c["billsec"] >= 150 for c in transfers)
    assert any(len(c["caller_number"]) <= 5 and c["incidents"] for c in answered), (
        "internal call with an incident"
    )
    assert truth["duplicate_incidents"], "duplicate incidents across days"
    assert any(c["repeat_of"] for c in answered), "repeat contacts"
    assert any(c["hold"] for c in answered)
    assert all(c["recording"] is None for c in truth["calls"] if c["scenario"] == "abandoned")
    failed = {item for c in answered for item, verdict in c["checklist"].items() if verdict == "fail"}
    assert {"greeting", "incident_number", "farewell"} <= failed
    pii = {span["kind"] for c in answered for t in c["turns"] for span in t["pii"]}
    assert {"card", "inn", "name"} <= pii
    assert {c["codec"] for c in answered} == {"ulaw", "alaw", "gsm", "mp3"}
    assert {c["layout"] for c in answered} == {"stereo", "mono"}
    assert min(c["billsec"] for c in answered) >= 5 and max(c["billsec"] for c in answered) <= 300
    assert len({c["operator"] for c in truth["calls"]}) in (3, 4, 5)
    assert len({c["start"][:10] for c in truth["calls"]}) >= 5


def test_identifiers_are_valid_and_spoken_as_digits(answered):
    for call in answered:
        for turn in call["turns"]:
            for span in turn["pii"]:
                value = span["value"]
                said = turn["text"][span["char_start"] : span["char_end"]]
                if span["kind"] == "card":
                    assert len(value) == 16 and luhn_check_digit(value[:-1]) == value[-1]
                if span["kind"] == "inn":
                    assert len(value) == 10 and inn_check_digit(value[:9]) == value[9]
                if span["kind"] in ("card", "inn"):
                    assert said.replace(",", "").split()[0] in DIGIT_WORDS
    incident_turns = [t for c in answered for t in c["turns"] if "incident_number" in t["tags"]]
    assert incident_turns and all("номер" in t["text"] for t in incident_turns)


def test_duplicates_and_repeats_follow_their_definitions(truth):
    incidents = {i["id"]: i for i in _incidents()}
    for a, b in truth["duplicate_incidents"]:
        first, second = incidents[a], incidents[b]
        assert (first["inn"], first["kpp"], first["knowledge_article"]) == (
            second["inn"], second["kpp"], second["knowledge_article"],
        )  # fmt: skip
        gap = abs(datetime.fromisoformat(first["created_at"]) - datetime.fromisoformat(second["created_at"]))
        assert gap < timedelta(days=7)
    calls = {c["call_id"]: c for c in truth["calls"]}

    def question(call: dict) -> str:  # what was asked: a call that dropped after the question asked it too
        return (call["purposes"] or [call["purpose"]])[0]

    for call in truth["calls"]:
        if call["repeat_of"]:
            earlier = calls[call["repeat_of"]]
            assert earlier["caller_number"] == call["caller_number"] and question(earlier) == question(call)
            assert datetime.fromisoformat(call["start"]) - datetime.fromisoformat(
                earlier["start"]
            ) < timedelta(days=7)


def test_training_file_holds_other_calls_than_the_evaluation(truth):
    with open(DEMO / "purpose_train.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 300
    evaluation = {" ".join(t["text"] for t in c["turns"]) for c in truth["calls"] if c["turns"]}
    shared = evaluation & {r["text"] for r in rows}
    # Only formulaic two-line calls ("sorry, I'll call back") may come out word for word the same.
    assert all(len(text.split()) < 20 for text in shared)
    labels = Counter(r["purpose"] for r in rows)
    assert len(labels) >= 10 and all(labels[p] >= 5 for p in ("signature", "billing", "login"))
    by_label: dict[str, set[str]] = {}
    for row in rows:
        by_label.setdefault(row["purpose"], set()).add(row["text"])
    assert all(len(texts) > 1 for label, texts in by_label.items() if labels[label] > 5), "wording must vary"


# ------------------------------------------------------------------ the generator


def test_plans_are_deterministic_per_seed():
    def digest(seed: int) -> str:
        plans = plan_period(calls=30, days=10, seed=seed)
        described = [
            (p.call_id, p.scenario, str(p.start), [t.text for t in (p.dialog.turns if p.dialog else [])])
            for p in plans
        ]
        text = json.dumps(described, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    assert digest(7) == digest(7)
    assert digest(7) != digest(8)


@pytest.mark.slow
def test_generator_writes_the_same_files_for_the_same_seed(tmp_path):
    if shutil.which("festival") is None:
        pytest.fail("the generator needs Festival: apt-get install festival festvox-ru sox")
    from simulator import simulate

    def run(folder: Path) -> dict[str, str]:
        simulate(folder, calls=6, days=3, seed=5, training_calls=20, cache_dir=tmp_path / "tts")
        return {
            str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert first == second
    assert sum(name.startswith("recordings/") for name in first) >= 5


@pytest.mark.slow
def test_bundled_whisper_understands_the_simulated_calls(truth):
    """A floor on the speech the later layers start from (full figures: bench/simulated_wer.py)."""
    from faster_whisper import WhisperModel

    from bench.simulated_wer import transcribe_call
    from models import WHISPER_BASE, assemble

    model = WhisperModel(str(assemble(WHISPER_BASE)), device="cpu", compute_type="int8", cpu_threads=2)
    picked = {}
    for call in truth["calls"]:
        if call["recording"] and 30 < call["billsec"] < 70:
            picked.setdefault(call["codec"], call)
    assert set(picked) == {"ulaw", "alaw", "gsm", "mp3"}
    errors = words = 0
    for call in picked.values():
        e, n, _, _ = transcribe_call(model, DEMO, call, beam=5)
        errors, words = errors + e, words + n
    assert errors / words < 0.6
