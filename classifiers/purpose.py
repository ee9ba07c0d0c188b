"""Call purpose: word and character TF-IDF into a linear model with calibrated probabilities.

`PurposeModel` is a scikit-learn estimator, trained from a labelled CSV (`callqa train purpose`) and
saved through `models.trained` as a versioned artifact with its cross-validated metrics. This module
imports scikit-learn; the results and the phrase fallback (used while no model is trained) live in
classifiers/purpose_base.py.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from classifiers.purpose_base import PurposeMetrics, PurposePrediction, predict_with_phrases
from classifiers.text import stems

__all__ = [
    "PurposeMetrics",
    "PurposeModel",
    "PurposePrediction",
    "as_purpose_model",
    "cross_validate",
    "predict_with_phrases",
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
):
    """Word (stemmed 1-2-grams) and character (2-5-grams) TF-IDF, side by side; with `encoder`, its
    sentence embeddings too (see classifiers/encoders.py)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    embedding = []
    if encoder:
        from classifiers.encoders import EmbeddingFeatures

        embedding = [("embedding", EmbeddingFeatures(encoder))]
    return FeatureUnion(
        [
            *embedding,
            ("words", TfidfVectorizer(preprocessor=_analyzer_text, ngram_range=tuple(word_ngram_range),
                                      sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngram_range),
                                      sublinear_tf=True, min_df=char_min_df, max_features=char_max_features,
                                      lowercase=True)),
        ]
    )  # fmt: skip


class PurposeModel(ClassifierMixin, BaseEstimator):
    """Call purpose from text: TF-IDF features → calibrated linear SVM (a scikit-learn classifier).

    Calibration needs each class in every calibration fold; when a class has fewer examples than
    `calibration_folds`, logistic regression (probabilistic by itself) takes the SVM's place.

    Learned attributes: `pipeline_` (features and model), `classes_`, `version_` (when and on what
    data it was trained; carried by every prediction).
    """

    def __init__(
        self,
        encoder: str | None = None,
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
    ) -> None:
        self.encoder = encoder
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
        features = text_features(
            self.encoder,
            self.word_ngram_range,
            self.char_ngram_range,
            self.char_min_df,
            self.char_max_features,
        )
        pipeline = Pipeline([("features", features), ("model", self._model(min(Counter(labels).values())))])
        pipeline.fit(texts, labels)
        seen = json.dumps([texts, [str(label) for label in labels]], ensure_ascii=False)
        digest = hashlib.sha256(seen.encode()).hexdigest()[:8]
        self.pipeline_ = pipeline
        self.classes_ = pipeline.classes_
        self.version_ = f"purpose-{time.strftime('%Y%m%d%H%M%S')}-{digest}"
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each of `classes_` for each text."""
        check_is_fitted(self)
        return self.pipeline_.predict_proba([str(t) for t in X])

    def predict(self, X) -> np.ndarray:
        """The most probable purpose of each text."""
        check_is_fitted(self)
        return self.pipeline_.predict([str(t) for t in X])

    def predict_ranked(self, texts: list[str], top: int = 3) -> list[PurposePrediction]:
        """Each text's purpose with its probability and the `top - 1` runners-up."""
        probabilities = self.predict_proba(texts)
        classes = [str(c) for c in self.classes_]
        out = []
        for row in probabilities:
            ranked = sorted(zip(classes, row, strict=True), key=lambda pair: -pair[1])[:top]
            out.append(
                PurposePrediction(
                    ranked[0][0],
                    round(float(ranked[0][1]), 4),
                    [(label, round(float(p), 4)) for label, p in ranked[1:]],
                    "model",
                    self.version_,
                )
            )
        return out


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


def cross_validate(
    texts: list[str],
    labels: list[str],
    folds: int = 5,
    seed: int = 0,
    encoder: str | None = None,
    estimator: PurposeModel | None = None,
) -> PurposeMetrics:
    """Stratified k-fold accuracy and macro-F1 of `estimator` (by default `PurposeModel(encoder)`)."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    estimator = estimator if estimator is not None else PurposeModel(encoder=encoder, random_state=seed)
    started = time.perf_counter()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted: list[str] = [""] * len(texts)
    with warnings.catch_warnings():  # a label rarer than the folds is simply absent from some folds
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(splitter.split(texts, labels))
    for train, test in splits:
        model = clone(estimator).fit([texts[i] for i in train], [labels[i] for i in train])
        for i, label in zip(test, model.predict([texts[i] for i in test]), strict=True):
            predicted[i] = str(label)
    return PurposeMetrics(
        folds=folds,
        accuracy=round(float(accuracy_score(labels, predicted)), 4),
        macro_f1=round(float(f1_score(labels, predicted, average="macro")), 4),
        examples=len(texts),
        labels=len(Counter(labels)),
        train_seconds=round(time.perf_counter() - started, 2),
    )
