"""Who may see and change what. Every dashboard read and write goes through here, so the rules hold
whatever page, link or query parameter asks: an operator reaches only own calls, a team lead only the
team's, and every view, listen, export and change lands in the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from store.audit import audit
from store.outcomes import call_scorecard, refresh_scorecard
from store.queries import CallFilter, analysed_calls, call_details, count_calls
from store.schema import (
    AuditEntry,
    Call,
    CallIncidentLink,
    CoachingNote,
    Evaluation,
    EvaluationResponse,
    Incident,
    IncidentCandidate,
    Operator,
    Recording,
    SavedView,
)
from store.search import SearchFilter, search_utterances
from store.sql import utcnow

ROLES = ("admin", "quality_controller", "team_lead", "analyst", "operator")
MAY = {
    "override": {"admin", "quality_controller"},
    "calibrate": {"admin", "quality_controller", "team_lead"},
    "decide_links": {"admin", "quality_controller"},
    "coach": {"admin", "team_lead"},
    "respond": {"operator"},
    "resolve": {"admin", "team_lead"},
    "audit_log": {"admin"},
    "search": {"admin", "quality_controller", "team_lead", "analyst"},
    "scorecards": {"admin", "quality_controller", "team_lead", "analyst"},
}


class AccessDenied(PermissionError):
    """The viewer may not see or do this."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: role, and for operators and team leads what they are limited to."""

    username: str
    role: str
    operator_code: str | None = None
    team: str | None = None

    def may(self, action: str) -> bool:
        return self.role in MAY[action]

    def require(self, action: str) -> None:
        if not self.may(action):
            raise AccessDenied(f"{self.role} may not {action.replace('_', ' ')}")


def scoped(viewer: Viewer, where: CallFilter | None = None) -> CallFilter:
    """The viewer's filter, narrowed to what the role may see."""
    where = where or CallFilter()
    if viewer.role == "operator":
        where.operator = viewer.operator_code or "\0"  # an operator without a code sees nothing
    elif viewer.role == "team_lead" and viewer.team:
        where.team = viewer.team
    return where


