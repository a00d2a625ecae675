"""The work order value and its rules: ``validate`` (every error names its field), the
defaults, the due date of a transfer, what an update keeps, the status, the case number,
and ``workorders.filing`` (which facts of the call win)."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from hotline.settings import PROJECT_ROOT
from outbound.agencies import load_directory
from workorders.config import load_work_order_config
from workorders.filing import draft_of, file_order
from workorders.history import StoredCall, has_history
from workorders.model import (NOTES_MAX, REQUEST_MAX, FieldError, WorkOrder, case_number, status_of, validate)

DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
CONFIG = load_work_order_config(DIRECTORY)
TZ = CONFIG.calendar.tz
FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


def draft(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"call_id": "1700000000.1", "caller": "13812345678", "agent_id": "1001", "now": FRIDAY,
                            "category": "04.01.01", "request": "小区停水两天了", "district": "lixia",
                            "handling": "direct"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def check(d: dict[str, Any], previous: WorkOrder | None = None) -> WorkOrder | list[FieldError]:
    return validate(d, CONFIG.taxonomy, DIRECTORY, CONFIG.districts, CONFIG.calendar, previous)


def ok(d: dict[str, Any], previous: WorkOrder | None = None) -> WorkOrder:
    result = check(d, previous)
    assert isinstance(result, WorkOrder), result
    return result


def fields_of(result: Any) -> list[str]:
    assert isinstance(result, list), result
    return [e.field for e in result]


# -- a valid draft ------------------------------------------------------------------------

def test_a_direct_order_with_its_defaults() -> None:
    order = ok(draft(request="  小区停水两天了  "))
    assert (order.call_id, order.caller, order.agent_id, order.category, order.district) == (
        "1700000000.1", "13812345678", "1001", "04.01.01", "lixia")
    assert order.request == "小区停水两天了"  # trimmed
    assert (order.handling, order.agency_id, order.due_at, order.urgency) == ("direct", None, None, "normal")
    assert (order.three_party, order.satisfaction, order.notes, order.case_number) == (False, None, "", None)
    assert order.created_at == order.updated_at == FRIDAY


def test_an_emergency_item_is_an_emergency_unless_the_call_taker_says_otherwise() -> None:
    assert ok(draft(category="04.03.01")).urgency == "emergency"
    assert ok(draft(category="04.03.01", urgency="urgent")).urgency == "urgent"
    assert ok(draft(category="04.03.03")).urgency == "normal"


def test_a_transfer_is_due_two_working_days_later() -> None:
    order = ok(draft(handling="transferred", agency_id="water"))
    assert order.due_at == datetime(2026, 12, 1, 16, 0, tzinfo=TZ)  # Friday -> Tuesday
    before_national_day = ok(draft(handling="transferred", agency_id="water",
                                   now=datetime(2026, 9, 30, 10, 0, tzinfo=TZ)))
    assert before_national_day.due_at == datetime(2026, 10, 9, 10, 0, tzinfo=TZ)


def test_a_direct_order_may_name_the_agency_it_consulted() -> None:
    assert ok(draft(agency_id="water")).agency_id == "water"


def test_times_are_given_in_the_calendars_zone() -> None:
    order = ok(draft(now=FRIDAY.astimezone(timezone.utc)))
    assert order.created_at.utcoffset() == timedelta(hours=8) and order.created_at == FRIDAY


# -- errors, each naming its field --------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "why"), [
    ({"category": "99.99.99"}, "category", "unknown category '99.99.99'"),
    ({"category": "04.03"}, "category", "is a subclass: file the case under one of its items"),
    ({"category": "04"}, "category", "is a class"),
    ({"category": ...}, "category", "required"),
    ({"category": 40301}, "category", "required"),
    ({"request": "   "}, "request", "may not be empty"),
    ({"request": ...}, "request", "must be a text"),
    ({"request": "x" * (REQUEST_MAX + 1)}, "request", f"at most {REQUEST_MAX} characters"),
    ({"request": "gas\x00leak"}, "request", "control characters"),
    ({"request": "\ud800"}, "request", "not valid text"),
    ({"notes": "n" * (NOTES_MAX + 1)}, "notes", "at most"),
    ({"district": "paris"}, "district", "unknown district 'paris'"),
    ({"district": ...}, "district", "required"),
    ({"urgency": "asap"}, "urgency", "normal, urgent, emergency"),
    ({"handling": "forwarded"}, "handling", "direct, transferred"),
    ({"handling": ...}, "handling", "required"),
    ({"handling": "transferred"}, "agency_id", "required for a transferred case"),
    ({"handling": "transferred", "agency_id": "fire_brigade"}, "agency_id", "no agency 'fire_brigade'"),
    ({"agency_id": 7}, "agency_id", "no agency 7"),
    ({"three_party": "yes"}, "three_party", "true or false"),
    ({"satisfaction": "thrilled"}, "satisfaction", "satisfied, basically_satisfied"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"call_id": ""}, "call_id", "may not be empty"),
    ({"caller": "138\n00"}, "caller", "line breaks"),
    ({"now": datetime(2026, 11, 27, 16, 0)}, "now", "aware"),
    ({"handling": "transferred", "agency_id": "water", "now": datetime(2027, 12, 30, 10, 0, tzinfo=TZ)},
     "handling", "holidays.yaml covers 2026-01-01 to 2027-12-31 only"),
])
def test_each_error_names_its_field(changes: dict[str, Any], field: str, why: str) -> None:
    result = check(draft(**changes))
    assert isinstance(result, list), result
    assert [e.field for e in result] == [field], result
    assert why in result[0].message, result[0].message


def test_every_error_is_reported_at_once() -> None:
    result = check(draft(category="04", district="paris", request="", handling="transferred", notes=5))
    assert sorted(fields_of(result)) == ["agency_id", "category", "district", "notes", "request"]


def test_line_breaks_are_allowed_in_a_request_and_notes() -> None:
    order = ok(draft(request="第一行\n第二行\t完", notes="回访\r\n已办"))
    assert order.request == "第一行\n第二行\t完" and order.notes == "回访\r\n已办"


# -- updates ------------------------------------------------------------------------------

def test_an_update_keeps_the_case_number_the_filing_time_and_the_due_date() -> None:
    first = dataclasses.replace(ok(draft(handling="transferred", agency_id="water")), case_number="20261127-0007")
    later = FRIDAY + timedelta(days=3)
    second = ok(draft(handling="transferred", agency_id="water", request="补充：水压也低", now=later), first)
    assert (second.case_number, second.created_at, second.due_at) == ("20261127-0007", FRIDAY, first.due_at)
    assert second.updated_at == later and second.request == "补充：水压也低"


def test_a_direct_order_transferred_later_is_due_from_the_transfer() -> None:
    first = ok(draft())
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    second = ok(draft(handling="transferred", agency_id="water", now=monday), first)
    assert second.due_at == datetime(2026, 12, 2, 9, 0, tzinfo=TZ) and second.created_at == FRIDAY


def test_an_update_keeps_the_satisfaction_and_belongs_to_the_same_call() -> None:
    first = dataclasses.replace(ok(draft()), satisfaction="unsatisfied")
    assert ok(draft(notes="回访"), first).satisfaction == "unsatisfied"
    assert fields_of(check(draft(call_id="other"), first)) == ["call_id"]


# -- status, case numbers -----------------------------------------------------------------

def test_the_status_rules_in_order() -> None:
    direct = ok(draft())
    transferred = ok(draft(handling="transferred", agency_id="water"))
    assert transferred.due_at is not None
    assert status_of(direct, FRIDAY + timedelta(days=30)) == "resolved"
    assert status_of(transferred, transferred.due_at - timedelta(seconds=1)) == "transferred"
    assert status_of(transferred, transferred.due_at) == "overdue"
    assert status_of(dataclasses.replace(transferred, satisfaction="unsatisfied"), FRIDAY) == "supervision"
    assert status_of(dataclasses.replace(direct, satisfaction="unsatisfied"), FRIDAY) == "supervision"
    assert status_of(dataclasses.replace(direct, satisfaction="satisfied"), FRIDAY) == "resolved"


def test_case_numbers_are_the_day_and_its_sequence() -> None:
    assert case_number(date(2026, 11, 30), 42) == "20261130-0042"
    assert case_number(date(2026, 11, 30), 12345) == "20261130-12345"
    with pytest.raises(ValueError):
        case_number(date(2026, 11, 30), 0)


@pytest.mark.parametrize(("caller", "has"), [("13812345678", True), ("053186060001", True), ("+8613812345678", True),
                                             ("", False), ("anonymous", False), ("1234", False), ("1380\n000", False)])
def test_only_a_real_number_has_a_history(caller: str, has: bool) -> None:
    assert has_history(caller) is has


# -- filing: which facts of the call win --------------------------------------------------

STORED = StoredCall("1700000000.1", "13900000009", "1002", FRIDAY, agency_leg=True, satisfaction="satisfied")
FIELDS = {"category": "04.01.01", "request": "停水", "district": "lixia", "handling": "direct"}


def filed(**kw: Any) -> WorkOrder:
    args: dict[str, Any] = dict(call_id="1700000000.1", caller="", agent_id="", now=FRIDAY, live_agency_leg=False,
                                stored=None, previous=None)
    args.update(kw)
    fields = args.pop("fields", FIELDS)
    result = file_order(fields, CONFIG, DIRECTORY, **args)
    assert isinstance(result, WorkOrder), result
    return result


def test_the_live_call_wins_then_the_record_then_the_previous_order() -> None:
    assert (filed(caller="13812345678", agent_id="1001", stored=STORED).caller,
            filed(caller="13812345678", agent_id="1001", stored=STORED).agent_id) == ("13812345678", "1001")
    from_record = filed(stored=STORED)
    assert (from_record.caller, from_record.agent_id) == ("13900000009", "1002")
    previous = dataclasses.replace(filed(caller="13700000007", agent_id="1003"), case_number="20261127-0001")
    assert (filed(previous=previous).caller, filed(previous=previous).agent_id) == ("13700000007", "1003")


def test_three_party_is_derived_unless_given() -> None:
    assert filed().three_party is False
    assert filed(live_agency_leg=True).three_party is True
    assert filed(stored=STORED).three_party is True
    assert filed(previous=dataclasses.replace(filed(), three_party=True)).three_party is True
    assert filed(live_agency_leg=True, fields={**FIELDS, "three_party": False}).three_party is False
    assert filed(fields={**FIELDS, "three_party": True}).three_party is True


def test_satisfaction_comes_from_the_survey_never_from_the_call_taker() -> None:
    assert filed(fields={**FIELDS, "satisfaction": "satisfied"}).satisfaction is None
    assert filed(stored=STORED).satisfaction == "satisfied"
    previous = dataclasses.replace(filed(), satisfaction="unsatisfied")
    assert filed(stored=STORED, previous=previous).satisfaction == "unsatisfied"
    assert "satisfaction" in draft_of(FIELDS, call_id="c", caller="", agent_id="", now=FRIDAY, live_agency_leg=False,
                                      stored=None, previous=None)
