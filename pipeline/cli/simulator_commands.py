"""Test and demo tooling commands: a synthetic PBX folder (loadgen) and a simulated call centre (simulate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import app, ctx


@app.command()
def loadgen(
    out_dir: Annotated[Path, typer.Argument(help="Folder to create.")],
    calls: Annotated[int, typer.Option(help="Answered calls to generate.")] = 40,
    unanswered: Annotated[int, typer.Option(help="Abandoned calls (records only, no recording).")] = 5,
    seconds: Annotated[str, typer.Option(help="Call length in seconds, or a range like 20-180.")] = "20-180",
    codecs: Annotated[
        str, typer.Option(help="Comma-separated: pcm, ulaw, alaw, gsm, mp3, opus, flac, aac.")
    ] = "pcm",
    stereo: Annotated[bool, typer.Option(help="Operator left, customer right.")] = False,
    defects: Annotated[bool, typer.Option(help="Add a truncated, a non-audio and a silent file.")] = False,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Write a synthetic PBX folder (speech-like audio, Master.csv, queue_log, incidents) for load tests."""
    from simulator.loadgen import CODECS, add_defects, make_call_centre, save_manifest

    chosen = tuple(c.strip() for c in codecs.split(",") if c.strip())
    unknown = [c for c in chosen if c not in CODECS]
    if unknown:
        ctx.console.print(f"[red]unknown codec(s) {', '.join(unknown)}[/red]; known: {', '.join(CODECS)}")
        raise typer.Exit(2)
    low, _, high = seconds.partition("-")
    try:
        length = (float(low), float(high)) if high else float(low)
    except ValueError:
        ctx.console.print(f"[red]--seconds {seconds!r}:[/red] give a number (60) or a range (20-180)")
        raise typer.Exit(2) from None
    generated = make_call_centre(
        out_dir, calls=calls, seconds=length, codecs=chosen, stereo=stereo, seed=seed, unanswered=unanswered
    )
    save_manifest(out_dir, generated)
    if defects:
        add_defects(out_dir / "recordings", generated)
    ctx.out.print(f"wrote {calls} recordings and the records of {len(generated)} calls to {out_dir}")


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the simulated period into.")],
    calls: Annotated[int, typer.Option(help="Calls in the period (abandoned ones included).")] = 40,
    days: Annotated[int, typer.Option(help="Days the period spans.")] = 10,
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 1,
    operator_channel: Annotated[
        str | None, typer.Option(help="Stereo channel of the operator: left or right (default: the site's).")
    ] = None,
    training_calls: Annotated[int, typer.Option(help="Text-only calls for purpose_train.csv.")] = 400,
    site: Annotated[
        str,
        typer.Option(help="Which simulated desk: demo (Asterisk 11) or north (Asterisk 13, other script)."),
    ] = "demo",
) -> None:
    """Synthesise a Russian support-desk period: speech recordings, PBX records, incidents, ground truth."""
    from simulator import simulate as run_simulation
    from simulator.sites import SITES
    from simulator.speech import SpeechError

    if operator_channel not in (None, "left", "right"):
        ctx.console.print("[red]--operator-channel must be left or right[/red]")
        raise typer.Exit(2)
    if site not in SITES:
        ctx.console.print(f"[red]--site must be one of: {', '.join(SITES)}[/red]")
        raise typer.Exit(2)
    left = None if operator_channel is None else operator_channel == "left"
    try:
        with ctx.step_progress() as report:
            summary = run_simulation(
                out_dir, calls=calls, days=days, seed=seed, operator_left=left, training_calls=training_calls,
                workers=ctx.settings.pipeline.workers, progress=report, site=SITES[site],
            )  # fmt: skip
    except SpeechError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    ctx.out.print(
        f"wrote {summary.calls} calls ({summary.recordings} recordings, "
        f"{summary.audio_seconds / 60:.1f} min of audio), "
        f"{summary.incidents} incidents and {summary.training_rows} training texts to {out_dir}"
    )
