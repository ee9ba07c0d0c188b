"""The operator roster: code, name, team and every identity by which records name an operator.

An operator is one person with several names: the extension(s) in the call records, the agent name in
queue_log (`Agent/101`, `PJSIP/a.petrova`, a free name), a PJSIP channel, the helpdesk login (`a.petrova`).
The roster says which of them belong together; a cell may hold several values separated by `;` or `,`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import InputFileError
from ingest.identities import identity_candidates
from ingest.tabular import clean, iter_csv_rows
from ingest.textfile import read_text_file

# Accepted headers, English and Russian (compared case-blind, `_` and `-` read as spaces).
COLUMNS = {
    # In this order: a column that names the operator (as before) wins over a personnel number, which wins
    # over an extension or agent column (those become identities).
    "code": (
        "code", "operator code", "код", "код оператора", "operator", "оператор", "employee id",
        "employee number", "personnel number", "табельный номер", "таб номер", "табельный", "agent",
        "extension", "добавочный",
    ),
    "name": ("name", "full name", "имя", "фио"),
    "team": ("team", "group", "команда", "группа", "отдел"),
    "extensions": (
        "extensions", "extension", "ext", "exten", "добавочные", "добавочный", "внутренний номер",
        "внутренний",
    ),
    "agents": ("agents", "agent", "queue agent", "queue agents", "агент", "агенты", "агент очереди"),
    "channels": ("channels", "channel", "pjsip", "sip", "канал", "каналы"),
    "logins": (
        "logins", "login", "helpdesk login", "username", "user", "логин", "логины", "учётная запись",
        "учетная запись", "пользователь",
    ),
}  # fmt: skip
# Identity columns: roster key -> the identity's kind.
IDENTITY_KINDS = {"extensions": "extension", "agents": "agent", "channels": "channel", "logins": "login"}
_SPLIT = re.compile(r"[;,]")


@dataclass
class RosterEntry:
    """One operator of the roster. `identities` are (kind, value): extension, agent, channel or login."""

    code: str
    name: str | None
    team: str | None
    identities: list[tuple[str, str]] = field(default_factory=list)
    source: str | None = None
    line: int | None = None


@dataclass
class Roster:
    """Entries read and the rows that could not be used, with their line numbers."""

    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Rows imported with something a user would want to know is missing (a name left blank).
    warnings: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # what was read -> the file's header
    unread: list[str] = field(default_factory=list)  # headers no roster column is read from


def _cell(cells: list[str], index: int) -> str | None:
    return clean(cells[index]) if 0 <= index < len(cells) else None


def _header_key(name: str) -> str:
    return " ".join(re.sub(r"[_\-]", " ", name.strip().lower()).split())


def split_values(cell: str | None) -> list[str]:
    """The values of a multi-valued cell (`3105; 3106`, `a.petrova, anna`), in order, each once."""
    values = [v.strip() for v in _SPLIT.split(cell or "")]
    return list(dict.fromkeys(v for v in values if v))


def identity_value(kind: str, value: str) -> str:
    """An identity as records will name it: a channel or agent interface without a per-call suffix."""
    if kind in ("agent", "channel") and "/" in value:
        return identity_candidates(value)[0] or value
    return value


def read_roster(path: Path, encoding: str | None = None) -> Roster:
    """Read roster rows (header required; any column order; `,` or `;` between columns).

    Columns: code (required), name, team, and optional identity columns: extension(s), queue_log agent
    name(s), channel(s), helpdesk login(s). `encoding` None detects it; bad bytes and rows are reported
    by line. Raises InputFileError when the file cannot be read or has no operator code column.
    """
    roster = Roster()
    text = read_text_file(path, encoding)
    roster.problems.extend(str(p) for p in text.problems)
    first_line = text.text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if ";" in first_line else ","
    positions: dict[str, int] = {}
    for line, cells, error in iter_csv_rows(text, delimiter):
        if error:
            roster.problems.append(f"{path}:{line}: {error}")
            continue
        if not positions:
            header = [_header_key(c) for c in cells]
            positions = {
                key: next((header.index(n) for n in names if n in header), -1)
                for key, names in COLUMNS.items()
            }
            if positions["code"] < 0:
                raise InputFileError(
                    "missing_column",
                    f"{path}:{line}: no operator code column (one of: {', '.join(COLUMNS['code'])})",
                )
            roster.columns = {key: cells[i].strip() for key, i in positions.items() if i >= 0}
            used = set(positions.values())
            roster.unread = [c.strip() for i, c in enumerate(cells) if i not in used and c.strip()]
            continue

        code, name, team = (_cell(cells, positions[key]) for key in ("code", "name", "team"))
        if code is None:
            roster.problems.append(f"{path}:{line}: no operator code")
            continue
        identities = [
            (kind, identity_value(kind, value))
            for key, kind in IDENTITY_KINDS.items()
            if positions[key] >= 0 and positions[key] != positions["code"]
            for value in split_values(_cell(cells, positions[key]))
        ]
        if name is None and positions["name"] >= 0:
            roster.warnings.append(
                f"{path}:{line}: operator {code} has no name here (one stored before is kept; without one, "
                "their calls' checklist cannot check that they introduce themselves)"
            )
        roster.entries.append(RosterEntry(code, name, team, identities, str(path), line))
    if not positions:
        raise InputFileError("empty_file", f"{path}: no header row, nothing to import")
    return roster
