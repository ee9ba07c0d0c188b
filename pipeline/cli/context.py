"""What every `callqa` command shares: the Typer apps, the settings, consoles, the store and progress bars.

Command modules import this one and register on `app`; nothing imports a command module but the package.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.config import ConfigError, Settings, check_db_url, load_settings

app = typer.Typer(
    help="callqa: speech analytics and quality monitoring for call centres.", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
models_app = typer.Typer(
    help="Speech models: check what is available offline, fetch from a hub.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
operators_app = typer.Typer(help="Operators: roster import, voiceprint enrolment.", no_args_is_help=True)
app.add_typer(operators_app, name="operators")


# Output read by a program or a file (not a terminal) is not cut to a terminal's 80 columns: tables keep
# their natural width up to this.
_PIPED_WIDTH = 240


def _output_console() -> Console:
    console = Console(soft_wrap=True)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = _PIPED_WIDTH
    return console


@dataclass
class CliContext:
    """The one object commands share: settings from the global options, and where to print."""

    settings: Settings = field(default_factory=Settings)
    console: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    out: Console = field(default_factory=lambda: _output_console())

    def engine(self, migrate: bool = True):
        """The store on the configured database, migrated; a clear error and exit 2 when it cannot open."""
        from sqlalchemy.exc import OperationalError

        from store import open_store

        try:
            return open_store(self.settings.db, migrate=migrate)
        except OperationalError as e:
            self.console.print(f"[red]cannot open the database[/red] {self.settings.db}: {e.orig}")
            raise typer.Exit(2) from e

    def fail(self, message: str, code: int = 2) -> typer.Exit:
        """Print an error line; raise the returned exit (`raise ctx.fail(...)`)."""
        self.console.print(f"[red]{message}[/red]")
        return typer.Exit(code)

    def call_filter(self, operator: str | None, team: str | None, since: str | None, until: str | None):
        """The calls `--operator`, `--team`, `--since` and `--until` pick; a date it cannot read exits 2."""
        from datetime import datetime

        from store.queries import CallFilter

        try:
            return CallFilter(
                operator=operator,
                team=team,
                since=datetime.fromisoformat(since) if since else None,
                until=datetime.fromisoformat(until) if until else None,
            )
        except ValueError as e:
            self.console.print(f"[red]--since/--until:[/red] {e} (use YYYY-MM-DD or YYYY-MM-DD HH:MM)")
            raise typer.Exit(2) from e

    def progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )

    @contextmanager
    def step_progress(self) -> Iterator[Callable[[str, int, int], None]]:
        """A progress display with one bar per named step, fed by `report(step, done, total)`."""
        with self.progress() as progress:
            tasks: dict[str, int] = {}

            def report(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = progress.add_task(step, total=total)
                progress.update(tasks[step], completed=done, total=total)

            yield report


ctx = CliContext()


@app.callback()
def _global(
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: CALLQA_DB or ./callqa.db).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default: ./callqa.toml).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show progress details in the log.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        ctx.settings = load_settings(config)
        if db:
            ctx.settings.db = check_db_url(db)
    except ConfigError as e:
        for problem in e.problems:
            ctx.console.print(f"[red]settings:[/red] {escape(problem)}", highlight=False)
        raise typer.Exit(2) from e
    except ValueError as e:
        ctx.console.print(f"[red]--db {escape(db)}:[/red] {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from e
