"""Operators: the roster (names, teams, identities), resolving the names records give, and enrolled
voiceprints (label the operator in mono calls).

Who a record's operator is follows one rule, here:
- With a roster (any identity stored), only the roster says who operators are. A record's candidate names
  (ingest decides them, most specific first) are looked up among the identities, then among operator codes;
  a name that matches nothing is unknown: reported, and no operator is invented for it.
- Without a roster, the PBX defines operators as it always has: the extension or agent name a record
  gives becomes an operator's code, created the first time it is seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, exists, select, update

from store.audit import audit
from store.schema import Operator, OperatorIdentity
from store.sql import insert_ignore


def save_voiceprint(conn: Connection, operator_code: str, vector: list[float], actor: str) -> None:
    """Enrol (or re-enrol) an operator's voice; the operator is created when not yet known."""
    insert_ignore(conn, Operator.__table__, [{"code": operator_code}], ("code",))
    conn.execute(update(Operator).where(Operator.code == operator_code).values(voiceprint=vector))
    audit(conn, actor, "enrol_voiceprint", "operator", operator_code)


def load_voiceprints(conn: Connection, operator_id: int | None = None) -> dict[str, list[float]]:
    """Voiceprints by operator code: the call's operator's alone when known and enrolled, else everyone's."""
    query = select(Operator.code, Operator.voiceprint, Operator.id).where(Operator.voiceprint.is_not(None))
    rows = conn.execute(query).all()
    own = {code: vector for code, vector, op_id in rows if op_id == operator_id}
    return own or {code: vector for code, vector, _ in rows}


# ---------------------------------------------------------------- roster


def identity_key(value: str) -> str:
    """How identities compare: case-blind, without surrounding space (`A.Petrova` is `a.petrova`)."""
    return value.strip().casefold()


@dataclass
class RosterOutcome:
    """What importing a roster did: entries applied, identities stored, and those refused (another
    operator has them)."""

    applied: int = 0
    identities: int = 0
    conflicts: list[str] = field(default_factory=list)


def _where(entry: Any) -> str:
    source, line = getattr(entry, "source", None), getattr(entry, "line", None)
    return f"{source}:{line}: " if source and line else (f"{source}: " if source else "")


def save_roster(conn: Connection, entries: Sequence[Any], actor: str) -> RosterOutcome:
    """Create or update operators (an `ingest.roster.RosterEntry` each: code, name, team, identities).

    The roster replaces the identities of the operators it lists; each identity (the code included) belongs
    to one operator: one already held by an operator not in this roster, or claimed twice in it, is refused
    and reported as a conflict.
    """
    outcome = RosterOutcome()
    codes = list(dict.fromkeys(entry.code for entry in entries))
    insert_ignore(conn, Operator.__table__, [{"code": c} for c in codes], ("code",))
    ids = dict(conn.execute(select(Operator.code, Operator.id).where(Operator.code.in_(codes))).all())
    for entry in entries:
        values = {k: v for k, v in (("name", entry.name), ("team", entry.team)) if v}
        if values:
            conn.execute(update(Operator).where(Operator.id == ids[entry.code]).values(**values))
    listed = set(ids.values())
    conn.execute(delete(OperatorIdentity).where(OperatorIdentity.operator_id.in_(listed)))
    held = {
        key: (operator_id, code)
        for key, operator_id, code in conn.execute(
            select(OperatorIdentity.key, OperatorIdentity.operator_id, Operator.code).join(
                Operator, Operator.id == OperatorIdentity.operator_id
            )
        )
    }
    rows = []
    for entry in entries:
        operator_id = ids[entry.code]
        for kind, value in [("code", entry.code), *getattr(entry, "identities", [])]:
            key = identity_key(value)
            holder = held.get(key)
            if holder is None:
                held[key] = (operator_id, entry.code)
                rows.append({"operator_id": operator_id, "kind": kind, "value": value, "key": key})
            elif holder[0] != operator_id:
                outcome.conflicts.append(
                    f"{_where(entry)}{kind} '{value}' of operator {entry.code} already belongs to operator "
                    f"{holder[1]}; kept there"
                )
    insert_ignore(conn, OperatorIdentity.__table__, rows, ("key",))
    outcome.applied = len(entries)
    outcome.identities = len(rows)
    audit(
        conn, actor, "import_roster", "operators", None,
        {"entries": len(entries), "identities": len(rows), "conflicts": len(outcome.conflicts)},
    )  # fmt: skip
    return outcome


def operator_identities(conn: Connection) -> dict[str, list[tuple[str, str]]]:
    """Every operator's identities as (kind, value), by operator code."""
    found: dict[str, list[tuple[str, str]]] = {}
    rows = conn.execute(
        select(Operator.code, OperatorIdentity.kind, OperatorIdentity.value)
        .join(Operator, Operator.id == OperatorIdentity.operator_id)
        .order_by(Operator.code, OperatorIdentity.id)
    )
    for code, kind, value in rows:
        found.setdefault(code, []).append((kind, value))
    return found


