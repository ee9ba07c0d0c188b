"""Helpdesk incident exports (CSV or JSON) with the usual column names in English or Russian."""

from __future__ import annotations

import json
import re
from pathlib import Path

from contracts import CallRules
from contracts.phones import canonical_phone, split_phones
from ingest.errors import InputFileError
from ingest.mapping import ColumnMapping
from ingest.records import ImportResult, IncidentRecord, RowProblem
from ingest.tabular import clean, iter_csv_rows, parse_datetime, sniff_delimiter
from ingest.textfile import TextFile, read_text_file

# Field -> accepted column names (first match wins); a mapping file can name others.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "incident_id", "number", "incident", "номер", "номер обращения", "id инцидента"),
    "created_at": ("created_at", "created", "date", "дата", "дата создания", "создан"),
    "inn": ("inn", "инн"),
    "kpp": ("kpp", "кпп"),
    "phone": ("phone", "phones", "client_phone", "caller", "телефон", "телефоны", "номер телефона"),
    "account": (
        "account",
        "account_number",
        "contract",
        "contract_number",
        "лицевой счёт",
        "лицевой счет",
        "л/с",
        "номер счёта",
        "номер счета",
        "договор",
        "номер договора",
    ),
    "knowledge_article": ("knowledge_article", "article", "kb_article", "знание", "статья"),
    "operator": ("operator", "agent", "оператор", "сотрудник"),
    "status": ("status", "статус"),
    "summary": ("summary", "subject", "description", "тема", "описание"),
    "client_name": ("client", "client_name", "клиент"),
    "call_uniqueids": ("call_uniqueid", "call_uniqueids", "call_id", "uniqueid", "звонок", "id звонка"),
}
REQUIRED_FIELDS = ("external_id", "created_at")
_LIST_SPLIT = re.compile(r"[;,\s]+")


def _default_mapping(header: list[str]) -> ColumnMapping:
    present = {h.strip().lower(): h.strip() for h in header}
    columns = {}
    for field_name, names in DEFAULT_COLUMNS.items():
        for name in names:
            if name in present:
                columns[field_name] = present[name]
                break
    return ColumnMapping(columns=columns)


def _record(
    values: dict[str, object], source: str, line: int, fmt: str | None, rules: CallRules
) -> IncidentRecord:
    def text(name: str) -> str | None:
        value = values.get(name)
        return clean(str(value)) if value is not None else None

    calls = values.get("call_uniqueids")
    if isinstance(calls, list):
        call_ids = [str(c).strip() for c in calls if str(c).strip()]
    else:
        call_ids = [c for c in _LIST_SPLIT.split(text("call_uniqueids") or "") if c]
    phone = values.get("phone")  # a JSON export may give a list
    inn = text("inn")
    if inn is not None and not re.fullmatch(r"\d{10}|\d{12}", inn):
        raise ValueError(f"INN {inn!r} is not 10 or 12 digits")
    external_id = text("external_id")
    if not external_id:
        raise ValueError("no incident id")
    return IncidentRecord(
        external_id=external_id,
        created_at=parse_datetime(text("created_at"), fmt),
        source_file=source,
        source_line=line,
        inn=inn,
        kpp=text("kpp"),
        phones=_phones(", ".join(map(str, phone)) if isinstance(phone, list) else text("phone"), rules),
        account=text("account"),
        knowledge_article=text("knowledge_article"),
        operator=text("operator"),
        status=text("status"),
        summary=text("summary"),
        client_name=text("client_name"),
        call_uniqueids=call_ids,
    )


def _phones(cell: str | None, rules: CallRules) -> list[str]:
    """The phone numbers in a cell, canonical; what is not a phone ("нет", "see notes") names no client."""
    found = split_phones(cell, rules)
    return [n for n in found if canonical_phone(n, rules.phone_country) == n]


def read_incidents(
    path: Path,
    mapping: ColumnMapping | None = None,
    encoding: str | None = None,
    datetime_format: str | None = None,
    rules: CallRules | None = None,
) -> ImportResult:
    """Read an incident export; the format follows the extension (.json, else CSV).

    `rules` give the site's country, which says how the clients' phones read (default: Russia's).
    `encoding` (else the mapping's, else detected) decodes the file; `datetime_format` reads the dates
    when the mapping gives none. An incident id given on several rows
    is reported with their lines and read once, from its last row (exports list later edits last).
    """
    text = read_text_file(path, encoding or (mapping.encoding if mapping else None))
    if path.suffix.lower() == ".json":
        result = _read_json(text, mapping, datetime_format, rules or CallRules())
    else:
        result = _read_csv(text, mapping, datetime_format, rules or CallRules())
    result.problems[:0] = text.problems
    return _without_duplicates(result)


