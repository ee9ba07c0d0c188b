"""Russian speech from Festival (voice_msu_ru_nsh_clunits) and three more voices made with sox.

Festival starts once per batch of sentences (its start-up costs more than a sentence), results are
cached by (voice, text), and every output is 16 kHz float32.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ingest.audio import decode_audio

FESTIVAL_VOICE = "voice_msu_ru_nsh_clunits"
# sox effects per voice: the one Russian Festival voice, shifted in pitch and slowed down. Festival
# speaks fast; at 0.85 tempo Whisper base makes half the errors, and downward shifts hurt most.
VOICES: dict[str, tuple[str, ...]] = {
    "base": ("tempo", "0.85"),
    "low": ("pitch", "-120", "tempo", "0.85"),
    "high": ("pitch", "250", "tempo", "0.88"),
    "high_slow": ("pitch", "350", "tempo", "0.82"),
}


class SpeechError(RuntimeError):
    """Festival or sox is missing or failed."""


def require_tools() -> None:
    """Fail early, naming the Debian packages, when the synthesis tools are absent."""
    missing = [tool for tool in ("festival", "sox") if shutil.which(tool) is None]
    if missing:
        raise SpeechError(
            f"speech synthesis needs {' and '.join(missing)}: apt-get install festival festvox-ru sox"
        )


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", " ").replace('"', " ") + '"'


def _key(voice: str, text: str) -> str:
    return hashlib.sha1(f"{voice}\x1f{text}".encode()).hexdigest()[:20]


class Synthesizer:
    """Synthesises sentences in a voice, caching WAV files under `cache_dir`."""

    def __init__(self, cache_dir: Path) -> None:
        require_tools()
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, voice: str, text: str) -> Path:
        return self.cache_dir / f"{_key(' '.join((FESTIVAL_VOICE, *VOICES[voice])), text)}.wav"

    def prepare(self, sentences: list[tuple[str, str]]) -> None:
        """Synthesise every (voice, text) not cached yet: one Festival run, then one sox per voice."""
        todo = sorted({(v, t) for v, t in sentences if not self._path(v, t).exists()})
        if not todo:
            return
        with tempfile.TemporaryDirectory() as scratch:
            raw_paths = {text: Path(scratch) / f"{_key('raw', text)}.wav" for _, text in todo}
            script = [f"({FESTIVAL_VOICE})"]
            script += [
                f'(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) "{path}" \'riff)'
                for text, path in raw_paths.items()
            ]
            script_path = Path(scratch) / "batch.scm"
            script_path.write_text("\n".join(script) + "\n", encoding="utf-8")
            result = subprocess.run(["festival", "--batch", str(script_path)], capture_output=True, text=True)
            missing = [t for t, p in raw_paths.items() if not p.exists()]
            if result.returncode != 0 or missing:
                raise SpeechError(
                    f"festival failed ({result.stderr.strip()[-300:]}); missing {len(missing)} file(s)"
                )
            for voice, text in todo:
                target = self._path(voice, text)
                effects = VOICES[voice]
                command = ["sox", "-q", str(raw_paths[text]), "-r", "16000", "-c", "1", str(target), *effects]
                subprocess.run(command, check=True, capture_output=True)

    def audio(self, voice: str, text: str) -> np.ndarray:
        """16 kHz float32 samples of a prepared sentence, with leading/trailing silence trimmed."""
        samples = decode_audio(self._path(voice, text))
        loud = np.flatnonzero(np.abs(samples) > 0.01)
        return samples[max(0, loud[0] - 800) : loud[-1] + 800] if loud.size else samples
