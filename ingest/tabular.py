"""Shared helpers for reading call records and exports: values, dates, CSV rows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from ingest.textfile import TextFile

T = TypeVar("T")

_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
)
_FORMAT_NAMES = (
    "YYYY-MM-DD HH:MM[:SS] (ISO 8601, with or without an offset), DD.MM.YYYY HH:MM[:SS], "
    "YYYY/MM/DD HH:MM:SS, Unix epoch seconds"
)
ACCEPTED_FORMATS = (
    f"accepted: {_FORMAT_NAMES}, or DD/MM/YYYY and MM/DD/YYYY where the numbers leave one reading; "
    "or set datetime_format in a column mapping (or --date-format)"
)
# Day and month in either order: refused when both readings are dates.
_SLASHED = re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})")


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
    slashed = _SLASHED.match(value)
    if slashed:
        return _slashed_datetime(value, slashed)
    for candidate in _DATETIME_FORMATS:
        try:
            return datetime.strptime(value, candidate)
        except ValueError:
            continue
    raise ValueError(f"not a date/time: {value!r}; {ACCEPTED_FORMATS}")


def _slashed_datetime(value: str, match: re.Match) -> datetime:
    """`nn/nn/yyyy …`: day first or month first, whichever the numbers allow; both is ambiguous."""
    first, second = int(match["a"]), int(match["b"])
    orders = []
    if first <= 31 and second <= 12:
        orders.append("%d/%m/%Y")
    if first <= 12 and second <= 31 and first != second:
        orders.append("%m/%d/%Y")
    if len(orders) > 1:
        raise ValueError(
            f"ambiguous date {value!r}: day/month or month/day? Set datetime_format in a column mapping "
            f'or give --date-format (e.g. "%d/%m/%Y %H:%M:%S"), or export one of: {_FORMAT_NAMES}'
        )
    for order in orders:
        for time_format in ("", " %H:%M:%S", " %H:%M", "T%H:%M:%S"):
            try:
                return datetime.strptime(value, order + time_format)
            except ValueError:
                continue
    raise ValueError(f"not a date/time: {value!r}; {ACCEPTED_FORMATS}")


def parse_seconds(value: str | None) -> float | None:
    """Parse a duration in seconds ("64", "64.5", "00:01:04"); None when empty."""
    value = clean(value)
    if value is None:
        return None
    try:
        if ":" in value:
            seconds = 0.0
            for part in value.split(":"):
                seconds = seconds * 60 + float(part)
            return seconds
        result = float(value.replace(",", "."))
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds (64, 64.5 or 00:01:04)") from None
    if result < 0:
        raise ValueError(f"negative duration: {value!r}")
    return result


def iter_csv_rows(
    source: TextFile, delimiter: str = ","
) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Yield (line number, cells, None) per non-blank CSV record, or (line, None, error) for a broken one.

    A broken record does not stop the file. `source` is the decoded file (`ingest.textfile.read_text_file`),
    whose bad bytes it reports itself.
    """
    reader = csv.reader(io.StringIO(source.text, newline=""), delimiter=delimiter)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, None, f"unreadable CSV record ({e})"
            continue
        if cells and any(c.strip() for c in cells):
            yield reader.line_num, cells, None


def sniff_delimiter(source: TextFile, candidates: tuple[str, ...] = (",", ";", "\t")) -> str:
    """The delimiter the header line uses most outside quoted names (the first one on a tie or a blank
    header): `"Начало, дата";"Длительность, сек"` is ';'."""
    first = re.sub(r'"[^"]*"', "", source.text.lstrip("\r\n").split("\n", 1)[0])
    return max(candidates, key=first.count)


def parse_field(name: str, parse: Callable[..., T], value: str | None, *args: Any) -> T:
    """`parse(value, *args)` for one column of a row; its error names the column ("billsec: '43O' is …")."""
    try:
        return parse(value, *args)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"{name}: {e}") from e
