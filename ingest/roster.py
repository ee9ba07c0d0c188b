"""The operator roster: operator code (PBX extension / agent), name and team, from a CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.tabular import clean, iter_csv_rows

# Accepted headers, English and Russian.
COLUMNS = {
    "code": ("code", "operator", "agent", "extension", "код", "оператор", "добавочный"),
    "name": ("name", "full_name", "имя", "фио"),
    "team": ("team", "group", "команда", "группа", "отдел"),
}


@dataclass
class RosterEntry:
    code: str
    name: str | None
    team: str | None


@dataclass
class Roster:
    """Entries read and the rows that could not be used, with their line numbers."""

    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _cell(cells: list[str], index: int) -> str | None:
    return clean(cells[index]) if 0 <= index < len(cells) else None


def read_roster(path: Path) -> Roster:
    """Read `code,name,team` rows (header required; any column order; `,` or `;`)."""
    roster = Roster()
    delimiter = ";" if ";" in Path(path).read_text(encoding="utf-8-sig").splitlines()[0] else ","
    positions: dict[str, int] = {}
    for line, cells, error in iter_csv_rows(path, delimiter):
        if error:
            roster.problems.append(f"{path}:{line}: {error}")
            continue
        if not positions:
            header = [c.strip().lower() for c in cells]
            positions = {
                key: next((header.index(n) for n in names if n in header), -1)
                for key, names in COLUMNS.items()
            }
            if positions["code"] < 0:
                raise ValueError(f"{path}: no operator code column (one of: {', '.join(COLUMNS['code'])})")
            continue

        code, name, team = (_cell(cells, positions[key]) for key in ("code", "name", "team"))
        if code is None:
            roster.problems.append(f"{path}:{line}: no operator code")
            continue
        roster.entries.append(RosterEntry(code, name, team))
    return roster
