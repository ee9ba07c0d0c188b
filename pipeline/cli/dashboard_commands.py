"""Dashboard commands: start it, manage its users."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import app, ctx
from store.policy import ROLES, scope_refusal

users_app = typer.Typer(
    help="Dashboard users (the local users file, hashed passwords).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
APP = Path(__file__).resolve().parents[2] / "qa_dashboard" / "app.py"


@app.command("dashboard")
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the QA dashboard (Streamlit) on the configured database."""
    from qa_dashboard.users import load_users, users_path

    ctx.engine()  # creates or migrates the database before the first page asks for it
    if not load_users():
        ctx.console.print(
            f"[yellow]no users in {users_path()}: add one with `callqa users add NAME --role admin`[/yellow]"
        )
    env = {**os.environ, **dashboard_environment(), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
               "--server.address", address, "--server.headless", "true"]  # fmt: skip
    ctx.out.print(f"dashboard at http://{address}:{port}")
    raise typer.Exit(subprocess.call(command, env=env))


def dashboard_environment() -> dict[str, str]:
    """What the dashboard process reads instead of the settings and the classifiers: the database, the
    purposes' titles, the composite KPI's options and the country phone numbers are read in."""
    from classifiers import load_taxonomy

    analytics = ctx.settings.analytics
    taxonomy = load_taxonomy(Path(analytics.taxonomy) if analytics.taxonomy else None)
    titles = {label: topic.title for label, topic in taxonomy.topics.items()}
    return {
        "CALLQA_DB": ctx.settings.db,
        "CALLQA_PURPOSE_TITLES": json.dumps(titles, ensure_ascii=False),
        "CALLQA_KPI_OPTIONS": json.dumps(dataclasses.asdict(analytics.kpi)),
        "CALLQA_SIGN_IN": json.dumps(dataclasses.asdict(ctx.settings.sign_in)),
        "CALLQA_PHONE_COUNTRY": ctx.settings.rules.phone_country,
    }


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="admin, quality_controller, team_lead, analyst or operator")],
    operator: Annotated[str | None, typer.Option(help="For operators: their operator code.")] = None,
    team: Annotated[str | None, typer.Option(help="For team leads: the team they lead.")] = None,
    email: Annotated[
        str | None, typer.Option(help="For SSO: the e-mail the identity provider reports.")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (asked for when not given).", envvar="CALLQA_NEW_PASSWORD")
    ] = None,
    allow_no_scope: Annotated[
        bool,
        typer.Option(
            "--allow-no-scope",
            help="Save an operator without --operator or a team lead without --team (they see no call).",
        ),
    ] = False,
) -> None:
    """Add or replace a dashboard user."""
    from qa_dashboard.users import UsersFileError, add_user, users_path

    if role not in ROLES or (not allow_no_scope and scope_refusal(role, operator, team)):
        password = password or "-"  # refused below before anything is hashed or saved
    password = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(username, role, password, allow_no_scope=allow_no_scope, operator=operator, team=team,
                 email=email or "")  # fmt: skip
    except UsersFileError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    ctx.out.print(f"user {username} ({role}) saved in {users_path()}")
    if scope_refusal(role, operator, team):
        ctx.console.print(f"[yellow]{scope_refusal(role, operator, team)}[/yellow]")
    elif unknown := _unknown_scope(
        operator if role == "operator" else None, team if role == "team_lead" else None
    ):
        ctx.console.print(f"[yellow]{unknown}[/yellow]")


def _unknown_scope(operator: str | None, team: str | None) -> str | None:
    """Why a user scoped to this operator code or team would see no call, as far as the database says (no
    word when there is no database yet or it cannot be read: the user is saved all the same)."""
    from sqlalchemy.exc import SQLAlchemyError

    from store import open_store
    from store.operators import unknown_scope

    url = ctx.settings.db
    if not (operator or team) or (
        url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()
    ):
        return None
    try:
        engine = open_store(url, migrate=False)
        with engine.connect() as conn:
            return unknown_scope(conn, operator, team)
    except SQLAlchemyError:
        return None


@users_app.command("list")
def users_list() -> None:
    """The dashboard's users: role, and the operator code or team that scopes what they see."""
    from qa_dashboard.users import UsersFileError, load_users, users_path

    try:
        users = load_users()
    except UsersFileError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    if not users:
        ctx.out.print(f"no users in {users_path()} (add one with `callqa users add`)")
        return
    for user in sorted(users.values(), key=lambda u: u.username):
        scope = f"operator {user.operator}" if user.operator else f"team {user.team}" if user.team else ""
        sso = "SSO " + user.email if user.email else ""
        ctx.out.print("  ".join(p for p in (f"{user.username:<16}", f"{user.role:<18}", scope, sso) if p))


@users_app.command("remove")
def users_remove(username: Annotated[str, typer.Argument()]) -> None:
    """Remove a dashboard user; their open sessions end at their next page."""
    from qa_dashboard.users import UsersFileError, remove_user, users_path

    try:
        removed = remove_user(username)
    except UsersFileError as e:
        ctx.console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    ctx.out.print(f"user {removed.username} ({removed.role}) removed from {users_path()}")


@users_app.command("demo")
def users_demo() -> None:
    """Create one demo user per role with fresh passwords and print them (for the demo call centre)."""
    from qa_dashboard.users import demo_users, users_path
    from store.api import busiest_operator_of

    with ctx.engine().connect() as conn:
        busiest = busiest_operator_of(conn)
    code, team = busiest if busiest else ("101", "")
    passwords = demo_users(code, team or "")
    ctx.out.print(f"demo users in {users_path()} (operator = {code}, team lead of {team or '–'}):")
    for username, password in passwords.items():
        ctx.out.print(f"  {username:<11} {password}")
