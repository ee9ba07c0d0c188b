"""Analytics benchmarks.

1. Purpose classifier on real customer-support text: banking77 (77 intents, 5-fold cross-validated
   accuracy and macro-F1, and the time to train on all of it) and NLU++ banking (multi-label intents,
   micro-F1 over 5 splits of its 20 folds).
2. Judgements on the demo call centre against its ground truth: from the clean ground-truth text
   (what the classifiers do given perfect ASR and roles) and from the pipeline's own transcripts in a
   processed database (`--db`), so the cost of ASR errors shows.
3. Throughput: calls classified per second (all per-call classifiers) on a 5-minute call.

Run: .venv/bin/python bench/analytics.py [--db sqlite:///callqa.db]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from asr import Utterance, normalise_numbers  # noqa: E402
from bench.common import median, write_section  # noqa: E402
from classifiers import (  # noqa: E402  # noqa: E402
    ClassifierSet,
    PurposeModel,
    RecordFacts,
    classify_call,
    cross_validate,
    load_checklist,
    load_profile,
    load_taxonomy,
)
from classifiers.purpose import text_features  # noqa: E402
from classifiers.text import token_spans  # noqa: E402

TEXT = REPO.parent / "shared" / "data" / "text"
DEMO = REPO / "demo"


def banking77() -> str:
    rows = list(csv.DictReader((TEXT / "banking77" / "train.csv").open(encoding="utf-8")))
    texts, labels = [r["text"] for r in rows], [r["category"] for r in rows]
    metrics = cross_validate(texts, labels, 5)
    started = time.perf_counter()
    PurposeModel().fit(texts, labels)
    seconds = time.perf_counter() - started
    line = (f"| banking77 | {len(texts)} | {metrics.labels} | 5-fold accuracy {metrics.accuracy:.3f}, "
            f"macro-F1 {metrics.macro_f1:.3f} | {seconds:.1f} s |")  # fmt: skip
    print(line)
    return line


def nlupp() -> str:
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    folds = [json.loads((TEXT / "nlupp" / "banking" / f"fold{i}.json").read_text()) for i in range(20)]
    binarizer = MultiLabelBinarizer().fit([x.get("intents", []) for fold in folds for x in fold])
    scores = []
    for split in range(5):
        test_ids = set(range(split * 4, split * 4 + 4))
        train = [x for i, fold in enumerate(folds) if i not in test_ids for x in fold]
        test = [x for i, fold in enumerate(folds) if i in test_ids for x in fold]
        model = Pipeline([("features", text_features()), ("model", OneVsRestClassifier(LinearSVC(C=0.5)))])
        model.fit([x["text"] for x in train], binarizer.transform([x.get("intents", []) for x in train]))
        predicted = model.predict([x["text"] for x in test])
        truth = binarizer.transform([x.get("intents", []) for x in test])
        scores.append(f1_score(truth, predicted, average="micro"))
    examples = sum(len(f) for f in folds)
    line = (f"| NLU++ banking (multi-label) | {examples} | {len(binarizer.classes_)} | "
            f"micro-F1 {sum(scores) / len(scores):.3f} (5 splits: train 16 folds, test 4) | – |")  # fmt: skip
    print(line)
    return line


NOTES = """
Notes: checklist rows score the detection of a failed item (a failure is the positive class), so
precision is the share of reported failures that are real and recall the share of real failures
found; accuracy counts n/a verdicts too. On the ground-truth text every judgement is at 0.97-1.00.
Through the whole pipeline, recognition errors on 8 kHz synthetic speech (WER about 0.37) and
near-identical synthetic voices on mono calls turn into false failures: the operator's words are
misheard or given to the customer. Exclusions, transfers, duplicates and links lean on the call
records and stay near exact. banking77 stays at 0.90 with the classical model (target 0.92): word
and character n-gram variants and C from 0.5 to 2 all gave 0.902-0.903 in cross-validation."""


def _classifier_set(models_dir: Path) -> ClassifierSet:
    rows = list(csv.DictReader((DEMO / "purpose_train.csv").open(encoding="utf-8")))
    model = PurposeModel().fit([r["text"] for r in rows], [r["purpose"] for r in rows])
    profile = load_profile(DEMO / "profile.yaml")  # the demo site's company and products
    return ClassifierSet(load_taxonomy(), load_checklist(profile=profile), model, profile=profile)


def _clean_utterances(call: dict) -> list[Utterance]:
    return [
        Utterance(t["start"], t["end"], t["text"], normalise_numbers(t["text"]), 0.95, role=t["role"])
        for t in call["turns"]
    ]


def clean_text_scores(classifiers: ClassifierSet) -> list[str]:
    """Purpose and checklist items from the ground-truth text (perfect ASR and roles)."""
    from simulator.verify import Score, report

    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    scores: dict[str, Score] = {}
    for call in truth["calls"]:
        if not call["recording"]:
            continue
        logged = [call["transfer"]] if call["transfer"] and call["transfer"]["logged"] else []
        records = RecordFacts(call["billsec"], call["duration"], call["caller_number"], logged)
        result = classify_call(_clean_utterances(call), records, classifiers)
        if call["purpose"]:
            scores.setdefault("purpose", Score()).judge(True, result.purpose.label == call["purpose"], "")
        scores.setdefault("transfer", Score()).judge(bool(call["transfer"]), bool(result.transfer), "")
        verdicts = {i.id: i.verdict for i in result.compliance.items}
        for item, verdict in call["checklist"].items():
            scores.setdefault(f"checklist:{item}", Score()).judge(
                verdict == "fail", verdicts[item] == "fail", ""
            )
        said = set(result.said.incident)
        for incident in call["incidents"]:
            scores.setdefault("incident number said", Score()).judge(True, incident["number"] in said, "")
    return report(scores)


def pipeline_scores(db: str) -> list[str]:
    from simulator.verify import report, verify
    from store import open_store

    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    return report(verify(open_store(db, migrate=False), truth))


def _rate(work: tuple[list[Utterance], ClassifierSet]) -> float:
    call, classifiers = work
    records = RecordFacts(300, 300, "79001234567", [])
    classify_call(call, records, classifiers)
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < 2:
        token_spans.cache_clear()  # every real call brings new sentences: no help from earlier calls
        classify_call(call, records, classifiers)
        n += 1
    return n / (time.perf_counter() - started)


def throughput(classifiers: ClassifierSet) -> str:
    """Calls per second through all per-call classifiers, for a 5-minute call (~60 turns)."""
    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    turns = [t for c in truth["calls"] for t in _clean_utterances(c)]
    call, clock = [], 0.0
    while clock < 300:
        turn = turns[len(call) % len(turns)]
        length = turn.end - turn.start
        call.append(dataclasses.replace(turn, start=clock, end=clock + length))
        clock += length + 0.5
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        rates = [sum(pool.map(_rate, [(call, classifiers)] * 2)) for _ in range(5)]
    line = (f"All per-call classifiers on a 5-minute call ({len(call)} utterances): "
            f"{median(rates):.0f} calls/s with 2 worker processes on 2 cores "
            "(median of 5; target ≥ 200).")  # fmt: skip
    print(line)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="a database where the demo call centre was processed (callqa run)")
    args = parser.parse_args()
    header = ["| Data | Examples | Labels | Cross-validated | Train on all |", "|---|---|---|---|---|"]
    text_rows = [*header, banking77(), nlupp()]
    with tempfile.TemporaryDirectory() as models:
        classifiers = _classifier_set(Path(models))
    clean = clean_text_scores(classifiers)
    print(*clean, sep="\n")
    body = (
        "\n".join(text_rows)
        + "\n\nDemo call centre, classifiers on the ground-truth text:\n\n"
        + "\n".join(clean)
    )
    if args.db:
        end_to_end = pipeline_scores(args.db)
        print(*end_to_end, sep="\n")
        body += "\n\nDemo call centre, the whole pipeline (bundled Whisper base, diarization, analysis):\n\n"
        body += "\n".join(end_to_end)
    body += "\n\n" + throughput(classifiers) + "\n" + NOTES
    write_section(
        "Analytics: purpose, compliance, links", "python bench/analytics.py --db sqlite:///callqa.db", body
    )


if __name__ == "__main__":
    main()
