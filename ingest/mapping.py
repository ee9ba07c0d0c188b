"""Column mappings for call-record CSVs of other PBXs and for helpdesk exports.

A mapping file (YAML) names, for each field we know, the column that holds it:

    delimiter: ";"
    encoding: utf-8
    datetime_format: "%d.%m.%Y %H:%M:%S"     # optional; common formats are recognised without it
    columns:
      uniqueid: "ID звонка"
      start: "Начало"
      billsec: "Длительность разговора"
      src: "Кто звонил"
      operator: "Оператор"
      recording: "Файл записи"
    values:
      disposition: {"Отвечен": "ANSWERED", "Пропущен": "NO ANSWER"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.errors import InputFileError


@dataclass
class ColumnMapping:
    """How to read one kind of CSV: field name -> column header, plus value translations."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    datetime_format: str | None = None

    def resolve(self, header: list[str], source: str, required: tuple[str, ...]) -> dict[str, int]:
        """Map each field to its column index; a required field whose column is absent is an error."""
        index = {name.strip(): i for i, name in enumerate(header)}
        lowered = {name.lower(): i for name, i in index.items()}
        resolved: dict[str, int] = {}
        for field_name, column in self.columns.items():
            position = index.get(column, lowered.get(column.lower()))
            if position is not None:
                resolved[field_name] = position
        missing = [f"{f} (column {self.columns.get(f, f)!r})" for f in required if f not in resolved]
        if missing:
            raise InputFileError(
                "missing_column",
                f"{source}: missing {', '.join(missing)}; the file has columns {', '.join(index) or 'none'}",
            )
        return resolved

    def translate(self, field_name: str, value: str | None) -> str | None:
        if value is None:
            return None
        return self.values.get(field_name, {}).get(value, value)


def load_mapping(path: Path) -> ColumnMapping:
    """Read a YAML mapping file, with errors that name the file and the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise InputFileError("missing_file", f"{path}: no such mapping file") from e
    except yaml.YAMLError as e:
        raise InputFileError("bad_mapping", f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise InputFileError(
            "bad_mapping", f"{path}: needs a 'columns:' section mapping fields to column names"
        )
    return ColumnMapping(
        columns={str(k): str(v) for k, v in data["columns"].items()},
        values={
            str(k): {str(a): str(b) for a, b in v.items()} for k, v in (data.get("values") or {}).items()
        },
        delimiter=str(data.get("delimiter", ",")),
        encoding=str(data.get("encoding", "utf-8-sig")),
        datetime_format=data.get("datetime_format"),
    )
