"""Numbers said aloud, read a second time: dictated digits re-decoded alone, kept as alternative readings.

Whisper base on an 8 kHz line runs dictated digits together: «два ноль четыре восемь» comes out as
"2,4,8" (the «ноль» swallowed into «два»), ten INN digits as eight. Decoded again on their own, with
the pauses between the digits widened (each digit word cut out by its energy and set apart by silence),
the same audio is read digit by digit. Such a reading is kept as an alternative beside the utterance,
never in place of it: the primary text (and so WER) stays what the full decode said, and whoever reads
identifiers weighs a number found only in an alternative as weaker evidence.

Spans to read again are stretches of words that are digits or digit words (`digit_spans`), a few
digits long or more, where recognition was unsure or the run came out shorter than an identifier.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from asr.numbers import normalise_numbers
from asr.words import bare

logger = logging.getLogger("callqa.asr")

SAMPLE_RATE = 16000
# Words that are digits when dictated (the number reader knows the inflected forms too; these are
# the forms dictation uses), and «на» that recognition writes for «ноль» inside a run.
_DIGIT_WORDS = frozenset(
    {
        "ноль",
        "нуль",
        "один",
        "одна",
        "два",
        "две",
        "три",
        "четыре",
        "пять",
        "шесть",
        "семь",
        "восемь",
        "девять",
        # English dictation ("five oh two")
        *("zero", "nought", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    }
)
_JOINERS = frozenset({"на", "и"})
# Words that announce a number: after one of them, unsure words are digits recognition did not hear.
_ANNOUNCING = frozenset({"номер", "номером", "инн", "кпп", "number"})
_UNSURE = 0.5
_DIGITS = re.compile(r"\d")
_LOOP = re.compile(r"\d{20}")
# Identifier lengths (incident numbers 5-8, KPP 9, INN 10/12, phones 10/11): a run of another
# length from dictation most likely lost or gained a digit.
_IDENTIFIER_LENGTHS = frozenset({5, 6, 7, 8, 9, 10, 11, 12})
# A language-level hint for the second reading: digits are dictated one by one.
DIGITS_PROMPT = "Диктую по цифрам: ноль, один, два, три, четыре, пять, шесть, семь, восемь, девять."


@dataclass
class NumberOptions:
    """When and how dictated digits are read again."""

    enabled: bool = True
    min_digits: int = 3  # shorter runs (a day, a count) are not worth a second decode
    sure_probability: float = 0.85  # a span whose every digit word is at least this sure is kept as is
    pad_seconds: float = 0.25
    context_seconds: float = 2.0  # words this close before the digits («его номер», «ИНН») ride along
    after_context_seconds: float = 4.0  # after a number word whose digits were not heard: this much
    spread_seconds: float = 0.3  # the silence set between the digit words in the re-read clip
    beam_size: int = 8
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    # One second decode per entry: (a quieter stretch this long, seconds, separates two words; prompt).
    # Two cuts of the same audio disagree where a digit word is faint; both readings are kept.
    readings: tuple[tuple[float, str], ...] = ((0.04, ""), (0.08, ""))
    max_spans: int = 12  # per channel: a bound on the extra cost of a call full of numbers


@dataclass
class NumberReading:
    """An alternative reading of dictated digits: where (recording time, channel), what the first decode
    heard there, and what each second decode heard (number-normalised, best first)."""

    start: float
    end: float
    channel: int | None
    heard: str
    alternatives: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)  # average log-probability of each alternative


def is_digit_word(word: str) -> bool:
    """Whether a recognised word is (part of) a dictated number: it has a digit or is a digit word."""
    return bool(_DIGITS.search(word)) or bare(word) in _DIGIT_WORDS


def _digit_count(words: list) -> int:
    count = 0
    for w in words:
        digits = len(_DIGITS.findall(w.word))
        count += digits or (bare(w.word) in _DIGIT_WORDS)
    return count


def digit_spans(words: list, options: NumberOptions | None = None) -> list[tuple[int, int]]:
    """Index ranges [first, last] of `words` (with .word, .probability, .start, .end) worth reading again:
    runs of digit words (a «на»/«и» between two of them stays inside), at least `min_digits` digits,
    where some digit word is unsure or the run's length is no identifier's."""
    options = options or NumberOptions()
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(words):
        if not is_digit_word(words[index].word):
            index += 1
            continue
        last = index
        probe = index + 1
        while probe < len(words):
            if is_digit_word(words[probe].word):
                last = probe
            elif not (
                bare(words[probe].word) in _JOINERS
                and probe + 1 < len(words)
                and is_digit_word(words[probe + 1].word)
            ):
                break
            probe += 1
        runs.append((index, last))
        index = last + 1
    chosen = []
    for first, last in runs:
        span = words[first : last + 1]
        digits = _digit_count(span)
        if digits < options.min_digits:
            continue
        unsure = min(w.probability for w in span) < options.sure_probability
        if unsure or digits not in _IDENTIFIER_LENGTHS:
            chosen.append((first, last))
    covered = {i for first, last in runs for i in range(first, last + 1)}
    for index, word in enumerate(words[:-1]):
        if bare(word.word) not in _ANNOUNCING or index + 1 in covered:
            continue
        # A number was announced and no digit followed: what did follow, if recognition was unsure of it.
        last = index + 1
        while (
            last + 1 < len(words)
            and words[last + 1].start - words[index].end <= options.after_context_seconds
        ):
            if last + 1 in covered:
                break
            last += 1
        following = words[index + 1 : last + 1]
        if following[0].start - word.end <= 1.0 and min(w.probability for w in following) < _UNSURE:
            chosen.append((index + 1, last))
    return sorted(chosen)


def clip_bounds(words: list, span: tuple[int, int], options: NumberOptions) -> tuple[float, float]:
    """Seconds to cut for a span: its words padded, with the words just before it (context: «его номер»)."""
    first, last = span
    begin = first
    while begin > 0 and words[first].start - words[begin - 1].start <= options.context_seconds:
        begin -= 1
    return max(0.0, words[begin].start - options.pad_seconds), words[last].end + options.pad_seconds


def sound_pieces(
    clip: np.ndarray, gap_seconds: float = 0.06, frame_seconds: float = 0.02
) -> list[tuple[int, int]]:
    """Sample ranges of the sounding stretches of a clip (words), split where it is quiet for `gap_seconds`.

    Quiet is relative to the clip's loud frames (8 % of the 95th percentile of frame RMS), so the line's
    level does not matter.
    """
    size = int(frame_seconds * SAMPLE_RATE)
    frames = len(clip) // size
    if frames == 0:
        return []
    rms = np.sqrt((clip[: frames * size].reshape(frames, size).astype(np.float64) ** 2).mean(axis=1))
    loud = rms > 0.08 * max(float(np.percentile(rms, 95)), 1e-6)
    needed = max(1, round(gap_seconds / frame_seconds))
    pieces: list[tuple[int, int]] = []
    begin, last_loud, quiet = None, 0, 0
    for i, on in enumerate(loud):
        if on:
            begin = i if begin is None else begin
            last_loud, quiet = i, 0
        elif begin is not None:
            quiet += 1
            if quiet >= needed:
                pieces.append((begin * size, (last_loud + 1) * size))
                begin = None
    if begin is not None:
        pieces.append((begin * size, (last_loud + 1) * size))
    return pieces


def spread_out(clip: np.ndarray, options: NumberOptions, gap_seconds: float = 0.04) -> np.ndarray:
    """The clip with its words set apart by `spread_seconds` of silence: the decoder then reads each
    dictated digit alone instead of running neighbours together."""
    edge = int(0.03 * SAMPLE_RATE)
    silence = np.zeros(int(options.spread_seconds * SAMPLE_RATE), dtype=np.float32)
    parts = [silence]
    for a, b in sound_pieces(clip, gap_seconds):
        parts += [clip[max(0, a - edge) : b + edge].astype(np.float32), silence]
    return np.concatenate(parts) if len(parts) > 1 else clip.astype(np.float32)


def _decode(model, clip: np.ndarray, language: str, prompt: str, options: NumberOptions) -> tuple[str, float]:
    segments, _ = model.transcribe(
        clip,
        language=language,
        beam_size=options.beam_size,
        temperature=list(options.temperatures),
        initial_prompt=prompt or None,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
    )
    segments = list(segments)
    text = " ".join(s.text.strip() for s in segments).strip()
    score = float(np.mean([s.avg_logprob for s in segments])) if segments else -10.0
    return text, score


def read_again(model, audio: np.ndarray, utterances: list, language: str, options: NumberOptions,
               channel: int | None = None) -> list[NumberReading]:  # fmt: skip
    """Second readings of the unsure digit spans in `utterances` (with timed words) of one channel's audio."""
    if not options.enabled:
        return []
    readings: list[NumberReading] = []
    for utterance in utterances:
        words = utterance.words
        for span in digit_spans(words, options):
            if len(readings) >= options.max_spans:
                return readings
            start, end = clip_bounds(words, span, options)
            clip = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            if len(clip) < SAMPLE_RATE // 10:
                continue
            found: dict[str, float] = {}
            for gap, prompt in options.readings:
                text, score = _decode(model, spread_out(clip, options, gap), language, prompt, options)
                text = normalise_numbers(text)
                # A run longer than any identifier is a decoding loop ("1212121212…"), not a reading.
                if _DIGITS.search(text) and not _LOOP.search(text):
                    found[text] = max(score, found.get(text, -10.0))
            heard = normalise_numbers(" ".join(w.word for w in words[span[0] : span[1] + 1]))
            ranked = sorted(found.items(), key=lambda item: -item[1])
            texts, scores = [t for t, _ in ranked], [round(s, 3) for _, s in ranked]
            readings.append(NumberReading(round(start, 3), round(end, 3), channel, heard, texts, scores))
    if readings:
        logger.debug("read %d digit spans again on channel %s", len(readings), channel)
    return readings
