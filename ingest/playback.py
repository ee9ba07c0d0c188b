"""Whether a browser plays a recording as it is.

Browsers decode PCM (and in Chromium A-law and μ-law) WAV, MP3, Ogg and FLAC, but not the other
telephone codecs PBXs write into WAV files (GSM 06.10, G.722, G.726, ADPCM), nor raw headerless files:
those get a PCM WAV copy to play (the redaction stage makes it).
"""

from __future__ import annotations

from pathlib import Path

from ingest.audio import _open
from ingest.errors import IngestError

# Codecs (PyAV's names) every current browser plays, by the containers they play them in.
BROWSER_CODECS = {
    "pcm_s16le": "wav",
    "pcm_u8": "wav",
    "pcm_mulaw": "wav",
    "pcm_alaw": "wav",
    "mp3": "mp3",
    "mp3float": "mp3",
    "vorbis": "ogg",
    "opus": "ogg",
    "flac": "flac",
}


def browser_plays(path: Path | str) -> bool:
    """Whether browsers play the file as it is (its first audio stream's codec in its container)."""
    try:
        with _open(Path(path)) as container:
            if not container.streams.audio:
                return False
            codec = container.streams.audio[0].codec_context.name or ""
            formats = (container.format.name or "").split(",") if container.format else []
    except IngestError:
        return False
    return BROWSER_CODECS.get(codec) in formats
