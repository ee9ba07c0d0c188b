"""Trained classifier artifacts: one folder per version with the fitted estimator and its metrics.

Layout under a models directory (`analytics.models_dir`, default `callqa-models`):

    <kind>/<version>/model.joblib    the fitted estimator
    <kind>/<version>/metrics.json    {"version", "kind", "estimator", "params", "metrics", "saved_at"}
    <kind>/current.json              {"version"}: the one in use
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.bundled import ModelError

logger = logging.getLogger("callqa.models")

MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"
CURRENT = "current.json"


@dataclass(frozen=True)
class TrainedModel:
    """A saved estimator with the version it was saved under and its metrics."""

    estimator: Any
    version: str
    metrics: dict | None
    path: Path


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _params(estimator) -> dict:
    """The estimator's own hyper-parameters, as far as JSON can hold them."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    return json.loads(json.dumps(get_params(deep=False), default=repr))


def save(estimator, kind: str, metrics=None, *, models_dir: Path, version: str | None = None) -> Path:
    """Write a fitted `estimator` under `models_dir/kind/<version>/` with its metrics (a dict or a
    dataclass) and make it the current one; returns the version folder.

    The version is `version`, else the estimator's `version_`, else `<kind>-<timestamp>`."""
    import joblib

    version = version or getattr(estimator, "version_", None) or f"{kind}-{time.strftime('%Y%m%d%H%M%S')}"
    root = Path(models_dir) / kind
    folder = root / version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, folder / MODEL_FILE)
    meta = {
        "version": version,
        "kind": kind,
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "params": _params(estimator),
        "metrics": _jsonable(metrics),
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (folder / METRICS_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    pointer = root / CURRENT
    staged = pointer.with_suffix(".tmp")
    staged.write_text(json.dumps({"version": version}), encoding="utf-8")
    staged.replace(pointer)  # readers see the old or the new pointer, never half of one
    logger.info("saved %s model %s in %s", kind, version, folder)
    return folder


def current_version(models_dir: Path, kind: str) -> str | None:
    """The version of the current `kind` model, or None when none was saved."""
    pointer = Path(models_dir) / kind / CURRENT
    if not pointer.exists():
        return None
    return json.loads(pointer.read_text(encoding="utf-8"))["version"]


def load(models_dir: Path, kind: str, version: str) -> TrainedModel:
    """One saved version of a `kind` model."""
    import joblib

    folder = Path(models_dir) / kind / version
    if not (folder / MODEL_FILE).exists():
        raise ModelError(f"{kind} model {version!r}: {folder / MODEL_FILE} is missing; train it again")
    meta_path = folder / METRICS_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return TrainedModel(joblib.load(folder / MODEL_FILE), version, meta.get("metrics"), folder)


def load_current(models_dir: Path, kind: str) -> TrainedModel | None:
    """The current `kind` model saved under `models_dir`, or None when none was trained."""
    version = current_version(models_dir, kind)
    return None if version is None else load(models_dir, kind, version)
