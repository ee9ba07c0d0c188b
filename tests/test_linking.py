"""Calls to incidents: a number heard with a digit lost still counts, and an incident another call
accounts for is no rival for a call's clear winner."""

from __future__ import annotations

from datetime import datetime, timedelta

from classifiers.linking import (
    CallFacts,
    IncidentFacts,
    automatic_links,
    explained_elsewhere,
    partly_said,
    rank_candidates,
    spoken_forms,
)

T0 = datetime(2026, 4, 15, 12, 47)


def incident(id_: int, number: str, minutes: float, **fields) -> IncidentFacts:
    return IncidentFacts(id_, number, T0 + timedelta(minutes=minutes), **fields)


def test_a_number_with_a_digit_lost_or_misheard_is_partly_said():
    assert partly_said("51241", ["1241"]) == "1241"  # «пять» heard as «беть»: the first digit lost
    assert partly_said("51241", ["5124"]) == "5124"  # the last one lost
    assert partly_said("204819", ["24819"]) == "24819"  # «ноль» swallowed
    assert partly_said("51241", ["51242", "2412", "124"]) is None, "the next number in sequence is another"
    assert partly_said("5124", ["124"]) is None, "short numbers match too much by chance"


def test_both_incidents_of_a_two_question_call_link_when_one_number_lost_a_digit():
    call = CallFacts(1, T0, operator_id=7, client_id=3, said_numbers=["51242"], said_fragments=["1241"])
    incidents = [
        incident(11, "51241", 4, client_id=3, operator_id=7),
        incident(12, "51242", 5, client_id=3, operator_id=7),
        incident(13, "51238", -2000, client_id=3),  # the client's older incident: not this call's
    ]
    linked = automatic_links(rank_candidates(call, incidents))
    assert sorted(c.number for c in linked) == ["51241", "51242"]
    partly = next(c for c in linked if c.number == "51241")
    assert any("partly said (1241)" in r for r in partly.reasons)
    # The digits alone are not enough: another client's incident with the same tail is no candidate.
    stranger = CallFacts(2, T0, client_id=99, said_fragments=["1241"])
    assert automatic_links(rank_candidates(stranger, incidents)) == []


def test_an_incident_another_call_accounts_for_is_no_rival():
    # A repeat contact: the same client's incident registered the next day on their next call.
    this = CallFacts(1, T0, operator_id=7, client_id=3, purpose_article="430", text="баланс оплата")
    next_day = CallFacts(2, T0 + timedelta(days=1), operator_id=8, client_id=3, said_numbers=["51243"],
                         purpose_article="430", text="баланс оплата")  # fmt: skip
    incidents = [
        incident(10, "51240", 5, client_id=3, operator_id=7, article="430", summary="оплата"),
        incident(13, "51243", 24 * 60 + 5, client_id=3, operator_id=8, article="430", summary="оплата"),
    ]
    ranked = {1: rank_candidates(this, incidents), 2: rank_candidates(next_day, incidents)}
    assert [c.number for c in ranked[1]] == ["51240", "51243"]
    assert automatic_links(ranked[1]) == [], "alone, the next day's incident makes it too close to call"
    explained = explained_elsewhere(ranked, kept={})
    assert explained[1] == {13} and explained[2] == set()
    assert [c.number for c in automatic_links(ranked[1], explained=explained[1])] == ["51240"]
    assert [c.number for c in automatic_links(ranked[2], explained=explained[2])] == ["51243"]


def test_an_incident_the_helpdesk_linked_to_another_call_is_not_linked_again_without_its_number():
    call = CallFacts(1, T0, operator_id=7, client_id=3, purpose_article="430", text="оплата")
    incidents = [incident(10, "51240", 3, client_id=3, operator_id=7, article="430", summary="оплата")]
    ranked = {1: rank_candidates(call, incidents)}
    assert [c.number for c in automatic_links(ranked[1])] == ["51240"]
    explained = explained_elsewhere(ranked, kept={2: {10}, 1: set()})
    assert automatic_links(ranked[1], explained=explained[1]) == []


