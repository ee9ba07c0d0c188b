"""The viewer-scoped store API: every reader and writer outside the store goes through here.

Whatever page, link, query parameter or command asks, the rules hold: an operator reaches only own calls,
a team lead only the team's, an unknown role nothing; texts, caller numbers and exports come out already
masked for the viewer's role (`store.policy`); every view, listen, search, export and change lands in the
audit log, an export in the call that makes its file (`store.exports`: no live spreadsheet formulas).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from sqlalchemy import Connection, insert, select, update

from contracts.phones import DEFAULT_COUNTRY
from contracts.scorecard import agreement
from contracts.text import token_spans
from store.audit import audit
from store.call_records import recording_alternatives
from store.clients import client_calls, client_card, client_incidents, find_clients, identifier_kinds
from store.exports import FORMATS, MIME_TYPES, flat_call, neutralise, table_file
from store.kpi import CompositeOptions, KpiRow, kpi_table_rows
from store.outcomes import call_scorecard, refresh_scorecard
from store.policy import (
    ROLE_TITLES,
    ROLES,
    mask_number,
    may,
    scope_refusal,
    unmasked_kinds,
    visible_pages,
)
from store.policy import mask as _mask
from store.purposes import purpose_corrections, save_purpose_correction
from store.queries import (
    CallFilter,
    analysed_calls,
    busiest_operator,
    call_details,
    count_calls,
    duplicate_pairs_where,
    in_team,
    stage_result,
)
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
from store.search_query import Phone, QuerySyntaxError, parse, query_stems, query_text, searched_stems
from store.sign_in import begin_sign_in, finish_sign_in, sign_in_wait
from store.speech import previous_turns
from store.sql import utcnow

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_MIME_TYPES",
    "ROLES",
    "ROLE_TITLES",
    "AccessDenied",
    "CallAudio",
    "CallFilter",
    "CompositeOptions",
    "ExportFile",
    "KpiRow",
    "QuerySyntaxError",
    "SearchFilter",
    "SearchRefused",
    "Viewer",
    "add_coaching_note",
    "agreement",
    "audit_entries",
    "begin_sign_in",
    "busiest_operator_of",
    "call_audio",
    "client_history",
    "correct_purpose",
    "count_visible_calls",
    "decide_candidate",
    "disputed_calls",
    "duplicate_pairs",
    "export_call_table",
    "export_calls",
    "export_calls_file",
    "finish_sign_in",
    "kpi_table",
    "link_incident",
    "link_incident_by_number",
    "list_calls",
    "neutralise",
    "open_call",
    "open_engine",
    "override_verdict",
    "parse",
    "query_stems",
    "record_sign_in",
    "respond",
    "save_view",
    "saved_views",
    "scope_refusal",
    "scoped",
    "search",
    "sign_in_wait",
    "token_spans",
    "visible_pages",
]


EXPORT_FORMATS = FORMATS
EXPORT_MIME_TYPES = MIME_TYPES


class AccessDenied(PermissionError):
    """The viewer may not see or do this."""


class SearchRefused(AccessDenied):
    """A search the viewer's role may not make (numbers, for a role that reads them masked); the message
    says why and what to search instead."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: role, and for operators and team leads what they are limited to."""

    username: str
    role: str
    operator_code: str | None = None
    team: str | None = None

    def may(self, action: str) -> bool:
        return may(self.role, action)

    def masked(self, text: str | None, before: str | None = None) -> str:
        """Text as this viewer may read it (personal data masked by role; `before`: the turn said before it,
        whose words are context for this one's digits)."""
        return _mask(text or "", self.role, before=before or "")

    def masked_number(self, number: str | None) -> str | None:
        """A caller number as this viewer may read it."""
        return mask_number(number, self.role)

    def refusal(self) -> str | None:
        """Why this viewer sees no call at all (no team, no operator code, an unknown role), or None."""
        return scope_refusal(self.role, self.operator_code, self.team)

    def require(self, action: str) -> None:
        if not self.may(action):
            raise AccessDenied(f"{self.role} may not {action.replace('_', ' ')}")


