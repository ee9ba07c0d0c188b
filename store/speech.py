"""Writing transcripts: utterances and their words, replaced as a whole for a recording; the search index.

The search index (`utterances.search_text`, read by SQLite FTS5 and PostgreSQL's GIN index) is computed here,
from the text with every piece of personal data blanked out (`contracts.pii.unreadable`, the turn before as
context). No role can find a card, phone, passport or INN by its digits, nor recover one digit by digit with
prefix searches: the digits are not in the index. Incident and other short numbers stay searchable.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from contracts.pii import unreadable
from contracts.text import stems
from store.schema import Call, Recording, Utterance, Word


def search_text(text: str | None, before: str | None = None) -> str:
    """The stems a turn is indexed under: its words and non-personal numbers (`before`: the previous turn)."""
    return " ".join(stems(unreadable(text or "", before or "")))


def replace_transcript(conn: Connection, recording_id: int, version: str, utterances: list[dict]) -> int:
    """Store `utterances` (dicts with words) as the recording's transcript; returns how many."""
    conn.execute(delete(Utterance).where(Utterance.recording_id == recording_id))
    if not utterances:
        return 0
    call_id = conn.execute(select(Recording.call_id).where(Recording.id == recording_id)).scalar()
    said = [u.get("normalized_text") or u["text"] for u in utterances]
    rows = [
        {
            "recording_id": recording_id,
            "call_id": call_id,
            "version": version,
            "idx": index,
            "role": u.get("role"),
            "speaker": u.get("speaker"),
            "channel": u.get("channel"),
            "start": u["start"],
            "end": u["end"],
            "text": u["text"],
            "normalized_text": u.get("normalized_text"),
            "confidence": u.get("confidence"),
            "overlap": bool(u.get("overlap", False)),
            # Computed here whatever the caller passed: the index must never hold personal digits.
            "search_text": search_text(said[index], said[index - 1] if index else None),
        }
        for index, u in enumerate(utterances)
    ]
    ids = conn.execute(Utterance.__table__.insert().returning(Utterance.id, Utterance.idx), rows).all()
    by_index = {idx: uid for uid, idx in ids}
    words = [
        {
            "utterance_id": by_index[index],
            "idx": position,
            "start": w["start"],
            "end": w["end"],
            "word": w["word"],
            "probability": w.get("probability"),
            "overlap": bool(w.get("overlap", False)),
        }
        for index, u in enumerate(utterances)
        for position, w in enumerate(u.get("words", []))
    ]
    if words:
        conn.execute(Word.__table__.insert(), words)
    return len(rows)


def load_transcript(conn: Connection, recording_id: int) -> list[dict]:
    """A recording's utterances in order, as dicts (role, speaker, times, texts, confidence, timed words)."""
    rows = (
        conn.execute(
            select(Utterance.__table__).where(Utterance.recording_id == recording_id).order_by(Utterance.idx)
        )
        .mappings()
        .all()
    )
    keep = ("idx", "role", "speaker", "channel", "start", "end", "text", "normalized_text", "confidence",
            "overlap")  # fmt: skip
    words: dict[int, list[dict]] = {}
    for utterance_id, start, end, word, probability, overlap in conn.execute(
        select(Word.utterance_id, Word.start, Word.end, Word.word, Word.probability, Word.overlap)
        .join(Utterance, Utterance.id == Word.utterance_id)
        .where(Utterance.recording_id == recording_id)
        .order_by(Word.utterance_id, Word.idx)
    ):  # one query for every word of the recording
        words.setdefault(utterance_id, []).append(
            {
                "start": start,
                "end": end,
                "word": word,
                "probability": probability or 0.0,
                "overlap": bool(overlap),
            }
        )
    return [{**{k: row[k] for k in keep}, "words": words.get(row["id"], [])} for row in rows]


def call_recording(conn: Connection, uniqueid: str) -> tuple[int, str] | None:
    """(recording id, path) of the call's accepted recording, or None."""
    row = conn.execute(
        select(Recording.id, Recording.path)
        .join(Call, Call.id == Recording.call_id)
        .where(Call.uniqueid == uniqueid, Recording.status == "accepted")
    ).first()
    return (row[0], row[1]) if row else None


def reindex_search_text(conn: Connection, only_missing: bool = True) -> int:
    """(Re)compute the search stems of stored turns (those without any, or all); how many were written."""
    query = select(
        Utterance.id, Utterance.recording_id, Utterance.idx, Utterance.normalized_text, Utterance.text
    )
    if only_missing:
        ids = set(conn.execute(select(Utterance.id).where(Utterance.search_text.is_(None))).scalars())
        if not ids:
            return 0
        recordings = select(Utterance.recording_id).where(Utterance.id.in_(ids)).distinct()
        query = query.where(Utterance.recording_id.in_(recordings))
    written, previous = 0, (None, None)
    for uid, recording_id, _idx, normalized, raw in conn.execute(
        query.order_by(Utterance.recording_id, Utterance.idx)
    ):
        said = normalized or raw or ""
        if not only_missing or uid in ids:
            before = previous[1] if previous[0] == recording_id else None
            conn.execute(
                update(Utterance).where(Utterance.id == uid).values(search_text=search_text(said, before))
            )
            written += 1
        previous = (recording_id, said)
    return written


def previous_turns(conn: Connection, utterance_ids: list[int]) -> dict[int, str]:
    """The text said just before each of these turns (same recording), for masking in context."""
    if not utterance_ids:
        return {}
    turns = conn.execute(
        select(Utterance.id, Utterance.recording_id, Utterance.idx).where(Utterance.id.in_(utterance_ids))
    ).all()
    wanted = {(recording_id, idx - 1): uid for uid, recording_id, idx in turns if idx > 0}
    if not wanted:
        return {}
    recordings = {recording_id for recording_id, _ in wanted}
    out = {}
    for recording_id, idx, normalized, raw in conn.execute(
        select(Utterance.recording_id, Utterance.idx, Utterance.normalized_text, Utterance.text).where(
            Utterance.recording_id.in_(recordings), Utterance.idx.in_({idx for _, idx in wanted})
        )
    ):
        if (recording_id, idx) in wanted:
            out[wanted[(recording_id, idx)]] = normalized or raw or ""
    return out
