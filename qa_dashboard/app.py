"""The callqa dashboard: `callqa dashboard` (or `streamlit run qa_dashboard/app.py`)."""

from __future__ import annotations

import streamlit as st

from qa_dashboard.common import engine
from qa_dashboard.pages_call import call_page
from qa_dashboard.pages_calls import calls_page, review_page
from qa_dashboard.pages_insight import audit_page, kpis_page, operators_page, search_page
from qa_dashboard.users import UsersFileError, authenticate, load_users
from store.api import ROLE_TITLES, record_sign_in, visible_pages


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def _sign_in() -> None:
    st.title("callqa")
    st.caption("Speech analytics and quality monitoring")
    with st.form("sign-in"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            user = authenticate(username, password)
        except UsersFileError as e:
            st.error(str(e))
            return
        with engine().begin() as conn:
            record_sign_in(conn, username, user is not None)
        if user is None:
            st.error("Wrong user name or password.")
            return
        st.session_state["viewer"] = user.viewer()
        st.rerun()
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            match = next(
                (u for u in load_users().values() if u.email and u.email == st.user.get("email")), None
            )
            if match is None:
                st.error("Your account has no role here: ask an admin to add your e-mail to the users file.")
            else:
                st.session_state["viewer"] = match.viewer()
                st.rerun()
        st.button("Sign in with SSO", on_click=st.login)


def main() -> None:
    st.set_page_config(page_title="callqa", page_icon=":material/headset_mic:", layout="wide")
    if "viewer" not in st.session_state:
        _sign_in()
        return
    who = st.session_state["viewer"]
    pages = {
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
    visible = visible_pages(who.role)
    st.session_state["pages"] = pages
    st.sidebar.markdown(f"**{who.username}** · {ROLE_TITLES.get(who.role, who.role)}")
    if st.sidebar.button("Sign out"):
        del st.session_state["viewer"]
        st.rerun()
    if not visible:
        st.error(f"The role {who.role!r} sees nothing here: ask an admin for one of the known roles.")
        return
    st.navigation([pages[name] for name in visible]).run()


main()