def scoped(viewer: Viewer, where: CallFilter | None = None) -> CallFilter:
    """The viewer's filter, narrowed to what the role may see."""
    where = where or CallFilter()
    if viewer.refusal():
        where.call_id = -1  # no scope (an unknown role, a lead without a team, ...): nothing
    elif viewer.role == "operator":
        where.operator = viewer.operator_code
    elif viewer.role == "team_lead":
        where.team = viewer.team
    return where


def list_calls(
    conn: Connection,
    viewer: Viewer,
    where: CallFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Analysed calls the viewer may see (newest first when paged), caller numbers masked for the role."""
    rows = analysed_calls(conn, scoped(viewer, where), limit, offset, newest_first=limit is not None)
    return [_masked_row(row, viewer) for row in rows]


def _masked_row(row: dict, viewer: Viewer) -> dict:
    """A call row as the viewer may read it: the caller number, and the scorecards' evidence (turns' text)."""
    cards = {k: _masked_tree(row[k], viewer) for k in ("scorecard", "machine_scorecard") if row.get(k)}
    numbers = {k: viewer.masked_number(row.get(k)) or None for k in ("caller_number", "customer_number")}
    return {**row, **cards, **numbers}


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
    if viewer.refusal():
        raise AccessDenied(viewer.refusal())
    if viewer.role == "operator" and row.code != viewer.operator_code:
        raise AccessDenied("an operator may open only own calls")
    if viewer.role == "team_lead" and not _in_team_of(conn, viewer, call_id):
        raise AccessDenied("a team lead may open only the team's calls")
    return {"id": row.id, "uniqueid": row.uniqueid, "operator": row.code, "team": row.team}


def _in_team_of(conn: Connection, viewer: Viewer, call_id: int) -> bool:
    """Whether the call is the team lead's team's, as the calls list reads it (its operators' calls, and
    calls their queues lost)."""
    found = conn.execute(
        select(Call.id)
        .outerjoin(Operator, Operator.id == Call.operator_id)
        .where(Call.id == call_id, in_team(viewer.team))
    ).first()
    return found is not None


def open_call(conn: Connection, viewer: Viewer, call_id: int) -> dict:
    """Everything about one call (or AccessDenied / LookupError); the view is audited."""
    call = _visible(conn, viewer, call_id)
    outcome = next(iter(analysed_calls(conn, CallFilter(call_id=call_id))), None)
    outcome = _masked_row(outcome, viewer) if outcome else None
    detail = call_details(conn, [call_id])[call_id]
    detail["utterances"] = _masked_turns(detail["utterances"], viewer)
    detail["candidates"] = _masked_tree(detail["candidates"], viewer)
    # Identifiers said, checklist evidence (a turn's text), keywords, a spoken transfer target: all of it.
    detail["classify"] = _masked_classification(detail["classify"], viewer)
    detail["transcribe"] = masked_transcription(detail["transcribe"], viewer)
    detail["recording"] = conn.execute(
        select(Recording.path).where(Recording.call_id == call_id, Recording.status == "accepted")
    ).scalar()
    # Other copies of the call's recording (e.g. a mono MP3 beside the stereo WAV transcribed).
    detail["alternatives"] = [
        {
            "path": viewer.masked(row["path"]),
            "channels": row["channels"],
            "sample_rate": row["sample_rate"],
            "codec": row["codec"],
            "reason": viewer.masked(row["reason"]),
        }
        for row in recording_alternatives(conn, [call_id])
    ]
    detail["evaluations"] = [
        {**r, "reason": viewer.masked(r["reason"])}
        for r in conn.execute(
            select(Evaluation.__table__).where(Evaluation.call_id == call_id).order_by(Evaluation.id)
        ).mappings()
    ]
    detail["responses"] = [
        {**r, "comment": viewer.masked(r["comment"]) if r["comment"] else r["comment"]}
        for r in conn.execute(
            select(EvaluationResponse.__table__)
            .where(EvaluationResponse.call_id == call_id)
            .order_by(EvaluationResponse.id)
        ).mappings()
    ]
    detail["coaching"] = [
        {**r, "note": viewer.masked(r["note"])}
        for r in conn.execute(
            select(CoachingNote.__table__).where(CoachingNote.call_id == call_id).order_by(CoachingNote.id)
        ).mappings()
    ]
    detail["purpose_corrections"] = [
        {**r, "reason": viewer.masked(r["reason"]) if r["reason"] else r["reason"]}
        for r in purpose_corrections(conn, call_id)
    ]
    # The effective scorecard: the machine's verdicts with people's decisions applied, as stored.
    detail["scorecard"] = _masked_tree(call_scorecard(conn, call_id), viewer) or {
        "items": [], "score": None, "machine_score": None, "review_state": "not_reviewed"
    }  # fmt: skip
    audit(conn, viewer.username, "view", "call", call["uniqueid"])
    return {**call, "outcome": outcome, **detail}


def _masked_utterance(utterance: dict, viewer: Viewer, before: dict | None = None) -> dict:
    """A turn's texts masked for the viewer, each read after the previous turn's same text (its context)."""
    texts = {k: viewer.masked(utterance[k], (before or {}).get(k)) if utterance.get(k) else utterance.get(k)
             for k in ("text", "normalized_text")}  # fmt: skip
    if texts["normalized_text"] and texts["normalized_text"] != utterance["normalized_text"]:
        # Something was masked: the recognised words may spell the same digits out («четыре один …»),
        # which no digit pattern sees, so the raw text is served as its masked normalised form.
        texts["text"] = texts["normalized_text"]
    return {**utterance, **texts}


def _masked_tree(value, viewer: Viewer):
    """Every string of a stored judgement (evidence quotes, identifiers said, reasons), masked."""
    if isinstance(value, str):
        return viewer.masked(value)
    if isinstance(value, dict):
        return {k: _masked_tree(v, viewer) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_tree(v, viewer) for v in value]
    return value


def _masked_classification(result: dict | None, viewer: Viewer) -> dict | None:
    """A stored classification as `viewer` may read it. Digits said in the call, listed out of their
    sentence, lose the context that tells a card read in groups («4276 4192 …» heard as two six-digit
    runs) from incident numbers: a role that reads numbers masked gets none of them."""
    masked = _masked_tree(result, viewer)
    if masked and masked.get("said") and not _reads_numbers(viewer):
        masked["said"] = {kind: ["[number]"] * len(values) for kind, values in masked["said"].items()}
    return masked


def masked_transcription(result: dict | None, viewer: Viewer) -> dict | None:
    """A stored transcription result as `viewer` may read it: its second readings of dictated digits
    (alternatives to the text, which may hold an INN or a phone) masked like the text; none at all for a
    role that reads numbers masked (a reading is digits out of their sentence)."""
    if not result or not result.get("number_readings"):
        return result
    if not _reads_numbers(viewer):
        return {**result, "number_readings": []}
    return {**result, "number_readings": _masked_tree(result["number_readings"], viewer)}


def _masked_turns(utterances: list[dict], viewer: Viewer) -> list[dict]:
    """A call's turns in order, masked, each with the turn before it as context."""
    return [_masked_utterance(u, viewer, utterances[i - 1] if i else None) for i, u in enumerate(utterances)]


