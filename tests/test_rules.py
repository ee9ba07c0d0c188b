"""Business rules and KPIs: exact values at every boundary of the registration manual, and properties."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asr import Utterance
from classifiers import (
    CallFacts,
    exclusion_reasons,
    inn_is_valid,
    luhn_is_valid,
    registration_rate,
)
from classifiers.identifiers import identifiers
from classifiers.linking import ContactFacts, IncidentFacts, duplicate_incidents, repeat_contacts
from classifiers.pii import find_pii
from classifiers.transfers import spoken_transfer, target_extension
from contracts import CallRules
from store.kpi import CallKpiFacts, CompositeOptions, add_composite, geometric_mean, kpi_rows
from store.policy import mask


def call(talk=60.0, answered=True, transferred=False, number="79001234567", linked=True) -> CallFacts:
    return CallFacts(answered, talk, transferred, number, linked)


@pytest.mark.parametrize(
    ("facts", "reasons"),
    [
        (call(talk=19.9), ["short_call"]),
        (call(talk=20.0), []),
        (call(talk=149.0, transferred=True), ["short_transfer"]),
        (call(talk=150.0, transferred=True), []),
        (call(talk=19.0, transferred=True), ["short_call", "short_transfer"]),
        (call(number="1234", linked=False), ["internal_unlinked"]),
        (call(number="12345", linked=False), ["internal_unlinked"]),
        (call(number="123456", linked=False), []),
        (call(number="12345", linked=True), []),
        (call(answered=False, talk=0), ["not_answered"]),
        (call(answered=False, talk=0, number="101", linked=False), ["not_answered", "internal_unlinked"]),
    ],
)
def test_exclusion_rules_at_their_boundaries(facts, reasons):
    assert exclusion_reasons(facts) == reasons


def test_exclusion_thresholds_are_configurable_and_rules_can_be_switched_off():
    rules = CallRules(short_call_seconds=30, disabled=("internal_unlinked",))
    assert exclusion_reasons(call(talk=25, number="101", linked=False), rules) == ["short_call"]


def test_registration_rate_counts_only_counted_calls():
    assert registration_rate([([], True), ([], False), (["short_call"], False), ([], True)]) == 2 / 3
    assert registration_rate([(["short_call"], True)]) is None


def _inn10(body: str) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return body + str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_inn_checksum_accepts_valid_and_rejects_any_single_digit_change(body):
    inn = _inn10(body)
    assert inn_is_valid(inn)
    changed = inn[:9] + str((int(inn[9]) + 1) % 10)
    assert not inn_is_valid(changed)


def test_known_inns():
    assert inn_is_valid("7707083893")  # Sberbank
    assert inn_is_valid("500100732259")  # a 12-digit personal INN
    assert not inn_is_valid("7707083894") and not inn_is_valid("77070838")


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_is_valid(body + check):
            return body + check
    raise AssertionError


@given(st.text(alphabet="0123456789", min_size=15, max_size=18))
def test_luhn_has_exactly_one_check_digit(body):
    assert sum(luhn_is_valid(body + d) for d in "0123456789") == 1
    number = _luhn_complete(body)
    assert not luhn_is_valid(number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1])


@given(st.lists(st.floats(min_value=0.01, max_value=1000), min_size=1, max_size=8))
def test_geometric_mean_lies_between_min_and_max_and_scales(values):
    g = geometric_mean(values)
    assert min(values) * (1 - 1e-9) <= g <= max(values) * (1 + 1e-9)
    assert math.isclose(geometric_mean([v * 3 for v in values]), 3 * g, rel_tol=1e-9)


def test_a_card_number_is_masked_for_everyone_and_a_phone_only_for_some():
    text = "карта 4111 1111 1111 1111, телефон 79001234567, cvv 123"
    kinds = [s.kind for s in find_pii(text)]
    assert kinds == ["card", "phone", "cvv"]
    for role in ("admin", "quality_controller", "team_lead", "analyst", "operator"):
        assert "4111" not in mask(text, role) and "123" not in mask(text, role).split("cvv")[1]
    assert "79001234567" in mask(text, "admin") and "79001234567" not in mask(text, "analyst")
    assert mask("заказ 4111 1111 1111 1112", "analyst").endswith("1112"), "fails Luhn, no card words"
    assert mask("номер карты 4111 1111 1111 1112", "analyst") == "номер карты [card]", "misheard card number"


def test_identifiers_said_in_a_call():
    said = identifiers("ИНН 7707083893, КПП 773601001, номер обращения 204817, звоните 89001234567")
    assert said == {
        "inn": ["7707083893"],
        "kpp": ["773601001"],
        "phone": ["79001234567"],
        "card": [],
        "incident": ["204817"],
        "fragments": [],
    }
    # An account or contract number said as such is no incident number; one said beside the incident's is.
    assert identifiers("Лицевой счёт 87654321, адрес Ленина 5")["incident"] == []
    assert identifiers("номер заявки 204817, лицевой счёт 87654321")["incident"] == ["204817"]
    assert identifiers("по договору 5512, номер обращения 204817")["incident"] == ["204817"]
    assert identifiers("по вашему счёту всё в порядке, записывайте номер 204817")["incident"] == ["204817"]
    assert identifiers("передала вашу ошибку специалистам, номер 204817")["incident"] == ["204817"]
    assert identifiers("лицевой счёт, номер заявки 204817")["incident"] == ["204817"], "nearer incident word"
    # A number said whole, written by the recogniser in thousands; times, dates and addresses are not.
    assert identifiers("Номер заявки 10.452.")["incident"] == ["10452"]
    assert identifiers("Your ticket is 10,452, thanks")["incident"] == ["10452"]
    assert identifiers("приеду в 10.30, 01.03.2026, сервер 192.168.1.10")["incident"] == []


def test_spoken_transfers_and_their_targets():
    said = [
        Utterance(3.0, 5.0, "Одну минуту, соединяю.", "", 0.9, role="operator"),
        Utterance(9.0, 12.0, "", "Переключаю вас на отдел продаж, добавочный 2050.", 0.9, role="operator"),
    ]
    found = spoken_transfer(said)
    assert found.kind == "spoken" and found.at == 9.0 and found.target.startswith("отдел продаж")
    customer = Utterance(1.0, 3.0, "соедините меня с директором", "", 0.9, role="customer")
    assert spoken_transfer([customer]) is None
    assert target_extension("BRIDGE:1772720359.15-2100") == "2100" and target_extension("2050") == "2050"


def _incident(number, day, inn="7707083893", kpp="773601001", article="1201") -> IncidentFacts:
    created = datetime(2026, 3, 1) + timedelta(days=day)
    return IncidentFacts(int(number), number, created, inn, kpp, None, None, article)


@pytest.mark.parametrize(("days_apart", "duplicate"), [(6, True), (6.99, True), (7, False), (8, False)])
def test_duplicate_incidents_within_seven_days(days_apart, duplicate):
    pairs = duplicate_incidents([_incident("1", 0), _incident("2", days_apart)])
    assert pairs == ([("1", "2")] if duplicate else [])


def test_duplicates_need_the_same_inn_kpp_and_article():
    assert duplicate_incidents([_incident("1", 0), _incident("2", 1, article="1305")]) == []
    assert duplicate_incidents([_incident("1", 0), _incident("2", 1, kpp="773601002")]) == []


@pytest.mark.parametrize(("days_apart", "repeat"), [(6, True), (7, True), (8, False)])
def test_repeat_contacts_are_the_same_client_and_purpose_within_n_days(days_apart, repeat):
    start = datetime(2026, 3, 1, 10)
    calls = [
        ContactFacts(1, "client-1", "login", start),
        ContactFacts(2, "client-1", "login", start + timedelta(days=days_apart)),
        ContactFacts(3, "client-1", "billing", start + timedelta(days=1)),
        ContactFacts(4, "client-2", "login", start + timedelta(days=1)),
    ]
    assert repeat_contacts(calls) == ({2: 1} if repeat else {})


def test_a_client_calling_again_about_the_same_incident_is_a_repeat_whatever_the_purposes():
    start = datetime(2026, 11, 28, 10)
    calls = [
        ContactFacts(1, "client-1", None, start, frozenset({7})),
        ContactFacts(2, "client-1", "billing", start + timedelta(days=1), frozenset({7}), "inbound"),
        ContactFacts(3, "client-1", None, start + timedelta(days=2), frozenset({7}), "outbound"),
        ContactFacts(4, "client-1", None, start + timedelta(days=3), frozenset({8})),
        ContactFacts(5, "client-2", None, start + timedelta(days=1), frozenset({7})),
        ContactFacts(6, "client-1", None, start + timedelta(days=20), frozenset({7})),
    ]
    # The operator's callback (3) is follow-up; another incident (4), another client (5) or three weeks
    # later (6) is another question.
    assert repeat_contacts(calls) == {2: 1}
    callback = [
        ContactFacts(1, "c", "billing", start),
        ContactFacts(2, "c", "billing", start, direction="outbound"),
    ]
    assert repeat_contacts(callback) == {}, "a callback about the same question is follow-up"
    same_time = [ContactFacts(9, "c", "login", start), ContactFacts(3, "c", "login", start)]
    assert repeat_contacts(same_time) == {9: 3}, "at the same moment the record made first is the first"


def test_kpis_and_the_geometric_mean_composite_with_outliers():
    facts = []
    for operator, handle, repeats in (
        ("a", 100, 0),
        ("b", 200, 1),
        ("c", 300, 2),
        ("d", 110, 0),
        ("e", 900, 0),
    ):
        for i in range(5):  # `repeats` of the operator's calls were followed by the client calling again
            facts.append(CallKpiFacts(len(facts), operator, handle, False, i < repeats, i % 2 == 0, 80.0))
    rows = {r.group: r for r in add_composite(kpi_rows(facts), CompositeOptions(floor=0.05))}
    assert rows["a"].handle_time == 100 and rows["c"].fcr == 0.6 and rows["a"].registration_rate == 0.6
    assert rows["a"].composite == 1.0, "best handle time and no repeats"
    assert math.isclose(rows["e"].composite, math.sqrt(0.05 * 1.0), rel_tol=1e-3), "worst time, no repeats"
    assert rows["e"].outliers == ["handle_time"] and rows["a"].call_ids == [0, 1, 2, 3, 4]
    target = add_composite(
        kpi_rows(facts),
        CompositeOptions(normalisation="target", targets={"handle_time": 200, "fcr": 0.9}),
    )
    assert {r.group: r.composite for r in target}["c"] == round(math.sqrt(200 / 300 * 0.6 / 0.9), 4)
    few = [f for f in facts if f.call_id % 5 < 4]  # four calls each: too few to call anyone far off
    assert not any(r.outliers for r in add_composite(kpi_rows(few), CompositeOptions()))

    # Compliance far off on one scored call (the rest wait for a person) is not yet a finding.
    def compliance(f):
        if f.group != "e":
            return 80.0 + f.call_id % 3
        return 20.0 if f.call_id == 20 else None

    unscored = [replace(f, compliance=compliance(f)) for f in facts]
    rows = {r.group: r for r in add_composite(kpi_rows(unscored), CompositeOptions())}
    assert rows["e"].scored == 1 and "compliance" not in rows["e"].outliers
    scored = kpi_rows([replace(f, compliance=20.0) if f.group == "e" else f for f in unscored])
    assert "compliance" in {r.group: r for r in add_composite(scored, CompositeOptions())}["e"].outliers


def test_a_repeat_contact_counts_against_the_operator_who_took_the_first_call():
    # Two operators with the same handle time: the client of a's first call rang again and b took it.
    first = CallKpiFacts(0, "a", 200.0, False, True, True, 90.0)
    callback = CallKpiFacts(1, "b", 200.0, True, False, True, 90.0)
    others = [CallKpiFacts(i, op, 200.0, False, False, True, 90.0) for i, op in ((2, "a"), (3, "b"))]
    rows = {r.group: r for r in add_composite(kpi_rows([first, callback, *others]), CompositeOptions())}
    assert rows["b"].repeat_rate == 0.5, "b took a repeat contact"
    assert rows["a"].composite < rows["b"].composite == 1.0, "the repeat is a's call's, not b's"


def test_calls_of_no_known_operator_set_no_range_for_the_operators_composite():
    calls = [("a", 200.0), ("a", 200.0), ("b", 300.0), ("b", 300.0)]
    facts = [CallKpiFacts(i, op, handle, False, False, True, 80.0) for i, (op, handle) in enumerate(calls)]
    alone = {r.group: r.composite for r in add_composite(kpi_rows(facts), CompositeOptions())}
    stray = CallKpiFacts(9, "unknown", 31.0, False, False, False, None)  # one short call with no operator
    rows = {r.group: r for r in add_composite(kpi_rows([*facts, stray]), CompositeOptions())}
    assert {g: rows[g].composite for g in ("a", "b")} == alone, "the operators keep their standing"
    assert rows["unknown"].composite == 1.0, "placed on the operators' range, at its best end"
