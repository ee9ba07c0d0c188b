"""The local users file: usernames, roles, what operators and team leads are limited to, and scrypt
password hashes. OIDC (`st.login`) maps a signed-in e-mail to an entry of the same file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from store.api import ROLES, Viewer

DEFAULT_FILE = "users.yaml"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def users_path() -> Path:
    return Path(os.environ.get("CALLQA_USERS", DEFAULT_FILE))


def load_users(path: Path | None = None) -> dict[str, User]:
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
            raise UsersFileError(f"{path}: user {name!r} has unknown role {user.role!r} ({', '.join(ROLES)})")
        users[name] = user
    return users


def save_users(users: dict[str, User], path: Path | None = None) -> None:
    path = path or users_path()
    data = {"users": {u.username: {k: v for k, v in asdict(u).items() if k != "username" and v}
                      for u in users.values()}}  # fmt: skip
    temporary = path.with_suffix(".tmp")
    temporary.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def add_user(username: str, role: str, password: str, path: Path | None = None, **extra) -> User:
    if role not in ROLES:
        raise UsersFileError(f"unknown role {role!r}: {', '.join(ROLES)}")
    if role == "operator" and not extra.get("operator"):
        raise UsersFileError(
            "an operator user needs --operator CODE (their calls are the ones with that code)"
        )
    users = load_users(path)
    users[username] = User(username, role, hash_password(password), **extra)
    save_users(users, path)
    return users[username]


def authenticate(username: str, password: str, path: Path | None = None) -> User | None:
    user = load_users(path).get(username)
    if user and user.password_hash and check_password(password, user.password_hash):
        return user
    return None


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
        add_user(username, role, passwords[username], path, **extra)
    return passwords
