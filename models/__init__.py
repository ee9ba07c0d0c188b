"""Model registry: resolve, verify and cache weights; trained classifier artifacts."""

__all__: list[str] = []