@dataclass(frozen=True)
class CallAudio:
    """What a viewer may play of a call: a file (redacted for all but admins), or why there is none."""

    path: str | None
    redacted: bool
    message: str = ""


def call_audio(conn: Connection, viewer: Viewer, call_id: int) -> CallAudio:
    """The recording to play: the original for admins (its PCM copy when browsers cannot play its codec),
    the redacted copy the `redact` stage made for everyone else (none, with a message, until it is made:
    never the original). Audited as a listen."""
    call = _visible(conn, viewer, call_id)
    recording = conn.execute(
        select(Recording.id, Recording.path).where(
            Recording.call_id == call_id, Recording.status == "accepted"
        )
    ).first()
    if recording is None:
        return CallAudio(None, False, _no_recording(conn, viewer, call_id))
    redacted = not viewer.may("unredacted_audio")
    made = stage_result(conn, recording.id, "redact") or {}
    path = made.get("playable") or recording.path  # a copy browsers play of a GSM (…) recording
    if redacted:
        path = made.get("path")
        if not path:
            return CallAudio(None, True, "The redacted audio is not made yet: run `callqa run`.")
    audit(conn, viewer.username, "listen", "call", call["uniqueid"], {"redacted": redacted})
    return CallAudio(path, redacted)


def _no_recording(conn: Connection, viewer: Viewer, call_id: int) -> str:
    """Why a call has nothing to play: no file at all, or a file of it refused at import (and why)."""
    rejected = conn.execute(
        select(Recording.reject_code, Recording.reject_reason)
        .where(Recording.call_id == call_id, Recording.status == "rejected")
        .order_by(Recording.id)
    ).first()
    if rejected is None:
        return "No recording for this call."
    reason = viewer.masked(rejected.reject_reason or "") or "no reason given"
    return (
        f"The recording of this call was rejected at import ({rejected.reject_code}: {reason}), so nothing "
        "of it was transcribed or scored; its talk time comes from the call record."
    )


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


