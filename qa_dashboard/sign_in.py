"""Signing in and staying signed in: the throttled password check and the session's idle and total age.

The throttle lives in the store (every dashboard process sees the same counts); the rules come from the
settings, which `callqa dashboard` passes as CALLQA_SIGN_IN (JSON).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, fields

from sqlalchemy import Engine

from contracts.sign_in import SignInRules
from qa_dashboard.users import User, authenticate
from store.api import begin_sign_in, finish_sign_in

log = logging.getLogger("qa_dashboard")
WRONG = "Wrong user name or password."


def sign_in_rules() -> SignInRules:
    """The rules `callqa dashboard` passed (CALLQA_SIGN_IN), or the defaults."""
    raw = os.environ.get("CALLQA_SIGN_IN")
    if not raw:
        return SignInRules()
    known = {f.name for f in fields(SignInRules)}
    rules = SignInRules(**{k: v for k, v in json.loads(raw).items() if k in known})
    rules.check()
    return rules


@dataclass(frozen=True)
class Attempt:
    """How a sign-in went: the user, or the message to show."""

    user: User | None
    message: str = ""


def attempt_sign_in(
    engine: Engine, username: str, password: str, address: str | None, rules: SignInRules
) -> Attempt:
    """Check a password under the throttle: refused outright while the user name or the address must wait
    (the same answer for names that do not exist), else checked and recorded (audited either way)."""
    username = username.strip()
    with engine.begin() as conn:
        wait = begin_sign_in(conn, username, address, rules)
    if wait:
        return Attempt(None, f"Too many failed sign-ins: try again in {_duration(wait)}.")
    user = None
    try:
        user = authenticate(username, password)
    finally:
        with engine.begin() as conn:
            finish_sign_in(conn, username, address, user is not None, rules)
    return Attempt(user, "" if user else WRONG)


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def start_session(state: MutableMapping, user: User, now: float | None = None) -> None:
    """Sign `user` in for this browser session."""
    now = time.time() if now is None else now
    state["viewer"] = user.viewer()
    state["account"] = _account(user)
    state["signed_in_at"] = state["last_seen_at"] = now


def sign_out(state: MutableMapping) -> None:
    """End the browser session's sign-in."""
    for key in ("viewer", "account", "signed_in_at", "last_seen_at"):
        state.pop(key, None)


def _account(user: User) -> str:
    """What the session was granted on: a new password (a reset after a leak), role, scope or e-mail in the
    users file ends it."""
    granted = [user.role, user.operator, user.team, user.email, user.password_hash]
    return hashlib.sha256(json.dumps(granted).encode()).hexdigest()


def account_changed(state: MutableMapping, users: Mapping[str, User]) -> str | None:
    """Why the signed-in session no longer holds because an admin removed the account or changed its
    password, role or scope in the users file (signing it out), or None: access follows the file, not the
    sign-in."""
    viewer = state.get("viewer")
    if viewer is None:
        return None
    user = users.get(viewer.username)
    if (
        user is not None
        and user.viewer() == viewer
        and state.get("account", _account(user)) == _account(user)
    ):
        return None
    sign_out(state)
    return "Your account was removed or changed by an admin: sign in again if it still exists."


def session_expired(state: MutableMapping, rules: SignInRules, now: float | None = None) -> str | None:
    """Why the signed-in session has ended (idle too long, or older than the absolute lifetime), signing it
    out; None while it is valid (its idle clock restarts)."""
    now = time.time() if now is None else now
    started = state.get("signed_in_at", now)
    seen = state.get("last_seen_at", started)
    reason = None
    if now - started > rules.session_hours * 3600:
        reason = "Your session has reached its time limit: sign in again."
    elif now - seen > rules.idle_minutes * 60:
        reason = "You were signed out after a while without activity: sign in again."
    if reason:
        sign_out(state)
        return reason
    state["last_seen_at"] = now
    return None
