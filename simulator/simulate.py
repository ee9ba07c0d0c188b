"""Run the whole simulation: plan, synthesise, mix, encode, and write records and ground truth."""

from __future__ import annotations

import csv
import json
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ingest.encode import CODECS, write_audio
from simulator import records
from simulator.mixing import LINE_RATE, lay_out, to_line
from simulator.plan import CallPlan, plan_period
from simulator.records import RenderedCall
from simulator.site import Site
from simulator.site_config import write_site_config, write_taxonomy
from simulator.site_demo import DEMO
from simulator.speech import Synthesizer

logger = logging.getLogger("callqa.pipeline")

ProgressCallback = Callable[[str, int, int], None]
SHORT_CALL_CODEC_LIMIT = 45.0  # short calls as G.711 WAV, longer ones compressed (GSM, MP3)


@dataclass
class SimulationSummary:
    """What was generated."""

    calls: int
    recordings: int
    audio_seconds: float
    incidents: int
    training_rows: int


def _codec(plan: CallPlan, duration: float, site: Site) -> str:
    if site.pbx.copies:  # the stereo original is kept as WAV (its mono copy is MP3), mono calls as GSM
        return "ulaw" if plan.stereo else "gsm"
    if plan.stereo:
        return "ulaw" if duration < SHORT_CALL_CODEC_LIMIT else "mp3"
    return "alaw" if duration < SHORT_CALL_CODEC_LIMIT else "gsm"


def _voices(plan: CallPlan) -> dict[str, str]:
    return {"operator": plan.operator.voice, "customer": plan.customer_voice}


def _synthesise(
    plans: list[CallPlan], cache: Path, workers: int, progress: ProgressCallback | None
) -> Synthesizer:
    synthesizer = Synthesizer(cache)
    batches = [
        [(_voices(p)[turn.role], turn.text) for turn in p.dialog.turns] for p in plans if p.dialog is not None
    ]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # each batch runs its own Festival
        for number, _ in enumerate(pool.map(synthesizer.prepare, batches), start=1):
            if progress:
                progress("speech synthesis", number, len(batches))
    return synthesizer


def _recording_name(plan: CallPlan, site: Site) -> str:
    """The recording's file name, without extension, as the site's PBX writes it."""
    if site.pbx.recording_names == "freepbx":
        return f"q-{site.pbx.queue}-{plan.caller_number}-{plan.start:%Y%m%d-%H%M%S}-{plan.uniqueid}"
    return f"{plan.start:%Y%m%d-%H%M%S}-{plan.caller_number}-{site.pbx.queue}-{plan.uniqueid}"


def _render(
    plan: CallPlan, synthesizer: Synthesizer, out: Path, operator_left: bool, rng: random.Random, site: Site
) -> RenderedCall:
    ring = rng.randint(2, 9)
    if plan.dialog is None:
        return RenderedCall(plan, rng.randint(12, 60), 0, [], [], None, None, 0.0)
    voices = _voices(plan)
    sentences = {
        (voices[t.role], t.text): synthesizer.audio(voices[t.role], t.text) for t in plan.dialog.turns
    }
    timeline = lay_out(plan.dialog, sentences, voices, rng)
    codec = _codec(plan, timeline.duration, site)
    line = to_line(timeline, plan.stereo, operator_left, rng)
    duration = line.shape[1] / LINE_RATE
    stem = _recording_name(plan, site)
    name = stem + CODECS[codec][2]
    write_audio(out / "recordings" / name, line, LINE_RATE, codec)
    copies = []
    if site.pbx.copies and plan.stereo:  # the PBX's mono mix of the same call beside the stereo file
        copy = stem + CODECS["mp3"][2]
        write_audio(out / "recordings" / copy, line.mean(axis=0, keepdims=True), LINE_RATE, "mp3")
        copies.append(f"recordings/{copy}")
    return RenderedCall(
        plan,
        ring,
        round(duration),
        timeline.turns,
        timeline.holds,
        f"recordings/{name}",
        codec,
        duration,
        copies,
    )


def _channel_map(operator_left: bool) -> dict[str, int]:
    return {"operator": 0, "customer": 1} if operator_left else {"operator": 1, "customer": 0}


