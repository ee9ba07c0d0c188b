"""Decoding settings of the speech layer: the model `auto` picks, what the stage hands the decoder, and
that the site's names in the prompt are not written where nobody said them."""

from __future__ import annotations

import json

import pytest

import asr.transcribe
from asr import AsrOptions
from bench.decoding import contains
from ingest import decode_audio
from models import catalog, choose_whisper
from pipeline.batch import site_options
from pipeline.config import StageOptions
from pipeline.stages import registered_stages
from tests.conftest import REPO

SITES = {"demo": REPO / "demo", "north": REPO / "sites" / "north"}


def _transcribe_version(options: StageOptions) -> str:
    return next(s.version for s in registered_stages(["transcribe"], options))


def test_auto_is_the_gpu_default_only_where_it_was_fetched(monkeypatch):
    monkeypatch.setattr(catalog, "_cached", lambda name: name == "large-v3-turbo")
    assert choose_whisper("auto", cuda=True) == "large-v3-turbo"
    assert choose_whisper("auto", cuda=False) == "bundled:whisper-base"
    assert choose_whisper("large-v3", cuda=False) == "large-v3", "a named model is itself"
    assert choose_whisper("bundled:whisper-base", cuda=True) == "bundled:whisper-base"
    monkeypatch.setattr(catalog, "_cached", lambda name: False)
    assert choose_whisper("auto", cuda=True) == "bundled:whisper-base", "not fetched: the bundled base"


def test_auto_on_a_gpu_machine_versions_the_transcripts_by_the_model_it_picks(monkeypatch):
    assert AsrOptions().model == "auto"
    monkeypatch.setattr(catalog, "_cached", lambda name: name == "large-v3-turbo")
    monkeypatch.setattr(asr.transcribe, "_device", lambda options: ("cpu", "int8"))
    on_cpu = _transcribe_version(StageOptions())
    monkeypatch.setattr(asr.transcribe, "_device", lambda options: ("cuda", "float16"))
    on_gpu = _transcribe_version(StageOptions())
    assert "bundled:whisper-base+" in on_cpu and "large-v3-turbo+" in on_gpu
    forced = _transcribe_version(StageOptions(asr=AsrOptions(model="bundled:whisper-base")))
    assert forced == on_cpu, "naming the bundled model keeps every stored transcript's version"


def test_keyword_matching_follows_inflection_not_other_words():
    assert contains("Компания «Горизонт Телеком», здравствуйте!", "Горизонт Телеком")
    assert contains("работаю в диадоке давно", "Диадок")
    assert not contains("горизонтально", "Горизонт Телеком")
    assert not contains("горизонт и телеком", "Горизонт Телеком"), "the words of a name must be adjacent"


def test_prompt_words_barely_heard_or_listed_are_dropped_and_names_really_said_kept():
    from types import SimpleNamespace as W

    from asr.prompt_echo import drop_prompt_echo, prompt_names, prompt_text

    options = AsrOptions(initial_prompt="Горизонт Телеком. Экстерн, Диадок, Эльба.", hotwords="")
    names = prompt_names(prompt_text(options))
    assert names == [["горизонт", "телеком"], ["экстерн"], ["диадок"], ["эльба"]]
    said = [
        W(word=" Компания", probability=0.83),
        W(word=" Горизонт", probability=0.6),
        W(word=" Телеком.", probability=0.7),
    ]
    echo = [W(word=" Диадок,", probability=0.01), W(word=" Эльба,", probability=0.01)]
    tail = [W(word=" Ясно.", probability=0.92)]
    kept = drop_prompt_echo([*said, *tail, *echo], names, 0.25)
    assert [w.word for w in kept] == [" Компания", " Горизонт", " Телеком.", " Ясно."]
    loop = [W(word=f" {n},", probability=0.9) for n in ("Экстерн", "Диадок", "Экстерн", "Диадок")]
    assert drop_prompt_echo([*tail, *loop], names, 0.25) == tail, "a copied list goes however sure"
    one = [W(word=" Диадок", probability=0.7)]
    assert drop_prompt_echo([*tail, *one, *tail], names, 0.25) == [*tail, *one, *tail]
    assert drop_prompt_echo([*echo, *tail], [], 0.25) == [*echo, *tail], "no prompt: nothing dropped"


# ------------------------------------------------------------------ real model, the stage's own settings

CHOSEN = {  # the decoding defaults bench/decoding.py chose on both simulated sites
    "beam_size": 5,
    "patience": 1.0,
    "length_penalty": 1.0,
    "repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "temperature": 0.0,
}
ECHOED = ("call-020", "call-021")  # demo calls where the decoder wrote the product list out unguarded


