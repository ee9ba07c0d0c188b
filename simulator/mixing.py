"""From sentences to a telephone recording: a timeline of turns, hold music, line noise, 8 kHz codecs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from simulator.dialogs import Dialog

RATE = 16000
LINE_RATE = 8000
_PENTATONIC = (261.6, 293.7, 329.6, 392.0, 440.0, 523.3, 587.3)


@dataclass
class TimedTurn:
    """A turn placed on the call's timeline (seconds from the start of the recording)."""

    role: str
    text: str
    start: float
    end: float
    tags: tuple[str, ...]
    pii: tuple[tuple[str, str], ...]


@dataclass
class Timeline:
    """Both parties' audio (16 kHz) and where everything happened."""

    operator: np.ndarray
    customer: np.ndarray
    turns: list[TimedTurn] = field(default_factory=list)
    holds: list[tuple[float, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.operator) / RATE


def hold_music(seconds: float, rng: random.Random) -> np.ndarray:
    """A simple synthetic melody (notes with harmonics and soft attack), as PBX music on hold."""
    note = int(0.35 * RATE)
    t = np.arange(note) / RATE
    envelope = np.minimum(1, t / 0.03) * np.exp(-t * 3)
    notes = []
    for _ in range(int(seconds * RATE / note) + 1):
        f = rng.choice(_PENTATONIC)
        tone = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t) + 0.2 * np.sin(6 * np.pi * f * t)
        notes.append(0.12 * envelope * tone)
    return np.concatenate(notes)[: int(seconds * RATE)].astype(np.float32)


def lay_out(dialog: Dialog, sentences: dict[tuple[str, str], np.ndarray], voices: dict[str, str],
            rng: random.Random) -> Timeline:  # fmt: skip
    """Place the turns one after another with natural gaps; hold music plays on the operator's side."""
    pieces: list[tuple[str, float, np.ndarray]] = []
    turns: list[TimedTurn] = []
    holds: list[tuple[float, float]] = []
    t = rng.uniform(0.3, 0.8)
    for index, turn in enumerate(dialog.turns):
        audio = sentences[(voices[turn.role], turn.text)]
        if "drop" in turn.tags and turn.role == "customer":
            audio = audio[: int(len(audio) * 0.7)]  # the line drops mid-sentence
        # Customers sometimes start before the operator has quite finished.
        overlap = 0.3 if index and turn.role == "customer" and rng.random() < 0.08 else 0.0
        start = max(0.0, t - overlap)
        pieces.append((turn.role, start, audio))
        end = start + len(audio) / RATE
        turns.append(TimedTurn(turn.role, turn.text, round(start, 3), round(end, 3), turn.tags, turn.pii))
        t = end + rng.uniform(0.25, 0.8)
        if turn.hold_after:
            music = hold_music(turn.hold_after, rng)
            pieces.append(("operator", t, music))
            holds.append((round(t, 3), round(t + turn.hold_after, 3)))
            t += turn.hold_after + rng.uniform(0.3, 0.6)
    total = t if not dialog.dropped else turns[-1].end + 0.05
    length = int(total * RATE) + 1
    channels = {"operator": np.zeros(length, np.float32), "customer": np.zeros(length, np.float32)}
    for role, start, audio in pieces:
        begin = int(start * RATE)
        stop = min(length, begin + len(audio))
        channels[role][begin:stop] += audio[: stop - begin]
    return Timeline(channels["operator"], channels["customer"], turns, holds)


def telephone(signal: np.ndarray, rng: random.Random, noise_dbfs: float = -58.0) -> np.ndarray:
    """Band-limit to 300-3400 Hz, resample to 8 kHz, normalise, and add light line noise."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    narrow = np.fft.irfft(spectrum, n=len(signal))[::2]
    peak = float(np.max(np.abs(narrow))) or 1.0
    narrow = narrow * (10 ** (rng.uniform(-6, -2) / 20) / peak)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    noise = noise_rng.standard_normal(len(narrow)) * 10 ** (noise_dbfs / 20)
    return np.clip(narrow + noise, -1, 1).astype(np.float32)


def to_line(timeline: Timeline, stereo: bool, operator_left: bool, rng: random.Random) -> np.ndarray:
    """The recording as the PBX stores it: (2, n) with one party per channel, or (1, n) mixed."""
    if stereo:
        left, right = (
            (timeline.operator, timeline.customer)
            if operator_left
            else (timeline.customer, timeline.operator)
        )
        return np.stack([telephone(left, rng), telephone(right, rng)])
    return telephone(timeline.operator + timeline.customer, rng)[None, :]
