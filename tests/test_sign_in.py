"""Sign-in that resists guessing and scopes that fail closed: throttles and lockouts kept in the store (on
both backends), the same answer time for unknown users, stored scrypt parameters upgraded at sign-in, idle
and absolute session expiry, and accounts without a scope that see nothing and are told why."""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import time
from datetime import datetime, timedelta

import pytest
import yaml
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from contracts.sign_in import SignInRules
from store import open_store
from store.api import (
    AccessDenied,
    Viewer,
    begin_sign_in,
    call_audio,
    client_history,
    count_visible_calls,
    duplicate_pairs,
    export_calls,
    finish_sign_in,
    kpi_table,
    list_calls,
    open_call,
    search,
    sign_in_wait,
)
from store.schema import AuditEntry
from tests.conftest import REPO
from tests.test_cli import callqa
from tests.test_store_api import centre  # noqa: F401  (a fixture)

APP = str(REPO / "qa_dashboard" / "app.py")
PASSWORD = "correct horse battery"
RULES = SignInRules()


@pytest.fixture
def users(tmp_path, monkeypatch):
    from qa_dashboard.users import add_user

    path = tmp_path / "users.yaml"
    monkeypatch.setenv("CALLQA_USERS", str(path))
    add_user("lead", "team_lead", PASSWORD, path, team="A")
    return path


def _audited(engine, action: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(AuditEntry.__table__).where(AuditEntry.action == action)).all()


# --- fail closed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [Viewer("lee", "team_lead"), Viewer("ops", "operator"),
                                 Viewer("lee", "team_lead", team=" ")])  # fmt: skip
def test_a_team_lead_without_a_team_or_an_operator_without_a_code_sees_nothing(centre, who):  # noqa: F811
    with centre["engine"].begin() as conn:
        assert list_calls(conn, who) == [] and count_visible_calls(conn, who) == 0
        assert (
            export_calls(conn, who) == [] and kpi_table(conn, who) == [] and duplicate_pairs(conn, who) == []
        )
        for reader in (open_call, call_audio):
            with pytest.raises(AccessDenied, match="no calls"):
                reader(conn, who, 1)
        with pytest.raises(AccessDenied):
            client_history(conn, who, call_id=1)
        if who.role == "team_lead":
            with pytest.raises(AccessDenied, match="no team"):
                search(conn, who, "карта")
    assert who.refusal()


