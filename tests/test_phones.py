"""Phone numbers in any written form reduce to one canonical form (contracts.phones)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import CallRules
from contracts.phones import NUMBERING_PLANS, canonical_phone, is_said_phone, normalise_phone, split_phones

national = st.from_regex(r"[3-9][0-9]{9}", fullmatch=True)
prefixes = st.sampled_from(["", "7", "8", "+7", "+ 7"])
separators = st.sampled_from(["", " ", "-", ".", " - ", "\u00a0", "\u2013", "  "])


@st.composite
def written(draw, number: str) -> str:
    """`number` (10 national digits) as a person might type it: a prefix, separators, a bracketed code."""
    prefix = draw(prefixes)
    groups, rest = [], number
    bracket = draw(st.booleans())
    code, rest = rest[:3], rest[3:]
    while rest:
        size = draw(st.integers(1, 4))
        groups.append(rest[:size])
        rest = rest[size:]
    code = f"({code})" if bracket else code
    parts = [p for p in (prefix, code, *groups) if p]
    text = parts[0]
    for part in parts[1:]:
        text += draw(separators) + part
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " ", "\t"]))


@given(st.data(), national)
def test_separators_and_prefixes_never_change_the_number(data, number):
    a, b = data.draw(written(number)), data.draw(written(number))
    assert normalise_phone(a) == normalise_phone(b) == "7" + number


@given(st.text(max_size=30))
def test_normalising_is_idempotent(value):
    once = normalise_phone(value)
    assert normalise_phone(once) == once


@given(st.data(), national)
def test_normalising_a_written_number_is_idempotent(data, number):
    once = normalise_phone(data.draw(written(number)))
    assert normalise_phone(once) == once and canonical_phone(once) == once


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("+7 916 123-45-67", "79161234567"),
        ("8 (812) 640-77-88", "78126407788"),
        ("79161234567", "79161234567"),
        ("9161234567", "79161234567"),
        ("8-800-555-35-35", "78005553535"),
        ("+7(916)123.45.67", "79161234567"),
        ("tel:+79161234567", "79161234567"),
        ("8 (812) 640-77-88 доб. 123", "78126407788"),
        ("+44 20 7123 4567", "442071234567"),
    ],
)
def test_written_forms(typed, canonical):
    assert normalise_phone(typed) == canonical == canonical_phone(typed)


@pytest.mark.parametrize("typed", ["101", "8800", "3105", "12"])
def test_internal_numbers_are_kept_as_they_are(typed):
    assert normalise_phone(typed) == typed and canonical_phone(typed) is None
    assert CallRules().is_internal_number(normalise_phone(typed))


@pytest.mark.parametrize(
    "typed", ["нет", "не указан", "1234567890", "+7 916 123", "12345678901234567", "+4930123456"]
)
def test_what_is_not_a_phone_is_kept_as_typed_and_not_canonical(typed):
    assert normalise_phone(f" {typed} ") == typed and canonical_phone(typed) is None


def test_blank_is_no_number():
    assert normalise_phone(None) is None and normalise_phone("  ") is None and split_phones("") == []


def test_a_cell_with_several_numbers():
    cell = "+7 916 123-45-67, 8 (812) 640-77-88; 79161234567 или 101"
    assert split_phones(cell) == ["79161234567", "78126407788", "101"]


def test_a_site_with_longer_extensions_keeps_them():
    rules = CallRules(internal_number_max_length=6)
    assert normalise_phone("210345", rules) == "210345"


# ---------------------------------------------------------------- another country's numbering plan

US = CallRules(phone_country="US")
us_national = st.from_regex(r"[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True)


@pytest.mark.parametrize(
    "typed", ["(212) 555-0147", "212-555-0147", "212.555.0147", "+1 212 555 0147", "1-212-555-0147",
              "2125550147", "12125550147", "tel:+12125550147", "(212) 555-0147 ext. 12"]
)  # fmt: skip
def test_a_us_site_reads_american_numbers_as_american(typed):
    assert normalise_phone(typed, US) == "12125550147" == canonical_phone(typed, "US")


@pytest.mark.parametrize("country", NUMBERING_PLANS)
@given(value=st.text(alphabet="0123456789 +-().x#", max_size=20))
def test_normalising_is_idempotent_in_every_countrys_plan(country, value):
    rules = CallRules(phone_country=country)
    once = normalise_phone(value, rules)
    assert normalise_phone(once, rules) == once


@given(us_national, st.sampled_from(["", "1", "+1", "+1 ", "1-"]), st.sampled_from(["", " ", "-", "."]))
def test_a_us_number_is_one_number_however_written(number, prefix, separator):
    typed = f"{prefix}{number[:3]}{separator}{number[3:6]}{separator}{number[6:]}"
    once = normalise_phone(typed, US)
    assert once == "1" + number and normalise_phone(once, US) == once


def test_the_same_digits_read_differently_in_another_country():
    assert canonical_phone("(512) 555-0147") == "75125550147"  # a Russian site: a Russian area code
    assert canonical_phone("(512) 555-0147", "US") == "15125550147"
    assert canonical_phone("+7 916 123-45-67", "US") == "79161234567"  # a foreign number keeps its code
    assert canonical_phone("8 (812) 640-77-88", "US") is None  # no US number: kept as typed, names no one


def test_a_uk_site_reads_the_trunk_zero():
    london = "442079460018"
    assert canonical_phone("020 7946 0018", "GB") == london == canonical_phone("+44 20 7946 0018", "GB")
    assert canonical_phone("+1 (212) 555-0147", "GB") == "12125550147"


def test_digits_said_in_a_call_are_a_phone_by_the_sites_plan():
    assert is_said_phone("2125550147", "US") and not is_said_phone("2125550147")  # Russia: 10 digits, mobile
    assert is_said_phone("9161234567") and is_said_phone("89161234567")
    assert not is_said_phone("555014", "US")


def test_the_trunk_zero_in_brackets_is_not_dialled_from_abroad():
    assert (
        canonical_phone("+44 (0)20 7946 0018", "GB")
        == "442079460018"
        == canonical_phone("+44 (0)20 7946 0018")
    )


def test_an_unknown_country_is_refused_by_name():
    with pytest.raises(ValueError, match="no numbering plan for 'XX'"):
        canonical_phone("2125550147", "XX")
