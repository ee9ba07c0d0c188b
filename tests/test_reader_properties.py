"""Property tests of every input reader: random bytes and damaged valid files never raise (a whole file
that cannot be used is an InputFileError, which the ingest reports), and the good rows are still read."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import (
    ColumnMapping,
    InputFileError,
    decode_bytes,
    detect_encoding,
    load_mapping,
    read_incidents,
    read_mapped_csv,
    read_master_csv,
    read_queue_log,
    scan_recordings,
)
from ingest.roster import read_roster
from simulator.loadgen import SyntheticCall, cdr_row

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
START = datetime(2026, 3, 2, 9, 0)
MAPPING = ColumnMapping(
    columns={"uniqueid": "ID звонка", "start": "Начало", "billsec": "Разговор", "src": "Кто звонил"},
    delimiter=";",
)

# A damaged line: anything but a line break or a quote (an open quote rightly swallows what follows).
damage = st.binary(min_size=1, max_size=200).map(
    lambda b: b.replace(b"\n", b"").replace(b"\r", b"").replace(b'"', b"")
)


def _calls(n: int = 8) -> list[SyntheticCall]:
    return [
        SyntheticCall(
            f"1772442{i:03d}.{i}", f"7916{1000000 + i}", "8800", str(101 + i % 3),
            START + timedelta(minutes=7 * i), 30 + i, None,
        )
        for i in range(n)
    ]  # fmt: skip


def _csv(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _master_csv() -> bytes:
    return _csv([cdr_row(c) for c in _calls()])


def _queue_log() -> bytes:
    lines = [
        f"{1772442000 + 60 * i}|{c.uniqueid}|support|SIP/{c.agent}|CONNECT|3|x|1"
        for i, c in enumerate(_calls())
    ]
    return ("\n".join(lines) + "\n").encode()


def _mapped_csv() -> bytes:
    rows = [["ID звонка", "Начало", "Разговор", "Кто звонил"]]
    rows += [[c.uniqueid, f"{c.start:%d.%m.%Y %H:%M:%S}", str(c.seconds), c.src] for c in _calls()]
    return _csv(rows, ";")


def _incidents() -> bytes:
    rows = [["Номер", "Дата создания", "Телефон", "Тема", "ID звонка"]]
    rows += [
        [f"ОБР-{i}", f"{c.start:%Y-%m-%d %H:%M}", c.src, "Счёт не приходит", c.uniqueid]
        for i, c in enumerate(_calls())
    ]
    return _csv(rows)


def _roster() -> bytes:
    rows = [["Код", "ФИО", "Группа", "Добавочный"]]
    rows += [[f"A-{i}", f"Оператор {i}", "Поддержка", str(3100 + i)] for i in range(8)]
    return _csv(rows, ";")


def _read(reader, path: Path):
    """The reader's result, or None when it refused the whole file the way the ingest reports."""
    try:
        return reader(path)
    except InputFileError as e:
        assert e.code and e.message
        return None


def _keys(result) -> list[str]:
    if result is None:
        return []
    rows = getattr(result, "rows", None)
    if rows is None:  # a roster
        return [e.code for e in result.entries]
    return [getattr(r, "uniqueid", None) or getattr(r, "external_id", None) for r in rows]


READERS = {
    "master_csv": (read_master_csv, "Master.csv", _master_csv, 0),
    "queue_log": (read_queue_log, "queue_log", _queue_log, 0),
    "mapped_csv": (lambda p: read_mapped_csv(p, MAPPING), "calls.csv", _mapped_csv, 1),
    "incidents_csv": (read_incidents, "incidents.csv", _incidents, 1),
    "roster": (read_roster, "operators.csv", _roster, 1),
}


@pytest.mark.parametrize("name", [*READERS, "incidents_json", "mapping"])
@PROPERTY
@given(data=st.binary(max_size=3000))
@example(data=b"\xff\xfe\x00")
@example(data=b"\x00" * 64)
@example(data=b'"' * 10 + b"\n" + b"," * 300)
def test_random_bytes_never_raise(tmp_path, name, data):
    if name == "incidents_json":
        reader, file_name = read_incidents, "incidents.json"
    elif name == "mapping":
        reader, file_name = load_mapping, "mapping.yaml"
    else:
        reader, file_name, _, _ = READERS[name]
    path = tmp_path / file_name
    path.write_bytes(data)
    result = _read(reader, path)  # anything else escaping fails the test
    for problem in getattr(result, "problems", []) or []:
        assert str(problem)


@pytest.mark.parametrize("name", list(READERS))
@PROPERTY
@given(data=st.data(), bad=damage)
def test_a_damaged_line_costs_only_itself(tmp_path, name, data, bad):
    reader, file_name, valid, header_lines = READERS[name]
    lines = valid().split(b"\n")
    path = tmp_path / file_name
    good = _keys(reader(_write(path, lines)))
    assert len(good) == 8
    line = data.draw(st.integers(header_lines, 7 + header_lines), label="line")
    lines[line] = bad
    result = reader(_write(path, lines))
    expected = [k for i, k in enumerate(good) if i != line - header_lines]
    assert set(expected) <= set(_keys(result))


