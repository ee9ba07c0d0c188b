"""Pipeline commands: ingest, run, status, models, operators, db."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli.context import app, ctx, db_app, models_app, operators_app


def _load_mapping(path: Path | None):
    from ingest import InputFileError, load_mapping

    if path is None:
        return None
    try:
        return load_mapping(path)
    except InputFileError as e:
        ctx.console.print(f"[red]mapping:[/red] {e.message}")
        raise typer.Exit(2) from e


def _encoding(option: str, name: str | None) -> str | None:
    """A codec name the user gave, checked now: an unknown one is one line and exit 2."""
    from ingest import check_encoding

    if name is None:
        return None
    try:
        return check_encoding(name)
    except ValueError as e:
        ctx.console.print(f"[red]{option}:[/red] {e}")
        raise typer.Exit(2) from e


def _date_format(fmt: str | None) -> str | None:
    """A strptime format the user gave, checked to hold a day, a month and a year."""
    if fmt is not None and not ("%d" in fmt and "%m" in fmt and ("%Y" in fmt or "%y" in fmt)):
        ctx.console.print(f'[red]--date-format:[/red] {fmt!r} needs %d, %m and %Y (e.g. "%d/%m/%Y %H:%M:%S")')
        raise typer.Exit(2)
    return fmt


@app.command()
def ingest(
    recordings_dir: Annotated[
        Path | None, typer.Argument(help="Folder of call recordings (searched recursively).")
    ] = None,
    cdr: Annotated[
        Path | None, typer.Option(help="Asterisk Master.csv, or any CSV with --cdr-mapping.")
    ] = None,
    cdr_mapping: Annotated[
        Path | None, typer.Option(help="YAML column mapping for a non-Asterisk CSV.")
    ] = None,
    queue_log: Annotated[Path | None, typer.Option(help="Asterisk queue_log.")] = None,
    incidents: Annotated[Path | None, typer.Option(help="Helpdesk incident export (.csv or .json).")] = None,
    incidents_mapping: Annotated[
        Path | None, typer.Option(help="YAML column mapping for the incidents.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Processes for decoding (default from settings).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of every input file (e.g. cp1251, utf-16); default: detected per file "
            "(UTF-8 with or without BOM, UTF-16, cp1251)."
        ),
    ] = None,
    cdr_encoding: Annotated[
        str | None, typer.Option(help="Encoding of --cdr (overrides --encoding).")
    ] = None,
    queue_log_encoding: Annotated[
        str | None, typer.Option(help="Encoding of --queue-log (overrides --encoding).")
    ] = None,
    incidents_encoding: Annotated[
        str | None, typer.Option(help="Encoding of --incidents (overrides --encoding).")
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            help='How --cdr and --incidents write dates when no mapping says, e.g. "%d/%m/%Y %H:%M:%S" '
            "(needed for dd/mm/yyyy vs mm/dd/yyyy)."
        ),
    ] = None,
) -> None:
    """Register recordings and call records; report every rejected file and malformed row."""
    from pipeline.ingest_run import IngestRequest
    from pipeline.ingest_run import ingest as run_ingest

    if recordings_dir is None and not (cdr or queue_log or incidents):
        ctx.console.print(
            "nothing to ingest: give a folder of recordings and/or --cdr / --queue-log / --incidents"
        )
        raise typer.Exit(2)
    request = IngestRequest(
        recordings_dir=recordings_dir,
        cdr=cdr,
        cdr_mapping=_load_mapping(cdr_mapping),
        queue_log=queue_log,
        incidents=incidents,
        incidents_mapping=_load_mapping(incidents_mapping),
        cdr_encoding=_encoding("--cdr-encoding", cdr_encoding or encoding),
        queue_log_encoding=_encoding("--queue-log-encoding", queue_log_encoding or encoding),
        incidents_encoding=_encoding("--incidents-encoding", incidents_encoding or encoding),
        datetime_format=_date_format(date_format),
    )
    settings = ctx.settings
    engine = ctx.engine()
    with ctx.step_progress() as report:
        summary = run_ingest(
            engine,
            request,
            options=settings.validation,
            raw_sample_rate=settings.raw_sample_rate,
            workers=workers if workers is not None else settings.pipeline.workers,
            progress=report,
            stage_options=settings.stage_options(),
        )
    ctx.out.print(
        f"recordings: {summary.files_seen} found, {summary.accepted} accepted, {summary.rejected} rejected, "
        f"{summary.same_content_other_name} same content under another name, "
        f"{summary.recordings_unchanged} already known"
        + (f", {summary.unreadable} unreadable" if summary.unreadable else "")
    )
    if summary.alternatives:
        ctx.out.print(
            f"{summary.alternatives} copy(ies) of a call's recording kept as alternative(s) "
            f"(the best copy is transcribed)"
        )
    if summary.calls_from_recordings or summary.recording_calls_matched:
        ctx.out.print(
            f"calls known only from their recording (no call record): {summary.calls_from_recordings} new, "
            f"{summary.recording_calls_matched} matched to the call record that arrived"
        )
    if summary.conflicts or summary.rejected_after_matching:
        ctx.out.print(
            f"after matching to call records: {summary.conflicts} conflicting file(s), "
            f"{summary.rejected_after_matching} rejected for a length that disagrees with the call record"
        )
    ctx.out.print(
        f"call records: {summary.call_legs_added} new, {summary.records_unchanged} already known; "
        f"queue events: {summary.queue_events_added} new, {summary.queue_events_unchanged} already known; "
        f"incidents: {summary.incidents_added} new, {summary.incidents_updated} updated; "
        f"jobs queued: {summary.jobs_enqueued}"
    )
    for problem in summary.problems:
        ctx.out.print(f"  [yellow]![/yellow] {problem}  [dim]({problem.code})[/dim]")
    if summary.nothing_ran:
        raise typer.Exit(1)


@app.command()
def run(
    workers: Annotated[int | None, typer.Option(help="Worker processes (0 runs in this process).")] = None,
    executor: Annotated[str | None, typer.Option(help="local or ray.")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (e.g. 10.0.0.5:6379 or auto).")
    ] = None,
    stages: Annotated[str | None, typer.Option(help="Comma-separated stages to run (default: all).")] = None,
) -> None:
    """Process pending jobs until none is left; safe to interrupt and to rerun."""
    from pipeline.cli.analytics_commands import print_site_results
    from pipeline.executors import make_executor
    from pipeline.runner import run_jobs
    from pipeline.stages import registered_stages, site_stages
    from pipeline.stages.base import StageError
    from pipeline.stages.classify import purpose_source_note
    from store import JobQueue, audit, current_actor

    settings = ctx.settings.pipeline
    options = ctx.settings.stage_options()
    try:
        names = stages.split(",") if stages else None
        selected = registered_stages(names, options)
        site = site_stages(names, options)
    except (ValueError, StageError) as e:  # unknown stages; a site file a stage's version reads
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    engine = ctx.engine()
    kind = executor or settings.executor
    try:
        pool = make_executor(
            kind, workers if workers is not None else settings.workers, address or settings.ray_address
        )
    except (RuntimeError, ValueError, ConnectionError) as e:
        ctx.console.print(f"[red]cannot start the {kind} executor:[/red] {e}")
        raise typer.Exit(2) from e
    queue = JobQueue(
        engine, lease_seconds=settings.lease_seconds, retry_backoff_seconds=settings.retry_backoff_seconds
    )
    ctx.console.print(f"running {', '.join(s.name for s in [*selected, *site])} on {pool.description}")
    note = purpose_source_note(options) if any(s.name == "classify" for s in selected) else None
    if note:
        ctx.console.print(f"[yellow]{escape(note)}[/yellow]", highlight=False)
    try:
        with ctx.progress() as progress:
            task = progress.add_task("processing", total=None)
            summary = run_jobs(
                engine,
                queue,
                pool,
                selected,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                options=options,
                site=site,
            )
    except KeyboardInterrupt:
        ctx.console.print(
            "[yellow]stopped; the jobs in flight were returned to the queue. Run again to finish.[/yellow]"
        )
        raise typer.Exit(130) from None
    finally:
        pool.close()
    with engine.begin() as conn:
        audit(
            conn, current_actor(), "run", "pipeline", None, {"done": summary.done, "failed": summary.failed}
        )
    ctx.out.print(
        f"done: {summary.done}, failed: {summary.failed}, retried: {summary.retried} "
        f"in {summary.seconds:.1f} s"
    )
    for error in summary.errors[:_ERRORS_SHOWN]:
        ctx.out.print(f"  [red]x[/red] {escape(error)}", highlight=False)
    if len(summary.errors) > _ERRORS_SHOWN:
        ctx.out.print(f"  … and {len(summary.errors) - _ERRORS_SHOWN} more (callqa status lists them all)")
    print_site_results(summary.site_results)
    for name in summary.site_up_to_date:
        ctx.out.print(f"{name}: up to date (nothing new since its last run)")
    for name, cause in summary.stopped.items():
        ctx.console.print(f"[red]{name} stopped:[/red] {escape(cause)}", highlight=False)
        ctx.console.print(
            "  its jobs stay pending: fix the setting (`callqa models check` lists the models this machine "
            "has), then run `callqa run` again"
        )
    if summary.stopped:
        raise typer.Exit(2)
    all_failed = _all_failed(summary)
    if (summary.failed and not summary.done) or all_failed:
        where = f" ({', '.join(all_failed)})" if all_failed else ""
        ctx.console.print(
            f"[red]every job tried{where} failed[/red]: "
            "fix the cause above, then `callqa retry` and `callqa run`"
        )
        raise typer.Exit(1)


_ERRORS_SHOWN = 20


def _all_failed(summary) -> list[str]:
    return [s for s in summary.stage_failed if not summary.stage_done[s]]


@app.command()
def retry(
    stage: Annotated[
        str | None, typer.Option(help="Only this stage's jobs (and the stages after it).")
    ] = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Only jobs that failed for good (default: also those waiting out a retry backoff).",
        ),
    ] = False,
) -> None:
    """Requeue failed jobs with a fresh retry budget (after fixing their cause); `callqa run` then runs them,
    and the jobs after them on the same recordings."""
    from pipeline.runner import stages_after
    from pipeline.stages import registered_stages
    from store import JobQueue, audit, current_actor

    options = ctx.settings.stage_options()
    every = registered_stages(None, options)
    if stage is not None and stage not in {s.name for s in every}:
        raise ctx.fail(f"unknown stage {stage}; known: {', '.join(s.name for s in every)}")
    chosen = [s for s in every if stage is None or s.name == stage or s.name in stages_after(every)[stage]]
    engine = ctx.engine()
    requeued = JobQueue(engine).retry([s.key for s in chosen], only_failed=failed)
    with engine.begin() as conn:
        audit(conn, current_actor(), "retry", "pipeline", None, {"stage": stage, "requeued": requeued})
    ctx.out.print(f"requeued {requeued} job(s)" + (" — run `callqa run` to process them" if requeued else ""))


@app.command()
def redo(
    stage: Annotated[
        str, typer.Argument(help="The stage to run again (e.g. transcribe), with the stages after it.")
    ],
    mono: Annotated[
        bool,
        typer.Option(
            "--mono", help="Only calls recorded on one mixed channel (roles from voiceprints and the script)."
        ),
    ] = False,
    operator: Annotated[str | None, typer.Option(help="Only this operator's calls (code).")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's calls.")] = None,
    since: Annotated[str | None, typer.Option(help="Calls from this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Calls before this date.")] = None,
) -> None:
    """Run finished work again on stored calls; `callqa run` then does it. Voiceprints and the site
    script's phrases are read when a mono call is transcribed: after enrolling an operator or editing the
    script, `callqa redo transcribe --mono` applies them to the calls already processed. A call keeps
    what it has until the new results replace it; decisions people made stay."""
    from pipeline.runner import stages_after
    from pipeline.stages import registered_stages, site_stages
    from pipeline.stages.base import StageError
    from store import JobQueue, audit, current_actor
    from store.operators import unknown_scope
    from store.queries import count_picked, recordings_of

    options = ctx.settings.stage_options()
    try:
        every, site = registered_stages(None, options), site_stages(None, options)
    except StageError as e:  # a site file a stage's version reads
        raise ctx.fail(str(e)) from e
    if stage in {s.name for s in site}:
        raise ctx.fail(f"{stage} runs over all calls, not per call: `callqa analyse` runs it again")
    if stage not in {s.name for s in every}:
        raise ctx.fail(f"unknown stage {stage}; known: {', '.join(s.name for s in every)}")
    chosen = [s for s in every if s.name == stage or s.name in stages_after(every)[stage]]
    narrowed = any((operator, team, since, until))
    where = ctx.call_filter(operator, team, since, until) if narrowed else None
    picked = recordings_of(where, mono) if narrowed or mono else None
    engine = ctx.engine()
    if picked is not None:
        with engine.connect() as conn:
            matched = count_picked(conn, picked)
            unknown = unknown_scope(conn, operator, team, for_user=False) if not matched else None
        if unknown:  # a code or team mistyped: say so, not "nothing to redo"
            raise ctx.fail(unknown)
        if not matched:
            ctx.out.print(
                "nothing to redo: no recorded call matches "
                + _redo_options(mono=mono, operator=operator, team=team, since=since, until=until)
            )
            return
    requeued = JobQueue(engine).redo([s.key for s in chosen], picked)
    with engine.begin() as conn:
        audit(
            conn,
            current_actor(),
            "redo",
            "pipeline",
            None,
            {"stage": stage, "mono": mono, "operator": operator, "team": team, "since": since,
             "until": until, "requeued": requeued},
        )  # fmt: skip
    if not any(requeued.values()):
        ctx.out.print(
            f"nothing to redo: {'no call' if picked is None else 'none of those calls'} has {stage} done "
            "at its current settings "
            "(`callqa status` shows what is pending; `callqa run` does it)"
        )
        return
    counts = ", ".join(f"{n} {name}" for name, n in requeued.items())
    ctx.out.print(f"requeued {counts} job(s) — run `callqa run` to process them")


def _redo_options(**given: str | bool | None) -> str:
    """A redo's options in words: "--mono --operator 2101"."""
    words = [f"--{name}" if value is True else f"--{name} {value}" for name, value in given.items() if value]
    return " ".join(words)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Counts per stage and state, and every rejected file, malformed row and failed job."""
    from store import status_report

    engine = ctx.engine()
    with engine.connect() as conn:
        report = status_report(conn)
    if as_json:
        ctx.out.print_json(json.dumps(asdict(report), default=str))
        return
    refused = report.answered_calls_with_recording_refused
    ctx.out.print(
        f"calls: {report.calls} ({report.answered_calls_without_recording} answered without a recording"
        + (f", {refused} with their recording refused" if refused else "")
        + "); recordings: "
        + (", ".join(f"{n} {s}" for s, n in sorted(report.recordings.items())) or "none")
        + f"; {report.recordings_without_call} without a call record"
    )
    if report.answered_calls_without_recording and report.recordings_without_call:
        # Both at once is most often one call twice: a file renamed from the PBX's name, so no record
        # claims it, counted on its own beside the record whose recording seems missing.
        ctx.out.print(
            "  [yellow]answered calls without a recording and recordings without a call record: a recording "
            "renamed from the PBX's name (its uniqueid) is not matched to its call and counts as a call of "
            "its own (`callqa export calls` lists both, with their times and numbers)[/yellow]"
        )
    table = Table("stage", "pending", "running", "done", "failed", title="jobs")
    for stage, counts in report.jobs.items():
        table.add_row(stage, *(str(counts.get(s, 0)) for s in ("pending", "running", "done", "failed")))
    ctx.out.print(table)
    if report.alternatives:
        ctx.out.print(f"alternative copies ({len(report.alternatives)}), not transcribed:")
        for a in report.alternatives:
            ctx.out.print(f"  call {a['uniqueid']}: {a['path']}  [dim]({a['reason']})[/dim]")
    if report.problems:
        ctx.out.print(f"problems ({len(report.problems)}):")
        for p in report.problems:
            where = escape(f"{p.source}:{p.line}" if p.line else p.source)
            ctx.out.print(
                f"  [yellow]![/yellow] {p.kind:<10} {where}: {escape(p.message)}  [dim]({p.code})[/dim]"
            )


@models_app.command("check")
def models_check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Models to check (default: the configured one).")
    ] = None,
) -> None:
    """Resolve models to verified local directories (assembling bundled ones), or say what is missing."""
    from models import ModelError, resolve_whisper

    failed = False
    for name in names or [ctx.settings.asr.model]:
        try:
            resolved = resolve_whisper(name)
        except ModelError as e:
            ctx.out.print(f"[red]x[/red] {e}")
            failed = True
            continue
        ctx.out.print(f"ok {resolved.label}  {resolved.path}")
    if failed:
        raise typer.Exit(1)


@models_app.command("fetch")
def models_fetch(
    name: Annotated[str, typer.Argument(help="A faster-whisper model name, e.g. large-v3-turbo.")],
) -> None:
    """Download a faster-whisper model into the local cache (needs access to its model hub)."""
    from faster_whisper.utils import download_model

    from models.catalog import GPU_DEFAULT

    try:
        path = download_model(name)
    except Exception as e:
        ctx.console.print(f"[red]cannot download {name}:[/red] {e}")
        raise typer.Exit(1) from e
    if name in (GPU_DEFAULT, "turbo"):  # the same weights
        ctx.out.print(f'{name} cached at {path}; [asr] model = "auto" (the default) uses it on a CUDA device')
    else:
        ctx.out.print(f'{name} cached at {path}; set [asr] model = "{name}" in callqa.toml')


@operators_app.command("enrol")
def operators_enrol(
    code: Annotated[str, typer.Argument(help="The operator's code as in the call records (agent number).")],
    clips: Annotated[
        list[Path], typer.Argument(help="Recordings of the operator alone (10-30 s is enough).")
    ],
) -> None:
    """Enrol an operator's voice, so mono calls name the operator by voice rather than by what is said."""
    import numpy as np

    from diarization import enrol_voiceprint
    from ingest import IngestError, decode_audio
    from store.audit import current_actor
    from store.operators import save_voiceprint

    vectors = []
    for clip in clips:
        try:
            vectors.append(enrol_voiceprint(decode_audio(clip)))
        except (IngestError, ValueError) as e:
            ctx.console.print(f"[red]{clip}:[/red] {getattr(e, 'message', e)}")
            raise typer.Exit(2) from e
    mean = np.mean(vectors, axis=0)
    vector = [round(float(x), 6) for x in mean / np.linalg.norm(mean)]
    with ctx.engine().begin() as conn:
        save_voiceprint(conn, code, vector, current_actor())
    ctx.out.print(f"enrolled operator {code} from {len(clips)} clip(s)")


