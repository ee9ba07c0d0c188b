"""The sign-in throttle: wrong passwords per user name and per client address, waits and lockouts.

Kept in the database so that every dashboard process (and a restarted one) enforces the same limits. An
attempt is counted before its password is checked and taken back when it succeeds, so parallel guesses
cannot slip past the limit while their hashes are computed. Unknown user names are throttled exactly like
known ones: the answers say nothing about which names exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contracts.sign_in import SignInRules
from store.audit import audit
from store.schema import SignInThrottle
from store.sql import utcnow

log = logging.getLogger("store")
_TABLE = SignInThrottle.__table__


@dataclass(frozen=True)
class _Key:
    key: str
    limit: int
    free: int


def _keys(username: str, address: str | None, rules: SignInRules) -> list[_Key]:
    keys = [_Key(f"user:{username[:250]}", rules.max_user_failures, rules.free_failures)]
    if address:
        keys.append(_Key(f"address:{address[:250]}", rules.max_address_failures, rules.address_free_failures))
    return keys


def _stale(rules: SignInRules, now: datetime):
    """A row whose lockout has ended or whose failures are older than the window starts afresh."""
    window_start = now - timedelta(seconds=rules.failure_window_seconds)
    return or_(
        _TABLE.c.first_failure_at < window_start,
        and_(_TABLE.c.locked_until.is_not(None), _TABLE.c.locked_until <= now),
    )


def _wait(row, key: _Key, rules: SignInRules, now: datetime) -> float:
    """Seconds before `key` may try again (0: now)."""
    if row is None:
        return 0.0
    if row.locked_until is not None:
        return max((row.locked_until - now).total_seconds(), 0.0)
    if row.first_failure_at < now - timedelta(seconds=rules.failure_window_seconds):
        return 0.0
    if row.failures >= key.limit:  # the last allowed attempts are still being checked
        return max(rules.backoff_seconds, 1.0)
    ready = row.last_attempt_at + timedelta(seconds=rules.backoff(row.failures, key.free))
    return max((ready - now).total_seconds(), 0.0)


def _count(conn: Connection, key: str, rules: SignInRules, now: datetime) -> int:
    """Count one more attempt for `key` (atomically, on both backends); the new count."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stale = _stale(rules, now)
    statement = (
        dialect.insert(_TABLE)
        .values(key=key, failures=1, first_failure_at=now, last_attempt_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": case((stale, 1), else_=_TABLE.c.failures + 1),
                "first_failure_at": case((stale, now), else_=_TABLE.c.first_failure_at),
                "locked_until": case((stale, None), else_=_TABLE.c.locked_until),
                "last_attempt_at": now,
            },
        )
        .returning(_TABLE.c.failures)
    )
    return conn.execute(statement).scalar_one()


def _uncount(conn: Connection, key: str) -> None:
    conn.execute(
        update(_TABLE)
        .where(_TABLE.c.key == key, _TABLE.c.failures > 0)
        .values(failures=_TABLE.c.failures - 1)
    )


def _waits(
    conn: Connection, keys: list[_Key], rules: SignInRules, now: datetime
) -> dict[str, tuple[float, object]]:
    rows = {r.key: r for r in conn.execute(select(_TABLE).where(_TABLE.c.key.in_([k.key for k in keys])))}
    return {k.key: (_wait(rows.get(k.key), k, rules, now), rows.get(k.key)) for k in keys}


def sign_in_wait(
    conn: Connection, username: str, address: str | None, rules: SignInRules, now: datetime | None = None
) -> float:
    """Seconds before a sign-in as `username` from `address` is heard (0: now); changes nothing."""
    waits = _waits(conn, _keys(username, address, rules), rules, now or utcnow())
    return max(wait for wait, _ in waits.values())


def begin_sign_in(
    conn: Connection, username: str, address: str | None, rules: SignInRules, now: datetime | None = None
) -> float:
    """Admit one sign-in attempt: 0 when its password may be checked now (the attempt is counted as a
    failure until `finish_sign_in` says otherwise), else the seconds to wait (the refusal is audited).

    An attempt made while a name or address must still wait starts its wait again: guessing as fast as the
    answers come keeps the guesser out, a person who waits as told gets in.
    """
    now = now or utcnow()
    keys = _keys(username, address, rules)
    waits = _waits(conn, keys, rules, now)
    wait = max(w for w, _ in waits.values())
    for key, (key_wait, row) in waits.items():
        if key_wait and row.locked_until is None:
            conn.execute(update(_TABLE).where(_TABLE.c.key == key).values(last_attempt_at=now))
    counted = []
    if not wait:
        for key in keys:
            counted.append(key.key)
            if _count(conn, key.key, rules, now) > key.limit:  # parallel attempts got there first
                wait = max(rules.backoff_seconds, 1.0)
        if wait:
            for key in counted:
                _uncount(conn, key)
    if wait:
        audit(conn, username or "?", "sign_in_refused", "user", username,
              {"address": address, "wait_seconds": round(wait, 1)})  # fmt: skip
    return wait


def finish_sign_in(
    conn: Connection,
    username: str,
    address: str | None,
    succeeded: bool,
    rules: SignInRules,
    now: datetime | None = None,
) -> None:
    """Record how an admitted attempt ended (audited): a success clears the user name's failures and takes
    the attempt back from the address; a failure that reaches a limit locks that name or address (audited)."""
    now = now or utcnow()
    keys = _keys(username, address, rules)
    audit(conn, username or "?", "sign_in" if succeeded else "sign_in_failed", "user", username,
          {"address": address})  # fmt: skip
    if succeeded:
        conn.execute(delete(_TABLE).where(_TABLE.c.key == keys[0].key))
        for key in keys[1:]:
            _uncount(conn, key.key)
        return
    # The wait after a wrong password counts from the answer, not from when its check began.
    conn.execute(update(_TABLE).where(_TABLE.c.key.in_([k.key for k in keys])).values(last_attempt_at=now))
    rows = {r.key: r for r in conn.execute(select(_TABLE).where(_TABLE.c.key.in_([k.key for k in keys])))}
    for key in keys:
        row = rows.get(key.key)
        if row is None or row.failures < key.limit:
            continue
        if row.locked_until is not None and row.locked_until > now:
            continue
        until = now + timedelta(seconds=rules.lockout_seconds)
        conn.execute(update(_TABLE).where(_TABLE.c.key == key.key).values(locked_until=until))
        kind, _, name = key.key.partition(":")
        log.warning("sign-in locked for %s %s until %s", kind, name, until)
        details = {"failures": row.failures, "until": until.isoformat(timespec="seconds"), "address": address}
        audit(conn, username or "?", "sign_in_locked", kind, name, details)
