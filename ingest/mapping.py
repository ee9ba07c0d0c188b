"""Column mappings for call-record CSVs of other PBXs and for helpdesk exports.

A mapping file (YAML) names, for each field we know, the column that holds it:

    delimiter: ";"                            # optional; the header line's ",", ";" or tab is detected
    encoding: cp1251                          # optional; UTF-8, UTF-16 and cp1251 are detected without it
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
from ingest.records import RowProblem
from ingest.textfile import check_encoding, read_text_file


@dataclass
class ColumnMapping:
    """How to read one kind of CSV: field name -> column header, plus value translations."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    delimiter: str | None = None  # None: the one the header line uses (`ingest.tabular.sniff_delimiter`)
    encoding: str | None = None  # None: detected (`ingest.textfile`)
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

    def absent(self, header: list[str], source: str) -> list[RowProblem]:
        """A problem for each column the mapping names that the file's header lacks: a misspelt optional
        column would otherwise be read as empty without a word (a recording column: every call unmatched).
        Whole-file problems: reading the file again with the mapping fixed drops them."""
        present = {name.strip().lower() for name in header}
        return [
            RowProblem(source, None, "missing_column",
                       f"{field_name} (column {column!r}) is not in the file, so it was read without it; "
                       f"the file has columns {', '.join(h.strip() for h in header) or 'none'}")
            for field_name, column in self.columns.items()
            if column.strip().lower() not in present
        ]  # fmt: skip

    def translate(self, field_name: str, value: str | None) -> str | None:
        if value is None:
            return None
        return self.values.get(field_name, {}).get(value, value)


def load_mapping(path: Path, encoding: str | None = None) -> ColumnMapping:
    """Read a YAML mapping file, with errors that name the file and the problem (`encoding` None detects
    the mapping file's own encoding; its `encoding:` key is the data file's)."""
    text = read_text_file(path, encoding)
    if text.problems:
        raise InputFileError("bad_mapping", f"{text.problems[0]}")
    try:
        data = yaml.safe_load(text.text) or {}
    except yaml.YAMLError as e:
        raise InputFileError("bad_mapping", f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise InputFileError(
            "bad_mapping", f"{path}: needs a 'columns:' section mapping fields to column names"
        )
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise InputFileError("bad_mapping", f"{path}: 'values:' maps each field to {{file value: value}}")
    delimiter = data.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise InputFileError("bad_mapping", f"{path}: delimiter must be one character, not {delimiter!r}")
    file_encoding = data.get("encoding")
    if file_encoding:
        try:
            file_encoding = check_encoding(str(file_encoding))
        except ValueError as e:
            raise InputFileError("bad_mapping", f"{path}: {e}") from e
    datetime_format = data.get("datetime_format")
    return ColumnMapping(
        columns={str(k): str(v) for k, v in data["columns"].items()},
        values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        delimiter=delimiter,
        encoding=file_encoding or None,
        datetime_format=str(datetime_format) if datetime_format else None,
    )
