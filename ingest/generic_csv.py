"""Call records from any PBX's CSV export, read through a column mapping."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from ingest.cdr import pbx_time
from ingest.mapping import ColumnMapping
from ingest.records import CallRecord, ImportResult, RowProblem
from ingest.tabular import clean, iter_csv_rows, parse_field, parse_seconds, sniff_delimiter
from ingest.textfile import read_text_file

REQUIRED_FIELDS = ("uniqueid", "start")
_TIME_FIELDS = ("start", "answer", "end")
_SECONDS_FIELDS = ("duration", "billsec")
_TEXT_FIELDS = (
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "disposition",
    "accountcode",
    "userfield",
    "linkedid",
    "operator",
    "queue",
    "direction",
    "recording",
    "incident",
)


def read_mapped_csv(
    path: Path, mapping: ColumnMapping, zone: tzinfo | None = None, encoding: str | None = None
) -> ImportResult:
    """Read call records from a headed CSV; missing required columns fail the file, bad rows are skipped.

    Times are kept as the PBX's wall clock (`ingest.cdr.pbx_time`; `zone` is the PBX's time zone).
    `encoding` (else the mapping's, else detected) decodes the file; bad bytes are reported by line."""
    text = read_text_file(path, encoding or mapping.encoding)
    result = ImportResult(problems=list(text.problems))
    source = str(path)
    rows = iter_csv_rows(text, delimiter=mapping.delimiter or sniff_delimiter(text))
    positions: dict[str, int] | None = None
    for line, cells, error in rows:
        if error:
            result.problems.append(RowProblem(source, line, "malformed_row", error))
            continue
        if positions is None:
            positions = mapping.resolve(cells, source, REQUIRED_FIELDS)
            result.problems += mapping.absent(cells, source)
            continue

        def cell(name: str, cells: list[str] = cells, positions: dict[str, int] = positions) -> str | None:
            position = positions.get(name)
            return clean(cells[position]) if position is not None and position < len(cells) else None

        try:
            values = {f: mapping.translate(f, cell(f)) for f in _TEXT_FIELDS}
            if values["disposition"]:
                values["disposition"] = values["disposition"].upper()
            record = CallRecord(
                uniqueid=cell("uniqueid") or "",
                source_file=source,
                source_line=line,
                **{f: parse_field(f, pbx_time, cell(f), zone, mapping.datetime_format) for f in _TIME_FIELDS},
                **{f: parse_field(f, parse_seconds, cell(f)) for f in _SECONDS_FIELDS},
                **values,
            )
        except (ValueError, OverflowError) as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; row skipped"))
            continue
        if not record.uniqueid or record.start is None:
            result.problems.append(
                RowProblem(source, line, "malformed_row", "no call id or no start time; row skipped")
            )
            continue
        result.rows.append(record)
    if positions is None:
        result.problems.append(RowProblem(source, None, "empty_file", "no header row, nothing to import"))
    return result