def _stage_transcriber(site: str, tmp_path, **prompt):
    """The Transcriber the transcribe stage builds for the site (its profile's prompt unless given)."""
    import dataclasses

    from pipeline.stages.transcribe import _transcriber

    options = site_options(SITES[site], tmp_path)
    if prompt:
        options = dataclasses.replace(options, asr=dataclasses.replace(options.asr, **prompt))
    options.asr.cpu_threads = 2
    return _transcriber(options)


@pytest.mark.slow
def test_the_stage_decodes_with_the_chosen_settings_and_the_site_prompt(monkeypatch, tmp_path, shared_data):
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    seen: list[dict] = []
    for cls in (BatchedInferencePipeline, WhisperModel):
        real = cls.transcribe

        def spy(self, audio, *args, _real=real, **kwargs):
            seen.append(kwargs)
            return _real(self, audio, *args, **kwargs)

        monkeypatch.setattr(cls, "transcribe", spy)
    transcriber = _stage_transcriber("north", tmp_path)
    transcript = transcriber.transcribe(decode_audio(shared_data / "asr" / "test_sound_ru.wav")[None, :])
    assert transcript.utterances, "real speech was decoded"
    assert seen, "the decoder was called"
    for kwargs in seen:
        assert {k: kwargs[k] for k in CHOSEN} == CHOSEN
        assert kwargs["initial_prompt"].startswith("Горизонт Телеком."), "the site's names reach the decoder"


def _short_calls(site: str, count: int) -> list[tuple[dict, object]]:
    truth = json.loads((SITES[site] / "ground_truth.json").read_text(encoding="utf-8"))
    calls = sorted(
        (c for c in truth["calls"] if c["recording"] and c["turns"]), key=lambda c: c["turns"][-1]["end"]
    )
    return [(c, decode_audio(SITES[site] / c["recording"], split_channels=True)) for c in calls[:count]]


@pytest.mark.slow
def test_a_prompt_does_not_put_its_names_into_speech_that_lacks_them(tmp_path, shared_data):
    """Pooled over real Russian speech and each site's shortest calls decoded with the other site's
    prompt: no company or product name of the prompt is written where it was not said."""
    from classifiers.profile import load_profile

    names = {
        site: [
            *load_profile(SITES[site] / "profile.yaml").company,
            *load_profile(SITES[site] / "profile.yaml").products,
        ]
        for site in SITES
    }
    clips = [shared_data / "asr" / "test_sound_ru.wav", *sorted((shared_data / "decode_ru").glob("*.wav"))]
    invented, decoded = [], 0
    for site in SITES:
        transcriber = _stage_transcriber(site, tmp_path / site)
        for clip in clips:
            text = " ".join(u.text for u in transcriber.transcribe(decode_audio(clip)[None, :]).utterances)
            decoded += 1
            invented += [(site, clip.name, n) for n in names[site] if contains(text, n)]
    for site, other in (("demo", "north"), ("north", "demo")):
        prompt = load_profile(SITES[other] / "profile.yaml").decoder_prompt()
        transcriber = _stage_transcriber(site, tmp_path / f"{site}-other", initial_prompt=prompt)
        for call, audio in _short_calls(site, 4):
            text = " ".join(u.text for u in transcriber.transcribe(audio).utterances)
            said = " ".join(t["text"] for t in call["turns"])
            decoded += 1
            invented += [
                (site, call["call_id"], n)
                for n in names[other]
                if contains(text, n) and not contains(said, n)
            ]
    assert decoded == 2 * len(clips) + 8
    assert not invented, invented


@pytest.mark.slow
def test_the_stage_does_not_write_its_prompt_into_calls_that_do_not_say_it(tmp_path):
    """Demo calls where, unguarded, the decoder wrote the profile's product list out over the silence
    after the last word: with the stage's settings no product appears that the call does not say, and
    the company's name, said in each greeting, still does."""
    from classifiers.profile import load_profile

    profile = load_profile(SITES["demo"] / "profile.yaml")
    truth = json.loads((SITES["demo"] / "ground_truth.json").read_text(encoding="utf-8"))
    transcriber = _stage_transcriber("demo", tmp_path)
    invented, company = [], 0
    for call in (c for c in truth["calls"] if c["call_id"] in ECHOED):
        audio = decode_audio(SITES["demo"] / call["recording"], split_channels=True)
        text = " ".join(u.text for u in transcriber.transcribe(audio).utterances)
        said = " ".join(t["text"] for t in call["turns"])
        invented += [
            (call["call_id"], p) for p in profile.products if contains(text, p) and not contains(said, p)
        ]
        company += contains(text, profile.company[0])
    assert not invented, invented
    assert company == len(ECHOED)
