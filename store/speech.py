"""Writing transcripts: utterances and their words, replaced as a whole for a recording."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from store.schema import Recording, Utterance, Word


def replace_transcript(conn: Connection, recording_id: int, version: str, utterances: list[dict]) -> int:
    """Store `utterances` (dicts with words) as the recording's transcript; returns how many."""
    conn.execute(delete(Utterance).where(Utterance.recording_id == recording_id))
    if not utterances:
        return 0
    call_id = conn.execute(select(Recording.call_id).where(Recording.id == recording_id)).scalar()
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
            "search_text": u.get("search_text"),
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
    """A recording's utterances in order, as dicts (role, speaker, times, texts, confidence)."""
    rows = conn.execute(
        select(Utterance.__table__).where(Utterance.recording_id == recording_id).order_by(Utterance.idx)
    ).mappings()
    keep = (
        "idx",
        "role",
        "speaker",
        "channel",
        "start",
        "end",
        "text",
        "normalized_text",
        "confidence",
        "overlap",
    )
    return [{k: row[k] for k in keep} for row in rows]
