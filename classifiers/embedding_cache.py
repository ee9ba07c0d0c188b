"""Sentence embeddings kept on disk, so a refit or a new process does not encode unchanged text again.

One folder per encoder under `CALLQA_CACHE_DIR` (default `~/.cache/callqa`) `/embeddings/`, holding
`.npz` shards of (text digest, vector) pairs. Each call that computed new vectors adds one shard, written
to a temporary name and renamed, so concurrent writers never leave half a file; readers load every shard
once per process. `CALLQA_CACHE_DIR=off` disables the disk cache (vectors stay cached in memory).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np

logger = logging.getLogger("callqa.classifiers")

_LOADED: dict[str, dict[str, np.ndarray]] = {}  # encoder -> digest -> vector (what was read from disk)


def cache_dir() -> Path | None:
    """Where embeddings are kept, or None when the disk cache is off."""
    configured = os.environ.get("CALLQA_CACHE_DIR", "")
    if configured.lower() == "off":
        return None
    return Path(configured or Path.home() / ".cache" / "callqa") / "embeddings"


def _folder(encoder: str) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    # A path-like encoder name becomes a readable, collision-free folder name.
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder)[-60:]
    return root / f"{safe}-{hashlib.sha1(encoder.encode()).hexdigest()[:8]}"


def load(encoder: str) -> dict[str, np.ndarray]:
    """Every vector of `encoder` on disk, by text digest (read once per process)."""
    if encoder in _LOADED:
        return _LOADED[encoder]
    vectors: dict[str, np.ndarray] = {}
    folder = _folder(encoder)
    if folder is not None and folder.is_dir():
        for shard in sorted(folder.glob("*.npz")):
            try:
                with np.load(shard) as data:
                    vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except (OSError, ValueError, KeyError) as e:  # a damaged shard costs a re-encode, no more
                logger.warning("skipping embedding cache shard %s: %s", shard, e)
    _LOADED[encoder] = vectors
    return vectors


def store(encoder: str, vectors: dict[str, np.ndarray]) -> None:
    """Add newly computed vectors (digest -> vector) to the disk cache; failures only log."""
    if not vectors:
        return
    load(encoder).update(vectors)
    folder = _folder(encoder)
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        keys = list(vectors)
        handle, staged = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            stacked = np.stack([vectors[k] for k in keys]).astype(np.float32)
            np.savez(out, keys=np.array(keys), vectors=stacked)
        digest = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
        os.replace(staged, folder / f"{digest}.npz")
    except OSError as e:
        logger.warning("could not write the embedding cache in %s: %s", folder, e)
