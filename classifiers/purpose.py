"""Call purpose: word and character TF-IDF into a linear model with calibrated probabilities.

Trained from a labelled CSV (`callqa train purpose`), saved as a versioned artifact with its
cross-validated metrics; when no model is trained, the taxonomy's example phrases decide.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from classifiers.taxonomy import Taxonomy, phrase_scores
from classifiers.text import stems

MODEL_FILE = "model.joblib"
CURRENT = "current.json"


@dataclass
class PurposeMetrics:
    """Cross-validated quality of a trained model."""

    folds: int
    accuracy: float
    macro_f1: float
    examples: int
    labels: int
    train_seconds: float


@dataclass
class PurposePrediction:
    """The purpose with its probability, the runners-up, and how it was decided."""

    label: str | None
    probability: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    method: str = "model"  # model | phrases | none
    model_version: str | None = None


def _analyzer_text(text: str) -> str:
    return " ".join(stems(text))


def text_features(encoder: str | None = None):
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
            ("words", TfidfVectorizer(preprocessor=_analyzer_text, ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                      max_features=200_000, lowercase=True)),
        ]
    )  # fmt: skip


def build_pipeline(min_class_count: int, seed: int = 0, encoder: str | None = None):
    """Text features → calibrated linear SVM.

    Calibration needs each class in every fold; with classes rarer than 3 examples, logistic
    regression (probabilistic by itself) takes the SVM's place.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    features = text_features(encoder)
    if min_class_count >= 3:
        model = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced", random_state=seed), cv=3)
    else:
        model = LogisticRegression(C=20.0, max_iter=3000)
    return Pipeline([("features", features), ("model", model)])


def cross_validate(
    texts: list[str], labels: list[str], folds: int = 5, seed: int = 0, encoder: str | None = None
) -> PurposeMetrics:
    """Stratified k-fold accuracy and macro-F1 of the pipeline on (texts, labels)."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    counts = Counter(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted: list[str] = [""] * len(texts)
    with warnings.catch_warnings():  # a label rarer than the folds is simply absent from some folds
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(splitter.split(texts, labels))
    for train, test in splits:
        fold_labels = [labels[i] for i in train]
        pipeline = build_pipeline(min(Counter(fold_labels).values()), seed, encoder)
        pipeline.fit([texts[i] for i in train], fold_labels)
        for i, label in zip(test, pipeline.predict([texts[i] for i in test]), strict=True):
            predicted[i] = label
    return PurposeMetrics(
        folds=folds,
        accuracy=round(float(accuracy_score(labels, predicted)), 4),
        macro_f1=round(float(f1_score(labels, predicted, average="macro")), 4),
        examples=len(texts),
        labels=len(counts),
        train_seconds=round(time.perf_counter() - started, 2),
    )


class PurposeModel:
    """A trained purpose classifier and what it was trained on."""

    def __init__(self, pipeline, version: str, metrics: PurposeMetrics | None) -> None:
        self.pipeline = pipeline
        self.version = version
        self.metrics = metrics

    @classmethod
    def train(
        cls, texts: list[str], labels: list[str], seed: int = 0, encoder: str | None = None
    ) -> PurposeModel:
        pipeline = build_pipeline(min(Counter(labels).values()), seed, encoder)
        pipeline.fit(texts, labels)
        digest = hashlib.sha256(json.dumps([texts, labels], ensure_ascii=False).encode()).hexdigest()[:8]
        return cls(pipeline, f"purpose-{time.strftime('%Y%m%d%H%M%S')}-{digest}", None)

    def predict(self, texts: list[str], top: int = 3) -> list[PurposePrediction]:
        probabilities = self.pipeline.predict_proba(texts)
        classes = list(self.pipeline.classes_)
        out = []
        for row in probabilities:
            ranked = sorted(zip(map(str, classes), row, strict=True), key=lambda pair: -pair[1])[:top]
            out.append(
                PurposePrediction(
                    ranked[0][0],
                    round(float(ranked[0][1]), 4),
                    [(label, round(float(p), 4)) for label, p in ranked[1:]],
                    "model",
                    self.version,
                )
            )
        return out

    def save(self, directory: Path) -> Path:
        """Write under `directory/<version>/` and make it the current model; returns the folder."""
        import joblib

        folder = Path(directory) / self.version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, folder / MODEL_FILE)
        meta = {"version": self.version, "metrics": asdict(self.metrics) if self.metrics else None}
        (folder / "metrics.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        pointer = Path(directory) / CURRENT
        pointer.with_suffix(".tmp").write_text(json.dumps({"version": self.version}), encoding="utf-8")
        pointer.with_suffix(".tmp").replace(pointer)
        return folder

    @classmethod
    def load_current(cls, directory: Path) -> PurposeModel | None:
        """The current model saved under `directory`, or None when none was trained."""
        import joblib

        pointer = Path(directory) / CURRENT
        if not pointer.exists():
            return None
        version = json.loads(pointer.read_text(encoding="utf-8"))["version"]
        folder = Path(directory) / version
        meta = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        metrics = PurposeMetrics(**meta["metrics"]) if meta.get("metrics") else None
        return cls(joblib.load(folder / MODEL_FILE), version, metrics)


def predict_with_phrases(text: str, taxonomy: Taxonomy) -> PurposePrediction:
    """The fallback: the topic whose example phrases are found most; no phrase, no purpose."""
    scores = phrase_scores(text, taxonomy)
    if not scores:
        return PurposePrediction(None, 0.0, [], "none")
    ranked = sorted(scores.items(), key=lambda pair: -pair[1])
    total = sum(scores.values())
    return PurposePrediction(
        ranked[0][0],
        round(ranked[0][1] / total, 4),
        [(label, round(score / total, 4)) for label, score in ranked[1:3]],
        "phrases",
    )
