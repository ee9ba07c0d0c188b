"""Shared helpers for reading call records and exports: values, dates, CSV rows."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from ingest.errors import InputFileError

_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
)


def clean(value: str | None) -> str | None:
    """Strip a CSV cell; empty means missing."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_datetime(value: str | None, fmt: str | None = None) -> datetime | None:
    """Parse a call-record timestamp in the formats PBXs and helpdesks write; None when empty.

    Raises ValueError with the offending text when it is not a date.
    """
    value = clean(value)
    if value is None:
        return None
    if fmt:
        return datetime.strptime(value, fmt)
    if re.fullmatch(r"\d{9,10}(\.\d+)?", value):
        return datetime.fromtimestamp(float(value))
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed
    except ValueError:
        pass
    for candidate in _DATETIME_FORMATS:
        try:
            return datetime.strptime(value, candidate)
        except ValueError:
            continue
    raise ValueError(f"not a date/time: {value!r}")


def parse_seconds(value: str | None) -> float | None:
    """Parse a duration in seconds ("64", "64.5", "00:01:04"); None when empty."""
    value = clean(value)
    if value is None:
        return None
    if ":" in value:
        parts = [float(p) for p in value.split(":")]
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + part
        return seconds
    result = float(value.replace(",", "."))
    if result < 0:
        raise ValueError(f"negative duration: {value!r}")
    return result


def open_text(path: Path, encoding: str = "utf-8-sig"):
    """Open an input file for reading, with a clear error when it is missing or unreadable."""
    try:
        return open(path, newline="", encoding=encoding, errors="strict")
    except FileNotFoundError as e:
        raise InputFileError("missing_file", f"{path}: no such file") from e
    except OSError as e:
        raise InputFileError("unreadable_file", f"{path}: cannot read ({e.strerror})") from e


def iter_csv_rows(
    path: Path, delimiter: str = ",", encoding: str = "utf-8-sig"
) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Yield (line number, cells, None) per non-blank CSV record, or (line, None, error) for a broken one.

    A broken record does not stop the file; undecodable text does (InputFileError), after the rows
    before it were yielded.
    """
    with open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                raise InputFileError(
                    "bad_encoding",
                    f"{path}: not {encoding} text near byte {e.start}; set the file's encoding",
                ) from e
            except csv.Error as e:
                yield reader.line_num, None, f"unreadable CSV record ({e})"
                continue
            if cells and any(c.strip() for c in cells):
                yield reader.line_num, cells, None