def correct_purpose(conn: Connection, viewer: Viewer, call_id: int, label: str, reason: str = "") -> None:
    """A person's purpose for a call (whoever may override verdicts): it becomes the call's purpose at once,
    stays through later analyses, and joins the purpose model's training data; audited."""
    viewer.require("override")
    label = label.strip()
    if not label:
        raise ValueError("a purpose is required")
    call = _visible(conn, viewer, call_id)
    previous = save_purpose_correction(conn, call_id, label, viewer.username, reason.strip())
    audit(conn, viewer.username, "correct_purpose", "call", call["uniqueid"],
          {"purpose": label, "previous": previous, "reason": reason.strip()})  # fmt: skip


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
        raise ValueError(f"a {'dispute' if action == 'dispute' else 'resolution'} needs a comment: say why")
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
    conn: Connection,
    viewer: Viewer,
    query,
    where: SearchFilter | None = None,
    limit: int = 200,
    country: str = DEFAULT_COUNTRY,
) -> list[dict]:
    """Transcript search (a query string or a parsed tree) within what the viewer may see, hits masked for the
    role; audited with the query, the filters and the number of hits. A phone number is read in the site's
    `country`.

    A role that reads numbers masked may not search by numbers (a term of digits, or digits with a short
    label such as «ИНН7707…»; a phone): whether a digit prefix finds a call would tell the masked digits one
    by one. Such a search raises SearchRefused, after it is audited: catch it inside the transaction so the
    attempt stays on record.
    """
    viewer.require("search")
    tree = parse(query, country) if isinstance(query, str) else query  # QuerySyntaxError says what is wrong
    if viewer.refusal():
        raise AccessDenied(viewer.refusal())
    where = where or SearchFilter()
    if viewer.role == "team_lead":
        where.only_team = viewer.team
    asked = {"query": query if isinstance(query, str) else query_text(tree), "role": viewer.role,
             "filter": {k: str(v) for k, v in asdict(where).items() if v is not None}}  # fmt: skip
    numbers = _numbers_asked(tree)
    if numbers and not _reads_numbers(viewer):
        audit(conn, viewer.username, "search_refused", "utterances", None, {**asked, "hits": 0})
        title = ROLE_TITLES.get(viewer.role, viewer.role)
        number = asked["query"].strip() if isinstance(tree, Phone) else numbers[0]  # as typed
        raise SearchRefused(_number_refusal(title, number, asked["query"]))
    found = search_utterances(conn, tree, where, limit)
    before = previous_turns(conn, [hit["id"] for hit in found])
    hits = [_masked_utterance(hit, viewer, _both(before.get(hit["id"]))) for hit in found]
    audit(conn, viewer.username, "search", "utterances", None, {**asked, "hits": len(hits)})
    return hits


