"""The callqa dashboard: `callqa dashboard` (or `streamlit run qa_dashboard/app.py`)."""

from __future__ import annotations

import logging

import streamlit as st

from qa_dashboard.common import engine
from qa_dashboard.pages_call import call_page
from qa_dashboard.pages_calls import calls_page, review_page
from qa_dashboard.pages_insight import audit_page, kpis_page, operators_page, search_page
from qa_dashboard.sign_in import (
    account_changed,
    attempt_sign_in,
    session_expired,
    sign_in_rules,
    sign_out,
    start_session,
)
from qa_dashboard.users import UsersFileError, load_users
from store.api import ROLE_TITLES, visible_pages


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def _client_address() -> str | None:
    """The browser's address as the server sees it (None where there is none, as in tests)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def _sign_in() -> None:
    st.title("callqa")
    st.caption("Speech analytics and quality monitoring")
    notice = st.session_state.pop("sign_in_notice", None)
    if notice:
        st.info(notice)
    with st.form("sign-in"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            result = attempt_sign_in(engine(), username, password, _client_address(), sign_in_rules())
        except UsersFileError as e:
            st.error(str(e))
            return
        if result.user is None:
            st.error(result.message)
            return
        start_session(st.session_state, result.user)
        st.rerun()  # on the page the address asked for: the sign-in form stood in for it
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            match = next(
                (u for u in load_users().values() if u.email and u.email == st.user.get("email")), None
            )
            if match is None:
                st.error("Your account has no role here: ask an admin to add your e-mail to the users file.")
            else:
                start_session(st.session_state, match)
                st.rerun()
        st.button("Sign in with SSO", on_click=st.login)


def _pages() -> dict[str, st.Page]:
    """The pages by name; a name is also the page's address (`/call`)."""
    return {
        "calls": st.Page(calls_page, title="Calls", icon=":material/call:", url_path="calls", default=True),
        "call": st.Page(call_page, title="Call", icon=":material/headset_mic:", url_path="call"),
        "review": st.Page(review_page, title="Review queue", icon=":material/checklist:", url_path="review"),
        "operators": st.Page(
            operators_page, title="Operators", icon=":material/groups:", url_path="operators"
        ),
        "search": st.Page(search_page, title="Search", icon=":material/search:", url_path="search"),
        "kpis": st.Page(kpis_page, title="KPIs", icon=":material/monitoring:", url_path="kpis"),
        "audit": st.Page(audit_page, title="Audit log", icon=":material/receipt_long:", url_path="audit"),
    }


def _signed_out(pages: dict[str, st.Page]) -> None:
    """The sign-in form at every page's address, so a link (`/call?call=8`) leads there after signing in."""
    stand_ins = [st.Page(_sign_in, title="Sign in", url_path=name, default=name == "calls") for name in pages]
    st.navigation(stand_ins, position="hidden").run()


def main() -> None:
    st.set_page_config(page_title="callqa", page_icon=":material/headset_mic:", layout="wide")
    pages = _pages()
    if "viewer" in st.session_state:
        expired = session_expired(st.session_state, sign_in_rules())
        if not expired:  # access follows the users file: an account gone from it (or the file) is signed out
            try:
                expired = account_changed(st.session_state, load_users())
            except UsersFileError:
                # A users file broken mid-edit signs nobody out; signing in shows the error.
                logging.getLogger(__name__).warning("users file unreadable; sessions kept", exc_info=True)
        if expired:
            st.session_state["sign_in_notice"] = expired
    if "viewer" not in st.session_state:
        _signed_out(pages)
        return
    who = st.session_state["viewer"]
    visible = visible_pages(who.role)
    st.session_state["pages"] = pages
    st.sidebar.markdown(f"**{who.username}** · {ROLE_TITLES.get(who.role, who.role)}")
    if st.sidebar.button("Sign out"):
        sign_out(st.session_state)
        st.rerun()
    refusal = who.refusal()
    if refusal or not visible:
        st.error(
            refusal or f"The role {who.role!r} sees nothing here: ask an admin for one of the known roles."
        )
        return
    st.navigation([pages[name] for name in visible]).run()


main()
