"""Operators' scorecards, transcript search, KPIs and volumes, and the audit log."""

from __future__ import annotations

from datetime import datetime, time

import altair as alt
import pandas as pd
import streamlit as st

from qa_dashboard.common import (
    clock,
    engine,
    kpi_options,
    moment,
    open_call_link,
    operator_label,
    phone_country,
    purpose_labels,
    purpose_title,
    viewer,
)
from store.api import (
    CallFilter,
    CompositeOptions,
    QuerySyntaxError,
    SearchFilter,
    SearchRefused,
    audit_entries,
    duplicate_pairs,
    kpi_table,
    list_calls,
    parse,
    query_stems,
    save_view,
    saved_views,
    search,
    token_spans,
)

# What each KPI a composite may combine is called in a sentence.
KPI_WORDS = {"handle_time": "handle time", "fcr": "first-contact resolution (repeat contacts caused)",
             "repeat_rate": "repeat contacts taken", "registration_rate": "registration rate",
             "compliance": "compliance", "csat": "customer rating"}  # fmt: skip
KPI_COLUMNS = ["calls", "handle_time", "repeat_rate", "fcr", "registration_rate", "compliance", "scored",
               "composite"]  # fmt: skip


def composite_parts(options: CompositeOptions) -> str:
    """The composite's components in words ("handle time and first-contact resolution …")."""
    words = [KPI_WORDS.get(name, name) for name in options.components]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def operators_page() -> None:
    st.title("Operators and teams")
    who = viewer()
    if not who.may("scorecards"):
        st.error("Scorecards are for team leads, quality controllers and analysts.")
        return
    options = kpi_options()
    with engine().connect() as conn:
        rows = kpi_table(conn, who, "operator", None, options)
    frame = pd.DataFrame([{"operator": operator_label(r.group, r.name),
                           **{c: getattr(r, c) for c in KPI_COLUMNS},
                           "far from the others": ", ".join(r.outliers)} for r in rows])  # fmt: skip
    st.caption(
        "Counted calls only. Compliance is of the scored calls: a call with an uncertain critical item or "
        "forbidden phrase has no score until a person decides it (the review queue). repeat_rate: calls that "
        "are a client's repeat contact; fcr: calls no repeat contact followed (a repeat counts against the "
        f"first call's operator). Composite = geometric mean of normalised {composite_parts(options)}."
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    labels = {r.group: operator_label(r.group, r.name) for r in rows}
    weekly = []
    for operator in labels:
        with engine().connect() as conn:
            by_week = kpi_table(conn, who, "week", CallFilter(operator=operator))
        for r in by_week:
            weekly.append({"operator": labels[operator], "week": r.group, "handle time": r.handle_time,
                           "compliance": r.compliance})  # fmt: skip
    if weekly:
        measure = st.radio("Trend", ["handle time", "compliance"], horizontal=True)
        st.altair_chart(alt.Chart(pd.DataFrame(weekly)).mark_line(point=True).encode(
            x="week:N", y=f"{measure}:Q", color="operator:N"), width="stretch")  # fmt: skip
    chosen = st.selectbox("Drill down to an operator's calls", ["—", *labels],
                          format_func=lambda code: labels.get(code, code))  # fmt: skip
    if chosen != "—":
        with engine().connect() as conn:
            calls = list_calls(conn, who, CallFilter(operator=chosen))
        for call in calls:
            label = (
                f"{moment(call['start_at'])} · {purpose_title(call['purpose'])} · "
                f"score {'–' if call['compliance_score'] is None else call['compliance_score']}"
            )
            if st.button(label, key=f"drill-{call['id']}"):
                open_call_link(call["id"])


def _highlight(text: str, wanted: set[str]) -> str:
    out, position = [], 0
    for stem, start, end in token_spans(text):
        out.append(text[position:start])
        hit = any(stem.startswith(w) for w in wanted)
        out.append(f"**{text[start:end]}**" if hit else text[start:end])
        position = end
    out.append(text[position:])
    return "".join(out)


def search_page() -> None:
    st.title("Search transcripts")
    who = viewer()
    if not who.may("search"):
        st.error("Search is for analysts, quality controllers and team leads.")
        return
    with engine().connect() as conn:
        views = saved_views(conn, who, "search")
    chosen = st.selectbox("Saved searches", ["—", *views])
    preset = views.get(chosen, {}) if chosen != "—" else {}
    query = st.text_input('Search (words, "exact phrase", OR, NOT / -word, word NEAR/5 "phrase")',
                          value=preset.get("query", ""))  # fmt: skip
    side = st.radio("Said by", ["anyone", "operator", "customer"], horizontal=True,
                    index=["anyone", "operator", "customer"].index(preset.get("side", "anyone")))  # fmt: skip
    operator = st.text_input("Operator code", value=preset.get("operator", ""))
    labels = purpose_labels()
    if labels:  # chosen by the title every page shows, searched by its label
        options = ["", *labels]
        kept = preset.get("purpose", "")
        purpose = st.selectbox(
            "Purpose", options, index=options.index(kept) if kept in options else 0,
            format_func=lambda label: purpose_title(label) if label else "any",
        )  # fmt: skip
    else:
        purpose = st.text_input("Purpose label", value=preset.get("purpose", ""))
    max_score = st.number_input("Score at most", 0.0, 100.0, float(preset.get("max_score", 100.0)))
    since = st.date_input("From", value=None, key="search-since")
    until = st.date_input("To", value=None, key="search-until")
    if not query:
        return
    try:
        tree = parse(query, phone_country())
    except QuerySyntaxError as e:
        st.error(str(e))
        return
    where = SearchFilter(
        role=None if side == "anyone" else side,
        operator=operator or None,
        purpose=purpose or None,
        max_score=max_score if max_score < 100 else None,
        since=datetime.combine(since, time.min) if since else None,
        until=datetime.combine(until, time.max) if until else None,
    )
    with engine().begin() as conn:
        try:
            hits = search(conn, who, query, where, country=phone_country())
        except SearchRefused as e:  # caught inside the transaction: the refused search stays audited
            st.error(str(e))
            return
    name = st.text_input("Save this search as")
    if st.button("Save search") and name:
        with engine().begin() as conn:
            save_view(conn, who, "search", name, {"query": query, "side": side, "operator": operator,
                                                  "purpose": purpose, "max_score": max_score})  # fmt: skip
        st.success(f"saved “{name}”")
    st.caption(f"{len(hits)} hit(s)")
    if not hits and type(tree).__name__ == "Phone":
        st.info(
            f"A number alone is looked up as the number a call came from or went to ({tree.number}). "
            "Numbers said in calls (INN, card, passport) are personal data and kept out of the search "
            "index: search the words around them (ИНН, номер карты) and read the number in the call."
        )
    wanted = query_stems(tree)
    for i, hit in enumerate(hits):
        text = hit["normalized_text"] or hit["text"]  # masked for the viewer by the store
        label = (
            f"{moment(hit['start_at'])} · {hit['operator'] or '–'} · {hit['role']} at {clock(hit['start'])}"
        )
        st.markdown(f"{label}: {_highlight(text, wanted)}")
        if st.button("Open at this moment", key=f"hit-{i}"):
            open_call_link(hit["call_id"], hit["start"])


def _named(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls with operators and purposes by the names every other page shows, not codes and labels."""
    calls = calls.copy()
    names = calls["operator_name"] if "operator_name" in calls else [None] * len(calls)
    calls["operator"] = [operator_label(code, name if isinstance(name, str) else None)
                         for code, name in zip(calls["operator"], names, strict=True)]  # fmt: skip
    calls["purpose"] = calls["purpose"].map(purpose_title)
    return calls


def kpis_page() -> None:
    st.title("KPIs and volumes")
    who = viewer()
    with engine().connect() as conn:
        calls = list_calls(conn, who)
    if not calls:
        st.info("No analysed calls yet: run `callqa run`.")
        return
    frame = pd.DataFrame(calls)
    counted = frame[frame["counted"]]
    rate = counted["linked"].mean() if len(counted) else None
    cols = st.columns(4)
    cols[0].metric("Calls", len(frame))
    cols[1].metric("Counted", len(counted))
    cols[2].metric("Registration rate", "–" if rate is None else f"{rate:.0%}")
    cols[3].metric("Not answered", int(frame["exclusion_reasons"].apply(lambda r: "not_answered" in r).sum()))
    reasons = frame["exclusion_reasons"].explode().dropna().value_counts().rename_axis("reason").reset_index()
    st.subheader("Exclusions by reason")
    st.bar_chart(reasons, x="reason", y="count")
    st.subheader("Peak hours")
    start = pd.to_datetime(frame["start_at"])
    heat = pd.DataFrame({"weekday": start.dt.day_name(), "hour": start.dt.hour}).value_counts().reset_index()
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    st.altair_chart(alt.Chart(heat).mark_rect().encode(
        x="hour:O", y=alt.Y("weekday:N", sort=weekdays), color="count:Q"), width="stretch")  # fmt: skip
    period = st.radio("Volumes by", ["day", "week", "month"], horizontal=True)
    freq = {"day": "D", "week": "W", "month": "MS"}[period]
    st.line_chart(frame.set_index(start).resample(freq).size().rename("calls"))
    st.subheader("Purposes over time")
    purposes = pd.DataFrame(
        {"week": start.dt.to_period("W").astype(str), "purpose": frame["purpose"].map(purpose_title)}
    )
    st.bar_chart(purposes.value_counts().reset_index(), x="week", y="count", color="purpose")
    st.subheader("Transfers per operator")
    transfers = frame[frame["transfer"].notna()].groupby("operator").size().rename("transfers")
    st.bar_chart(transfers)
    st.subheader("Repeat contacts")
    repeats = frame[frame["repeat_of_call_id"].notna()].copy()
    # The first contact by the call's own id (not the database's); one this viewer may not see shows "–".
    uniqueids = dict(zip(frame["id"], frame["uniqueid"], strict=True))
    repeats["repeat of"] = repeats["repeat_of_call_id"].map(lambda first: uniqueids.get(int(first), "–"))
    st.dataframe(
        _named(repeats)[["start_at", "uniqueid", "operator", "purpose", "repeat of"]], hide_index=True
    )
    st.subheader("Unlinked calls (worklist)")
    unlinked = _named(counted[~counted["linked"]])[["start_at", "operator", "purpose", "id"]]
    event = st.dataframe(
        unlinked, hide_index=True, on_select="rerun", selection_mode="single-row", key="worklist"
    )
    if event.selection.rows:
        open_call_link(int(unlinked.iloc[event.selection.rows[0]]["id"]))
    with engine().connect() as conn:
        duplicates = duplicate_pairs(conn, who)
    st.subheader("Duplicate incidents")
    st.dataframe(pd.DataFrame(duplicates, columns=["incident", "duplicate"]), hide_index=True)


def audit_page() -> None:
    st.title("Audit log")
    who = viewer()
    if not who.may("audit_log"):
        st.error("The audit log is for admins.")
        return
    with engine().connect() as conn:
        entries = audit_entries(conn, who)
    st.dataframe(pd.DataFrame(entries), hide_index=True, width="stretch")