@operators_app.command("import")
def operators_import(
    roster: Annotated[
        Path,
        typer.Argument(
            help="CSV with operator code, name, team and optional extension(s), queue agent(s), channel(s) "
            "and helpdesk login(s) columns (header row; several values per cell separated by ';' or ',')."
        ),
    ],
    encoding: Annotated[
        str | None, typer.Option(help="The roster's text encoding (default: detected).")
    ] = None,
) -> None:
    """Import the operator roster: names and teams for scorecards and team leads, and every identity by which
    call records, queue_log and the helpdesk name an operator."""
    from ingest.errors import InputFileError
    from ingest.roster import read_roster
    from store.audit import current_actor
    from store.operators import save_roster

    try:
        result = read_roster(roster, _encoding("--encoding", encoding))
    except (InputFileError, ValueError, OSError) as e:
        ctx.console.print(f"[red]{getattr(e, 'message', e)}[/red]")
        raise typer.Exit(2) from e
    read = ", ".join(f"{key} ← {header!r}" for key, header in result.columns.items())
    ctx.console.print(f"columns read: {read}" + (f"; not read: {', '.join(map(repr, result.unread))}"
                                                   if result.unread else ""))  # fmt: skip
    for problem in [*result.problems, *result.warnings]:
        ctx.console.print(f"[yellow]{escape(problem)}[/yellow]", highlight=False)
    with ctx.engine().begin() as conn:
        outcome = save_roster(conn, result.entries, current_actor())
    for conflict in outcome.conflicts:
        ctx.console.print(f"[yellow]{conflict}[/yellow]")
    ctx.out.print(
        f"roster: {outcome.applied} operator(s) imported, {len(result.problems)} row(s) skipped; "
        f"{outcome.identities} identities, {len(outcome.conflicts)} refused as another operator's"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the current version."""
    from store import current_revision

    engine = ctx.engine(migrate=True)
    ctx.out.print(f"database at revision {current_revision(engine)}")
