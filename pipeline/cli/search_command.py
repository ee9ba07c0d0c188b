"""`callqa search`: transcript search from the command line, as a role sees it (masked, scoped, audited)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipeline.cli.context import app, ctx
from store.policy import ROLES

SIDES = ("anyone", "operator", "customer")
QUERY_HELP = 'Words, "exact phrase", OR, NOT / -word, word NEAR/5 "phrase".'


def _minute(value) -> str:
    """A call's start to the minute (SQLite gives raw SQL's timestamps as text, PostgreSQL as datetimes)."""
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value or "")[:16]


def _clock(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help=QUERY_HELP)],
    role: Annotated[
        str, typer.Option(help=f"Search as this role sees calls (masked, in its scope): {', '.join(ROLES)}.")
    ] = "analyst",
    said_by: Annotated[str, typer.Option(help="anyone, operator or customer.")] = "anyone",
    operator: Annotated[str | None, typer.Option(help="Only this operator's calls (code).")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's calls (a lead's: their own).")] = None,
    purpose: Annotated[str | None, typer.Option(help="Only calls of this purpose (label).")] = None,
    since: Annotated[str | None, typer.Option(help="Calls from this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Calls before this date.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many hits.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit, not a table.")] = False,
) -> None:
    """Find what was said in the calls: each hit's call, operator, who said it, when, and the turn's text,
    with personal data masked for the role. Every search is in the audit log."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from store import current_actor
    from store.api import AccessDenied, SearchRefused, Viewer, search
    from store.search import SearchFilter
    from store.search_query import QuerySyntaxError

    if role not in ROLES:
        raise ctx.fail(f"--role: one of {', '.join(ROLES)}")
    if said_by not in SIDES:
        raise ctx.fail(f"--said-by: one of {', '.join(SIDES)}")
    viewer = Viewer(current_actor(), role, team=team)
    if not viewer.may("search"):
        raise ctx.fail(f"--role {role}: search is for analysts, quality controllers and team leads")
    if viewer.refusal():
        raise ctx.fail(f"--role {role}: give --team (the team they lead): it searches their calls")
    period = ctx.call_filter(None, None, since, until)
    where = SearchFilter(role=None if said_by == "anyone" else said_by, operator=operator, purpose=purpose,
                         since=period.since, until=period.until, only_team=team)  # fmt: skip
    try:
        with ctx.engine().begin() as conn:
            try:
                hits = search(conn, viewer, query, where, limit, ctx.settings.rules.phone_country)
            except SearchRefused as e:  # caught inside the transaction: the refused search stays audited
                refused = str(e)
            else:
                refused = None
    except QuerySyntaxError as e:  # the query is quoted back: escaped, so its brackets are not styles
        raise ctx.fail(f"query: {escape(str(e))}") from e
    except AccessDenied as e:
        raise ctx.fail(f"--role {role}: {escape(str(e))}") from e
    if refused:
        raise ctx.fail(f"refused: {escape(refused)}", 1)
    if as_json:
        for hit in hits:
            line = json.dumps({
                "call": hit["uniqueid"], "date": _minute(hit["start_at"]), "operator": hit["operator"],
                "said_by": hit["role"], "at": round(float(hit["start"] or 0), 2),
                "text": hit["normalized_text"] or hit["text"],
            }, ensure_ascii=False)  # fmt: skip
            typer.echo(line)  # as written: no console styling or emoji codes in a machine's input
        return
    more = f" (the first {limit}: --limit for more)" if len(hits) == limit else ""
    table = Table(title=Text(f"{len(hits)} hit(s) for {query!r}{more}"))
    for column in ("date", "call", "operator", "said by", "at", "text"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        # Text, not markup: a masked turn reads «[phone]», which rich would take for a style.
        cells = (_minute(hit["start_at"]), hit["uniqueid"], hit["operator"] or "–", hit["role"] or "–",
                 _clock(hit["start"]), hit["normalized_text"] or hit["text"] or "")  # fmt: skip
        table.add_row(*(Text(str(cell)) for cell in cells))
    ctx.out.print(table)