def _without_duplicates(result: ImportResult) -> ImportResult:
    """Keep each incident id's last row; report the ids that appear more than once, with their lines."""
    by_id: dict[str, list[IncidentRecord]] = {}
    for record in result.rows:
        by_id.setdefault(record.external_id, []).append(record)
    kept = []
    for external_id, records in by_id.items():
        kept.append(records[-1])
        if len(records) > 1:
            lines = ", ".join(str(r.source_line) for r in records)
            result.problems.append(
                RowProblem(
                    records[-1].source_file,
                    records[0].source_line,
                    "duplicate_id",
                    f"incident {external_id} appears {len(records)} times (lines {lines}); "
                    f"line {records[-1].source_line} is used",
                )
            )
    kept.sort(key=lambda r: r.source_line)
    result.rows = kept
    return result


_MAPPING_HINT = (
    "Name the export's own columns in a mapping file (`callqa ingest --incidents-mapping mapping.yaml`, "
    "see ingest/mapping.py)"
)


_BETWEEN_ITEMS = re.compile(r"[\s,]*")


def _item_lines(text: str, items: list) -> list[int]:
    """The line each item of a JSON list of incidents starts on, so a problem points into the file; the
    items' order numbers where the list cannot be found again in the text."""
    decoder = json.JSONDecoder()
    found = re.search(r'"(?:incidents|items)"\s*:\s*\[', text) or re.search(r"\[", text)
    lines, at = [], found.end() if found else len(text)
    line, counted = 1, 0  # newlines counted up to `counted`: each stretch of the text is counted once
    try:
        while len(lines) < len(items):
            at = _BETWEEN_ITEMS.match(text, at).end()
            _, end = decoder.raw_decode(text, at)
            line += text.count("\n", counted, at)
            lines.append(line)
            counted, at = at, end
    except (ValueError, IndexError):
        return list(range(1, len(items) + 1))
    return lines


def _read_csv(
    text: TextFile, mapping: ColumnMapping | None, datetime_format: str | None, rules: CallRules
) -> ImportResult:
    result = ImportResult()
    source = text.path
    delimiter = (mapping.delimiter if mapping else None) or sniff_delimiter(text)
    positions: dict[str, int] | None = None
    active = mapping
    for line, cells, error in iter_csv_rows(text, delimiter=delimiter):
        if error:
            result.problems.append(RowProblem(source, line, "malformed_row", error))
            continue
        if positions is None:
            active = mapping or _default_mapping(cells)
            try:
                positions = active.resolve(cells, source, REQUIRED_FIELDS)
            except InputFileError as e:
                if mapping is not None:
                    raise
                raise InputFileError(e.code, f"{e.message}. {_MAPPING_HINT}") from e
            result.problems += active.absent(cells, source)
            continue
        values = {f: cells[i] for f, i in positions.items() if i < len(cells)}
        try:
            fmt = active.datetime_format or datetime_format
            result.rows.append(_record(values, source, line, fmt, rules))
        except (ValueError, OverflowError) as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; row skipped"))
    if positions is None:
        raise InputFileError("empty_file", f"{source}: no header row, nothing to import")
    return result


def _read_json(
    text: TextFile, mapping: ColumnMapping | None, datetime_format: str | None, rules: CallRules
) -> ImportResult:
    result = ImportResult()
    source = text.path
    try:
        data = json.loads(text.text)
    except json.JSONDecodeError as e:
        raise InputFileError("bad_json", f"{source}:{e.lineno}: not valid JSON ({e.msg})") from e
    except RecursionError as e:
        raise InputFileError("bad_json", f"{source}: JSON nested too deeply to read") from e
    items = data.get("incidents", data.get("items")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputFileError(
            "bad_json", f"{source}: expected a list of incidents (or {{'incidents': [...]}})"
        )
    for number, (line, item) in enumerate(zip(_item_lines(text.text, items), items, strict=True), start=1):
        if not isinstance(item, dict):
            result.problems.append(
                RowProblem(source, line, "malformed_row", f"incident #{number} is not an object")
            )
            continue
        active = mapping or _default_mapping(list(item))
        values = {f: item.get(column) for f, column in active.columns.items() if column in item}
        missing = [f for f in REQUIRED_FIELDS if values.get(f) in (None, "")]
        if missing:
            hint = "" if mapping else f". {_MAPPING_HINT}"
            result.problems.append(
                RowProblem(
                    source, line, "malformed_row", f"incident #{number} lacks {', '.join(missing)}{hint}"
                )
            )
            continue
        try:
            fmt = active.datetime_format or datetime_format
            result.rows.append(_record(values, source, line, fmt, rules))
        except (ValueError, OverflowError, TypeError) as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; incident skipped"))
    return result
