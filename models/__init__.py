"""Model registry: resolve, verify and cache weights; trained classifier artifacts."""

from models.bundled import WHISPER_BASE, ModelError, SplitModel, assemble, cache_root
from models.catalog import ResolvedModel, choose_whisper, resemblyzer_weights, resolve_whisper
from models.trained import TrainedModel

__all__ = [
    "WHISPER_BASE",
    "ModelError",
    "ResolvedModel",
    "SplitModel",
    "TrainedModel",
    "assemble",
    "cache_root",
    "choose_whisper",
    "resemblyzer_weights",
    "resolve_whisper",
]
