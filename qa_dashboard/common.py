"""What every page shares: the store engine, the signed-in viewer, formatting, purpose titles.

The dashboard reads only through `store.api`, which scopes and masks for the viewer; what it needs of the
settings (the database, purpose titles, KPI options) `callqa dashboard` passes in the environment.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import streamlit as st
from sqlalchemy import Engine

from contracts.phones import DEFAULT_COUNTRY
from store.api import CompositeOptions, Viewer, open_engine


@st.cache_resource
def engine() -> Engine:
    """One engine per server process, on the database in CALLQA_DB (or the default ./callqa.db)."""
    return open_engine(os.environ.get("CALLQA_DB") or None)


def kpi_options() -> CompositeOptions:
    """The composite KPI's options `callqa dashboard` passed (CALLQA_KPI_OPTIONS), or the defaults."""
    raw = os.environ.get("CALLQA_KPI_OPTIONS")
    if not raw:
        return CompositeOptions()
    values = json.loads(raw)
    values["components"] = tuple(values.get("components", CompositeOptions().components))
    return CompositeOptions(**values)


def phone_country() -> str:
    """The country a typed phone number is read in (CALLQA_PHONE_COUNTRY, from `[analytics.exclusions]`)."""
    return os.environ.get("CALLQA_PHONE_COUNTRY") or DEFAULT_COUNTRY


def viewer() -> Viewer:
    return st.session_state["viewer"]


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def moment(value: datetime | str | None) -> str:
    """A call's date and time to the second, as a person reads it (no microseconds); a stored time may come
    back as text (raw SQL over SQLite)."""
    if not value:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


def operator_label(code: str | None, name: str | None = None) -> str:
    """An operator as people know them: the roster's name with the code, or the code alone."""
    if not code:
        return "–"
    return f"{name} ({code})" if name else code


def purpose_title(label: str | None) -> str:
    """A purpose's title as the site's taxonomy names it (CALLQA_PURPOSE_TITLES), else its label."""
    if not label:
        return "–"
    return _purpose_titles().get(label, label)


def purpose_labels() -> list[str]:
    """The site's purposes (the taxonomy's labels, CALLQA_PURPOSE_TITLES), in its order."""
    return list(_purpose_titles())


def _purpose_titles() -> dict[str, str]:
    try:
        return json.loads(os.environ.get("CALLQA_PURPOSE_TITLES") or "{}")
    except ValueError:
        return {}


def open_call_link(call_id: int, at: float | None = None) -> None:
    """Go to the call page (the call id travels as a query parameter, so links can be shared)."""
    st.session_state["call_id"] = call_id
    st.session_state["start_time"] = int(at or 0)
    st.switch_page(st.session_state["pages"]["call"])
