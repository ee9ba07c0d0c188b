"""A synthetic PBX folder for load tests, smoke tests and sizing: recordings plus consistent records.

`callqa loadgen OUT` writes what an Asterisk call centre leaves behind: MixMonitor recordings,
Master.csv, queue_log and a helpdesk incident export. The audio is speech-like (syllable-rate
bursts of band-limited noise, turn-taking between the two parties, light line noise) so that level,
activity and channel checks behave as on real calls; it is not speech. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from ingest.encode import CODECS, write_audio


def speechlike(seconds: float, rate: int, seed: int, active: np.ndarray | None = None) -> np.ndarray:
    """A mono speech-like signal; `active` (one bool per 10 ms) says when this party talks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    noise = rng.standard_normal(n).astype(np.float32)
    # Crude formant band: smooth the noise, then modulate at a syllable rate of about 4 Hz.
    kernel = np.hanning(9).astype(np.float32)
    voiced = np.convolve(noise, kernel / kernel.sum(), mode="same")
    envelope = np.clip(np.sin(2 * np.pi * (3.5 + rng.random()) * t + rng.random() * 6), 0, None) ** 2
    signal = 0.6 * voiced * envelope / (np.std(voiced) + 1e-9) * 0.3
    if active is not None:
        mask = np.repeat(active, int(rate / 100))[:n]
        mask = np.pad(mask, (0, max(0, n - len(mask))))
        signal *= mask
    line_noise = 0.002 * rng.standard_normal(n).astype(np.float32)
    return np.clip(signal + line_noise, -1, 1).astype(np.float32)