def list_calls(
    conn: Connection,
    viewer: Viewer,
    where: CallFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Analysed calls the viewer may see (newest first when paged)."""
    return analysed_calls(conn, scoped(viewer, where), limit, offset, newest_first=limit is not None)


def count_visible_calls(conn: Connection, viewer: Viewer, where: CallFilter | None = None) -> int:
    return count_calls(conn, scoped(viewer, where))


def _visible(conn: Connection, viewer: Viewer, call_id: int) -> dict:
    row = conn.execute(
        select(Call.id, Call.uniqueid, Operator.code, Operator.team)
        .outerjoin(Operator, Operator.id == Call.operator_id)
        .where(Call.id == call_id)
    ).first()
    if row is None:
        raise LookupError(f"no call {call_id}")
    if viewer.role == "operator" and row.code != viewer.operator_code:
        raise AccessDenied("an operator may open only own calls")
    if viewer.role == "team_lead" and viewer.team and row.team != viewer.team:
        raise AccessDenied("a team lead may open only the team's calls")
    return {"id": row.id, "uniqueid": row.uniqueid, "operator": row.code, "team": row.team}


def open_call(conn: Connection, viewer: Viewer, call_id: int) -> dict:
    """Everything about one call (or AccessDenied / LookupError); the view is audited."""
    call = _visible(conn, viewer, call_id)
    outcome = next(iter(analysed_calls(conn, CallFilter(call_id=call_id))), None)
    detail = call_details(conn, [call_id])[call_id]
    detail["recording"] = conn.execute(
        select(Recording.path).where(Recording.call_id == call_id, Recording.status == "accepted")
    ).scalar()
    detail["evaluations"] = [
        dict(r)
        for r in conn.execute(
            select(Evaluation.__table__).where(Evaluation.call_id == call_id).order_by(Evaluation.id)
        ).mappings()
    ]
    detail["responses"] = [
        dict(r)
        for r in conn.execute(
            select(EvaluationResponse.__table__)
            .where(EvaluationResponse.call_id == call_id)
            .order_by(EvaluationResponse.id)
        ).mappings()
    ]
    detail["coaching"] = [
        dict(r)
        for r in conn.execute(
            select(CoachingNote.__table__).where(CoachingNote.call_id == call_id).order_by(CoachingNote.id)
        ).mappings()
    ]
    detail["scorecard"] = call_scorecard(
        conn, call_id
    )  # effective: {items, score, machine_score, review_state}
    audit(conn, viewer.username, "view", "call", call["uniqueid"])
    return {**call, "outcome": outcome, **detail}


def record_listen(conn: Connection, viewer: Viewer, call_id: int, redacted: bool) -> None:
    call = _visible(conn, viewer, call_id)
    audit(conn, viewer.username, "listen", "call", call["uniqueid"], {"redacted": redacted})


def override_verdict(
    conn: Connection,
    viewer: Viewer,
    call_id: int,
    item_id: str,
    verdict: str,
    reason: str,
    kind: str = "override",
) -> None:
    """A person's verdict on a checklist item: an override (reason required) or a blind calibration score."""
    viewer.require("override" if kind == "override" else "calibrate")
    if verdict not in ("pass", "fail", "n/a"):
        raise ValueError("a verdict is pass, fail or n/a")
    if not reason.strip():
        raise ValueError("a reason is required")
    call = _visible(conn, viewer, call_id)
    values = {"item_id": item_id, "verdict": verdict, "reason": reason.strip(), "kind": kind}
    conn.execute(insert(Evaluation).values(call_id=call_id, evaluator=viewer.username, **values))
    refresh_scorecard(conn, call_id)  # the decision counts at once, everywhere
    audit(
        conn,
        viewer.username,
        kind,
        "call",
        call["uniqueid"],
        {"item": item_id, "verdict": verdict, "reason": reason},
    )


def respond(
    conn: Connection,
    viewer: Viewer,
    call_id: int,
    action: str,
    comment: str = "",
    verdicts: dict[str, str] | None = None,
) -> None:
    """An operator acknowledges or disputes the evaluation of an own call; a team lead resolves a dispute,
    optionally settling checklist items (`verdicts`: item id -> pass / fail / n/a, the comment as reason)."""
    viewer.require("resolve" if action == "resolve" else "respond")
    if action not in ("acknowledge", "dispute", "resolve"):
        raise ValueError("acknowledge, dispute or resolve")
    if action in ("dispute", "resolve") and not comment.strip():
        raise ValueError("say why")
    call = _visible(conn, viewer, call_id)
    if verdicts and action != "resolve":
        raise ValueError("only a resolution settles checklist items")
    if any(v not in ("pass", "fail", "n/a") for v in (verdicts or {}).values()):
        raise ValueError("a verdict is pass, fail or n/a")
    values = {"action": action, "comment": comment.strip() or None, "author": viewer.username}
    conn.execute(insert(EvaluationResponse).values(call_id=call_id, **values))
    for item_id, verdict in (verdicts or {}).items():
        conn.execute(insert(Evaluation).values(call_id=call_id, item_id=item_id, verdict=verdict,
                                               reason=comment.strip(), kind="resolution",
                                               evaluator=viewer.username))  # fmt: skip
    refresh_scorecard(conn, call_id)  # review state (and settled items) count at once
    details = {"comment": comment, **({"verdicts": verdicts} if verdicts else {})}
    audit(conn, viewer.username, action, "call", call["uniqueid"], details)


def add_coaching_note(conn: Connection, viewer: Viewer, call_id: int, note: str) -> None:
    viewer.require("coach")
    if not note.strip():
        raise ValueError("the note is empty")
    call = _visible(conn, viewer, call_id)
    conn.execute(insert(CoachingNote).values(call_id=call_id, note=note.strip(), author=viewer.username))
    audit(conn, viewer.username, "coaching_note", "call", call["uniqueid"])


def decide_candidate(conn: Connection, viewer: Viewer, call_id: int, incident_id: int, accept: bool) -> None:
    """Accept (link, recorded as manual) or reject a suggested incident; reruns keep the decision."""
    viewer.require("decide_links")
    call = _visible(conn, viewer, call_id)
    decision = "accepted" if accept else "rejected"
    conn.execute(
        update(IncidentCandidate)
        .where(IncidentCandidate.call_id == call_id, IncidentCandidate.incident_id == incident_id)
        .values(decision=decision, decided_by=viewer.username, decided_at=utcnow())
    )
    if accept:
        link_incident(conn, viewer, call_id, incident_id)
    audit(
        conn, viewer.username, f"candidate_{decision}", "call", call["uniqueid"], {"incident_id": incident_id}
    )


def link_incident(conn: Connection, viewer: Viewer, call_id: int, incident_id: int) -> None:
    """Link a call to an incident by hand (kept by every later analysis)."""
    viewer.require("decide_links")
    _visible(conn, viewer, call_id)
    exists = conn.execute(
        select(CallIncidentLink.id).where(
            CallIncidentLink.call_id == call_id, CallIncidentLink.incident_id == incident_id
        )
    ).first()
    if exists is None:
        values = {"source": "manual", "confidence": 1.0, "created_by": viewer.username}
        conn.execute(insert(CallIncidentLink).values(call_id=call_id, incident_id=incident_id, **values))


def link_incident_by_number(conn: Connection, viewer: Viewer, call_id: int, number: str) -> None:
    """Link a call to the incident with this helpdesk number (LookupError when there is none)."""
    incident_id = conn.execute(select(Incident.id).where(Incident.external_id == number.strip())).scalar()
    if incident_id is None:
        raise LookupError(f"no incident {number!r}")
    link_incident(conn, viewer, call_id, incident_id)
    audit(conn, viewer.username, "link_incident", "call", _visible(conn, viewer, call_id)["uniqueid"],
          {"incident": number})  # fmt: skip


def disputed_calls(conn: Connection) -> set[int]:
    """Calls whose latest response is a dispute (not yet resolved)."""
    latest: dict[int, str] = {}
    for call_id, action in conn.execute(
        select(EvaluationResponse.call_id, EvaluationResponse.action).order_by(EvaluationResponse.id)
    ):
        latest[call_id] = action
    return {call_id for call_id, action in latest.items() if action == "dispute"}


def search(
    conn: Connection, viewer: Viewer, query, where: SearchFilter | None = None, limit: int = 200
) -> list[dict]:
    """Transcript search within what the viewer may see; audited."""
    viewer.require("search")
    where = where or SearchFilter()
    if viewer.role == "team_lead" and viewer.team:
        where.only_team = viewer.team
    hits = search_utterances(conn, query, where, limit)
    audit(conn, viewer.username, "search", "utterances", None, {"hits": len(hits)})
    return hits


def audit_entries(conn: Connection, viewer: Viewer, limit: int = 500) -> list[dict]:
    viewer.require("audit_log")
    rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def save_view(conn: Connection, viewer: Viewer, kind: str, name: str, query: dict) -> None:
    """Save (or replace) a named filter or search of the viewer's."""
    if not name.strip():
        raise ValueError("give the view a name")
    existing = conn.execute(
        select(SavedView.id).where(
            SavedView.owner == viewer.username, SavedView.kind == kind, SavedView.name == name
        )
    ).scalar()
    if existing:
        conn.execute(update(SavedView).where(SavedView.id == existing).values(query=query))
    else:
        conn.execute(
            insert(SavedView).values(owner=viewer.username, kind=kind, name=name.strip(), query=query)
        )


def saved_views(conn: Connection, viewer: Viewer, kind: str) -> dict[str, dict]:
    rows = conn.execute(
        select(SavedView.name, SavedView.query).where(
            SavedView.owner == viewer.username, SavedView.kind == kind
        )
    )
    return {name: query for name, query in rows}
