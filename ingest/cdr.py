"""Asterisk cdr_csv `Master.csv` (headerless) importer."""

from __future__ import annotations

from pathlib import Path

from ingest.fingerprint import row_fingerprint
from ingest.records import CallRecord, ImportResult, RowProblem
from ingest.tabular import clean, iter_csv_rows, parse_datetime, parse_seconds

# cdr_csv's fixed columns; `uniqueid` and `userfield` follow when loguniqueid / loguserfield are on.
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
)
_MIN_COLUMNS = 16


def read_master_csv(path: Path) -> ImportResult:
    """Read every leg in an Asterisk Master.csv; malformed rows become problems with their line number.

    Without a uniqueid column (loguniqueid=no) a stable id is derived from the row so that
    re-importing stays idempotent; such calls are matched to recordings by time and numbers.
    """
    result = ImportResult()
    source = str(path)
    for line, cells, error in iter_csv_rows(path):
        if error:
            result.problems.append(RowProblem(source, line, "malformed_row", error))
            continue
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
                start=parse_datetime(row["start"]),
                answer=parse_datetime(row["answer"]),
                end=parse_datetime(row["end"]),
                duration=parse_seconds(row["duration"]),
                billsec=parse_seconds(row["billsec"]),
                disposition=(clean(row["disposition"]) or "").upper() or None,
                userfield=clean(row.get("userfield")),
            )
        except ValueError as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; row skipped"))
            continue
        if record.start is None:
            result.problems.append(
                RowProblem(source, line, "malformed_row", "no call start time; row skipped")
            )
            continue
        result.rows.append(record)
    return result
