"""Speech to timed words (faster-whisper), loaded once per worker from a verified local model."""

__all__: list[str] = []