def _number_refusal(title: str, number: str, query: str) -> str:
    """Why a search for a number is refused and what to search instead, in the query's language (both
    when it has no words)."""
    letters = {("ru" if "а" <= c <= "я" or c == "ё" else "en") for c in query.lower() if c.isalpha()}
    examples = {"en": "card number, phone", "ru": "номер карты, телефон"}
    words = "; ".join(examples[lang] for lang in ("en", "ru") if lang in letters or not letters)
    return (
        f'{title}s see numbers masked, so a search cannot look for a number ("{number}"): search by the '
        f"words said around it ({words}), or ask a quality controller."
    )


# A number with a short label run together («ИНН7707083893», «тел79161234567») is still a number.
_LABEL_LETTERS = 3


def _numbers_asked(tree) -> list[str]:
    """The terms of a query that look for numbers (excluded ones too: `карта NOT 4111` tells as much)."""
    if isinstance(tree, Phone):
        return [tree.number]
    return [s for s in searched_stems(tree)
            if any(c.isdigit() for c in s) and sum(c.isalpha() for c in s) <= _LABEL_LETTERS]  # fmt: skip


def _reads_numbers(viewer: Viewer) -> bool:
    """Whether the role reads long numbers (phones, numbers of unknown kind) as said."""
    return {"phone", "number"} <= unmasked_kinds(viewer.role)


def client_history(
    conn: Connection,
    viewer: Viewer,
    client_id: int | None = None,
    *,
    identifier: str | None = None,
    call_id: int | None = None,
    country: str = DEFAULT_COUNTRY,
) -> dict:
    """A client's card, calls and incidents as far as the viewer may see them, masked for the role; audited.

    The client is named by id, by an identifier (INN or INN-KPP, a phone in any written form read in the
    site's `country`, a contract or account number: the first client it names), or as the client of a call
    the viewer may open. An operator
    gets own calls and incidents only, a team lead the team's. LookupError when there is no such client;
    AccessDenied for an unknown role, or a lookup by personal data the role may not read.
    """
    if viewer.refusal():
        raise AccessDenied(viewer.refusal())
    if [client_id, identifier, call_id].count(None) != 2:
        raise ValueError("name the client by one of: id, identifier, call")
    if identifier is not None:
        # Personal data finds a client only for roles that may read it; a contract number for everyone.
        allowed = tuple(
            k
            for k in identifier_kinds(identifier, country)
            if k == "account" or k in unmasked_kinds(viewer.role)
        )
        client_id = next(iter(find_clients(conn, identifier, allowed, country)), None)
        hidden = [k for k in identifier_kinds(identifier, country) if k not in allowed]
        if client_id is None and hidden:
            raise AccessDenied(f"a {ROLE_TITLES[viewer.role].lower()} may not look clients up by {hidden[0]}")
    elif call_id is not None:
        _visible(conn, viewer, call_id)
        client_id = conn.execute(select(Call.client_id).where(Call.id == call_id)).scalar()
    card = client_card(conn, client_id) if client_id is not None else None
    if card is None:
        raise LookupError("no such client")
    where = scoped(viewer)
    operator = where.operator if viewer.role == "operator" else None
    calls = client_calls(conn, card["id"], operator, where.team)
    visible = {c["id"] for c in calls}
    incidents = client_incidents(conn, card["id"], operator, where.team)
    shown = unmasked_kinds(viewer.role)
    card = {
        **card,
        "inn": card["inn"] if "inn" in shown or not card["inn"] else "[inn]",
        "phones": [p if "phone" in shown else viewer.masked(p) for p in card["phones"]],
    }
    calls = [
        {**c, "caller_number": viewer.masked_number(c["caller_number"]) or None,
         "callee_number": viewer.masked_number(c["callee_number"]) or None}
        for c in calls
    ]  # fmt: skip
    incidents = [
        {**i, "summary": viewer.masked(i["summary"]) or None,
         "inn": i["inn"] if "inn" in shown or not i["inn"] else "[inn]",
         "call_ids": [c for c in i["call_ids"] if c in visible]}
        for i in incidents
    ]  # fmt: skip
    audit(conn, viewer.username, "view", "client", str(card["id"]), {"calls": len(calls)})
    return {"client": card, "calls": calls, "incidents": incidents}


