"""What the purpose classifier returns and the phrase-based fallback: light, no scikit-learn import."""

from __future__ import annotations

from dataclasses import dataclass, field

from classifiers.taxonomy import Taxonomy, phrase_scores


@dataclass
class PurposeMetrics:
    """Cross-validated quality of a trained model."""

    folds: int
    accuracy: float
    macro_f1: float
    examples: int
    labels: int
    train_seconds: float
    # Several purposes: the probability above which a runner-up counts too, fitted on held-out single
    # texts and pairs of texts with different purposes, and the micro-F1 of label sets it gave there.
    multi_label_threshold: float | None = None
    multi_label_f1: float | None = None
    features: str = "words"  # words | words+embeddings | embeddings


@dataclass
class PurposePrediction:
    """The purpose with its probability, the runners-up, and how it was decided."""

    label: str | None
    probability: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    method: str = "model"  # model | phrases | none
    model_version: str | None = None
    # Every purpose found (a call with several questions has several), the top one first.
    labels: list[tuple[str, float]] = field(default_factory=list)


def predict_with_phrases(text: str, taxonomy: Taxonomy) -> PurposePrediction:
    """The fallback: the topic whose example phrases are found most; no phrase, no purpose."""
    scores = phrase_scores(text, taxonomy)
    if not scores:
        return PurposePrediction(None, 0.0, [], "none")
    ranked = sorted(scores.items(), key=lambda pair: -pair[1])
    total = sum(scores.values())
    top = (ranked[0][0], round(ranked[0][1] / total, 4))
    return PurposePrediction(
        top[0],
        top[1],
        [(label, round(score / total, 4)) for label, score in ranked[1:3]],
        "phrases",
        labels=[top],
    )
