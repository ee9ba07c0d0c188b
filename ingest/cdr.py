"""Asterisk cdr_csv `Master.csv` (headerless) importer."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.errors import InputFileError
from ingest.fingerprint import row_fingerprint
from ingest.records import CallRecord, ImportResult, RowProblem
from ingest.tabular import clean, iter_csv_rows, parse_datetime, parse_field, parse_seconds, sniff_delimiter
from ingest.textfile import TextFile, read_text_file

# cdr_csv's fixed columns; `uniqueid` and `userfield` follow when loguniqueid / loguserfield are on, and
# Asterisk 12+ with newcdrcolumns=yes adds `peeraccount`, `linkedid` and `sequence`.
CDR_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
)
_MIN_COLUMNS = 16
# Column names a headed call-record export (FreePBX's `cdr` table, a PBX's CSV report) starts with.
_HEADER_NAMES = {*CDR_COLUMNS, "calldate", "recordingfile", "cnum", "cnam", "did", "call_id", "caller",
                 "callee", "duration_sec", "date", "time", "status"}  # fmt: skip
_LINES_LOOKED_AT = 5
_MAPPING_HINT = "--cdr-mapping FILE.yaml naming its columns (README: Column mappings)"
_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs"}
_EPOCH = re.compile(r"\d{9,10}(\.\d+)?")


def pbx_zone(name: str | None) -> tzinfo | None:
    """The PBX's time zone from its name ("Europe/Moscow"); None (this machine's local time) when empty.

    Raises ValueError for a name the time-zone database does not know.
    """
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def pbx_time(value: str | None, zone: tzinfo | None = None, fmt: str | None = None) -> datetime | None:
    """A call-record time as the PBX's wall clock (naive), the one clock every stored call time uses.

    Text times are the PBX's local time already; epoch seconds and times with an offset are absolute and
    are converted to the PBX's zone (this machine's when `zone` is None).
    """
    text = clean(value)
    if text is None or fmt:
        return parse_datetime(text, fmt)
    if _EPOCH.fullmatch(text):
        return datetime.fromtimestamp(float(text), zone).replace(tzinfo=None)
    if "/" in text:
        return parse_datetime(text)  # day/month order is judged there
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return parse_datetime(text)
    return parsed.astimezone(zone).replace(tzinfo=None) if parsed.tzinfo else parsed


def _is_header(cells: list[str]) -> bool:
    """A row of column names: three or more cells named like call-record columns, none a time."""
    names = [c.strip().lower() for c in cells]
    dated = any(re.match(r"\d{4}-\d\d-\d\d", n) for n in names)
    return sum(n in _HEADER_NAMES for n in names) >= 3 and not dated


def _other_delimiter(text: TextFile) -> str | None:
    """The delimiter of a file that is no Master.csv because none of its first lines has a Master.csv row's
    commas, and another delimiter leads its header (None otherwise: one damaged line refuses nothing)."""
    first = [line for line in text.text.splitlines() if line.strip()][:_LINES_LOOKED_AT]
    if not first or any(line.count(",") >= _MIN_COLUMNS - 1 for line in first):
        return None
    delimiter = sniff_delimiter(text)
    return delimiter if delimiter != "," else None


def read_master_csv(
    path: Path, zone: tzinfo | None = None, encoding: str | None = None, datetime_format: str | None = None
) -> ImportResult:
    """Read every leg in an Asterisk Master.csv; malformed rows become problems with their line number.

    Times are kept as the PBX's wall clock (`pbx_time`; `zone` is the PBX's time zone); `datetime_format`
    reads text times written another way (day/month order). `encoding` None detects it.

    Without a uniqueid column (loguniqueid=no) a stable id is derived from the row so that
    re-importing stays idempotent; such calls are matched to recordings by time and numbers.
    """
    text = read_text_file(path, encoding)
    result = ImportResult(problems=list(text.problems))
    source = str(path)
    delimiter = _other_delimiter(text)
    if delimiter:  # a PBX report or spreadsheet export, whatever the language of its header
        raise InputFileError(
            "headed_csv",
            f"{source}: its columns are separated by {_DELIMITER_NAMES[delimiter]}, but an Asterisk "
            f"Master.csv uses commas: read this export with {_MAPPING_HINT}",
        )
    for line, cells, error in iter_csv_rows(text):
        if error:
            result.problems.append(RowProblem(source, line, "malformed_row", error))
            continue
        if not result.rows and _is_header(cells):
            raise InputFileError(
                "headed_csv",
                f"{source}:{line}: starts with column names ({', '.join(c.strip() for c in cells[:6])}, …), "
                f"but an Asterisk Master.csv has none: read this export with {_MAPPING_HINT}",
            )
        if len(cells) < _MIN_COLUMNS:
            result.problems.append(
                RowProblem(
                    source,
                    line,
                    "malformed_row",
                    f"{len(cells)} columns, a Master.csv row has at least {_MIN_COLUMNS}; row skipped",
                )
            )
            continue
        row = dict(zip(CDR_COLUMNS, cells, strict=False))
        try:
            record = CallRecord(
                uniqueid=clean(row.get("uniqueid")) or "cdr-" + row_fingerprint(*cells[:_MIN_COLUMNS])[:20],
                source_file=source,
                source_line=line,
                accountcode=clean(row["accountcode"]),
                src=clean(row["src"]),
                dst=clean(row["dst"]),
                dcontext=clean(row["dcontext"]),
                clid=clean(row["clid"]),
                channel=clean(row["channel"]),
                dstchannel=clean(row["dstchannel"]),
                lastapp=clean(row["lastapp"]),
                lastdata=clean(row["lastdata"]),
                start=parse_field("start", pbx_time, row["start"], zone, datetime_format),
                answer=parse_field("answer", pbx_time, row["answer"], zone, datetime_format),
                end=parse_field("end", pbx_time, row["end"], zone, datetime_format),
                duration=parse_field("duration", parse_seconds, row["duration"]),
                billsec=parse_field("billsec", parse_seconds, row["billsec"]),
                disposition=(clean(row["disposition"]) or "").upper() or None,
                userfield=clean(row.get("userfield")),
                linkedid=clean(row.get("linkedid")),
                sequence=int(row["sequence"]) if (row.get("sequence") or "").strip().isdigit() else None,
            )
        except (ValueError, OverflowError) as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; row skipped"))
            continue
        if record.start is None:
            result.problems.append(
                RowProblem(source, line, "malformed_row", "no call start time; row skipped")
            )
            continue
        result.rows.append(record)
    return result
