"""Writing transcripts: utterances and their words, replaced as a whole for a recording."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from store.schema import Call, Recording, Utterance, Word


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