def _both(text: str | None) -> dict | None:
    return {"text": text, "normalized_text": text} if text else None


def kpi_table(
    conn: Connection,
    viewer: Viewer,
    by: str = "operator",
    where: CallFilter | None = None,
    options: CompositeOptions | None = None,
) -> list[KpiRow]:
    """KPIs of the counted calls the viewer may see, grouped `by` operator, team, day, week or month.

    Operators and teams are measured among the whole desk's (the same period and filters, every team and
    operator): a team lead, or a filter on one team, sees an operator's composite and outlier flags as a
    quality controller sees them over everyone, not relative to one team."""
    desk = replace(where, team=None, operator=None) if where is not None else CallFilter()
    scope = scoped(viewer, where)
    narrowed = (scope.team, scope.operator) != (None, None) and not viewer.refusal()
    peers = desk if by in ("operator", "team") and narrowed else None
    return kpi_table_rows(conn, by, scope, options, peers)


def duplicate_pairs(conn: Connection, viewer: Viewer) -> list[tuple[str, str]]:
    """(earlier, later) duplicate incident numbers, of the viewer's scope (the later incident's operator)."""
    where = scoped(viewer)
    return duplicate_pairs_where(conn, where.operator, where.team, nothing=where.call_id == -1)


def export_calls(
    conn: Connection, viewer: Viewer, where: CallFilter | None = None, details: dict | None = None
) -> list[dict]:
    """Per visible call everything the analysis decided, caller numbers and transcripts masked for the role;
    audited as an export (with `details`, e.g. the file written)."""
    rows = analysed_calls(conn, scoped(viewer, where))
    everything = call_details(conn, [r["id"] for r in rows])
    by_id = {r["id"]: r["uniqueid"] for r in rows}
    out = []
    for row in rows:
        detail = everything[row["id"]]
        said = [{**u, "said": u["normalized_text"] or u["text"]} for u in detail["utterances"]]
        turns = [{**u, "said": viewer.masked(u["said"], said[i - 1]["said"] if i else None)}
                 for i, u in enumerate(said)]  # fmt: skip
        out.append(
            {
                "uniqueid": row["uniqueid"],
                "start": row["start_at"].isoformat(sep=" ") if row["start_at"] else None,
                "operator": row["operator"],
                "operator_name": row["operator_name"],
                "team": row["team"],
                "caller_number": viewer.masked_number(row["caller_number"]),
                "customer_number": viewer.masked_number(row["customer_number"]),
                "talk_seconds": row["billsec"],
                # "accepted" (analysed), "rejected: CODE" (refused at import) or None (no recording).
                "recording": row["recording"],
                # False for a call known only from its recording (no call record describes it).
                "call_record": row["source"] != "recording",
                "counted": row["counted"],
                "exclusion_reasons": row["exclusion_reasons"],
                "transfer": row["transfer"],
                "purpose": row["purpose"],
                "purpose_probability": row["purpose_probability"],
                "caller_type": row["caller_type"],
                # The effective scorecard: the machine's verdicts with people's decisions applied.
                "compliance_score": row["compliance_score"],
                "machine_compliance_score": row["machine_compliance_score"],
                "review_state": row["review_state"],
                "checklist": {i["id"]: i["verdict"] for i in (row["scorecard"] or {}).get("items", [])},
                "uncertain": _to_decide((row["scorecard"] or {}).get("items", []), viewer),
                "asr_confidence": row["asr_confidence"],
                "linked": row["linked"],
                "links": detail["links"],
                "candidates": _masked_tree(detail["candidates"], viewer),
                "repeat_of": by_id.get(row["repeat_of_call_id"]),
                "followed_by_repeat": row["followed_by_repeat"],
                "utterances": [{"role": u["role"], "start": u["start"], "end": u["end"], "text": u["said"]}
                               for u in turns],
            }
        )  # fmt: skip
    _record_export(conn, viewer, len(out), details)
    return out


