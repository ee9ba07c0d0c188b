"""Calls: the filterable list, exports, saved filters, and the review queue."""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import streamlit as st

from qa_dashboard.common import clock, engine, open_call_link, operator_label, purpose_title, viewer
from qa_dashboard.sampling import STRATEGIES, review_queue
from store.api import (
    EXPORT_MIME_TYPES,
    CallFilter,
    count_visible_calls,
    disputed_calls,
    export_call_table,
    list_calls,
    save_view,
    saved_views,
)


def _table(rows: list[dict]) -> pd.DataFrame:
    return table_rows(rows)


# The Calls table's columns, as shown and as exported (CSV, XLSX).
COLUMNS = ["date", "operator", "team", "customer", "purpose", "score", "excluded", "linked", "transfer",
           "ASR confidence", "duration", "call record", "recording"]  # fmt: skip


def _recording_mark(state: str | None) -> str:
    """Blank for an analysed recording; "none", or "rejected: CODE" for a file refused at import."""
    return "" if state == "accepted" else (state or "none")


def table_rows(rows: list[dict]) -> pd.DataFrame:
    """The Calls table of rows from `store.api.list_calls` (caller numbers already masked for the viewer)."""
    return pd.DataFrame(
        [
            {
                "date": r["start_at"],
                "operator": operator_label(r["operator"], r.get("operator_name")),
                "team": r["team"] or "",  # blank, not Python's None
                "customer": r.get("customer_number") or "",  # the caller, or whom an operator called
                "purpose": purpose_title(r["purpose"]),
                "score": r["compliance_score"],
                "excluded": ", ".join(r["exclusion_reasons"]) or "",
                "linked": r["linked"],
                "transfer": (r["transfer"] or {}).get("target") or ("yes" if r["transfer"] else ""),
                "ASR confidence": r["asr_confidence"],
                "duration": clock(r["billsec"]),
                # A call known only from its recording: time and parties come from the file name.
                "call record": "none" if r.get("source") == "recording" else "",
                "recording": _recording_mark(r.get("recording")),
                "id": r["id"],
            }
            for r in rows
        ],
        columns=[*COLUMNS, "id"],
    )  # fmt: skip


def _filters() -> CallFilter:
    who = viewer()
    with engine().connect() as conn:
        views = saved_views(conn, who, "calls")
    chosen = st.sidebar.selectbox("Saved filter", ["—", *views], key="saved_filter")
    preset = views.get(chosen, {}) if chosen != "—" else {}
    since = st.sidebar.date_input(
        "From", value=date.fromisoformat(preset["since"]) if preset.get("since") else None
    )
    until = st.sidebar.date_input(
        "To", value=date.fromisoformat(preset["until"]) if preset.get("until") else None
    )
    operator = st.sidebar.text_input(
        "Operator code", value=preset.get("operator", ""), disabled=who.role == "operator"
    )
    # A team lead sees the team's calls only, an operator their own: the field says so instead of being
    # silently overruled.
    fixed = who.team if who.role == "team_lead" else None
    team = st.sidebar.text_input(
        "Team", value=fixed or preset.get("team", ""), disabled=fixed is not None or who.role == "operator",
        help="A team lead sees the team's calls (and the calls its queues lost)." if fixed else None,
    )  # fmt: skip
    kinds = ["all", "counted", "excluded"]
    counted = st.sidebar.radio(
        "Calls", kinds, index=kinds.index(preset.get("counted", "all")), horizontal=True
    )
    name = st.sidebar.text_input("Save these filters as")
    if st.sidebar.button("Save filter") and name:
        query = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
                 "operator": operator, "team": team, "counted": counted}  # fmt: skip
        with engine().begin() as conn:
            save_view(conn, who, "calls", name, query)
        st.sidebar.success(f"saved “{name}”")
    return CallFilter(
        operator=operator or None,
        team=team or None,
        since=datetime.combine(since, time.min) if since else None,
        until=datetime.combine(until, time.max) if until else None,
        counted={"all": None, "counted": True, "excluded": False}[counted],
    )


def _exported_rows(rows: list[dict]) -> list[dict]:
    return table_rows(rows).drop(columns=["id"]).to_dict("records")


def _export(where: CallFilter, offset: int) -> None:
    """Export buttons whose file is made only when one is pressed, by the store call that audits it: nothing
    is put up for download (no media URL) before that."""
    who, store = viewer(), engine()

    def serve(kind: str):
        def made() -> bytes:  # runs at the download, outside the script run: no st.* here
            with store.begin() as conn:
                return export_call_table(
                    conn, who, kind, COLUMNS, _exported_rows, where, PAGE_SIZE, offset
                ).data

        return made

    left, right = st.columns(2)
    left.download_button("Export CSV", serve("csv"), "calls.csv", EXPORT_MIME_TYPES["csv"], on_click="ignore")
    right.download_button("Export XLSX", serve("xlsx"), "calls.xlsx", EXPORT_MIME_TYPES["xlsx"],
                          on_click="ignore")  # fmt: skip


PAGE_SIZE = 500


def calls_page() -> None:
    st.title("Calls")
    where = _filters()
    with engine().connect() as conn:
        total = count_visible_calls(conn, viewer(), where)
        pages = max(1, -(-total // PAGE_SIZE))
        number = st.sidebar.number_input("Page", 1, pages, 1) if pages > 1 else 1
        rows = list_calls(conn, viewer(), where, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    frame = _table(rows)
    st.caption(f"{total} calls, newest first · page {number} of {pages} · select a row to open it")
    event = st.dataframe(frame.drop(columns=["id"]), on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch", key="calls_table")  # fmt: skip
    if event.selection.rows:
        open_call_link(int(frame.iloc[event.selection.rows[0]]["id"]))
    _export(where, (number - 1) * PAGE_SIZE)


# Queues that are worklists (each call leaves once a person acts), and what their calls wait for.
WAITING = {"uncertain": "wait for a person to decide an item", "disputed": "wait for a dispute's resolution"}


def review_page() -> None:
    st.title("Review queue")
    strategy = st.radio("Sample", list(STRATEGIES), format_func=STRATEGIES.get, horizontal=True)
    size = st.slider("How many", 5, 100, 20)
    with engine().connect() as conn:
        rows = list_calls(conn, viewer())
        disputed = disputed_calls(conn)
    picked = review_queue(rows, strategy, size, disputed=disputed)
    if strategy in WAITING:  # a worklist: how much of it there is, not only the first `size`
        waiting = len(review_queue(rows, strategy, len(rows), disputed=disputed))
        st.caption(f"{waiting} call(s) {WAITING[strategy]}; {len(picked)} shown")
    frame = _table(picked)
    if picked:
        frame.insert(0, "why", [p["why"] for p in picked])
    event = st.dataframe(frame.drop(columns=["id"]), on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch", key="review_table")  # fmt: skip
    if event.selection.rows:
        open_call_link(int(frame.iloc[event.selection.rows[0]]["id"]))
