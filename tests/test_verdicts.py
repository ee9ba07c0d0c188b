"""Three states for checklist items: a failure needs sure evidence, an uncertain item waits for a person.

Verdicts from what the speech layer gives (word probabilities, who said what), scores and KPIs that leave
uncertain items out, the review queue that brings them to a person, and the decision that settles them.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import insert

from asr import Utterance, Word
from classifiers import load_checklist, load_profile, operator_name_forms
from classifiers.compliance import CallContext, evaluate, score
from classifiers.matching import MatchBands
from classifiers.taxonomy import ConfigFileError
from contracts import ScoredItem, apply_decisions, scorecard_score, undecided
from contracts.pii import inn_is_valid
from pipeline.stages.outcomes import Outcome
from qa_dashboard.sampling import review_queue
from store.api import Viewer, export_calls, kpi_table, list_calls, open_call, override_verdict
from store.outcomes import save_analysis
from store.schema import Call, Operator, Recording
from tests.conftest import REPO

DEMO = REPO / "demo"
QC = Viewer("qc", "quality_controller")
ANNA = operator_name_forms("Анна Смирнова")


def _utterance(role: str, start: float, text: str, probability: float = 0.95) -> Utterance:
    """An utterance as the recogniser gives it: timed words, each with its probability."""
    words = text.split()
    step = 0.4
    timed = [Word(start + i * step, start + (i + 1) * step, w, probability) for i, w in enumerate(words)]
    return Utterance(start, timed[-1].end, text, text, probability, words=timed, role=role)


def _call(farewell_probability: float = 0.95, operator_probability: float = 0.95) -> list[Utterance]:
    """A short support call: greeting, the question, an answer; what the operator says last varies."""
    return [
        _utterance(
            "operator",
            0.5,
            "Добрый день, компания Контур, меня зовут Анна, слушаю вас.",
            operator_probability,
        ),
        _utterance("customer", 5.0, "Здравствуйте, у меня не отправляется отчёт в налоговую."),
        _utterance(
            "operator", 10.0, "Откройте раздел отчётов и нажмите отправить ещё раз.", operator_probability
        ),
        _utterance("customer", 16.0, "Получилось, спасибо."),
        _utterance("operator", 40.0, "Хорошо, тогда у меня всё на сегодня.", farewell_probability),
    ]


def _checklist():
    return load_checklist(profile=load_profile(DEMO / "profile.yaml"))


def _verdicts(utterances, **context) -> dict:
    result = evaluate(_checklist(), utterances, CallContext(44.0, operator_names=ANNA, **context))
    return {i.id: i for i in result.items}


def test_a_missing_phrase_heard_well_on_sure_channels_fails_and_heard_poorly_is_uncertain():
    sure = _verdicts(_call())
    assert sure["greeting"].verdict == sure["introduced_self"].verdict == "pass"
    assert sure["farewell"].verdict == "fail" and sure["farewell"].confidence >= 0.75

    poorly = _verdicts(_call(farewell_probability=0.4))
    farewell = poorly["farewell"]
    assert farewell.verdict == "uncertain" and farewell.leaning == "fail"
    assert farewell.confidence < sure["farewell"].confidence
    assert "heard poorly" in farewell.reason
    assert farewell.evidence is not None and farewell.evidence.start == 40.0, "the moment to listen to"
    assert poorly["greeting"].verdict == "pass", "a phrase found where it was heard well"
    barely = _verdicts(_call(operator_probability=0.3))["greeting"]
    assert barely.verdict == "uncertain" and barely.leaning == "pass", "found, but in words barely recognised"


def _dictated(role: str, start: float, raw: str, normalized: str) -> Utterance:
    """An utterance whose digits the recogniser wrote apart ("6,6,5,8"), read as one run once normalised."""
    words = [Word(start, start + 2.0, raw, 0.95)]
    return Utterance(start, start + 2.0, raw, normalized, 0.95, words=words, role=role)


def test_a_dictated_inn_that_lost_digits_leaves_the_client_check_to_a_person():
    utterances = _call()
    utterances[2:2] = [
        _utterance("operator", 8.0, "Вот скажите, организации, пожалуйста."),  # «ИНН» lost
        _dictated(
            "customer", 9.0, "Записывайте 6,6,5,8,5,1,7,8.", "Записывайте 66585178."
        ),  # 10 said, 8 heard
    ]
    client = _verdicts(utterances)["client_identified"]
    assert (
        client.verdict == "uncertain" and "may be the inn with digits lost (8 digits heard)" in client.reason
    )
    assert "66585178" not in client.reason, "the reason is shown unmasked: no digits in it"
    assert client.evidence.start == 9.0, "the moment the number was said"
    utterances[3] = _utterance("customer", 9.0, "Записывайте 6658517818.")
    assert _verdicts(utterances)["client_identified"].verdict == "pass", "a valid INN said is the evidence"
    others = [
        ("customer", "Код ошибки 80070005.", "Код ошибки 80070005."),  # said whole: a number, not dictated
        ("customer", "КПП 6,6,5,8,0,1,0,0,1.", "КПП 665801001."),
        ("customer", "Мой номер 8,9,1,3,1,2,3,4,5,6.", "Мой номер 8913123456."),
        ("customer", "Сумма 1,2,0,0,0,0,0,0 рублей.", "Сумма 12000000 рублей."),
        ("operator", "Его номер 2,0,4,8,2,7,5,5.", "Его номер 20482755."),
    ]
    for role, raw, normalized in others:
        utterances[3] = _dictated(role, 9.0, raw, normalized)
        assert _verdicts(utterances)["client_identified"].verdict == "fail", raw
    utterances[2:4] = [
        _utterance("operator", 8.0, "Я зарегистрировала ваше обращение."),
        _dictated("customer", 9.0, "Записываю: 2,0,4,8,2,7,5,5.", "Записываю: 20482755."),
    ]
    assert _verdicts(utterances)["client_identified"].verdict == "fail", "the ticket's number, read back"


def _inn_heard_short(digits: str = "6,6,3,8,6,7,6,5,4") -> list[Utterance]:
    """A call where the client dictated an INN at 9-11 s and the recogniser lost a digit of it (the default:
    6638675654 said, a «пять» lost)."""
    utterances = _call()
    utterances[2:2] = [
        _utterance("operator", 8.0, "Вот скажите, организации, пожалуйста."),  # «ИНН» lost
        _dictated("customer", 9.0, f"{digits}.", digits.replace(",", "") + "."),
    ]
    return utterances


def test_a_second_reading_that_finds_the_inn_settles_the_client_check():
    utterances = _inn_heard_short()
    assert _verdicts(utterances)["client_identified"].verdict == "uncertain", "no reading: left to a person"
    readings = ((3.5, None, "6,6,2"), (10.8, None, "Записывайте, 6638675654"))
    read = _verdicts(utterances, number_readings=readings)["client_identified"]
    assert read.verdict == "pass" and "second reading" in read.reason
    assert read.evidence.start == 9.0, "the moment the client dictated it"
    assert not any(ch.isdigit() for ch in read.evidence.matched + read.reason), (
        "readings are withheld from some roles: the evidence names no digits"
    )
    others = {
        (10.8, None, "7707083893"): "a valid INN far from what was heard is another number",
        (10.8, None, "6638675655"): "digits close to what was heard that fail the checksum check nothing",
        (10.8, None, "6638675"): "a part of it",
        (10.8, None, "6638612654"): "a valid INN two digits from what was heard",
        (30.5, None, "6638675654"): "read at another moment",
    }
    for reading, why in others.items():
        client = _verdicts(utterances, number_readings=(reading,))["client_identified"]
        assert client.verdict == "uncertain", why
    utterances[3].channel = 1  # a stereo call: the client's channel
    assert (
        _verdicts(utterances, number_readings=((10.8, 1, "6638675654"),))["client_identified"].verdict
        == "pass"
    )
    client = _verdicts(utterances, number_readings=((10.8, 0, "6638675654"),))["client_identified"]
    assert client.verdict == "uncertain", "read on the operator's channel"


def test_an_inn_repeated_is_settled_by_a_reading_of_either_dictation():
    utterances = _inn_heard_short()
    # Asked again, the client repeats it (20-22 s) and loses another digit; only that one was read again.
    utterances[6:6] = [
        _utterance("operator", 18.0, "Повторите, пожалуйста."),
        _dictated("customer", 20.0, "6,6,3,8,6,7,5,6,5.", "663867565."),
    ]
    assert _verdicts(utterances)["client_identified"].verdict == "uncertain"
    read = _verdicts(utterances, number_readings=((21.8, None, "6638675654"),))["client_identified"]
    assert read.verdict == "pass" and read.evidence.start == 20.0, "the moment of the dictation read well"


def test_a_mobile_number_that_passes_an_inn_checksum_settles_no_client_check():
    body = "916123456"
    mobile = next(body + d for d in "0123456789" if inn_is_valid(body + d))  # 10 digits from 9: a mobile
    utterances = _inn_heard_short(",".join(body))
    client = _verdicts(utterances, number_readings=((10.8, None, mobile),))["client_identified"]
    assert client.verdict == "uncertain"


def test_a_phrase_the_fitted_bands_pass_keeps_its_own_evidence_beside_a_reading():
    utterances = _inn_heard_short()
    utterances[2] = _utterance("operator", 8.0, "Вижу нашу организацию.")
    checklist = _checklist()
    fitted = checklist.with_fitted({"client_identified": MatchBands(0.75, 0.5)}, "checklist-x")
    context = CallContext(44.0, operator_names=ANNA, number_readings=((10.8, None, "6638675654"),))
    client = next(i for i in evaluate(fitted, utterances, context).items if i.id == "client_identified")
    assert client.verdict == "pass" and client.evidence.start == 8.0 and not client.reason


def test_the_call_classifier_hands_the_second_readings_to_the_checklist():
    from asr.digits import NumberReading
    from classifiers.call import ClassifierSet, RecordFacts, SpeechFacts, classify_call
    from classifiers.taxonomy import load_taxonomy
    from pipeline.stages.classify import reading_spans

    # As the transcribe stage keeps it: the clip reaches back over «Записывайте» and is padded.
    stored = NumberReading(
        7.2, 11.15, None, "663867654", ["Записывайте, 6638675654", "6638675"], [-0.2, -0.9]
    )
    spans = reading_spans([stored])
    assert spans == [(10.9, None, "Записывайте, 6638675654"), (10.9, None, "6638675")]
    classifiers = ClassifierSet(load_taxonomy(), _checklist())
    records = RecordFacts(talk_seconds=44.0, duration=44.0, operator_name="Анна Смирнова")
    result = classify_call(_inn_heard_short(), records, classifiers, SpeechFacts(number_readings=spans))
    assert {i.id: i.verdict for i in result.compliance.items}["client_identified"] == "pass"
    assert result.said.reread_inn == ["6638675654"], "linking reads the same readings"


def test_a_ticket_number_whose_digits_the_text_lost_is_said_where_a_second_reading_found_it():
    utterances = _call()
    said = "Я зарегистрировала ваше обращение, его номер двойной ли четыре."  # «два ноль четыре …»
    utterances[2] = _utterance("operator", 10.0, said)
    lost = _verdicts(utterances)["incident_number"]
    assert lost.verdict != "pass" and lost.match < 1.0, "the phrase without a number"

    def ticket(*readings: tuple) -> str:
        return _verdicts(utterances, number_readings=readings)["incident_number"].verdict

    found = _verdicts(utterances, number_readings=((13.2, None, "его номер 204817"),))["incident_number"]
    assert found.verdict == "pass" and found.evidence.start == 10.0
    assert "second reading" in found.reason, "where its number came from"
    assert ticket((30.5, None, "его номер 204817")) != "pass", "a number read at another moment"
    assert ticket((13.2, None, "его номер 2.0")) != "pass", "a reading with no number in it"
    utterances[2].channel = 0  # a stereo call: the operator's channel
    assert ticket((13.2, 0, "его номер 204817")) == "pass"
    assert ticket((13.2, 1, "ИНН 6638675654")) != "pass", "the client's digits on the other channel"


def test_the_clients_digits_read_after_the_operators_question_are_not_the_ticket_number():
    """A mono line: the operator asks for the ticket's number, the client dictates digits heard poorly; the
    clip read again reaches back into the operator's question, but its digits end in the client's turn."""
    utterances = _call()
    utterances[2] = _utterance("operator", 10.0, "Подскажите, пожалуйста, номер вашей заявки.")
    utterances.insert(3, _utterance("customer", 12.6, "два ноль четыре", 0.4))
    ticket = _verdicts(utterances, number_readings=((13.8, None, "204817"),))["incident_number"]
    assert ticket.verdict != "pass"
    # Cut at a word boundary: the client's piece ends where the operator's begins.
    utterances[2:4] = [
        _utterance("customer", 10.0, "Мой номер два ноль четыре", 0.4),
        _utterance("operator", 12.0, "Так, номер заявки нашла, смотрю."),
    ]
    ticket = _verdicts(utterances, number_readings=((12.0, None, "204"),))["incident_number"]
    assert ticket.verdict != "pass", "digits that end where the next speaker begins are the first one's"


def test_an_uncertain_greeting_is_listened_to_where_a_greeting_belongs():
    utterances = _call()
    utterances[0] = _utterance("operator", 0.5, "Добрый день, меня зовут Анна, слушаю вас.", 0.75)
    utterances[2] = _utterance("operator", 10.0, "Назовите адрес, пожалуйста.", 0.5)  # heard worst
    greeting = _verdicts(utterances)["greeting"]
    assert greeting.verdict == "uncertain" and "heard poorly" in greeting.reason
    assert greeting.evidence.start == 0.5, "the call's opening, not the worst-heard turn after it"


def test_on_a_mono_line_a_phrase_split_between_speakers_or_a_missing_one_is_uncertain():
    split = _call()
    split[0:1] = [
        _utterance("operator", 0.5, "Добрый день,"),
        _utterance("customer", 1.6, "компания Контур, меня зовут Анна, слушаю вас."),
    ]
    stereo = _verdicts(split)
    assert stereo["greeting"].verdict == "fail", "a stereo call's channels are sure"
    mono = _verdicts(split, roles_confidence=0.9, mono=True)
    greeting = mono["greeting"]
    assert greeting.verdict == "uncertain" and "other party" in greeting.reason
    assert greeting.evidence.start == 0.5
    assert mono["farewell"].verdict == "uncertain" and "who said what" in mono["farewell"].reason
    assert mono["introduced_self"].verdict == "uncertain", "the name is in the part given to the customer"


def test_on_a_mono_line_a_greeting_is_not_pieced_together_from_the_opening_and_the_farewell():
    utterances = [
        _utterance("operator", 0.5, "Добрый день."),
        _utterance("customer", 3.0, "Здравствуйте, у меня не отправляется отчёт."),
        _utterance("operator", 10.0, "Откройте раздел отчётов и нажмите отправить ещё раз."),
        _utterance("customer", 16.0, "Получилось, спасибо."),
        _utterance("operator", 40.0, "Спасибо, что позвонили в компанию Контур."),
    ]
    greeting = _verdicts(utterances, roles_confidence=0.9, mono=True)["greeting"]
    assert greeting.verdict == "uncertain" and "other party" not in greeting.reason, greeting.reason
    assert greeting.evidence is None or greeting.evidence.start < 15, "the moment is the call's opening"


def test_a_phrase_one_recognition_slip_too_far_is_uncertain_not_failed():
    utterances = _call()
    utterances[4] = _utterance("operator", 40.0, "Хорошо, всего дброго.")
    farewell = _verdicts(utterances)["farewell"]
    assert farewell.verdict == "uncertain" and "nearly said" in farewell.reason
    assert farewell.evidence.start == 40.0


def test_a_word_missing_from_a_phrase_is_in_doubt_only_where_the_recogniser_heard_poorly():
    utterances = _call()
    utterances[4] = _utterance("operator", 40.0, "Спасибо, обращение решено.")  # "спасибо за обращение"
    assert _verdicts(utterances)["farewell"].verdict == "fail", "heard well: the word is missing"
    utterances[4] = _utterance("operator", 40.0, "Спасибо, обращение решено.", 0.7)
    farewell = _verdicts(utterances)["farewell"]
    assert farewell.verdict == "uncertain" and "nearly said: “Спасибо, обращение”" in farewell.reason


def test_a_phrase_nearly_said_in_the_one_poorly_heard_turn_is_uncertain_among_well_heard_ones():
    # «Назовите, пожалуйста, ИНН для организации» with the short «ИНН» lost by the recogniser
    asked = _call()
    asked.insert(3, _utterance("operator", 20.0, "Назовите, пожалуйста, для организации.", 0.95))
    assert _verdicts(asked)["client_identified"].verdict == "fail", "heard well: the word is missing"
    asked[3] = _utterance("operator", 20.0, "Назовите, пожалуйста, для организации.", 0.72)
    identified = _verdicts(asked)["client_identified"]
    assert identified.verdict == "uncertain" and identified.leaning == "fail"
    assert "heard poorly where it is nearly said (mean word probability 0.72)" in identified.reason
    assert identified.evidence.start == 20.0, "the moment to listen to"


def test_a_failure_that_an_unsure_purpose_may_make_not_applicable_is_uncertain():
    no_registration = frozenset({"no_registration"})
    sure = _verdicts(_call(), condition_chances={no_registration: 0.02})["farewell"]
    assert sure.verdict == "fail", "the purpose model barely considers a call that needs no registration"
    unsure = _verdicts(_call(), condition_chances={no_registration: 0.3})["farewell"]
    assert unsure.verdict == "uncertain" and unsure.leaning == "fail"
    assert "may not apply (the purpose may need no registration: 0.30)" in unsure.reason
    applied = _verdicts(_call(), conditions={"no_registration"}, condition_chances={no_registration: 0.6})
    assert applied["farewell"].verdict == "n/a", "a condition applied is not in doubt here"


def test_condition_chances_sum_the_purposes_that_bring_each_condition(tmp_path):
    from classifiers.call import condition_chances
    from classifiers.taxonomy import load_taxonomy

    topics = tmp_path / "topics.yaml"
    topics.write_text(
        "topics:\n  billing: {}\n  colleague: {registration: none}\n  wrong_line: {registration: none}\n"
        "  partner: {registration: special}\n  cut_off: {registration: none, dropped: true}\n",
        encoding="utf-8",
    )
    chances = condition_chances(
        {"billing": 0.5, "colleague": 0.1, "wrong_line": 0.15, "partner": 0.2, "cut_off": 0.05},
        load_taxonomy(topics),
    )
    assert chances == pytest.approx({frozenset({"no_registration"}): 0.25, frozenset({"special"}): 0.2,
                                     frozenset({"dropped", "no_registration"}): 0.05})  # fmt: skip


def test_a_recording_cut_off_mid_speech_makes_the_items_after_a_drop_not_applicable():
    from classifiers import ClassifierSet, RecordFacts, classify_call, load_taxonomy

    classifiers = ClassifierSet(load_taxonomy(), _checklist())
    whole = classify_call(_call(), RecordFacts(talk_seconds=44.0, duration=44.0), classifiers)
    cut = classify_call(_call(), RecordFacts(talk_seconds=44.0, duration=44.0, cut_off=True), classifiers)
    assert "dropped" not in whole.conditions and "dropped" in cut.conditions
    verdicts = {i.id: i for i in cut.compliance.items}
    assert {verdicts[i].verdict for i in ("farewell", "other_questions")} == {"n/a"}
    assert verdicts["farewell"].reason == "dropped"
    assert verdicts["greeting"].verdict == "pass", "what was said before the drop is still judged"
    assert {i.id: i.verdict for i in whole.compliance.items}["farewell"] == "fail"


def test_a_recording_is_cut_off_when_a_channel_talks_into_its_end_and_the_rule_is_configurable():
    from contracts import CallRules
    from pipeline.config import AnalyticsSettings, StageOptions
    from pipeline.stages.classify import classifiers_version

    rules = CallRules()
    assert rules.is_cut_off([4.1, 0.05]), "the customer was talking when the recording stopped"
    assert not rules.is_cut_off([0.6, 2.0]) and not rules.is_cut_off([None, 0.5]) and not rules.is_cut_off([])
    assert not CallRules(cut_off_seconds=0).is_cut_off([0.0]), "0 turns the rule off"
    assert rules.is_cut_off([4.1, 0.05], speech_to_end=0.1), "and the words ran into the end too"
    assert not rules.is_cut_off([4.1, 0.0], speech_to_end=1.5), "a tone after the hangup is no speech cut off"
    assert not rules.is_cut_off([4.1, 0.0], speech_to_end=float("inf")), "nothing was said at all"
    default = classifiers_version(StageOptions())
    off = StageOptions(analytics=AnalyticsSettings(exclusions=CallRules(cut_off_seconds=0)))
    assert classifiers_version(off) != default, "changing the rule classifies the calls again"


def test_a_forbidden_phrase_zeroes_the_score_only_when_heard_well_from_a_sure_speaker():
    utterances = _call()
    utterances[2] = _utterance("operator", 10.0, "Это не мои проблемы, сами разбирайтесь.")
    checklist = _checklist()
    sure = evaluate(checklist, utterances, CallContext(44.0, operator_names=ANNA))
    assert [f.verdict for f in sure.forbidden] == ["fail"] and sure.score == 0.0
    mono = evaluate(
        checklist, utterances, CallContext(44.0, operator_names=ANNA, roles_confidence=0.9, mono=True)
    )
    assert [f.verdict for f in mono.forbidden] == ["uncertain"]
    # The critical incident-number item is uncertain on this mono line too: no score until it is decided.
    pending = next(i for i in mono.items if i.id == "incident_number")
    assert pending.verdict == "uncertain" and pending.critical and mono.score is None
    decided = [i for i in mono.items if i is not pending]
    assert score(decided) == 100.0
    assert score(decided, mono.forbidden) is None, "maybe said: no score until a person decides"


def test_a_transcript_without_word_probabilities_is_judged_as_before():
    said = [Utterance(1.0, 4.0, "Добрый день, компания Контур, Анна.", "", 0.0, role="operator")]
    verdicts = _verdicts(said)
    assert verdicts["greeting"].verdict == "pass" and verdicts["farewell"].verdict == "fail"


def test_thresholds_come_from_the_checklist_file(tmp_path):
    path = tmp_path / "checklist.yaml"
    body = "items:\n  - id: farewell\n    any_of: [до свидания]\n"
    path.write_text(body + "uncertainty:\n  min_fail_confidence: 0.0\n", encoding="utf-8")
    lenient = load_checklist(path)
    assert lenient.doubts.min_fail_confidence == 0.0
    poorly = [_utterance("operator", 1.0, "Хорошо, тогда всё.", 0.4)]
    assert evaluate(lenient, poorly, CallContext(5.0)).items[0].verdict == "fail"
    path.write_text(body, encoding="utf-8")
    assert evaluate(load_checklist(path), poorly, CallContext(5.0)).items[0].verdict == "uncertain"
    path.write_text(body + "uncertainty:\n  sure_enough: 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="sure_enough"):
        load_checklist(path)
    path.write_text(body + "uncertainty:\n  heard_well: 5\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="heard_well"):
        load_checklist(path)


def test_uncertain_items_count_in_no_score_until_a_person_decides():
    items = [ScoredItem("greeting", "pass", 2.0, True), ScoredItem("farewell", "uncertain", 1.0, True),
             ScoredItem("sms", "fail", 1.0)]  # fmt: skip
    assert scorecard_score(items) is None, "an uncertain critical item may yet fail the call: no score yet"
    assert scorecard_score([items[0], ScoredItem("farewell", "uncertain", 1.0), items[2]]) == round(
        100 * 2 / 3, 1
    ), "an uncertain item that is not critical counts nowhere"
    assert scorecard_score([*items, ScoredItem("number", "fail", 2.0, True)]) == 0.0, "failed anyway"
    stored = [{"id": i.id, "verdict": i.verdict, "weight": i.weight, "critical": i.critical} for i in items]
    assert [i["id"] for i in undecided(stored)] == ["farewell"]
    decided, score = apply_decisions(stored, [{"item_id": "farewell", "verdict": "fail", "by": "qc",
                                               "reason": "no farewell on the recording"}])  # fmt: skip
    assert score == 0.0 and not undecided(decided)
    assert next(i for i in decided if i["id"] == "farewell")["machine_verdict"] == "uncertain"


def _centre(engine) -> None:
    """Two analysed calls of one operator: one with an uncertain critical item, one fully decided."""
    items = [
        {"id": "greeting", "title": "Приветствие", "verdict": "pass", "weight": 2.0, "critical": True,
         "confidence": 0.95},
        {"id": "client_identified", "title": "Клиент идентифицирован", "verdict": "pass", "weight": 1.0,
         "critical": False, "confidence": 0.9, "reason": "a second reading of those digits holds a valid one",
         "evidence": {"utterance": 2, "start": 9.0, "text": "…", "matched": ""}},
        {"id": "farewell", "title": "Прощание", "verdict": "uncertain", "weight": 1.0, "critical": True,
         "confidence": 0.4, "leaning": "fail", "reason": "heard poorly",
         "evidence": {"utterance": 3, "start": 40.0, "text": "…", "matched": ""}},
        {"id": "sms_offered", "title": "СМС", "verdict": "fail", "weight": 1.0, "critical": False,
         "confidence": 0.9},
    ]  # fmt: skip
    decided = [dict(i, verdict="pass") for i in items]
    outcomes = []
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        for call_id, card in ((1, items), (2, decided)):
            conn.execute(insert(Call).values(id=call_id, uniqueid=f"{call_id}.1", operator_id=1, billsec=60,
                                             start_at=datetime(2026, 3, call_id, 10)))  # fmt: skip
            conn.execute(insert(Recording).values(id=call_id, call_id=call_id, path="-", size_bytes=0,
                                                  sha256=str(call_id) * 64, status="accepted"))  # fmt: skip
            score = scorecard_score(
                ScoredItem(i["id"], i["verdict"], i["weight"], i["critical"]) for i in card
            )
            machine = {"items": card, "forbidden": False, "score": score}
            outcomes.append(Outcome(call_id=call_id, counted=True, machine_scorecard=machine,
                                    machine_compliance_score=score, handle_seconds=60.0))  # fmt: skip
        save_analysis(conn, outcomes, [], [], [])


def test_uncertain_items_stay_out_of_kpis_reach_the_review_queue_and_a_decision_settles_them(engine):
    _centre(engine)
    with engine.connect() as conn:
        rows = {r["id"]: r for r in list_calls(conn, QC)}
        kpi = kpi_table(conn, QC, "operator")[0]
    assert rows[1]["compliance_score"] is None, "an uncertain critical item leaves the call unscored"
    assert kpi.compliance == pytest.approx(100.0), "only the decided call counts"
    queue = review_queue(list(rows.values()), "uncertain", 10)
    assert [c["id"] for c in queue] == [1]
    assert queue[0]["why"] == "uncertain, no score until decided: Прощание"
    with engine.begin() as conn:
        exported = {c["uniqueid"]: c for c in export_calls(conn, QC)}
    to_decide = next(c["uncertain"] for c in exported.values() if c["uncertain"])
    assert set(to_decide) == {"farewell"} and to_decide["farewell"]["why"], (
        "an export says why, not only that"
    )

    with engine.begin() as conn:
        override_verdict(conn, QC, 1, "farewell", "fail", "no farewell on the recording")
    with engine.connect() as conn:
        rows = {r["id"]: r for r in list_calls(conn, QC)}
        kpi = kpi_table(conn, QC, "operator")[0]
        card = open_call(conn, QC, 1)["scorecard"]
    assert rows[1]["compliance_score"] == 0.0, "decided a failure, the critical item now counts"
    assert kpi.compliance == pytest.approx(50.0)
    farewell = next(i for i in card["items"] if i["id"] == "farewell")
    assert (farewell["verdict"], farewell["machine_verdict"], farewell["decided_by"]) == (
        "fail",
        "uncertain",
        "qc",
    )
    assert review_queue(list(rows.values()), "uncertain", 10) == []


def test_a_person_decides_an_uncertain_forbidden_phrase_like_any_item(engine):
    """A forbidden phrase heard poorly leaves the call unscored and in the review queue; decided not said,
    the score is the items'; decided said, it is 0. A sure one can be overridden too (a false alarm)."""
    from pipeline.stages.outcomes import _machine_scorecard

    items = [{"id": "greeting", "title": "Приветствие", "verdict": "pass", "weight": 1.0, "critical": True,
              "confidence": 0.95}]  # fmt: skip
    said = {"id": "rude", "title": "Недопустимые выражения", "confidence": 0.4, "weight": 1.0,
            "critical": True, "reason": "heard poorly or the speaker is not sure", "leaning": "fail",
            "evidence": {"utterance": 2, "start": 10.0, "text": "…", "matched": "отстаньте"}}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Operator).values(id=1, code="101", team="A"))
        outcomes = []
        for call_id, verdict in ((1, "uncertain"), (2, "fail")):
            conn.execute(insert(Call).values(id=call_id, uniqueid=f"{call_id}.1", operator_id=1, billsec=60,
                                             start_at=datetime(2026, 3, call_id, 10)))  # fmt: skip
            found = [dict(said, verdict=verdict)]
            classified = {"compliance": {"items": items, "forbidden": found, "score": None}}
            machine = _machine_scorecard(classified)
            outcomes.append(Outcome(call_id=call_id, counted=True, machine_scorecard=machine,
                                    machine_compliance_score=None, handle_seconds=60.0))  # fmt: skip
        save_analysis(conn, outcomes, [], [], [])
    with engine.connect() as conn:
        rows = {r["id"]: r for r in list_calls(conn, QC)}
    assert rows[1]["compliance_score"] is None and rows[2]["compliance_score"] == 0.0
    assert [c["id"] for c in review_queue(list(rows.values()), "uncertain", 10)] == [1]
    with engine.begin() as conn:
        override_verdict(conn, QC, 1, "forbidden:rude", "pass", "said to a colleague, not the customer")
        override_verdict(conn, QC, 2, "forbidden:rude", "pass", "the customer said it, not the operator")
    with engine.connect() as conn:
        assert [r["compliance_score"] for r in list_calls(conn, QC)] == [100.0, 100.0]
    with engine.begin() as conn:
        override_verdict(conn, QC, 1, "forbidden:rude", "fail", "listened again: it was said to the customer")
        card = open_call(conn, QC, 1)["scorecard"]
    assert card["score"] == 0.0
    assert next(i for i in card["items"] if i["id"] == "forbidden:rude")["kind"] == "forbidden"


