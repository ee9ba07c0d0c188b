"""Export files (CSV, XLSX, JSON) made from rows the viewer-scoped API has already masked.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return that hides one)
as a formula: a caller ID such as `=HYPERLINK(…)` taken from a call record must come out as text. Every text
cell of a CSV or XLSX file goes through `neutralise`, which prefixes such a cell with an apostrophe (the
spreadsheets' own mark for "this is text"); XLSX cells are written as strings, never formulas. Numbers,
booleans and dates stay typed. JSON is no spreadsheet and keeps every value as it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

FORMATS = ("csv", "xlsx", "json")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# What starts a formula in Excel, LibreOffice or Google Sheets, full-width forms included; a tab or carriage
# return at the start moves the cell's real beginning out of sight.
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
# Characters an XLSX file cannot hold (openpyxl refuses them): control characters other than tab and newlines.
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value):
    """`value` safe for a spreadsheet cell: text that a spreadsheet would read as a formula (a formula
    character first, also after leading whitespace) gets an apostrophe in front; other values as they are."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _cell(value):
    """One cell's value: containers as JSON text, dates as ISO text when they carry a time zone."""
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, float | datetime) and value != value:
        return None  # a missing number or time (pandas' NaN, NaT) is an empty cell
    elif isinstance(value, datetime) and value.tzinfo is not None:
        value = value.isoformat(sep=" ")
    return neutralise(value)


def table_csv(columns: Sequence[str], rows: Iterable[dict]) -> bytes:
    """A CSV file (UTF-8) of `rows` (dicts by column name), every text cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow(["" if (value := _cell(row.get(c))) is None else value for c in columns])
    return out.getvalue().encode("utf-8")


def table_xlsx(columns: Sequence[str], rows: Iterable[dict], title: str = "calls") -> bytes:
    """An XLSX workbook of `rows`, every text cell neutralised and stored as a string (never a formula)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for line, values in enumerate([dict(zip(columns, columns, strict=True)), *rows], start=1):
        for column, name in enumerate(columns, start=1):
            value = _cell(values.get(name))
            if isinstance(value, str):
                value = _ILLEGAL_XLSX.sub("", value)
            cell = sheet.cell(row=line, column=column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would store a string that starts with "=" as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_json(rows: list[dict]) -> bytes:
    """The rows as a JSON array (UTF-8, values unchanged)."""
    return json.dumps(rows, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def table_file(fmt: str, columns: Sequence[str], rows: list[dict]) -> bytes:
    """`rows` as a file of format `fmt` (csv, xlsx or json)."""
    if fmt == "csv":
        return table_csv(columns, rows)
    if fmt == "xlsx":
        return table_xlsx(columns, rows)
    if fmt == "json":
        return table_json(rows)
    raise ValueError(f"an export is one of {', '.join(FORMATS)}, not {fmt!r}")


def flat_call(row: dict) -> dict:
    """An exported call as one table row: containers as JSON text, the turns as one transcript cell."""
    flat = {k: v for k, v in row.items() if k != "utterances"}
    flat["transcript"] = " / ".join(f"{u['role']}: {u['text']}" for u in row.get("utterances", []))
    return flat
