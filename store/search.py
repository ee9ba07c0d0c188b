"""Full-text search over utterances: SQLite FTS5 or PostgreSQL tsquery, from a parsed query tree.

Personal data cannot be searched for: the index (`utterances.search_text`, computed by `store.speech`) holds
no card, phone, passport or INN digits, for any role. A search for a card number, a phone or a prefix of
either finds nothing, so masked digits cannot be recovered one by one through prefix queries; other numbers
(incident numbers, amounts) are searched as words. Calls are found by phone through the caller number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass
class SearchFilter:
    """Narrowing a search: side of the conversation, period, operator, purpose, score range."""

    role: str | None = None  # operator | customer
    since: datetime | None = None
    until: datetime | None = None
    operator: str | None = None
    purpose: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    only_operator_code: str | None = None  # access scope: an operator sees own calls only
    only_team: str | None = None


# Single words match as prefixes of stems (see `store.search_query.Term`); phrases match their stems exactly.


def _fts5(node) -> str:
    kind = type(node).__name__
    if kind == "Term":
        return f'"{node.stem}"' + ("" if node.whole else "*")
    if kind == "Phrase":
        return '"' + " ".join(node.stems) + '"'
    if kind == "Near":
        return f"NEAR({_fts5(node.left)} {_fts5(node.right)}, {node.distance})"
    if kind == "Any":
        return "(" + " OR ".join(_fts5(n) for n in node.nodes) + ")"
    if kind == "All":
        positive = [_fts5(n) for n in node.nodes if type(n).__name__ != "Not"]
        negative = [_fts5(n.node) for n in node.nodes if type(n).__name__ == "Not"]
        expression = "(" + " AND ".join(positive) + ")"
        return expression + "".join(f" NOT {n}" for n in negative)
    raise TypeError(kind)


def _tsquery(node) -> str:
    kind = type(node).__name__
    if kind == "Term":
        return f"'{node.stem}'" + ("" if node.whole else ":*")
    if kind == "Phrase":
        return "(" + " <-> ".join(f"'{s}'" for s in node.stems) + ")"
    if kind == "Near":
        # `a <d> b`: b exactly d positions after a's last word (a phrase counts from its end), either order.
        left, right = _tsquery(node.left), _tsquery(node.right)
        pairs = [f"{a} <{d}> {b}" for d in range(1, node.distance + 2) for a, b in
                 ((left, right), (right, left))]  # fmt: skip
        return "(" + " | ".join(pairs) + ")"
    if kind == "Not":
        return f"!{_tsquery(node.node)}"
    if kind == "Any":
        return "(" + " | ".join(_tsquery(n) for n in node.nodes) + ")"
    if kind == "All":
        return "(" + " & ".join(_tsquery(n) for n in node.nodes) + ")"
    raise TypeError(kind)


_FILTERS = (
    ("u.role", "role", "="),
    ("c.start_at", "since", ">="),
    ("c.start_at", "until", "<"),
    ("o.code", "operator", "="),
    ("co.purpose", "purpose", "="),
    ("co.compliance_score", "min_score", ">="),
    ("co.compliance_score", "max_score", "<="),
    ("o.code", "only_operator_code", "="),
    ("o.team", "only_team", "="),
)


def search_utterances(
    conn: Connection, query, where: SearchFilter | None = None, limit: int = 200
) -> list[dict]:
    """Utterances matching a parsed query (see store.search_query), latest processed first.

    SQLite walks the FTS5 index backwards from the newest row and stops at `limit` hits that pass the
    filters, so a common word costs no more than a rare one; PostgreSQL takes the top rows of its GIN
    matches.
    """
    where = where or SearchFilter()
    params: dict = {"limit": limit}
    if type(query).__name__ == "Phone":
        # The calls of one number: each call's first utterance (on the side asked for) stands for it.
        source = "utterances u"
        side = "AND f.role = :role" if where.role is not None else ""
        match = f"""u.id IN (SELECT min(f.id) FROM utterances f JOIN calls fc ON fc.id = f.call_id
                    WHERE (fc.caller_number = :phone OR fc.callee_number = :phone) {side}
                    GROUP BY f.call_id)"""
        order = "c.start_at DESC, u.id DESC"
        params["phone"] = query.number
    elif conn.dialect.name == "sqlite":
        source = "utterances_fts f JOIN utterances u ON u.id = f.rowid"
        match, order = "utterances_fts MATCH :match", "f.rowid DESC"
        params["match"] = _fts5(query)
    else:
        source = "utterances u"
        match = "to_tsvector('simple', coalesce(u.search_text, '')) @@ to_tsquery('simple', :match)"
        order = "u.id DESC"
        params["match"] = _tsquery(query)
    clauses = [match]
    for column, key, operator in _FILTERS:
        value = getattr(where, key)
        if value is not None:
            clauses.append(f"{column} {operator} :{key}")
            params[key] = value
    sql = f"""
        SELECT u.id, u.call_id, u.role, u.start, u."end", u.text, u.normalized_text, c.uniqueid, c.start_at,
               o.code AS operator, co.purpose, co.compliance_score
        FROM {source}
        JOIN calls c ON c.id = u.call_id
        LEFT JOIN operators o ON o.id = c.operator_id
        LEFT JOIN call_outcomes co ON co.call_id = c.id
        WHERE {" AND ".join(clauses)}
        ORDER BY {order}
        LIMIT :limit
    """  # every value is a bound parameter; the clauses are the fixed strings above
    return [dict(row) for row in conn.execute(text(sql), params).mappings()]
