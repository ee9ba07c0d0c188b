"""What every page shares: the store engine, the signed-in viewer, formatting and masking."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from classifiers.pii import mask
from store.access import Viewer

PURPOSE_TITLES: dict[str, str] = {}


@st.cache_resource
def engine() -> Engine:
    """One engine per server process, on the configured database (CALLQA_DB or ./callqa.db)."""
    from store import open_store

    return open_store(settings().db)


@st.cache_resource
def settings():
    """The settings the dashboard was started with (callqa.toml and CALLQA_* variables)."""
    from pipeline.config import load_settings

    return load_settings()


def viewer() -> Viewer:
    return st.session_state["viewer"]


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def shown(text: str | None, who: Viewer) -> str:
    """Text as this viewer may see it (personal data masked by role)."""
    return mask(text or "", who.role)


def purpose_title(label: str | None) -> str:
    if not label:
        return "–"
    if not PURPOSE_TITLES:
        from classifiers.taxonomy import load_taxonomy

        PURPOSE_TITLES.update({k: t.title for k, t in load_taxonomy().topics.items()})
    return PURPOSE_TITLES.get(label, label)


def open_call_link(call_id: int, at: float | None = None) -> None:
    """Go to the call page (the call id travels as a query parameter, so links can be shared)."""
    st.session_state["call_id"] = call_id
    st.session_state["start_time"] = int(at or 0)
    st.switch_page(st.session_state["pages"]["call"])
