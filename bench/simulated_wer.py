"""WER of bundled Whisper base on the committed simulated call centre, per codec and layout.

Stereo recordings are transcribed per channel (operator and customer apart, as the speech layer
does); mono ones whole. References are the ground-truth turns. Also reports the real-time factor.

Run: .venv/bin/python bench/simulated_wer.py [--demo demo] [--beam 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from bench.wer import word_errors  # noqa: E402
from ingest import decode_audio  # noqa: E402
from models import WHISPER_BASE, assemble  # noqa: E402

# Silero VAD at its default 0.5 hears almost none of the band-limited synthetic speech (one turn in
# ten in a spot check); at 0.2 it finds every turn and still drops the silence between them.
VAD_THRESHOLD = 0.2


NOTES = """
Notes: GSM is the only mono codec used for long calls here, so its row mixes the codec with two
voices on one channel; stereo calls are transcribed per channel and do better. With Silero VAD at
its default threshold 0.5, the first nine calls came out at WER 0.69-0.98: the VAD drops most of the
band-limited synthetic speech, so the speech layer must tune the VAD for 8 kHz lines. Festival
speaks fast; the simulator slows every voice to 0.82-0.88 tempo, which halved Whisper's errors in a
spot check, and keeps pitch shifts upward (downward shifts hurt recognition most)."""


def transcribe_call(model, folder: Path, call: dict, beam: int) -> tuple[int, int, float, float]:
    """(errors, reference words, audio seconds, processing seconds) for one call."""
    audio = decode_audio(folder / call["recording"], split_channels=True)
    if call["layout"] == "stereo":
        channel_of = call["channels"]
        parts = [
            (audio[channel_of[role]], " ".join(t["text"] for t in call["turns"] if t["role"] == role))
            for role in ("operator", "customer")
        ]
    else:
        parts = [(audio.mean(axis=0), " ".join(t["text"] for t in call["turns"]))]
    errors = words = 0
    started = time.perf_counter()
    for signal, reference in parts:
        segments, _ = model.transcribe(
            signal,
            language="ru",
            beam_size=beam,
            vad_filter=True,
            vad_parameters={"threshold": VAD_THRESHOLD},
            condition_on_previous_text=False,
        )
        hypothesis = " ".join(s.text for s in segments)
        e, n = word_errors(reference, hypothesis)
        errors, words = errors + e, words + n
    return errors, words, audio.shape[1] / 16000, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo", type=Path, default=REPO / "demo")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="only the first N recordings")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    model = WhisperModel(str(assemble(WHISPER_BASE)), device="cpu", compute_type="int8", cpu_threads=2)
    truth = json.loads((args.demo / "ground_truth.json").read_text(encoding="utf-8"))
    calls = [c for c in truth["calls"] if c["recording"]]
    if args.limit:
        calls = calls[: args.limit]
    groups: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0])
    for call in calls:
        errors, words, seconds, spent = transcribe_call(model, args.demo, call, args.beam)
        for key in ((call["codec"], call["layout"]), ("all", "all")):
            group = groups[key]
            group[0] += errors
            group[1] += words
            group[2] += seconds
            group[3] += spent
            group[4] += 1
        print(
            f"{call['call_id']} {call['codec']:<4} {call['layout']:<6} WER {errors / max(words, 1):.3f}",
            flush=True,
        )
    rows = []
    ordered = sorted(groups.items(), key=lambda item: item[0] == ("all", "all"))
    for (codec, layout), (errors, words, seconds, spent, count) in ordered:
        wer, rtf = errors / words, spent / seconds
        rows.append(
            f"| {codec} | {layout} | {count} | {seconds / 60:.1f} | {words} | {wer:.3f} | {rtf:.3f} |"
        )
    body = "\n".join(
        [
            f"Bundled Whisper base (int8, CPU, 2 threads, beam {args.beam}, Silero VAD threshold",
            f"{VAD_THRESHOLD}, language fixed to Russian) on the committed simulated calls (`demo/`,",
            "Festival Russian voice, telephone band, 8 kHz). WER pools errors over all words of a group;",
            "digits in the hypothesis are compared as spoken digit words.",
            "RTF = processing seconds / audio seconds (a stereo file's audio counted once).",
            "",
            "| codec | layout | calls | audio, min | reference words | WER | RTF |",
            "|---|---|---|---|---|---|---|",
            *rows,
            NOTES,
        ]
    )
    print(body)
    write_section("Speech layer baseline on the simulated calls", "python bench/simulated_wer.py", body)


if __name__ == "__main__":
    main()
