"""Speech to timed words (faster-whisper), loaded once per worker from a verified local model."""

from asr.digits import NumberOptions, NumberReading
from asr.numbers import normalise_numbers
from asr.transcribe import (
    AsrOptions,
    Transcriber,
    Transcript,
    Utterance,
    Word,
    collapse_repetitions,
    model_name,
    speech_spans,
)
from asr.vad import find_speech

__all__ = [
    "AsrOptions",
    "NumberOptions",
    "NumberReading",
    "Transcriber",
    "Transcript",
    "Utterance",
    "Word",
    "collapse_repetitions",
    "find_speech",
    "model_name",
    "normalise_numbers",
    "speech_spans",
]