@pytest.mark.parametrize("name", list(READERS))
@PROPERTY
@given(data=st.data())
def test_stray_bytes_anywhere_never_lose_other_lines(tmp_path, name, data):
    """Bytes inserted into one line (not a break or a quote) leave every other line readable."""
    reader, file_name, valid, header_lines = READERS[name]
    lines = valid().split(b"\n")
    good = _keys(reader(_write(tmp_path / file_name, lines)))
    line = data.draw(st.integers(header_lines, 7 + header_lines), label="line")
    at = data.draw(st.integers(0, len(lines[line])), label="at")
    lines[line] = lines[line][:at] + data.draw(damage, label="bytes") + lines[line][at:]
    result = reader(_write(tmp_path / file_name, lines))
    expected = [k for i, k in enumerate(good) if i != line - header_lines]
    assert set(expected) <= set(_keys(result))


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines))
    return path


def test_json_incidents_in_utf16_are_read(tmp_path):
    path = tmp_path / "incidents.json"
    items = [{"номер": "ОБР-1", "дата": "2026-03-02 09:00"}, {"номер": "ОБР-2", "дата": "2026-03-02 10:00"}]
    path.write_bytes(json.dumps(items, ensure_ascii=False).encode("utf-16"))
    assert [r.external_id for r in read_incidents(path).rows] == ["ОБР-1", "ОБР-2"]


# ---------------------------------------------------------------- encodings

LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
words = st.lists(
    st.one_of(
        st.text(LETTERS, min_size=2, max_size=12), st.text("abcdefgh0123456789.-:", min_size=1, max_size=10)
    ),
    min_size=1,
    max_size=8,
)
rows = st.lists(words.map(lambda w: ";".join(w)), min_size=1, max_size=20).map(lambda r: "\n".join(r) + "\n")


@PROPERTY
@given(text=rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
def test_each_encoding_is_detected(text, encoding):
    raw = text.encode(encoding)
    decoded = decode_bytes(raw, "x")
    assert decoded.problems == []
    assert decoded.text == text
    if any(c in LETTERS for c in text):
        assert detect_encoding(raw).replace("-sig", "") == encoding.replace("-sig", "")


@PROPERTY
@given(text=st.text("0123456789;,.:-abc|\n", min_size=8, max_size=400))
def test_utf16_without_a_bom_is_detected(text):
    raw = text.encode("utf-16-le")
    assert decode_bytes(raw, "x").text == text


def test_one_bad_byte_in_utf8_is_reported_not_read_as_cp1251():
    raw = "Иванова;3105\n".encode() + b"Petrov\xff;3106\n"
    decoded = decode_bytes(raw, "roster.csv")
    assert decoded.encoding == "utf-8" and decoded.text.startswith("Иванова")
    (problem,) = decoded.problems
    assert (problem.line, problem.code) == (2, "bad_bytes") and "0xff at column 7" in problem.message


def test_a_named_encoding_is_used_and_an_unknown_one_refused(tmp_path):
    path = tmp_path / "queue_log"
    path.write_bytes("1772442000|1.1|поддержка|NONE|ENTERQUEUE||1|1\n".encode("koi8-r"))
    assert read_queue_log(path, encoding="koi8-r").rows[0].queue == "поддержка"
    with pytest.raises(InputFileError, match="unknown encoding"):
        read_queue_log(path, encoding="no-such-codec")


def test_scanning_a_missing_or_file_path_never_raises(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    assert scan_recordings(tmp_path / "nowhere").problems[0].code == "unreadable_folder"
    assert scan_recordings(tmp_path / "a.wav").problems[0].code == "unreadable_folder"


# ---------------------------------------------------------------- the recordings folder

entries = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(["dir", "file", "link"]), st.integers(0, 8)),
    max_size=12,
)


@PROPERTY
@given(tree=entries)
def test_any_tree_of_folders_and_links_is_scanned_without_raising(tmp_path_factory, tree):
    """Every real audio file is found once (by its real path), whatever links point where."""
    root = tmp_path_factory.mktemp("scan")
    folders, made = [root], []
    for number, (parent, kind, target) in enumerate(tree):
        where = folders[parent % len(folders)] / f"e{number}{'' if kind == 'dir' else '.wav'}"
        if kind == "dir":
            where.mkdir()
            folders.append(where)
        elif kind == "file":
            where.write_bytes(b"RIFF")
        else:  # a link to a folder, a file made so far, or nothing
            candidates = [*folders, *made, root / "missing.wav"]
            where.symlink_to(candidates[target % len(candidates)])
        made.append(where)
    scan = scan_recordings(root)
    real_files = {p.resolve() for p in made if p.is_file() and not p.is_symlink()}
    assert {p.resolve() for p in scan.paths} == real_files
    assert all(p.code in {"symlink_loop", "dangling_link"} for p in scan.problems)