def test_a_helpdesk_key_with_letters_links_by_the_digits_said_for_it():
    assert spoken_forms("51241") == ("51241",)
    assert spoken_forms("ВК-2026-00417") == ("202600417", "00417", "417")
    assert spoken_forms("INC0012345") == ("0012345", "12345")
    assert spoken_forms("N/A") == ()
    incidents = [
        incident(21, "ВК-2026-00417", 3, operator_id=7, client_id=5),
        incident(22, "ВК-2026-00418", 6, operator_id=7),  # the next one in sequence: another incident
        incident(23, "INC0012345", 4),
        incident(24, "ВК-2025-00417", -365 * 24 * 60, client_id=5),  # last year's, with the same serial
    ]
    whole = CallFacts(2, T0, said_kpps=["202600418"])  # every digit in one go: as long as a KPP
    assert [c.number for c in automatic_links(rank_candidates(whole, incidents))] == ["ВК-2026-00418"]
    # The serial alone («ноль ноль четыре один семь») is evidence, never a name: last year's incident with
    # the same serial is no candidate, and the client, operator and time decide.
    serial = CallFacts(1, T0, operator_id=7, client_id=5, said_numbers=["00417"])
    ranked = rank_candidates(serial, incidents)
    assert [c.number for c in ranked] == ["ВК-2026-00417"] and "serial 00417" in ranked[0].reasons[0]
    assert [c.number for c in automatic_links(ranked)] == ["ВК-2026-00417"]
    assert rank_candidates(CallFacts(3, T0, said_numbers=["00417"]), incidents)[0].confidence < 0.85
    assert rank_candidates(CallFacts(4, T0, said_fragments=["1245"]), incidents) == [], "a stripped serial"
    assert automatic_links(rank_candidates(CallFacts(5, T0, said_numbers=["00419"]), incidents)) == []
    # A short key read back with its letters («S D, four eight two one», written "sd4821") is named.
    short = [incident(25, "SD-4821", 2), incident(26, "SD-4822", 5)]
    assert spoken_forms("SD-4821") == ("4821",)
    ranked = rank_candidates(CallFacts(6, T0, said_fragments=["4821"]), short)
    assert [c.number for c in automatic_links(ranked)] == ["SD-4821"]


def test_a_number_heard_with_a_digit_lost_names_only_the_incident_it_clearly_fits():
    # «пять один два четыре три» heard as «5124»: it fits this client's 51240 (yesterday's call), 51243
    # (opened by this operator a minute after this call began) and 51245 (three days later).
    facts = dict(client_id=3, article="430", summary="оплата")
    incidents = [
        incident(10, "51240", -24 * 60 + 5, operator_id=6, **facts),
        incident(13, "51243", 1, operator_id=7, **facts),
        incident(15, "51245", 3 * 24 * 60, operator_id=8, **facts),
        incident(11, "51241", -30, client_id=9, article="440"),  # another client's
    ]
    call = CallFacts(1, T0, operator_id=7, client_id=3, said_fragments=["5124"], purpose_article="430",
                     text="баланс оплата")  # fmt: skip
    ranked = rank_candidates(call, incidents)
    assert [c.number for c in automatic_links(ranked)] == ["51243"]
    yesterday = next(c for c in ranked if c.number == "51240")
    assert not any(r.startswith("incident number") for r in yesterday.reasons)
    assert all(c.number != "51245" or "partly said" not in " ".join(c.reasons) for c in ranked), (
        "no number is said days before its incident exists"
    )
    assert "51241" not in [c.number for c in ranked], "nothing but the run connected it"
    # Yesterday's call, whose own number was lost, links its incident: this call accounts for 51243.
    yesterday_call = CallFacts(2, T0 - timedelta(days=1), operator_id=6, client_id=3, said_inns=[],
                               purpose_article="430", text="баланс оплата")  # fmt: skip
    both = {1: ranked, 2: rank_candidates(yesterday_call, incidents)}
    explained = explained_elsewhere(both, kept={})
    assert [c.number for c in automatic_links(both[2], explained=explained[2])] == ["51240"]


def test_a_run_that_fits_several_incidents_equally_names_none():
    facts = dict(client_id=3, operator_id=7, article="430")
    incidents = [incident(10, "51240", 2, **facts), incident(13, "51243", 3, **facts)]
    call = CallFacts(1, T0, operator_id=7, client_id=3, said_fragments=["5124"], purpose_article="430")
    ranked = rank_candidates(call, incidents)
    assert automatic_links(ranked) == [], "a person decides"
    assert all(any("maybe said (5124 fits 51240, 51243)" in r for r in c.reasons) for c in ranked)