def test_callqa_users_add_refuses_a_team_lead_without_a_team_unless_asked(tmp_path):
    env = {"CALLQA_USERS": str(tmp_path / "users.yaml"), "CALLQA_NEW_PASSWORD": PASSWORD}
    refused = callqa("users", "add", "lead", "--role", "team_lead", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "--team" in refused.stdout + refused.stderr
    assert not (tmp_path / "users.yaml").exists()
    refused = callqa("users", "add", "ops", "--role", "operator", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "--operator" in refused.stdout + refused.stderr
    allowed = callqa("users", "add", "lead", "--role", "team_lead", "--allow-no-scope", cwd=tmp_path, env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "no calls" in allowed.stdout + allowed.stderr
    saved = yaml.safe_load((tmp_path / "users.yaml").read_text(encoding="utf-8"))["users"]
    assert saved["lead"]["role"] == "team_lead" and "team" not in saved["lead"]
    # A code or team nobody has is saved (the calls may come later), with the reason they see nothing.
    assert not (tmp_path / "callqa.db").exists(), "saving users made no database"
    callqa("status", cwd=tmp_path, env=env)  # an empty database now
    typo = callqa("users", "add", "ops", "--role", "operator", "--operator", "Д-022", cwd=tmp_path, env=env)
    assert typo.returncode == 0 and "no operator has the code 'Д-022'" in typo.stderr, typo.stderr
    elsewhere = callqa("users", "add", "lead2", "--role", "team_lead", "--team", "Юг", cwd=tmp_path, env=env)
    assert "no operator is in the team 'Юг'" in elsewhere.stderr, elsewhere.stderr
    (tmp_path / "roster.csv").write_text(
        "code,name,extension,login,team\nA01,Priya Shah,2001,pshah,Billing\n"
    )
    assert callqa("operators", "import", str(tmp_path / "roster.csv"), cwd=tmp_path, env=env).returncode == 0
    by_extension = callqa(
        "users", "add", "priya", "--role", "operator", "--operator", "2001", cwd=tmp_path, env=env
    )
    assert "'2001' is the extension of operator A01 (Priya Shah): give the code, --operator A01" in (
        by_extension.stderr
    ), by_extension.stderr


def test_the_dashboard_tells_a_team_lead_without_a_team_why_there_is_nothing(tmp_path, monkeypatch):
    from qa_dashboard.users import add_user

    monkeypatch.setenv("CALLQA_DB", f"sqlite:///{tmp_path / 'callqa.db'}")
    monkeypatch.setenv("CALLQA_USERS", str(tmp_path / "users.yaml"))
    add_user("lee", "team_lead", PASSWORD, tmp_path / "users.yaml", allow_no_scope=True)
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["viewer"] = Viewer("lee", "team_lead")
    app.run()
    assert not app.exception
    assert any("no team" in e.value for e in app.error), [e.value for e in app.error]
    assert not app.dataframe


def test_an_account_with_an_unknown_role_signs_in_to_nothing_and_is_told_why(tmp_path, monkeypatch, users):
    from qa_dashboard.users import hash_password

    data = yaml.safe_load(users.read_text(encoding="utf-8"))
    data["users"]["aud"] = {"role": "auditor", "password_hash": hash_password(PASSWORD)}
    users.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("CALLQA_DB", f"sqlite:///{tmp_path / 'callqa.db'}")
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.text_input[0].input("aud")
    app.text_input[1].input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception
    assert any("not one callqa knows" in e.value for e in app.error), [e.value for e in app.error]
    assert not app.dataframe


# --- guessing ------------------------------------------------------------------------------------------


def test_25_wrong_passwords_in_3_seconds_then_the_right_one_does_not_sign_in(db_url, users):
    from qa_dashboard.sign_in import attempt_sign_in

    engine = open_store(db_url)
    answers, started = [], time.monotonic()
    for _ in range(25):
        answers.append(attempt_sign_in(engine, "lead", "guess", "10.0.0.9", RULES).message)
    assert time.monotonic() - started < 10
    right = attempt_sign_in(engine, "lead", PASSWORD, "10.0.0.9", RULES)
    assert right.user is None and "try again" in right.message
    assert sum(a.startswith("Too many") for a in answers) >= 20  # refused without checking the password
    assert len(_audited(engine, "sign_in_refused")) >= 20
    assert len(_audited(engine, "sign_in_failed")) <= RULES.max_user_failures
    engine.dispose()


def test_lockouts_hold_across_processes_and_are_audited(db_url):
    rules = SignInRules(free_failures=1, backoff_seconds=1, backoff_max_seconds=4, max_user_failures=4,
                        max_address_failures=6, address_free_failures=5, lockout_seconds=600)  # fmt: skip
    now = datetime(2026, 11, 30, 3, 0)
    engine = open_store(db_url)

    def fail(name: str, address: str, at: datetime) -> float:
        with engine.begin() as conn:
            wait = begin_sign_in(conn, name, address, rules, at)
            if not wait:
                finish_sign_in(conn, name, address, False, rules, at)
        return wait

    assert fail("ann", "10.0.0.1", now) == 0  # the free failure
    assert fail("ann", "10.0.0.1", now) == 0
    assert fail("ann", "10.0.0.1", now) == pytest.approx(1)  # backoff: 1 s, then 2
    for step in (1, 2):
        now += timedelta(seconds=step)
        assert fail("ann", "10.0.0.1", now) == 0
    # Four failures: locked. Another process (a second engine) sees the same lockout, a right password too.
    other = open_store(db_url)
    with other.begin() as conn:
        assert sign_in_wait(conn, "ann", "10.0.0.2", rules, now) == pytest.approx(600)
        assert begin_sign_in(conn, "ann", "10.0.0.2", rules, now + timedelta(seconds=300)) == pytest.approx(
            300
        )
    locks = _audited(engine, "sign_in_locked")
    assert [(e.object_type, e.object_id) for e in locks] == [("user", "ann")]
    # The address, guessing other names (existing or not), is locked after its own limit.
    for name in ("bob", "nobody-1"):
        now += timedelta(seconds=1)
        assert fail(name, "10.0.0.1", now) == 0
    with other.begin() as conn:
        assert sign_in_wait(conn, "carol", "10.0.0.1", rules, now) == pytest.approx(600)
        assert sign_in_wait(conn, "carol", "10.0.0.3", rules, now) == 0
    assert ("address", "10.0.0.1") in {
        (e.object_type, e.object_id) for e in _audited(engine, "sign_in_locked")
    }
    # The lockout ends; a success then clears the name's count.
    later = now + timedelta(seconds=601)
    with engine.begin() as conn:
        assert begin_sign_in(conn, "ann", "10.0.0.4", rules, later) == 0
        finish_sign_in(conn, "ann", "10.0.0.4", True, rules, later)
        assert sign_in_wait(conn, "ann", "10.0.0.4", rules, later) == 0
    other.dispose()
    engine.dispose()


def test_parallel_guesses_get_no_more_checks_than_the_limit(db_url):
    from concurrent.futures import ThreadPoolExecutor

    rules = SignInRules(max_user_failures=4)
    engine = open_store(db_url)

    def attempt(_) -> bool:
        with engine.begin() as conn:
            return begin_sign_in(conn, "ann", None, rules) == 0

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(attempt, range(16)))
    assert 1 <= admitted <= rules.max_user_failures
    engine.dispose()


def test_unknown_users_take_as_long_to_refuse_as_known_ones(users):
    from qa_dashboard.users import authenticate

    def timed(name: str) -> float:
        started = time.perf_counter()
        assert authenticate(name, "wrong password") is None
        return time.perf_counter() - started

    timed("nobody")  # the first unknown name makes the stand-in hash
    known, unknown = [], []
    for i in range(4):  # interleaved, so that a change in the machine's load hits both alike
        known.append(timed("lead"))
        unknown.append(timed(f"nobody-{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2, (known, unknown)


def test_old_hashes_verify_and_are_upgraded_at_the_next_sign_in(users):
    from qa_dashboard.users import authenticate, check_password, load_users, needs_rehash, save_users

    salt = os.urandom(16)
    legacy = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
    old = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(legacy).decode()}"
    accounts = load_users(users)
    assert accounts["lead"].password_hash.startswith("scrypt$ln=17,r=8,p=1$")
    accounts["lead"].password_hash = old
    save_users(accounts, users)
    assert needs_rehash(old) and authenticate("lead", "wrong") is None
    assert load_users(users)["lead"].password_hash == old  # a wrong password changes nothing
    assert authenticate("lead", PASSWORD) is not None
    upgraded = load_users(users)["lead"].password_hash
    assert upgraded.startswith("scrypt$ln=17,r=8,p=1$") and not needs_rehash(upgraded)
    assert check_password(PASSWORD, upgraded) and authenticate("lead", PASSWORD) is not None


# --- sessions ------------------------------------------------------------------------------------------


def test_sessions_end_after_idle_time_and_after_their_lifetime():
    from qa_dashboard.sign_in import session_expired

    rules = SignInRules(idle_minutes=30, session_hours=8)
    state = {"viewer": Viewer("ann", "analyst"), "signed_in_at": 0.0, "last_seen_at": 0.0}
    assert session_expired(state, rules, now=29 * 60) is None and state["last_seen_at"] == 29 * 60
    assert "without activity" in session_expired(state, rules, now=60 * 60) and "viewer" not in state
    state = {"viewer": Viewer("ann", "analyst"), "signed_in_at": 0.0, "last_seen_at": 0.0}
    for minute in range(20, 8 * 60, 20):  # busy all day
        assert session_expired(state, rules, now=minute * 60.0) is None
    assert "time limit" in session_expired(state, rules, now=8 * 3600 + 1) and "viewer" not in state


def test_the_dashboard_signs_out_an_idle_session(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQA_DB", f"sqlite:///{tmp_path / 'callqa.db'}")
    monkeypatch.setenv("CALLQA_SIGN_IN", '{"idle_minutes": 1}')
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["viewer"] = Viewer("ann", "analyst")
    app.session_state["signed_in_at"] = app.session_state["last_seen_at"] = time.time() - 120
    app.run()
    assert not app.exception
    assert "viewer" not in app.session_state
    assert [b.label for b in app.button] == ["Sign in"]
    assert any("without activity" in i.value for i in app.info)


def test_sign_in_settings_come_from_the_settings_file_and_are_checked(tmp_path):
    from pipeline.config import ConfigError, load_settings

    config = tmp_path / "callqa.toml"
    config.write_text("[sign_in]\nidle_minutes = 5\nmax_user_failures = 3\n", encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings.sign_in.idle_minutes == 5 and settings.sign_in.max_user_failures == 3
    config.write_text("[sign_in]\nlockout_seconds = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sign_in\.lockout_seconds"):
        load_settings(config, environ={})
    with pytest.raises(ValueError, match="lockout_seconds"):
        SignInRules(lockout_seconds=0).check()
    with pytest.raises(ValueError, match="not a number"):
        SignInRules(idle_minutes="soon").check()


def test_an_account_removed_or_changed_by_an_admin_is_signed_out_at_its_next_page(
    tmp_path, monkeypatch, users
):
    from qa_dashboard.users import load_users

    monkeypatch.setenv("CALLQA_DB", f"sqlite:///{tmp_path / 'callqa.db'}")
    env = {"CALLQA_USERS": str(users), "CALLQA_NEW_PASSWORD": PASSWORD}
    assert callqa("users", "add", "ann", "--role", "analyst", cwd=tmp_path, env=env).returncode == 0
    listed = callqa("users", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "password" not in listed.stdout and "scrypt" not in listed.stdout
    names = [line.split()[:2] for line in listed.stdout.splitlines()]
    assert names == [["ann", "analyst"], ["lead", "team_lead"]]
    assert "team A" in listed.stdout

    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["viewer"] = load_users(users)["lead"].viewer()
    app.session_state["signed_in_at"] = app.session_state["last_seen_at"] = time.time()
    app.run()
    assert not app.exception and "viewer" in app.session_state, "an unchanged account keeps its session"
    moved = callqa("users", "add", "lead", "--role", "team_lead", "--team", "B", cwd=tmp_path, env=env)
    assert moved.returncode == 0
    app.run()
    assert "viewer" not in app.session_state, "a lead moved to another team does not keep the old team's view"
    assert any("removed or changed" in i.value for i in app.info)

    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["viewer"] = load_users(users)["ann"].viewer()
    app.session_state["signed_in_at"] = app.session_state["last_seen_at"] = time.time()
    app.run()
    assert "viewer" in app.session_state
    removed = callqa("users", "remove", "ann", cwd=tmp_path, env=env)
    assert removed.returncode == 0 and "ann" not in load_users(users)
    app.run()
    assert "viewer" not in app.session_state and [b.label for b in app.button] == ["Sign in"]
    from qa_dashboard.sign_in import start_session

    app = AppTest.from_file(APP, default_timeout=60)
    start_session(app.session_state, load_users(users)["lead"])
    app.run()
    assert "viewer" in app.session_state
    reset = callqa("users", "add", "lead", "--role", "team_lead", "--team", "B", cwd=tmp_path,
                   env={**env, "CALLQA_NEW_PASSWORD": "a new one after a leak"})  # fmt: skip
    assert reset.returncode == 0
    app.run()
    assert "viewer" not in app.session_state, "a password reset ends the sessions signed in with the old one"
    users.unlink()
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["viewer"] = Viewer("lead", "team_lead", team="B")
    app.run()
    assert "viewer" not in app.session_state, "no users file, no account"
    again = callqa("users", "remove", "ann", cwd=tmp_path, env=env)
    assert again.returncode == 2 and "no user 'ann'" in again.stdout + again.stderr, again.stderr