# ---------------------------------------------------------------- resolving


def _candidates(ref: Any) -> tuple[str, ...]:
    """A reference's candidate names: an `ingest.identities.OperatorIdentity`, or a plain name."""
    return tuple(getattr(ref, "candidates", None) or ((ref,) if isinstance(ref, str) and ref.strip() else ()))


def _code(ref: Any) -> str:
    return getattr(ref, "code", None) or _candidates(ref)[-1]


@dataclass
class Resolution:
    """Operator ids for the references that name a known operator, and those that name none."""

    ids: dict[Any, int] = field(default_factory=dict)
    unknown: list[Any] = field(default_factory=list)


def operator_names(conn: Connection) -> dict[str, str]:
    """Operator code -> name, for the operators the roster names."""
    rows = conn.execute(select(Operator.code, Operator.name).where(Operator.name.is_not(None)))
    return {code: name for code, name in rows if name}


def unknown_scope(
    conn: Connection, operator: str | None, team: str | None, for_user: bool = True
) -> str | None:
    """Why a dashboard user scoped to `operator` (a code) or `team` would see no call (`for_user`), or a
    command narrowed to them would find none: no operator has that code, or no operator is in that team
    (None when the scope is known, or not given)."""
    if operator and conn.execute(select(Operator.id).where(Operator.code == operator)).first() is None:
        named = conn.execute(
            select(OperatorIdentity.kind, Operator.code, Operator.name)
            .join(Operator, Operator.id == OperatorIdentity.operator_id)
            .where(OperatorIdentity.key == identity_key(operator))
        ).first()
        if named is not None:  # an extension or login given for the code
            kind, code, name = named
            who = f"{code} ({name})" if name else code
            return f"{operator!r} is the {kind} of operator {who}: give the code, --operator {code}"
        codes = conn.execute(select(Operator.code).order_by(Operator.code).limit(12)).scalars().all()
        until = ": this user sees no call until that operator's calls are ingested" if for_user else ""
        return f"no operator has the code {operator!r} (known: {', '.join(codes) or 'none yet'})" + until
    if team and conn.execute(select(Operator.id).where(Operator.team == team)).first() is None:
        teams = conn.execute(select(Operator.team).where(Operator.team.is_not(None)).distinct()).scalars()
        until = ": this user sees no call until the roster puts operators in it" if for_user else ""
        return (
            f"no operator is in the team {team!r} (known: {', '.join(sorted(teams)) or 'none yet'})" + until
        )
    return None


def has_roster(conn: Connection) -> bool:
    """True once a roster was imported (operators then come only from it)."""
    return bool(conn.execute(select(exists().select_from(OperatorIdentity))).scalar())


def resolve_operators(conn: Connection, refs: Iterable[Any]) -> Resolution:
    """The operator of each reference (candidate names, most specific first): by identity, then by code.

    Without a roster an unmatched reference creates an operator with its code (the extension or agent name);
    with one it is returned as unknown.
    """
    wanted = list(dict.fromkeys(ref for ref in refs if ref is not None and _candidates(ref)))
    resolution = Resolution()
    if not wanted:
        return resolution
    names = {name for ref in wanted for name in _candidates(ref)}
    by_key: dict[str, int] = {}
    by_code: dict[str, int] = {}
    chunk = sorted(names)
    for start in range(0, len(chunk), 500):
        part = chunk[start : start + 500]
        keys = sorted({identity_key(n) for n in part})
        by_key.update(
            conn.execute(
                select(OperatorIdentity.key, OperatorIdentity.operator_id).where(
                    OperatorIdentity.key.in_(keys)
                )
            ).all()
        )
        by_code.update(conn.execute(select(Operator.code, Operator.id).where(Operator.code.in_(part))).all())
    missing = []
    for ref in wanted:
        names = _candidates(ref)
        operator_id = next((by_key[k] for n in names if (k := identity_key(n)) in by_key), None)
        if operator_id is None:
            operator_id = next((by_code[n] for n in names if n in by_code), None)
        if operator_id is None:
            missing.append(ref)
        else:
            resolution.ids[ref] = operator_id
    if missing and has_roster(conn):
        resolution.unknown = missing
    elif missing:
        codes = sorted({_code(ref) for ref in missing})
        insert_ignore(conn, Operator.__table__, [{"code": c} for c in codes], ("code",))
        created = dict(conn.execute(select(Operator.code, Operator.id).where(Operator.code.in_(codes))).all())
        resolution.ids.update({ref: created[_code(ref)] for ref in missing})
    return resolution
