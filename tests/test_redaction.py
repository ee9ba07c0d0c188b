"""Which moments of a call are muted in the copy non-admins hear: card numbers and CVV codes, wherever
the text or a second reading of dictated digits hears one."""

from __future__ import annotations

from asr import NumberReading, Utterance, Word
from classifiers.redaction import PAD_SECONDS, muted_spans


def _utterance(start: float, text: str) -> Utterance:
    words = [Word(start + i * 0.4, start + (i + 1) * 0.4, w, 0.9) for i, w in enumerate(text.split())]
    return Utterance(start, words[-1].end, text, text, 0.9, words=words, role="customer")


def test_a_card_read_out_mutes_the_number_words_of_its_utterance_only():
    said = _utterance(10.0, "Номер карты 4276 3801 2345 6789, срок до пятого года")
    other = _utterance(20.0, "Обращение 52314 зарегистрировано")
    spans = muted_spans([said, other])
    groups = [(10.8 + i * 0.4 - PAD_SECONDS, 11.2 + i * 0.4 + PAD_SECONDS) for i in range(4)]
    assert all(any(abs(a - s) < 1e-9 and abs(b - e) < 1e-9 for s, e in spans) for a, b in groups)
    assert len(spans) == 5, "the four groups and «пятого» (number words err towards silence)"
    assert all(end < 20.0 for _, end in spans), "the incident number stays audible"


def test_a_card_only_a_second_reading_hears_is_muted_over_the_reading_s_stretch():
    # The first pass lost digits (no card in the text); the second reading of the stretch has all 16.
    heard = _utterance(30.0, "Карта 4276 38 2345")
    reading = NumberReading(30.4, 36.0, 1, "4276 38 2345", ["карта 4276 3801 2345 6789"], [-0.3])
    without = muted_spans([heard])
    assert without, "the text alone already says a card: its number words are muted"
    plain = _utterance(30.0, "Записывайте 4276 38 2345")
    assert muted_spans([plain]) == [], "no card word and too few digits: nothing heard as a card"
    spans = muted_spans([plain], [reading])
    assert spans == [(30.4 - PAD_SECONDS, 36.0 + PAD_SECONDS)], "the whole stretch the reading covers"


def test_a_reading_of_an_incident_number_mutes_nothing():
    plain = _utterance(5.0, "Номер обращения 52314")
    reading = NumberReading(5.5, 8.0, 0, "52314", ["номер обращения 52314", "52 314"], [-0.2, -0.6])
    assert muted_spans([plain], [reading]) == []
