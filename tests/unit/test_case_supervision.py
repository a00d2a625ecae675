"""Automatic supervision (cases/supervision.py): each rule as data, switched on and off, at the
edges of its window; the same citizen, the same place (district and category at each level,
or a matching address), emergencies, unhappy follow-ups, overdue cases; the Flag events the
shell applies; and the address heuristic."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from cases.lifecycle import Case, CaseState, Flag, Transfer, apply, open_case
from cases.supervision import (DEFAULT_SUPERVISION, Finding, RepeatRule, SupervisionRules, address_key,
                               category_key, extract_address, findings, flags_for, same_address)
from workorders import FOLDER
from workorders.calendar import load_calendar

CAL = load_calendar(FOLDER / "holidays.yaml")
TZ = CAL.tz
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
NONE = SupervisionRules(emergency=False, repeat_caller=None, repeat_place=None, repeat_address=None, unhappy=False,
                        overdue=False)


def case(number: int, at: datetime = T0, **facts: object) -> Case:
    base: dict[str, object] = {"caller": f"1380000{number:04d}", "category": "04.01.01", "district": "lixia"}
    base.update(facts)
    return open_case(f"20261123-{number:04d}", f"call-{number}", at, CAL, **base)  # type: ignore[arg-type]


def reasons(found: list[Finding]) -> list[str]:
    return [f.reason for f in found]


# -- emergencies, unhappy, overdue -----------------------------------------------------------

def test_an_emergency_category_is_supervised_when_the_rule_is_on() -> None:
    gas = case(1, category="04.03.01", emergency=True)
    assert findings(gas, [], T0) == [Finding("emergency", "emergency category 04.03.01")]
    assert findings(gas, [], T0, replace(DEFAULT_SUPERVISION, emergency=False)) == []


def test_an_unhappy_follow_up_and_an_overdue_case() -> None:
    unhappy = replace(case(1), follow_up_result="unsatisfied")
    assert reasons(findings(unhappy, [], T0)) == ["unhappy"]
    assert findings(replace(unhappy, follow_up_result="satisfied"), [], T0) == []
    late = apply(case(2), Transfer("water"), T0, CAL)
    assert findings(late, [], T0 + timedelta(days=1)) == []
    due = late.accept_due
    assert due is not None
    assert findings(late, [], due) == [Finding("overdue", "deadline missed: accept")]
    assert findings(late, [], due, replace(DEFAULT_SUPERVISION, overdue=False)) == []


# -- the same citizen -----------------------------------------------------------------------

def test_the_same_caller_n_times_within_the_window() -> None:
    rules = replace(NONE, repeat_caller=RepeatRule(3, 30))
    me = "13812345678"
    earlier = [case(1, T0 - timedelta(days=30), caller=me), case(2, T0 - timedelta(days=3), caller=me)]
    now = case(3, T0, caller=me)
    [found] = findings(now, earlier, T0, rules)
    assert found == Finding("repeat_caller", "3 cases from 13812345678 within 30 days (this one and "
                                             "20261123-0001, 20261123-0002)", ("20261123-0001", "20261123-0002"))
    # a day more and the first falls out of the window
    assert findings(case(3, T0 + timedelta(seconds=1), caller=me), earlier, T0, rules) == []
    # other callers, later cases and the case itself do not count
    noise = [case(4, T0, caller="13900000000"), case(5, T0 + timedelta(hours=1), caller=me), now]
    assert findings(now, [earlier[1], *noise], T0, rules) == []


@pytest.mark.parametrize("caller", ["anonymous", "", "unknown", "1234"])
def test_a_withheld_or_unusable_number_is_never_one_citizen(caller: str) -> None:
    rules = replace(NONE, repeat_caller=RepeatRule(2, 30))
    assert findings(case(2, caller=caller), [case(1, caller=caller)], T0, rules) == []


# -- the same place ---------------------------------------------------------------------------

def test_the_same_district_and_category_at_each_level() -> None:
    others = [case(1, T0 - timedelta(days=1), category="04.01.02"), case(2, T0 - timedelta(days=2), category="04.02.01")]
    mine = case(3, category="04.01.01")
    item = replace(NONE, repeat_place=RepeatRule(2, 7), place_level="item")
    assert findings(mine, others, T0, item) == []
    subclass = replace(item, place_level="subclass")
    assert findings(mine, others, T0, subclass) == [Finding(
        "repeat_place", "2 cases in district lixia of category 04.01 within 7 days (this one and 20261123-0001)",
        ("20261123-0001",))]
    klass = replace(item, place_level="class", repeat_place=RepeatRule(3, 7))
    assert reasons(findings(mine, others, T0, klass)) == ["repeat_place"]
    elsewhere = [replace(o, district="shizhong") for o in others]
    assert findings(mine, elsewhere, T0, klass) == []


def test_a_matching_address_in_the_same_district() -> None:
    rules = replace(NONE, repeat_address=RepeatRule(3, 7))
    others = [case(1, T0 - timedelta(days=1), category="06.01.01", address="经十路１２３号"),
              case(2, T0 - timedelta(days=2), category="03.01.01", address="经十路123号院")]
    mine = case(3, category="04.01.01", address="经十路 123 号")
    [found] = findings(mine, others, T0, rules)
    assert found.reason == "repeat_place" and found.related == ("20261123-0001", "20261123-0002")
    assert findings(mine, [replace(o, district="huaiyin") for o in others], T0, rules) == []
    assert findings(replace(mine, address=""), others, T0, rules) == []


def test_district_and_category_win_over_the_address_with_one_finding() -> None:
    rules = replace(NONE, repeat_place=RepeatRule(2, 7), repeat_address=RepeatRule(2, 7))
    other = case(1, T0 - timedelta(hours=1), address="经十路123号")
    found = findings(case(2, address="经十路123号"), [other], T0, rules)
    assert reasons(found) == ["repeat_place"] and "district lixia" in found[0].note


@pytest.mark.parametrize(("a", "b", "same"), [
    ("经十路123号", "经十路123号", True),
    ("经十路１２３号", "经十路 123 号", True),          # full-width digits, spaces
    ("经十路123号", "经十路123号院2号楼", True),        # one inside the other
    ("经十路123号", "经十路124号", False),
    ("路", "路", False),                                # too short to say anything
    ("Jingshi Rd. 123", "jingshi rd 123", True),       # case and punctuation
    ("", "经十路123号", False),
])
def test_same_address(a: str, b: str, same: bool) -> None:
    assert same_address(a, b, 4) is same


@pytest.mark.parametrize(("request_text", "address"), [
    ("我家在经十路123号门口漏水", "经十路123号"),
    ("舜耕小区5号楼停水两天", "舜耕小区5号楼"),
    ("山大路 45 号 施工扰民", "山大路45号"),
    ("公积金怎么提取", ""),
])
def test_extract_address(request_text: str, address: str) -> None:
    assert extract_address(request_text) == address


def test_keys() -> None:
    assert address_key(" 经十路，123号！") == "经十路123号"
    assert (category_key("04.01.02", "item"), category_key("04.01.02", "subclass"),
            category_key("04.01.02", "class")) == ("04.01.02", "04.01", "04")


# -- from findings to events --------------------------------------------------------------------

def test_flags_for_gives_one_flag_per_new_reason() -> None:
    flagged = replace(case(1), state=CaseState.OPEN, supervision=("emergency",))
    found = [Finding("emergency", "x"), Finding("repeat_place", "by district"), Finding("repeat_place", "by address"),
             Finding("overdue", "late")]
    assert flags_for(flagged, found) == [Flag("repeat_place", "by district"), Flag("overdue", "late")]


def test_the_lookback_is_the_longest_window_switched_on() -> None:
    assert DEFAULT_SUPERVISION.lookback() == timedelta(days=30)
    assert replace(NONE, repeat_place=RepeatRule(5, 7)).lookback() == timedelta(days=7)
    assert NONE.lookback() == timedelta(0)


def test_the_findings_come_in_the_order_of_the_reasons() -> None:
    me = "13812345678"
    others = [case(1, T0 - timedelta(days=1), caller=me), case(2, T0 - timedelta(days=2), caller=me)]
    mine = replace(case(3, caller=me, emergency=True), follow_up_result="unsatisfied")
    assert reasons(findings(mine, others, T0)) == ["emergency", "repeat_caller", "unhappy"]