def test_pooled_verdicts_on_the_ground_truth_text_of_every_simulated_site(tmp_path):
    """Perfect recognition and roles: failures found and true, almost nothing left uncertain (pooled)."""
    from bench.verdicts import clean_verdicts, discover_sites, figures

    pooled = []
    for site in discover_sites():
        truth = json.loads((site / "ground_truth.json").read_text(encoding="utf-8"))
        pooled += clean_verdicts(site, truth, tmp_path / site.name)
    total = figures(pooled).items["all items"]
    assert total.n >= 200
    assert total.recall >= 0.9 and total.precision >= 0.5
    assert total.uncertain_share <= 0.05


def _page(name: str, **query):
    """A dashboard page run for a quality controller (AppTest)."""
    from streamlit.testing.v1 import AppTest

    def run_page(name: str) -> None:
        import qa_dashboard.pages_call as call
        import qa_dashboard.pages_calls as calls

        {"call": call.call_page, "review": calls.review_page}[name]()

    app = AppTest.from_function(run_page, args=(name,), default_timeout=60)
    app.session_state["viewer"] = QC
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def test_the_call_page_shows_an_uncertain_item_with_its_moment_and_the_queue_brings_it(tmp_path, monkeypatch):
    from qa_dashboard import common
    from store import open_store

    url = f"sqlite:///{tmp_path / 'callqa.db'}"
    engine = open_store(url)
    _centre(engine)
    engine.dispose()
    monkeypatch.setenv("CALLQA_DB", url)
    common.engine.clear()  # the page's engine is cached per process
    try:
        review = _page("review")
        assert review.radio[0].value == "uncertain", "the queue starts with what waits for a person"
        waiting = review.dataframe[0].value["why"].tolist()
        assert "uncertain, no score until decided: Прощание" in waiting
        app = _page("call", call="1")
        shown = " ".join(m.value for m in app.markdown)
        assert ":orange-badge[uncertain] **Прощание** · confidence 0.40 · leans fail" in shown
        assert any("1 item(s) uncertain" in w.value for w in app.warning)
        assert any(c.value == "Why uncertain: heard poorly" for c in app.caption)
        why_pass = "Why pass: a second reading of those digits holds a valid one"
        assert any(c.value == why_pass for c in app.caption), "what it passed on, no words quoting it"
        moment = next(b for b in app.button if b.key == "evidence-farewell")
        assert moment.label == "▶ 0:40"
        assert app.selectbox(key="override-item").value == "farewell", "the form opens on the uncertain item"
        assert app.radio(key="override-verdict").options == ["pass", "fail", "n/a"]
        engine = open_store(url)
        with engine.begin() as conn:
            override_verdict(conn, QC, 1, "farewell", "pass", "said goodbye, the line was noisy")
        engine.dispose()
        captions = [c.value for c in _page("call", call="1").caption]
        assert not any("heard poorly" in c for c in captions), "a person's pass is not the machine's doubt"
    finally:
        common.engine.clear()


def test_the_moment_to_listen_to_is_where_the_phrase_was_said_in_a_long_turn():
    call = _call()
    # The operator talks on for half a minute in utterances a second apart (one turn), then says goodbye.
    long_turn = [
        _utterance("operator", 17.0 + 2.6 * i, "Проверьте ещё раз настройки отправки.") for i in range(9)
    ]
    farewell = _utterance("operator", 17.0 + 2.6 * 9, "Всего доброго, до свидания.")
    verdicts = _verdicts([*call[:4], *long_turn, farewell])
    assert verdicts["farewell"].verdict == "pass"
    assert verdicts["farewell"].evidence.start == farewell.start, "not the turn's start, 23 s earlier"


def test_the_moment_of_a_greeting_said_company_first_is_where_it_begins():
    call = _call()
    company, hello = (
        _utterance("operator", 0.5, "Компания Контур."),
        _utterance("operator", 1.6, "Здравствуйте."),
    )
    verdicts = _verdicts([company, hello, *call[1:]])
    assert verdicts["greeting"].verdict == "pass" and verdicts["greeting"].evidence.start == 0.5
