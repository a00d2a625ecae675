"""outbound.citizen_numbers: which caller IDs the hotline may dial back, and the dial string.

A hostile caller ID must never become an international or premium-rate call, nor add a
second target to Asterisk's Dial (issue 11, defect 2)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.waiting import announcement_attrs
from hotline.settings import PROJECT_ROOT
from outbound import (
    NumberPolicyError,
    load_number_policy,
    parse_number_policy,
    trunk_dial_target,
)

SHIPPED = load_number_policy(PROJECT_ROOT / "outbound" / "citizen_numbers.yaml")


@pytest.mark.parametrize(("caller_id", "number", "rule"), [
    ("13600000003", "13600000003", "mobile"),
    ("+8613600000003", "13600000003", "mobile"),
    ("008613600000003", "13600000003", "mobile"),
    ("136-0000-0003", "13600000003", "mobile"),
    ("053188886666", "053188886666", "landline with area code"),
    ("+86 531 8888 6666", "053188886666", "landline with area code"),
    ("(010) 1234 5678", "01012345678", "landline with area code"),
    ("88886666", "053188886666", "local landline"),
])
def test_domestic_numbers_are_dialled_in_national_form(caller_id: str, number: str, rule: str) -> None:
    verdict = SHIPPED.check(caller_id)
    assert (verdict.number, verdict.rule, verdict.allowed) == (number, rule, True)


@pytest.mark.parametrize(("caller_id", "rule"), [
    ("0044909879001", "international"),
    ("+1 212 555 0100", "international"),
    ("0044909879002&PJSIP/0033909555", "not a number"),
    ("13600000003&PJSIP/2001", "not a number"),
    ("13600000003,60,D(1)", "not a number"),
    ("1360000@evil", "not a number"),
    ("１３６０００００００３", "not a number"),   # full-width digits
    ("١٣٦٠٠٠٠٠٠٠٣", "not a number"),            # Arabic-Indic digits
    ("anonymous", "not a number"),
    ("", "not a number"),
    ("1" * 40, "not a number"),
    ("16012345678", "premium-rate and information services"),
    ("10690000", "premium-rate and information services"),
    ("95588", "premium-rate and information services"),
    ("4008123123", "shared-cost and toll-free service lines"),
    ("12345", "no allow rule"),
    ("110", "no allow rule"),
])
def test_hostile_or_foreign_caller_ids_are_refused_with_a_reason(caller_id: str, rule: str) -> None:
    verdict = SHIPPED.check(caller_id)
    assert (verdict.allowed, verdict.number, verdict.rule) == (False, None, rule)
    assert verdict.why


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"\+?[0-9&/@,\- ]{1,25}", fullmatch=True)))
def test_any_caller_id_gives_ascii_digits_an_allow_rule_matched_or_a_refusal(caller_id: str) -> None:
    verdict = SHIPPED.check(caller_id)
    if verdict.allowed:
        assert re.fullmatch(r"[0-9]+", verdict.number or "")
        assert not verdict.number.startswith("00")
        assert trunk_dial_target(verdict.number, "trunk-out") == f"PJSIP/{verdict.number}@trunk-out"
    else:
        assert verdict.number is None and verdict.why


@pytest.mark.parametrize("number", ["", "136&PJSIP/2001", "136/2001", "136,30", "136@x", "１３６", "+8613"])
def test_the_dial_string_accepts_nothing_but_a_checked_number(number: str) -> None:
    with pytest.raises(ValueError, match="refusing to dial"):
        trunk_dial_target(number, "trunk-out")


@pytest.mark.parametrize(("data", "problem"), [
    ([], "expected a mapping"),
    ({"allow": []}, "allow: at least one rule"),
    ({"allow": [{"name": "m", "pattern": "1[0-9]{10}"}], "deny": []}, "unknown key(s) deny"),
    ({"allow": [{"pattern": "1[0-9]{10}"}]}, "allow[0] (unnamed): field 'name' is required"),
    ({"allow": [{"name": "m"}]}, "allow[0] (m): field 'pattern'"),
    ({"allow": [{"name": "m", "pattern": "1[0-9"}]}, "allow[0] (m): field 'pattern' '1[0-9' is not a regular"),
    ({"allow": [{"name": "m", "pattern": "1", "prefix": "0x"}]}, "allow[0] (m): field 'prefix' '0x' must be digits"),
    ({"allow": [{"name": "m", "pattern": "1"}], "refuse": [{"name": "r", "pattern": "9", "prefix": "1"}]},
     "refuse[0] (r): unknown field(s) prefix"),
    ({"allow": [{"name": "m", "pattern": "1"}], "country_code": "+86"}, "country_code '+86' must be digits"),
])
def test_policy_errors_name_the_file_the_entry_and_the_field(data: object, problem: str) -> None:
    with pytest.raises(NumberPolicyError) as info:
        parse_number_policy(data, "outbound/citizen_numbers.yaml")
    assert str(info.value).startswith("outbound/citizen_numbers.yaml: ")
    assert problem in str(info.value)


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(NumberPolicyError, match="citizen_numbers.yaml: cannot read"):
        load_number_policy(tmp_path / "citizen_numbers.yaml")


def test_announcement_attrs_carry_a_refused_offer() -> None:
    assert announcement_attrs(2, 1, "refused")["offer_callback"] == "refused"
    with pytest.raises(ValueError):
        announcement_attrs(2, 1, "True")
