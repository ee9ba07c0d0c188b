"""Model registry: resolve, verify and cache weights; trained classifier artifacts."""

from models.bundled import WHISPER_BASE, ModelError, SplitModel, assemble, cache_root

__all__ = ["WHISPER_BASE", "ModelError", "SplitModel", "assemble", "cache_root"]