def _truth(call: RenderedCall, earlier: list[RenderedCall], operator_left: bool) -> dict:
    """What is true of one call: its records, its conversation, and every judgement the pipeline makes."""
    plan, dialog = call.plan, call.plan.dialog
    person = plan.client.person if plan.client else None
    turns = [
        {
            "role": t.role,
            "text": t.text,
            "start": t.start,
            "end": t.end,
            "tags": list(t.tags),
            "pii": records.pii_spans(t, person),
        }
        for t in call.turns
    ]
    transfer = dict(dialog.transfer, at=call.transfer_at) if dialog and dialog.transfer else None
    return {
        "call_id": plan.call_id,
        "uniqueid": plan.uniqueid,
        "scenario": plan.scenario,
        "recording": call.recording,
        "copies": call.copies,
        "codec": call.codec,
        "layout": ("stereo" if plan.stereo else "mono") if call.recording else None,
        "channels": _channel_map(operator_left) if call.recording and plan.stereo else None,
        "operator": plan.operator.code,
        "operator_extension": plan.operator.phone,
        "operator_name": plan.operator.full_name,
        "team": plan.operator.team,
        "caller_number": plan.caller_number,
        "client": {"inn": plan.client.inn, "kpp": plan.client.kpp, "company": plan.client.company}
        if plan.client
        else None,
        "start": plan.start.isoformat(),
        "answer": call.answer.isoformat() if call.answer else None,
        "end": call.end.isoformat(),
        "billsec": call.billsec,
        "duration": round(call.duration, 3),
        "purpose": dialog.purpose if dialog else None,
        "purposes": dialog.purposes if dialog else [],
        "caller_type": dialog.caller_type if dialog else None,
        "registration": dialog.registration if dialog else None,
        "turns": turns,
        "hold": [list(h) for h in call.holds],
        "transfer": transfer,
        "dropped": dialog.dropped if dialog else False,
        "incidents": [
            {
                "number": i.number,
                "article": i.article,
                "purpose": i.purpose,
                "linked_in_export": i.linked_in_export,
            }
            for i in plan.incidents
        ],
        "exclusion_reasons": records.exclusion_reasons(call),
        "repeat_of": records.repeat_of(call, earlier),
        "checklist": records.checklist(call) if dialog else {},
        "script_breaks": list(dialog.script_breaks) if dialog else [],
    }


def _training_rows(calls: int, days: int, seed: int, site: Site) -> list[dict]:
    """Text of separate simulated calls (never rendered to audio), labelled with their purpose."""
    rows = []
    for plan in plan_period(calls=calls, days=days, seed=seed, site=site):
        if plan.dialog is None:
            continue
        text = " ".join(t.text for t in plan.dialog.turns)
        rows.append({"call_id": f"train-{plan.call_id[5:]}", "text": text, "purpose": plan.dialog.purpose,
                     "caller_type": plan.dialog.caller_type})  # fmt: skip
    return rows


def simulate(
    out_dir: Path,
    calls: int = 40,
    days: int = 10,
    seed: int = 1,
    operator_left: bool | None = None,
    training_calls: int = 400,
    workers: int = 2,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    site: Site = DEMO,
) -> SimulationSummary:
    """Generate a period of `site` into `out_dir` (created; existing files are replaced).

    `operator_left`: which stereo channel carries the operator (default: the site's PBX's).
    """
    out_dir = Path(out_dir)
    operator_left = site.pbx.operator_left if operator_left is None else operator_left
    (out_dir / "recordings").mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "recordings").iterdir():
        old.unlink()
    plans = plan_period(calls=calls, days=days, seed=seed, site=site)
    cache = cache_dir or Path.home() / ".cache" / "callqa" / "tts"
    synthesizer = _synthesise(plans, cache, workers, progress)
    rng = random.Random(seed + 1)
    rendered: list[RenderedCall] = []
    for number, plan in enumerate(plans, start=1):
        rendered.append(_render(plan, synthesizer, out_dir, operator_left, rng, site))
        if progress:
            progress("mixing and encoding", number, len(plans))
    records.write_master_csv(out_dir / "Master.csv", rendered, site)
    records.write_queue_log(out_dir / "queue_log", rendered, site)
    incidents = records.incident_rows(rendered, rng, site)
    records.write_incidents(out_dir / "incidents.csv", incidents, site)
    training = _training_rows(training_calls, days, seed + 1000, site)
    with open(out_dir / "purpose_train.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=("call_id", "text", "purpose", "caller_type"))
        writer.writeheader()
        writer.writerows(training)
    working = sorted({p.operator for p in plans}, key=lambda o: o.code)
    records.write_roster(out_dir / "operators.csv", working)
    operators = [{"code": o.code, "name": o.full_name, "team": o.team} for o in working]
    records.write_profile(out_dir / "profile.yaml", site)
    if site is not DEMO:  # the demo desk's topics and settings are the shipped defaults
        write_taxonomy(out_dir / "topics.yaml", site)
        write_site_config(out_dir / "callqa.toml", site, operator_left)
    truth = {
        "site": site.key,
        "period": {"start": plans[0].start.date().isoformat(), "days": days, "seed": seed},
        "operator_channel": "left" if operator_left else "right",
        "operators": operators,
        "calls": [_truth(call, rendered[:i], operator_left) for i, call in enumerate(rendered)],
        "duplicate_incidents": [list(pair) for pair in records.duplicate_pairs(incidents)],
    }
    (out_dir / "ground_truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    answered = [c for c in rendered if c.recording]
    return SimulationSummary(
        calls=len(rendered),
        recordings=len(answered),
        audio_seconds=sum(c.duration for c in answered),
        incidents=len(incidents),
        training_rows=len(training),
    )
