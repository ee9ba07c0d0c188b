"""Speech the first decoding pass lost: stretches no decoded word covers, decoding loops, prompt read-backs.

The batched first pass decodes each window once, with no second look: when Whisper ends a window early
(a timestamp jump, an early end of text), falls into a loop («-0 -0 -0 …», a phrase over and over) that
eats the window's token budget, or writes out its prompt instead of the audio, whole utterances inside
the window are lost. Silero also hears band-limited phone speech faintly and misses short turns.

So, per channel: loops and prompt read-backs are decoded again with temperature fallback and no prompt;
then every stretch where speech may be (the VAD's spans without their pads, and whatever stands well out
of the channel's noise floor) that no decoded word reaches is decoded with a second of context around
it, all stretches in one batch, and alone where the batch gave up or stopped early. Only words not
already decoded are kept, and only from segments the decoder is sure hold speech (no-speech and
log-probability guards, no loop, no prompt read back), so silence and line noise do not become words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from asr.prompt_echo import find_echoes, prompt_text
from asr.words import bare

logger = logging.getLogger("callqa.asr")

SAMPLE_RATE = 16000
Interval = tuple[float, float]


@dataclass(frozen=True)
class RecoveryOptions:
    """How hard to look for lost speech (defaults measured on 8 kHz phone lines)."""

    word_reach: float = 0.3  # seconds around a decoded word counted as covered by it
    min_gap: float = 0.5  # uncovered VAD speech shorter than this is a pad or a breath, not lost speech
    join_gap: float = 1.0  # uncovered stretches closer than this are decoded together
    context: float = 1.0  # seconds of audio either side of a stretch given to the decoder
    max_stretch: float = 25.0  # longer stretches are decoded in parts (Whisper reads 30 s)
    min_repeats: int = 4  # a word or phrase (up to 4 words) said this many times in a row is a loop
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    retry_alone: float = 1.5  # a stretch the batch heard nothing in is decoded alone from this long
    # Silero hears band-limited phone speech faintly (a spoken turn can peak at 0.13); a frame this many
    # dB over the channel's noise floor is a candidate for speech as well.
    energy_margin_db: float = 20.0
    min_level_db: float = -55.0  # never quieter than this (dBFS), so a digitally silent line finds nothing


def _token(word) -> str:
    """A word as a loop repeats it: bare, or as written where it has no letters or digits («…»)."""
    return bare(word.word) or word.word.strip()


def merge(intervals: list[Interval], join: float = 0.0) -> list[Interval]:
    """Sorted intervals with those closer than `join` seconds joined."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + join:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def loud_spans(audio: np.ndarray, options: RecoveryOptions = RecoveryOptions()) -> list[Interval]:
    """Stretches of a channel well above its own noise floor (32 ms frames; short dips bridged, short
    blips dropped): where someone may have spoken even though the VAD did not say so."""
    frame = 512
    count = len(audio) // frame
    if count == 0:
        return []
    rms = np.sqrt(np.mean(audio[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(rms + 1e-10)
    floor = float(np.percentile(level, 10))
    loud = level > max(floor + options.energy_margin_db, options.min_level_db)
    seconds = frame / SAMPLE_RATE
    runs, start = [], None
    for i, on in enumerate(np.append(loud, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start * seconds, i * seconds))
            start = None
    return [(a, b) for a, b in merge(runs, 0.3) if b - a >= 0.25]


def uncovered(
    spans: list[Interval], words: list, options: RecoveryOptions = RecoveryOptions()
) -> list[Interval]:
    """Stretches of VAD speech that no decoded word reaches, at least `min_gap` long, nearby ones joined.

    A word covers its own time and `word_reach` either side (word timestamps are approximate and the
    VAD spans carry a pad of silence at each end).
    """
    reach = merge([(w.start - options.word_reach, w.end + options.word_reach) for w in words])
    gaps: list[Interval] = []
    for start, end in merge(spans):
        cursor = start
        for a, b in reach:
            if b <= cursor or a >= end:
                continue
            if a > cursor:
                gaps.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < end:
            gaps.append((cursor, end))
    gaps = [g for g in gaps if g[1] - g[0] >= options.min_gap]
    return _bounded(merge(gaps, options.join_gap), options.max_stretch)


def _bounded(stretches: list[Interval], longest: float) -> list[Interval]:
    out: list[Interval] = []
    for a, b in stretches:
        parts = max(1, int(np.ceil((b - a) / longest)))
        step = (b - a) / parts
        out += [(a + i * step, a + (i + 1) * step) for i in range(parts)]
    return out


def find_loops(words: list, min_repeats: int = 4) -> list[tuple[int, int]]:
    """Index ranges [i, j) of words where a word or a phrase of up to four words repeats `min_repeats`
    or more times in a row (Whisper's decoding loops), longest pattern first, not overlapping."""
    tokens = [_token(w) for w in words]
    loops: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        found = None
        for size in range(1, 5):
            pattern = tokens[i : i + size]
            if len(pattern) < size or not all(pattern):
                break
            count, j = 1, i + size
            while tokens[j : j + size] == pattern:
                count, j = count + 1, j + size
            if count >= min_repeats and (found is None or j > found[1]):
                found = (i, j)
        if found:
            loops.append(found)
            i = found[1]
        else:
            i += 1
    return loops


def is_looped(words: list, min_repeats: int = 4) -> bool:
    """Whether the words hold a decoding loop."""
    return bool(find_loops(words, min_repeats))


def _trusted(segment, transcriber) -> bool:
    """A re-decoded segment is kept only when the decoder is sure it heard speech."""
    o = transcriber.options
    if segment.no_speech_prob > o.no_speech_threshold:
        return False
    if o.log_prob_threshold is not None and segment.avg_logprob < o.log_prob_threshold:
        return False
    return segment.compression_ratio <= o.compression_ratio_threshold


def decode_stretch(
    transcriber,
    audio: np.ndarray,
    stretch: Interval,
    language: str,
    options: RecoveryOptions,
    fallback: bool = False,
    prompt: bool = True,
    taken: list[Interval] | None = None,
) -> list:
    """Words of one stretch of a channel decoded on its own (with `context` seconds around it), in the
    recording's time; only trusted segments' words, and of those only the ones whose middle is in no
    `taken` interval (the reach of words already decoded). Without `taken`: the words inside the stretch.

    Word times from a short clip tend to start early, so a stretch's first word may lie partly before it:
    the rule is "not already decoded", not "inside the stretch"."""
    o = transcriber.options
    start = max(0.0, stretch[0] - options.context)
    end = min(len(audio) / SAMPLE_RATE, stretch[1] + options.context)
    clip = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    if len(clip) < SAMPLE_RATE // 10:
        return []
    kwargs = transcriber.decoding_kwargs(language) | {
        "temperature": list(options.temperatures) if fallback else 0.0,
        "hotwords": (o.hotwords or None) if prompt else None,
        "initial_prompt": (o.initial_prompt or None) if prompt else None,
    }
    segments, _ = transcriber.model.transcribe(clip, vad_filter=False, **kwargs)
    kept = _keep(transcriber, segments, start, stretch, taken, options)
    if kept is None:
        if prompt or not fallback:  # a loop or the prompt read back: once more without prompt, with fallback
            return decode_stretch(transcriber, audio, stretch, language, options, True, False, taken)
        return []
    return kept


def _keep(
    transcriber, segments, offset: float, stretch: Interval, taken: list[Interval] | None, options
) -> list | None:
    """The words of trusted segments (times shifted by `offset`) that are not already decoded; None when
    the decoding as a whole loops or reads the prompt back (judged before dropping decoded words)."""
    trusted = []
    for segment in segments:
        if _trusted(segment, transcriber):
            words = [w for w in segment.words or [] if w.word.strip()]
            trusted += (
                [replace(w, start=w.start + offset, end=w.end + offset) for w in words] if offset else words
            )
    if not _sound(trusted, transcriber, options):
        return None
    if taken is None:
        return [w for w in trusted if stretch[0] <= (w.start + w.end) / 2 <= stretch[1]]
    return [w for w in trusted if not any(a <= (w.start + w.end) / 2 <= b for a, b in taken)]


def decode_together(
    transcriber, audio: np.ndarray, stretches: list[Interval], language: str, options: RecoveryOptions
) -> list[list]:
    """Segments of each stretch (with `context` seconds around it), all decoded in one batch, one clip
    per stretch: one encoder pass each and no more, where decoding them one by one may take several."""
    o = transcriber.options
    clips = [
        (max(0.0, a - options.context), min(len(audio) / SAMPLE_RATE, b + options.context))
        for a, b in stretches
    ]
    segments, _ = transcriber._pipeline().transcribe(
        audio,
        batch_size=o.batch_size,
        clip_timestamps=[{"start": a, "end": b} for a, b in clips],
        **(transcriber.decoding_kwargs(language) | {"temperature": 0.0}),  # the batch never falls back
    )
    out: list[list] = [[] for _ in clips]
    starts = np.array([a for a, _ in clips])
    for segment in segments:  # a segment's seek is its clip's start, in 10 ms frames
        out[int(np.argmin(np.abs(starts - segment.seek / 100)))].append(segment)
    return out


def _sound(words: list, transcriber, options: RecoveryOptions) -> bool:
    """Words with neither a decoding loop nor the decoder's prompt read back."""
    prompt = prompt_text(transcriber.options)
    return not find_loops(words, options.min_repeats) and not find_echoes(words, prompt)


def _mean_probability(words: list) -> float:
    return float(np.mean([w.probability for w in words])) if words else 0.0


def _redecode_loops(transcriber, audio, words, language, options) -> list:
    """Decoding loops and prompt read-backs of the first pass decoded again with temperature fallback and
    no prompt. A loop's first copy stays when the new decoding is empty; a read-back prompt goes (the
    speech under it, if any, is then uncovered and found again)."""
    prompt = prompt_text(transcriber.options)
    faults = sorted([(i, j, "loop") for i, j in find_loops(words, options.min_repeats)]
                    + [(i, j, "echo") for i, j in find_echoes(words, prompt)])  # fmt: skip
    out, cursor = [], 0
    for i, j, kind in faults:
        if i < cursor:
            continue
        out += words[cursor:i]
        stretch = (words[i].start, words[j - 1].end)
        taken = merge([(w.start - options.word_reach, w.end + options.word_reach) for w in out + words[j:]])
        again = decode_stretch(transcriber, audio, stretch, language, options, True, False, taken)
        logger.debug("%s %.1f-%.1f s: %d words decoded again", kind, *stretch, len(again))
        if again:
            out += again
        elif kind == "loop":
            period = next(size for size in range(1, 5) if [_token(w) for w in words[i : i + size]]
                          == [_token(w) for w in words[i + size : i + 2 * size]])  # fmt: skip
            out += words[i : i + period]
        cursor = j
    return sorted(out + words[cursor:], key=lambda w: w.start)


def recover_words(
    transcriber,
    audio: np.ndarray,
    spans: list[Interval],
    words: list,
    language: str,
    options: RecoveryOptions = RecoveryOptions(),
) -> list:
    """The first pass's words of one channel with decoding loops re-decoded and the VAD speech no word
    covered decoded on its own, in time order."""
    words = _redecode_loops(transcriber, audio, sorted(words, key=lambda w: w.start), language, options)
    found: list = []
    # Where speech may be: the VAD's spans without the pad it adds at each end (silence by design),
    # and whatever stands well out of the channel's noise floor.
    pad = transcriber.options.speech_pad_ms / 1000
    candidates = [(a + pad, b - pad) for a, b in spans if b - a > 2 * pad] + loud_spans(audio, options)
    stretches = uncovered(candidates, words, options)
    if not stretches:
        return words
    found: list = []
    heard: list[Interval] = []  # stretches where the batch found speech
    batch = decode_together(transcriber, audio, stretches, language, options)
    for stretch, segments in zip(stretches, batch, strict=True):
        taken = merge([(w.start - options.word_reach, w.end + options.word_reach) for w in words + found])
        kept = _keep(transcriber, segments, 0.0, stretch, taken, options)
        if kept is None:  # a loop or the prompt read back: alone, no prompt
            kept = decode_stretch(transcriber, audio, stretch, language, options, True, False, taken)
        logger.debug("stretch %.2f-%.2f: %d words", *stretch, len(kept))
        if kept:
            heard.append(stretch)
        found += kept
    # The batch decodes a clip once, as the first pass did, and may stop early or give up: what is still
    # uncovered is decoded alone (the decoder goes on after an early stop), unless it is short and the
    # batch heard no speech there (an edge of a turn, a click).
    for stretch in uncovered(candidates, words + found, options):
        near = any(a < stretch[1] and stretch[0] < b for a, b in heard)
        if not near and stretch[1] - stretch[0] < options.retry_alone:
            continue
        taken = merge([(w.start - options.word_reach, w.end + options.word_reach) for w in words + found])
        alone = decode_stretch(transcriber, audio, stretch, language, options, taken=taken)
        logger.debug("alone %.2f-%.2f: %d words", *stretch, len(alone))
        found += alone
    if found:
        logger.debug("recovered %d words", len(found))
    return sorted(words + found, key=lambda w: w.start)
