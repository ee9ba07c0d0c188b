"""Speech to timed words with faster-whisper: our own VAD segmentation, batched decoding, guards.

Each channel is cut into utterances by Silero VAD here, and those exact spans are handed to
faster-whisper as `clip_timestamps`, so every timestamp stays where it was said (faster-whisper's own
`vad_filter` glues speech into 30 s chunks and shifts per-channel timestamps). The model is loaded once
per process and reused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from asr.digits import NumberOptions, NumberReading, read_again
from asr.edges import snap_to_sound
from asr.numbers import normalise_numbers
from asr.prompt_echo import drop_prompt_echo, prompt_names, prompt_text
from asr.vad import find_speech
from ingest.quality import FRAME_SECONDS, active_frames

logger = logging.getLogger("callqa.asr")

SAMPLE_RATE = 16000
_MODELS: dict[tuple[str, str, str, int], object] = {}
_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class AsrOptions:
    """How to transcribe. The VAD threshold is tuned for 8 kHz phone lines (Silero's 0.5 misses them)."""

    model: str = "auto"  # large-v3-turbo on a GPU that has it fetched, else bundled:whisper-base
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str = "auto"  # auto: float16 on CUDA, int8 on CPU
    language: str | None = "ru"  # None: detect from the first speech
    beam_size: int = 5
    # Beam search tuning (faster-whisper's names and defaults).
    patience: float = 1.0
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    # Temperature fallback re-decodes a window by sampling (best of `best_of`) when the greedy result
    # loops or is improbable; faster-whisper's batched decoder cannot, so it decodes windows one by one,
    # which is also the only path where the no-speech and log-prob thresholds below take effect.
    temperature_fallback: bool = False
    best_of: int = 5
    batch_size: int = 8
    cpu_threads: int = 0
    vad_threshold: float = 0.2
    min_silence_ms: int = 600
    speech_pad_ms: int = 400  # Silero finds phone-line onsets late; the pad keeps first words
    max_utterance_seconds: float = 28.0
    window_seconds: float = 28.0  # utterances are decoded together in windows up to this long
    no_speech_threshold: float = 0.6
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    low_confidence_threshold: float = 0.45
    # The site's words (company, products) the decoder should expect, and a prompt that sets the style;
    # empty: the transcribe stage takes the hotwords from the site profile.
    hotwords: str = ""
    initial_prompt: str = ""
    # Decode again the VAD speech no first-pass word covers, and decoding loops (asr.recovery).
    recover_speech: bool = True
    # Read unsure dictated digits a second time (asr/digits.py); the readings are kept as alternatives.
    reread_numbers: bool = True
    # Where the audio gives it nothing to hear (hold music, a cut-off word), Whisper may write out its
    # prompt: a run of the prompt's own words heard below this mean probability is dropped (echoed names
    # came at 0.01-0.04, names really said at 0.6 and more), and so is one longer than any of its names.
    prompt_echo_probability: float = 0.25
    # Utterance edges move out over the channel's sound up to this far (asr.edges): Whisper ends a last
    # word early. 0: utterances start and end at their words' times.
    edge_reach_seconds: float = 1.0


@dataclass
class Word:
    """A word with its time in the recording and the model's probability."""

    start: float
    end: float
    word: str
    probability: float
    overlap: bool = False  # spoken while another speaker talked (set by diarization's attribution)


@dataclass
class Utterance:
    """Speech between two pauses on one channel.

    `speaker`, `role` and `overlap` are filled in by diarization's attribution (who said it); a stored
    transcript read back has no words.
    """

    start: float
    end: float
    text: str
    normalized_text: str
    confidence: float
    channel: int | None = None
    words: list[Word] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    speaker: str | None = None
    role: str | None = None
    overlap: bool = False


@dataclass
class Transcript:
    """All utterances of a recording in time order, with call-level confidence and flags."""

    utterances: list[Utterance]
    language: str
    language_probability: float
    confidence: float
    low_confidence: bool
    model: str
    duration: float
    flags: list[str] = field(default_factory=list)
    number_readings: list[NumberReading] = field(default_factory=list)  # second readings of digits


def _device(options: AsrOptions) -> tuple[str, str]:
    device = options.device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = options.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    return device, compute


def model_name(options: AsrOptions) -> str:
    """The model `options` decode with on this machine (`auto` made concrete for its device)."""
    from models import choose_whisper

    if options.model != "auto":  # no device probe for a named model
        return options.model
    return choose_whisper(options.model, _device(options)[0] == "cuda")


def load_model(options: AsrOptions):
    """The WhisperModel for `options`, loaded once per process; returns (model, resolved model)."""
    from faster_whisper import WhisperModel

    from models import resolve_whisper

    device, compute = _device(options)
    resolved = resolve_whisper(model_name(options))
    key = (str(resolved.path), device, compute, options.cpu_threads)
    if key not in _MODELS:
        logger.info("loading %s on %s (%s)", resolved.label, device, compute)
        _MODELS[key] = WhisperModel(str(resolved.path), device=device, compute_type=compute,
                                    cpu_threads=options.cpu_threads)  # fmt: skip
    return _MODELS[key], resolved


def speech_spans(audio: np.ndarray, options: AsrOptions) -> list[tuple[float, float]]:
    """Utterance spans (seconds) on one channel by Silero VAD, none longer than Whisper's window."""
    o = options
    return find_speech(audio, o.vad_threshold, o.min_silence_ms, o.speech_pad_ms, o.max_utterance_seconds)


_REPEAT = re.compile(r"(\b\w+(?:\W+\w+){0,3}?)(?:\W+\1\b){3,}", re.IGNORECASE | re.UNICODE)


def collapse_repetitions(text: str) -> tuple[str, bool]:
    """Remove Whisper's repetition loops ("да да да да да…", a phrase repeated 4+ times) to one copy."""
    collapsed = _REPEAT.sub(r"\1", text)
    return collapsed, collapsed != text


def _utterance(words: list, channel: int | None) -> Utterance | None:
    """An utterance from faster-whisper words (their text carries its own leading spaces)."""
    kept = [
        Word(round(float(w.start), 3), round(float(w.end), 3), w.word.strip(), round(float(w.probability), 4))
        for w in words
        if w.word.strip()
    ]
    if not kept:
        return None
    text, looped = collapse_repetitions("".join(w.word for w in words).strip())
    confidence = float(np.mean([w.probability for w in kept]))
    flags = ["repetition_removed"] if looped else []
    if looped:
        confidence *= 0.5
    return Utterance(
        kept[0].start, kept[-1].end, text, normalise_numbers(text), round(confidence, 4), channel, kept, flags
    )


def pack_spans(spans: list[tuple[float, float]], window: float) -> list[tuple[float, float]]:
    """Group consecutive utterance spans into contiguous windows of at most `window` seconds.

    Whisper's encoder always reads 30 s, so one window per utterance wastes most of it; a window that
    keeps the pauses (unlike faster-whisper's own VAD chunking, which cuts them out and shifts
    timestamps) costs no accuracy and keeps every timestamp absolute.
    """
    windows: list[tuple[float, float]] = []
    for start, end in spans:
        if windows and end - windows[-1][0] <= window:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def split_at_pauses(words: list, pause: float) -> list[list]:
    """Cut a channel's word stream into utterances wherever the speaker paused longer than `pause` s."""
    groups: list[list] = []
    for word in sorted(words, key=lambda w: w.start):
        if groups and word.start - groups[-1][-1].end <= pause:
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


class Transcriber:
    """Transcribes channels of a recording; one instance per worker process."""

    def __init__(self, options: AsrOptions | None = None) -> None:
        self.options = options or AsrOptions()
        self.model, self.resolved = load_model(self.options)
        self._batched = None

    def _pipeline(self):
        if self._batched is None:
            from faster_whisper import BatchedInferencePipeline

            self._batched = BatchedInferencePipeline(self.model)
        return self._batched

    def detect_language(self, audio: np.ndarray, spans: list[tuple[float, float]]) -> tuple[str, float]:
        """Language of the first 30 s of speech (after the first utterance, not the ringing or silence)."""
        if not spans:
            return self.options.language or "ru", 0.0
        speech = np.concatenate([audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] for a, b in spans])
        language, probability, _ = self.model.detect_language(speech[: 30 * SAMPLE_RATE])
        return language, float(probability)

    def transcribe_channel(
        self, audio: np.ndarray, channel: int | None = None, language: str | None = None
    ) -> list[Utterance]:
        """Utterances of one channel (float32, 16 kHz), with timestamps in the recording's time."""
        spans = speech_spans(audio, self.options)
        if not spans:
            return []
        language = language or self.options.language or self.detect_language(audio, spans)[0]
        options = self.options
        segments = self._decode(audio, language, pack_spans(spans, options.window_seconds))
        # Utterances are cut where the words pause, so speech the VAD missed inside a window is kept.
        words = [word for segment in segments for word in (segment.words or [])]
        names = prompt_names(prompt_text(options))
        words = drop_prompt_echo(words, names, options.prompt_echo_probability)
        if options.recover_speech:
            # Recovery decodes with the prompt too: what it writes out of the prompt goes the same way.
            words = self.recover(audio, spans, words, language, channel)
            words = drop_prompt_echo(words, names, options.prompt_echo_probability)
        utterances = [
            _utterance(group, channel) for group in split_at_pauses(words, options.min_silence_ms / 1000)
        ]
        heard = [u for u in utterances if u is not None]
        return snap_to_sound(heard, active_frames(audio), FRAME_SECONDS, options.edge_reach_seconds)

    def recover(
        self, audio: np.ndarray, spans: list[tuple[float, float]], words: list, language: str,
        channel: int | None = None,
    ) -> list:  # fmt: skip
        """The first pass's words of one channel plus the speech it lost (see asr.recovery)."""
        from asr.recovery import recover_words

        return recover_words(self, audio, spans, words, language)

    def decoding_kwargs(self, language: str) -> dict:
        """The decoder's settings from the options, as faster-whisper names them."""
        o = self.options
        return dict(
            language=language,
            beam_size=o.beam_size,
            best_of=o.best_of,
            patience=o.patience,
            length_penalty=o.length_penalty,
            repetition_penalty=o.repetition_penalty,
            no_repeat_ngram_size=o.no_repeat_ngram_size,
            temperature=_FALLBACK_TEMPERATURES if o.temperature_fallback else 0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=o.no_speech_threshold,
            compression_ratio_threshold=o.compression_ratio_threshold,
            log_prob_threshold=o.log_prob_threshold,
            hotwords=o.hotwords or None,
            initial_prompt=o.initial_prompt or None,
        )

    def _decode(self, audio: np.ndarray, language: str, windows: list[tuple[float, float]]):
        """Segments of the windows: batched, or one window after another when falling back on temperature."""
        kwargs = self.decoding_kwargs(language)
        if self.options.temperature_fallback:
            clips = [t for window in windows for t in window]
            segments, _ = self.model.transcribe(audio, clip_timestamps=clips, vad_filter=False, **kwargs)
            return segments
        clips = [{"start": a, "end": b} for a, b in windows]
        segments, _ = self._pipeline().transcribe(
            audio, batch_size=self.options.batch_size, clip_timestamps=clips, **kwargs
        )
        return segments

    def transcribe(self, audio: np.ndarray, channels: list[int] | None = None) -> Transcript:
        """Transcribe audio of shape (channels, samples); `channels` picks which rows (default: all)."""
        audio = np.atleast_2d(audio)
        rows = channels if channels is not None else list(range(audio.shape[0]))
        language, probability = self.options.language, 1.0
        if language is None:
            mixed = audio[rows].mean(axis=0)
            language, probability = self.detect_language(mixed, speech_spans(mixed, self.options))
        utterances: list[Utterance] = []
        readings: list[NumberReading] = []
        numbers = NumberOptions(enabled=self.options.reread_numbers)
        for row in rows:
            channel = row if len(rows) > 1 else None
            heard = self.transcribe_channel(audio[row], channel, language)
            readings += read_again(self.model, audio[row], heard, language, numbers, channel)
            utterances += heard
        utterances.sort(key=lambda u: (u.start, u.channel or 0))
        duration = audio.shape[1] / SAMPLE_RATE
        spoken = sum(u.end - u.start for u in utterances)
        confidence = sum(u.confidence * (u.end - u.start) for u in utterances) / spoken if spoken > 0 else 0.0
        flags = []
        if not utterances:
            flags.append("no_speech")
        low = bool(confidence < self.options.low_confidence_threshold)
        if low:
            flags.append("low_confidence")
        return Transcript(utterances, language, probability, round(confidence, 4), low, self.resolved.label,
                          round(duration, 3), flags, readings)  # fmt: skip
