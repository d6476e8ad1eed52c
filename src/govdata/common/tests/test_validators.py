"""Check characters of the unified social credit code (GB 32100-2015) and the citizen ID
number (GB 11643-1999), and the mobile number shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.common.clock import SHANGHAI
from govdata.common.validators import (
    ID_CHECK,
    USCC_ALPHABET,
    id_check_char,
    id_number_problem,
    mobile_problem,
    uscc_check_char,
    uscc_problem,
    validate_id_number,
    validate_mobile,
    validate_uscc,
)

TODAY = dt.date(2026, 3, 2)


def en(problem):
    """Run a ``*_problem`` call with English messages, so tests can tell reasons apart."""

    def call(*args, **kwargs):
        with translation.override("en"):
            return problem(*args, **kwargs)

    return call


uscc = en(uscc_problem)
id_number = en(id_number_problem)


def with_uscc_check(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def with_id_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def other_chars(alphabet: str, right: str) -> list[str]:
    return [c for c in alphabet if c != right]


# --- unified social credit code ------------------------------------------------------------


# Codes published by their holders (business licences, public registries); each one's check
# character is also recomputed below, so a mistyped example could not pass unnoticed.
PUBLISHED_USCC = [
    "91350100M000100Y43",  # the worked example used to explain GB 32100
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
]


@pytest.mark.req("R-3.2")
@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_credit_codes_are_valid(code):
    assert uscc_check_char(code[:17]) == code[17]
    assert uscc_problem(code) is None
    assert uscc_problem(code.lower()) is None  # case does not matter
    assert uscc_problem(f"  {code} ") is None
    validate_uscc(code)


@pytest.mark.req("R-3.2")
@pytest.mark.parametrize(
    "first17",
    [
        "11210800001234567",  # 机构编制 / 机关: a Yingkou government department
        "12210800MB1234567",  # 机构编制 / 事业单位: an authorised public institution
        "51210800MJ0012345",  # 民政 / 社会团体: a social organisation
        "91210800MA0QABCDE",  # 工商 / 企业: a public enterprise
    ],
)
def test_generated_credit_codes_validate_and_every_other_check_char_fails(first17):
    code = with_uscc_check(first17)
    assert uscc_problem(code) is None
    for wrong in other_chars(USCC_ALPHABET, code[17]):
        assert "check character" in uscc(first17 + wrong)
        with pytest.raises(ValidationError):
            validate_uscc(first17 + wrong)


def test_credit_code_check_char_zero_when_the_sum_is_a_multiple_of_31():
    # All zeros: the weighted sum is 0, so C18 = 31 - 0 = 31, which the standard maps to 0.
    assert uscc_check_char("0" * 17) == "0"
    assert uscc_problem("0" * 18) is None


@pytest.mark.parametrize("length", [0, 1, 15, 17, 19, 20])
def test_credit_code_of_wrong_length_is_refused(length):
    code = with_uscc_check("91350100M000100Y4")[:length] if length <= 18 else "91350100M000100Y43" + "1" * (length - 18)
    reason = uscc(code)
    assert reason and "18 characters" in reason and str(length) in reason


def test_blank_credit_code_is_refused():
    assert "18 characters" in uscc("")
    assert "18 characters" in uscc(None)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
@pytest.mark.parametrize("position", [0, 1, 8, 12, 16, 17])
def test_letters_outside_the_gb32100_alphabet_are_refused(letter, position):
    code = list(with_uscc_check("91210800MA0QABCDE"))
    code[position] = letter
    reason = uscc("".join(code))
    assert reason and "not allowed" in reason


@pytest.mark.parametrize("position", [2, 3, 7])
def test_division_code_part_must_be_digits(position):
    code = list(with_uscc_check("91210800MA0QABCDE"))
    code[position] = "A"
    assert "not allowed" in uscc("".join(code))


@pytest.mark.parametrize(
    "bad",
    [
        "91350100M000100Y4!",
        "91350100M000100 43",
        "９１350100M000100Y43",  # full-width digits in the head
        "91３５０１００M000100Y43",  # full-width digits in the division code
        "9135٠١٠٠M000100Y43",  # Arabic-Indic digits
    ],
)
def test_credit_code_with_punctuation_or_non_ascii_digits_is_refused_not_crashing(bad):
    reason = uscc(bad)
    assert reason and "not allowed" in reason


uscc_char = st.sampled_from(USCC_ALPHABET)
uscc_body = st.builds(
    lambda head, division, tail: "".join(head) + "".join(division) + "".join(tail),
    st.lists(uscc_char, min_size=2, max_size=2),
    st.lists(st.sampled_from("0123456789"), min_size=6, max_size=6),
    st.lists(uscc_char, min_size=9, max_size=9),
)


@settings(max_examples=300, deadline=None, database=None)
@given(body=uscc_body, other=uscc_char)
def test_property_computed_credit_code_check_char_validates_and_any_other_fails(body, other):
    assert len(body) == 17
    right = uscc_check_char(body)
    assert right in USCC_ALPHABET
    assert uscc_problem(body + right) is None
    if other != right:
        assert uscc(body + other) and "check character" in uscc(body + other)


# --- citizen identity number ---------------------------------------------------------------


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x"])
def test_gb11643_standard_example_is_valid(number):
    # GB 11643-1999's example: Beijing Chaoyang, born 1949-12-31, sequence 002, check X.
    assert id_check_char("11010519491231002") == "X"
    assert id_number_problem(number, today=TODAY) is None


def test_gb11643_second_example_has_a_right_check_char_but_a_birth_year_out_of_range():
    # The standard's other example (born 1880) is arithmetically valid; the platform refuses
    # birth years before 1900 as out of range, not as a wrong check character.
    assert id_check_char("44052418800101001") == "4"
    assert "out of range" in id_number("440524188001010014", today=TODAY)


@pytest.mark.parametrize(
    "first17",
    ["21080219800101001", "21088119991231123", "21080420000229456", "21081119000101001"],
)
def test_generated_id_numbers_validate_and_every_other_check_char_fails(first17):
    number = with_id_check(first17)
    assert id_number_problem(number, today=TODAY) is None
    for wrong in other_chars(ID_CHECK, number[17]):
        assert "check character" in id_number(first17 + wrong, today=TODAY)


@pytest.mark.parametrize(
    "bad", ["", "1101051949123100", "11010519491231002", "11010519491231002XX", "1101051949123100X2"]
)
def test_id_number_of_wrong_length_or_shape_is_refused(bad):
    assert "17 digits" in id_number(bad, today=TODAY)


def test_id_number_with_full_width_digits_is_refused():
    number = with_id_check("21080219800101001")
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert id_number_problem(number, today=TODAY) is None
    assert "17 digits" in id_number(full_width, today=TODAY)


@pytest.mark.parametrize("letter", ["A", "Y", "O"])
def test_id_number_with_letters_other_than_final_x_is_refused(letter):
    assert "17 digits" in id_number("11010519491231002" + letter, today=TODAY)
    assert "17 digits" in id_number("1101051949123" + letter + "002X", today=TODAY)


@pytest.mark.parametrize(
    "birth",
    ["19490230", "20230229", "19901301", "19900001", "19900132", "19900431", "19000229"],
)
def test_impossible_birth_dates_are_refused(birth):
    number = with_id_check(f"210802{birth}001")  # a right check char: only the date is wrong
    assert "does not exist" in id_number(number, today=TODAY)


def test_leap_day_birth_is_accepted():
    assert id_number_problem(with_id_check("21080220000229001"), today=TODAY) is None


def test_birth_in_the_future_is_refused_and_today_accepted():
    assert id_number_problem(with_id_check("21080220260302001"), today=TODAY) is None
    assert "out of range" in id_number(with_id_check("21080220260303001"), today=TODAY)
    assert "out of range" in id_number(with_id_check("21080230000101001"), today=TODAY)
    assert "out of range" in id_number(with_id_check("21080218991231001"), today=TODAY)


def test_validator_judges_the_future_by_the_platform_clock(clock):
    born_tomorrow = with_id_check("21080220260303001")
    clock.set(dt.datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI))
    with pytest.raises(ValidationError):
        validate_id_number(born_tomorrow)
    # 2026-03-03 00:30 in Shanghai is still 2026-03-02 in UTC: the Shanghai date decides.
    clock.set(dt.datetime(2026, 3, 3, 0, 30, tzinfo=SHANGHAI))
    validate_id_number(born_tomorrow)


id_body = st.builds(
    lambda region, birth, seq: f"{region:06d}{birth:%Y%m%d}{seq:03d}",
    st.integers(min_value=110000, max_value=829999),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


@settings(max_examples=300, deadline=None, database=None)
@given(body=id_body, other=st.sampled_from(ID_CHECK))
def test_property_computed_id_check_char_validates_and_any_other_fails(body, other):
    assert len(body) == 17
    right = id_check_char(body)
    assert id_number_problem(body + right, today=TODAY) is None
    if other != right:
        assert "check character" in id_number(body + other, today=TODAY)


# --- mobile --------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["13800138000", "19912345678", " 15012345678 "])
def test_mobile_numbers_accepted(good):
    assert mobile_problem(good) is None


@pytest.mark.parametrize(
    "bad",
    ["", "1380013800", "138001380000", "12800138000", "23800138000", "1380013800a", "+8613800138000", "138００１３８０００"],
)
def test_bad_mobile_numbers_refused(bad):
    assert mobile_problem(bad) is not None
    with pytest.raises(ValidationError):
        validate_mobile(bad)