def _to_decide(items: list[dict], viewer: Viewer) -> dict[str, dict]:
    """The uncertain items a person is to decide: what each leans to, why the machine was not sure (masked
    for the viewer: it may quote the call) and the moment to listen to."""
    return {
        i["id"]: {"leans": i.get("leaning"), "why": viewer.masked(i.get("reason") or ""),
                  "at": (i.get("evidence") or {}).get("start")}
        for i in items
        if i["verdict"] == "uncertain"
    }  # fmt: skip


@dataclass(frozen=True)
class ExportFile:
    """An export as served: the file's bytes, its format and how many calls it holds."""

    data: bytes
    fmt: str
    rows: int

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.fmt]


def export_calls_file(
    conn: Connection, viewer: Viewer, fmt: str, where: CallFilter | None = None, details: dict | None = None
) -> ExportFile:
    """`export_calls` as a file (json, csv or xlsx), made in the call that audits the export: one row per
    call, the turns as one transcript cell, every spreadsheet text cell neutralised (`store.exports`)."""
    if fmt not in FORMATS:
        raise ValueError(f"an export is one of {', '.join(FORMATS)}, not {fmt!r}")
    rows = export_calls(conn, viewer, where, {"format": fmt, **(details or {})})
    if fmt == "json":
        return ExportFile(table_file(fmt, [], rows), fmt, len(rows))
    flat = [flat_call(row) for row in rows]
    return ExportFile(
        table_file(fmt, list(flat[0]) if flat else ["uniqueid", "transcript"], flat), fmt, len(rows)
    )


def export_call_table(
    conn: Connection,
    viewer: Viewer,
    fmt: str,
    columns: list[str],
    shape: Callable[[list[dict]], list[dict]],
    where: CallFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
    details: dict | None = None,
) -> ExportFile:
    """The calls `list_calls` gives the viewer, laid out by `shape` (a dict per row, by column name) as a
    CSV or XLSX file; the file is made and the export audited in this one call, so there is no file
    without its audit entry. Text cells are neutralised against spreadsheet formulas."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"a table export is csv or xlsx, not {fmt!r}")
    table = shape(list_calls(conn, viewer, where, limit, offset))
    data = table_file(fmt, columns, table)
    _record_export(conn, viewer, len(table), {"format": fmt, **(details or {})})
    return ExportFile(data, fmt, len(table))


def _record_export(conn: Connection, viewer: Viewer, rows: int, details: dict | None = None) -> None:
    """Audit an export of `rows` calls (`export_calls_file` and `export_call_table` do it as they serve)."""
    audit(
        conn, viewer.username, "export", "calls", None, {"rows": rows, "role": viewer.role, **(details or {})}
    )


def record_sign_in(conn: Connection, username: str, succeeded: bool) -> None:
    """Audit a sign-in attempt."""
    audit(conn, username or "?", "sign_in" if succeeded else "sign_in_failed", "user", username)


def busiest_operator_of(conn: Connection) -> tuple[str, str | None] | None:
    """(code, team) of the operator with the most calls, or None (to set up demo users)."""
    return busiest_operator(conn)


def open_engine(url: str | None = None):
    """An engine on `url` (default: the embedded database), the schema brought up to date."""
    from store import open_store
    from store.engine import default_url

    return open_store(url or default_url())


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
