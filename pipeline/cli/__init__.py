"""The `callqa` command line. Each command module registers on the shared `app` (see context.py)."""

from __future__ import annotations

from pipeline.cli import (  # noqa: F401  (registration)
    analytics_commands,
    dashboard_commands,
    pipeline_commands,
    search_command,
    simulator_commands,
)
from pipeline.cli.context import app, ctx

__all__ = ["app", "ctx", "main"]


def main() -> None:
    """Entry point of the `callqa` command."""
    app()
