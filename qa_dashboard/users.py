"""The local users file: usernames, roles, what operators and team leads are limited to, and scrypt
password hashes. OIDC (`st.login`) maps a signed-in e-mail to an entry of the same file.

Each hash carries its scrypt parameters ("scrypt$ln=17,r=8,p=1$salt$digest"), so the cost can be raised
without locking anyone out: a hash made with weaker parameters is replaced at its user's next sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import yaml

from store.api import ROLES, Viewer, scope_refusal

log = logging.getLogger("qa_dashboard")
DEFAULT_FILE = "users.yaml"
# OWASP's password storage guidance for scrypt: N=2^17, r=8, p=1 (128 MiB per hash).
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 17, 8, 1
# Hashes written before parameters were stored with them ("scrypt$salt$digest").
_LEGACY = (14, 8, 1)


class UsersFileError(ValueError):
    """A users file that cannot be used."""


@dataclass
class User:
    username: str
    role: str
    password_hash: str = ""
    name: str = ""
    email: str = ""
    operator: str | None = None  # operator code, for role operator
    team: str | None = None  # for role team_lead: the team they lead

    def viewer(self) -> Viewer:
        return Viewer(self.username, self.role, self.operator, self.team)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 2**log2_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=64)


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` with the current parameters, the parameters written in it."""
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    params = f"ln={SCRYPT_LOG2_N},r={SCRYPT_R},p={SCRYPT_P}"
    return f"scrypt${params}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _parse(stored: str) -> tuple[tuple[int, int, int], bytes, bytes] | None:
    parts = stored.split("$")
    try:
        if len(parts) == 3 and parts[0] == "scrypt":
            return _LEGACY, base64.b64decode(parts[1]), base64.b64decode(parts[2])
        if len(parts) == 4 and parts[0] == "scrypt":
            values = dict(item.split("=", 1) for item in parts[1].split(","))
            params = (int(values["ln"]), int(values["r"]), int(values["p"]))
            if not (1 <= params[0] <= 24 and 1 <= params[1] <= 64 and 1 <= params[2] <= 16):
                return None
            return params, base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except (ValueError, KeyError):
        return None
    return None


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (any parameters it was made with)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    params, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, *params), digest)


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than the current ones."""
    parsed = _parse(stored)
    return parsed is None or any(
        a < b for a, b in zip(parsed[0], (SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P), strict=True)
    )


@cache
def _dummy_hash() -> str:
    """A hash no password is known for: unknown users are checked against it, so that they take as long to
    refuse as a known user with a wrong password (no telling which user names exist by the answer's time)."""
    return hash_password(secrets.token_urlsafe(16))


def users_path() -> Path:
    return Path(os.environ.get("CALLQA_USERS", DEFAULT_FILE))


def load_users(path: Path | None = None) -> dict[str, User]:
    """The users in the file (none when there is no file); UsersFileError when it is not valid YAML."""
    path = path or users_path()
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UsersFileError(f"{path}: not valid YAML ({e})") from e
    users = {}
    for name, body in (data.get("users") or {}).items():
        user = User(
            username=name, **{k: v for k, v in (body or {}).items() if k in User.__dataclass_fields__}
        )
        if user.role not in ROLES:
            # Kept: that one person signs in to nothing and is told why; everyone else is unaffected.
            log.warning("%s: user %r has unknown role %r (%s)", path, name, user.role, ", ".join(ROLES))
        users[name] = user
    return users


def save_users(users: dict[str, User], path: Path | None = None) -> None:
    path = path or users_path()
    data = {"users": {u.username: {k: v for k, v in asdict(u).items() if k != "username" and v}
                      for u in users.values()}}  # fmt: skip
    # A temporary file of its own: two sign-ins upgrading hashes at once must not write into one file.
    handle, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(yaml.safe_dump(data, allow_unicode=True, sort_keys=True))
        os.chmod(temporary, 0o600)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def add_user(
    username: str,
    role: str,
    password: str,
    path: Path | None = None,
    *,
    allow_no_scope: bool = False,
    **extra,
) -> User:
    """Add or replace a user. An operator without an operator code or a team lead without a team would see
    no call at all: refused unless `allow_no_scope` (e.g. the code is not known yet)."""
    if role not in ROLES:
        raise UsersFileError(f"unknown role {role!r}: {', '.join(ROLES)}")
    if not allow_no_scope and scope_refusal(role, extra.get("operator"), extra.get("team")):
        needs = {"operator": "--operator CODE (their calls are the ones with that code)",
                 "team_lead": "--team TEAM (they see that team's calls)"}[role]  # fmt: skip
        raise UsersFileError(
            f"a {role} user needs {needs}; without it they would see no call "
            "(add --allow-no-scope to create the account anyway)"
        )
    users = load_users(path)
    users[username] = User(username, role, hash_password(password), **extra)
    save_users(users, path)
    return users[username]


def remove_user(username: str, path: Path | None = None) -> User:
    """Remove a user from the file (their open dashboard sessions end at their next page); UsersFileError
    when there is no such user."""
    users = load_users(path)
    if username not in users:
        known = ", ".join(sorted(users)) or "none"
        raise UsersFileError(f"no user {username!r} in {path or users_path()} (users: {known})")
    removed = users.pop(username)
    save_users(users, path)
    return removed


def authenticate(username: str, password: str, path: Path | None = None) -> User | None:
    """The user when the password is right, else None, in the same time whether or not the user exists; a
    hash made with weaker parameters is replaced by a current one."""
    user = load_users(path).get(username)
    stored = user.password_hash if user and user.password_hash else _dummy_hash()
    right = check_password(password, stored)
    if needs_rehash(stored):
        check_password(password, _dummy_hash())  # a cheaper old hash must not tell its user exists
    if not right or user is None or not user.password_hash:
        return None
    if needs_rehash(stored):
        users = load_users(path)
        if username in users and users[username].password_hash == stored:
            users[username].password_hash = hash_password(password)
            save_users(users, path)
            user = users[username]
    return user


def demo_users(operator_code: str, team: str, path: Path | None = None) -> dict[str, str]:
    """One user per role with a fresh random password each; returns username → password."""
    plan = {
        "admin": ("admin", {}),
        "controller": ("quality_controller", {}),
        "lead": ("team_lead", {"team": team}),
        "analyst": ("analyst", {}),
        "operator": ("operator", {"operator": operator_code}),
    }
    passwords = {}
    for username, (role, extra) in plan.items():
        passwords[username] = secrets.token_urlsafe(9)
        # Without a team the demo's lead sees no call (and says so) rather than every call.
        add_user(username, role, passwords[username], path, allow_no_scope=True, **extra)
    return passwords