def turn_masks(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Alternating operator/customer turns of 1.5-5 s, in 10 ms steps."""
    rng = np.random.default_rng(seed + 7)
    steps = int(seconds * 100)
    operator = np.zeros(steps, dtype=bool)
    customer = np.zeros(steps, dtype=bool)
    position, speaker = 0, 0
    while position < steps:
        length = int(rng.uniform(150, 500))
        (operator if speaker == 0 else customer)[position : position + length] = True
        position += length + int(rng.uniform(20, 80))
        speaker = 1 - speaker
    return operator, customer


@dataclass
class SyntheticCall:
    """One generated call and its recording."""

    uniqueid: str
    src: str
    dst: str
    agent: str
    start: datetime
    seconds: int
    path: Path | None
    answered: bool = True


def mixmonitor_name(call: SyntheticCall, extension: str = ".wav") -> str:
    return f"{call.start:%Y%m%d-%H%M%S}-{call.src}-{call.dst}-{call.uniqueid}{extension}"


def make_call_centre(
    out: Path,
    calls: int = 10,
    seconds: float | tuple[float, float] = (20, 90),
    codecs: tuple[str, ...] = ("pcm",),
    stereo: bool = False,
    rate: int = 8000,
    seed: int = 1,
    unanswered: int = 0,
) -> list[SyntheticCall]:
    """Write recordings/, Master.csv, queue_log and incidents.csv for `calls` answered calls."""
    rng = np.random.default_rng(seed)
    recordings = out / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    base = datetime(2026, 3, 2, 9, 0, 0)
    epoch0 = 1772442000
    result: list[SyntheticCall] = []
    for i in range(calls + unanswered):
        length = int(seconds if isinstance(seconds, int | float) else rng.uniform(*seconds))
        start = base + timedelta(minutes=7 * i)
        answered = i < calls
        call = SyntheticCall(
            uniqueid=f"{epoch0 + 420 * i}.{i}",
            src=f"7916{rng.integers(1_000_000, 9_999_999)}",
            dst="8800",
            agent=str(101 + i % 4),
            start=start,
            seconds=length,
            path=None,
            answered=answered,
        )
        if answered:
            codec = codecs[i % len(codecs)]
            extension = CODECS[codec][2]
            path = recordings / mixmonitor_name(call, extension)
            operator, customer = turn_masks(length, seed + i)
            if stereo:
                audio = np.stack(
                    [
                        speechlike(length, rate, seed * 1000 + i, operator),
                        speechlike(length, rate, seed * 1000 + i + 500, customer),
                    ]
                )
            else:
                audio = speechlike(length, rate, seed * 1000 + i, operator | customer)[None, :]
            write_audio(path, audio, rate, codec)
            call.path = path
        result.append(call)
    write_records(out, result)
    return result


def cdr_row(call: SyntheticCall, ring: int = 3) -> list[str]:
    """An 18-column Asterisk Master.csv row for a generated call."""
    answer = call.start + timedelta(seconds=ring)
    end = answer + timedelta(seconds=call.seconds) if call.answered else call.start + timedelta(seconds=30)
    return [
        "",
        call.src,
        call.dst,
        "from-trunk",
        f'"Client" <{call.src}>',
        "SIP/trunk-00000001",
        f"SIP/{call.agent}-0000000a" if call.answered else "",
        "Queue",
        "support",
        f"{call.start:%Y-%m-%d %H:%M:%S}",
        f"{answer:%Y-%m-%d %H:%M:%S}" if call.answered else "",
        f"{end:%Y-%m-%d %H:%M:%S}",
        str(int((end - call.start).total_seconds())),
        str(call.seconds if call.answered else 0),
        "ANSWERED" if call.answered else "NO ANSWER",
        "DOCUMENTATION",
        call.uniqueid,
        "",
    ]


def write_records(out: Path, calls: list[SyntheticCall]) -> None:
    with open(out / "Master.csv", "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for call in calls:
            writer.writerow(cdr_row(call))
    with open(out / "queue_log", "w") as handle:
        for call in calls:
            t = int(call.start.timestamp())
            handle.write(f"{t}|{call.uniqueid}|support|NONE|ENTERQUEUE||{call.src}|1\n")
            if call.answered:
                handle.write(
                    f"{t + 3}|{call.uniqueid}|support|SIP/{call.agent}|CONNECT|3|{call.uniqueid}|2\n"
                )
                end = t + 3 + call.seconds
                handle.write(
                    f"{end}|{call.uniqueid}|support|SIP/{call.agent}|COMPLETECALLER|3|{call.seconds}|1\n"
                )
            else:
                handle.write(f"{t + 30}|{call.uniqueid}|support|NONE|ABANDON|1|1|30\n")
    with open(out / "incidents.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "id",
                "created_at",
                "inn",
                "kpp",
                "phone",
                "knowledge_article",
                "operator",
                "status",
                "call_uniqueid",
            ]
        )
        for n, call in enumerate(c for c in calls if c.answered):
            if n % 2 == 0:
                writer.writerow(
                    [
                        f"INC-{1000 + n}",
                        f"{call.start + timedelta(minutes=2):%Y-%m-%d %H:%M:%S}",
                        "7707083893",
                        "770701001",
                        call.src,
                        "6053" if n % 4 == 0 else "101",
                        call.agent,
                        "closed",
                        call.uniqueid,
                    ]
                )


def add_defects(recordings: Path, calls: list[SyntheticCall]) -> list[Path]:
    """Files a real recordings folder also holds: a truncated copy, a non-audio file, a silent call."""
    answered = [c for c in calls if c.path]
    truncated = recordings / f"truncated-{answered[0].path.name}"
    truncated.write_bytes(answered[0].path.read_bytes()[:4000])
    not_audio = recordings / "voicemail-notes.wav"
    not_audio.write_text("not a recording\n")
    silent = recordings / "silent.wav"
    write_audio(silent, np.zeros((1, 8000 * 10), dtype=np.float32), 8000, "pcm")
    return [truncated, not_audio, silent]


def save_manifest(out: Path, calls: list[SyntheticCall]) -> None:
    """Write what was generated, for checking a deployment's results against it."""
    rows = [
        {**c.__dict__, "start": c.start.isoformat(), "path": str(c.path) if c.path else None} for c in calls
    ]
    (out / "manifest.json").write_text(json.dumps(rows, indent=1))
