"""Who spoke when: stereo channel maps, built-in embedding clustering, optional pyannote.audio; roles."""

__all__: list[str] = []
