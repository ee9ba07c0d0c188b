"""The decoder's prompt written out: both guards (first pass and recovery) read ё and е as one letter."""

from __future__ import annotations

from types import SimpleNamespace

from asr.prompt_echo import drop_prompt_echo, find_echoes, prompt_names, prompt_runs
from asr.recovery import find_loops
from asr.words import bare


def words_of(text: str, probability: float = 0.9) -> list:
    return [SimpleNamespace(word=f" {w}", probability=probability) for w in text.split()]


PROMPT = "Облачный учёт. Зарплата, Отчётность, Кадры, Маркировка."


def test_a_word_is_compared_without_case_punctuation_or_the_dots_of_yo():
    assert bare(" Отчётность,") == bare("ОТЧЕТНОСТЬ") == "отчетность"
    assert bare(" Ёлка!") == "елка"
    assert bare(" —") == ""
    assert prompt_names(PROMPT) == [
        ["облачный", "учет"],
        ["зарплата"],
        ["отчетность"],
        ["кадры"],
        ["маркировка"],
    ]


def test_a_read_back_is_found_whether_the_decoder_writes_yo_or_not():
    assert find_echoes(words_of("Зарплата, Отчетность, Кадры."), PROMPT) == [(0, 3)]
    assert find_echoes(words_of("Облачный учет, Зарплата, Отчетность"), PROMPT) == [(0, 4)]
    spelled = "Облачный учет. Зарплата, Отчетность, Кадры, Маркировка."
    assert find_echoes(words_of("Облачный учёт, Зарплата, Отчётность"), spelled) == [(0, 4)]
    assert find_echoes(words_of("сдаём отчётность через облачный учёт"), PROMPT) == []


def test_the_first_pass_drops_the_same_read_back_and_keeps_a_name_said():
    names = prompt_names(PROMPT)
    said = words_of("у нас облачный учёт", 0.8)
    echo = words_of("Отчетность, Кадры, Маркировка", 0.9)
    faint = words_of("Отчетность", 0.02)
    pause = words_of("так")
    assert drop_prompt_echo([*said, *pause, *echo], names, 0.25) == [*said, *pause], "longer than a name"
    assert drop_prompt_echo([*said, *pause, *faint], names, 0.25) == [*said, *pause], "barely heard"
    assert drop_prompt_echo(said, prompt_names("Облачный учет."), 0.25) == said


def test_runs_of_prompt_words_are_the_longest_ones():
    assert prompt_runs(["а", "б", "x", "б", "", "а"], {"а", "б"}) == [(0, 2), (3, 4), (5, 6)]
    assert prompt_runs([], {"а"}) == [] and prompt_runs(["а"], set()) == []


def test_a_loop_that_writes_yo_in_some_copies_is_a_loop():
    assert find_loops(words_of("ещё ещё еще ещё")) == [(0, 4)]
    assert find_loops(words_of("… … … …")) == [(0, 4)], "a loop of marks without letters is still one"


def test_a_name_recovery_writes_out_barely_heard_is_dropped_too(monkeypatch):
    """Recovery decodes lost speech with the site's prompt as well: a prompt name it writes where it heard
    nothing (at a probability of a few hundredths) must not reach the transcript."""
    import numpy as np

    import asr.transcribe as transcribe
    from asr import AsrOptions, Transcriber
    from asr.transcribe import Word

    said = [Word(0.5 + 0.4 * i, 0.8 + 0.4 * i, f" {w}", 0.9) for i, w in enumerate(["добрый", "день"])]
    faint = [Word(6.0, 6.6, " Отчётность.", 0.06)]
    lost = [Word(3.0, 3.4, " алло", 0.8)]

    class Recovering(Transcriber):
        def __init__(self) -> None:  # no model: the decoding is given
            self.options = AsrOptions(initial_prompt=PROMPT, edge_reach_seconds=0)

        def _decode(self, audio, language, windows):
            return [SimpleNamespace(words=said)]

        def recover(self, audio, spans, words, language, channel=None):
            return sorted([*words, *lost, *faint], key=lambda w: w.start)

    monkeypatch.setattr(transcribe, "speech_spans", lambda audio, options: [(0.0, 7.0)])
    heard = Recovering().transcribe_channel(np.zeros(16000 * 8, dtype=np.float32), language="ru")
    assert " ".join(u.text for u in heard) == "добрый день алло"
