"""Helpdesk incident exports (CSV or JSON) with the usual column names in English or Russian."""

from __future__ import annotations

import json
import re
from pathlib import Path

from contracts.phones import split_phones
from ingest.errors import InputFileError
from ingest.mapping import ColumnMapping
from ingest.records import ImportResult, IncidentRecord, RowProblem
from ingest.tabular import clean, iter_csv_rows, open_text, parse_datetime

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


def _record(values: dict[str, object], source: str, line: int, fmt: str | None) -> IncidentRecord:
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
        phones=split_phones(", ".join(map(str, phone)) if isinstance(phone, list) else text("phone")),
        account=text("account"),
        knowledge_article=text("knowledge_article"),
        operator=text("operator"),
        status=text("status"),
        summary=text("summary"),
        client_name=text("client_name"),
        call_uniqueids=call_ids,
    )


def read_incidents(path: Path, mapping: ColumnMapping | None = None) -> ImportResult:
    """Read an incident export; the format follows the extension (.json, else CSV)."""
    if path.suffix.lower() == ".json":
        return _read_json(path, mapping)
    return _read_csv(path, mapping)


def _read_csv(path: Path, mapping: ColumnMapping | None) -> ImportResult:
    result = ImportResult()
    source = str(path)
    delimiter = mapping.delimiter if mapping else _sniff_delimiter(path)
    positions: dict[str, int] | None = None
    active = mapping
    for line, cells, error in iter_csv_rows(path, delimiter=delimiter):
        if error:
            result.problems.append(RowProblem(source, line, "malformed_row", error))
            continue
        if positions is None:
            active = mapping or _default_mapping(cells)
            positions = active.resolve(cells, source, REQUIRED_FIELDS)
            continue
        values = {f: cells[i] for f, i in positions.items() if i < len(cells)}
        try:
            result.rows.append(_record(values, source, line, active.datetime_format))
        except ValueError as e:
            result.problems.append(RowProblem(source, line, "malformed_row", f"{e}; row skipped"))
    if positions is None:
        raise InputFileError("empty_file", f"{source}: no header row, nothing to import")
    return result


def _read_json(path: Path, mapping: ColumnMapping | None) -> ImportResult:
    result = ImportResult()
    source = str(path)
    with open_text(path) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as e:
            raise InputFileError("bad_json", f"{source}:{e.lineno}: not valid JSON ({e.msg})") from e
    items = data.get("incidents", data.get("items")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputFileError(
            "bad_json", f"{source}: expected a list of incidents (or {{'incidents': [...]}})"
        )
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.problems.append(RowProblem(source, number, "malformed_row", "incident is not an object"))
            continue
        active = mapping or _default_mapping(list(item))
        values = {f: item.get(column) for f, column in active.columns.items() if column in item}
        missing = [f for f in REQUIRED_FIELDS if values.get(f) in (None, "")]
        if missing:
            result.problems.append(
                RowProblem(source, number, "malformed_row", f"incident #{number} lacks {', '.join(missing)}")
            )
            continue
        try:
            result.rows.append(_record(values, source, number, active.datetime_format))
        except ValueError as e:
            result.problems.append(RowProblem(source, number, "malformed_row", f"{e}; incident skipped"))
    return result


def _sniff_delimiter(path: Path) -> str:
    with open_text(path) as handle:
        first = handle.readline()
    return max((",", ";", "\t"), key=first.count)
