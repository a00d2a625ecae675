"""Working days and due dates: weekends, the 2026 public holidays (National Day, Spring
Festival) and the make-up working weekend days (调休), the rule for a start outside a
working day, and the holiday file's validation (every message names file, entry, field)."""
from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from workorders import FOLDER
from workorders.calendar import CalendarError, OutsideCalendar, WorkCalendar, load_calendar

CAL = load_calendar(FOLDER / "holidays.yaml")
TZ = CAL.tz


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# -- the shipped calendar -----------------------------------------------------------------

def test_the_shipped_file_covers_2026_and_2027_in_china_time() -> None:
    assert (CAL.first, CAL.last) == (date(2026, 1, 1), date(2027, 12, 31))
    assert str(TZ) == "Asia/Shanghai"
    assert all(d.weekday() >= 5 for d in CAL.on)
    assert not CAL.on & CAL.off
    assert {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
            date(2026, 10, 10)} <= CAL.on
    assert {date(2026, 10, d) for d in range(1, 8)} <= CAL.off
    assert {date(2026, 2, d) for d in range(15, 24)} <= CAL.off


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 11, 30), True),    # a Monday
    (date(2026, 11, 28), False),   # a Saturday
    (date(2026, 10, 1), False),    # National Day, a Thursday
    (date(2026, 10, 7), False),    # the holiday's last day, a Wednesday
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),    # a Saturday worked instead (调休)
    (date(2026, 9, 20), True),     # a Sunday worked instead
    (date(2026, 2, 14), True),     # the Saturday before the Spring Festival
    (date(2026, 2, 16), False),    # the Spring Festival, a Monday
    (date(2026, 1, 4), True),      # the Sunday after New Year
    (date(2027, 10, 4), False),    # 2027 (provisional)
])
def test_working_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(("start", "n", "due"), [
    (at(2026, 11, 30, 9, 30), 2, at(2026, 12, 2, 9, 30)),      # Monday: same time, two days on
    (at(2026, 11, 27, 16, 0), 2, at(2026, 12, 1, 16, 0)),      # Friday: over the weekend, to Tuesday
    (at(2026, 11, 26, 23, 59), 1, at(2026, 11, 27, 23, 59)),   # Thursday late: Friday, same minute
    (at(2026, 9, 30, 10, 0), 2, at(2026, 10, 9, 10, 0)),       # before National Day: Oct 1-7 skipped
    (at(2026, 10, 9, 11, 0), 1, at(2026, 10, 10, 11, 0)),      # Friday, then the make-up Saturday
    (at(2026, 10, 9, 11, 0), 2, at(2026, 10, 12, 11, 0)),      # ...then Monday (Sunday is off)
    (at(2026, 10, 10, 15, 0), 2, at(2026, 10, 13, 15, 0)),     # filed on the make-up Saturday: it counts
    (at(2026, 9, 18, 12, 0), 1, at(2026, 9, 20, 12, 0)),       # Friday, then the make-up Sunday
    (at(2026, 2, 13, 10, 0), 2, at(2026, 2, 24, 10, 0)),       # Spring Festival: Sat 14 worked, 15-23 off
    (at(2026, 12, 31, 14, 0), 2, at(2027, 1, 5, 14, 0)),       # across the year and New Year 2027
    # outside a working day: the clock starts at 00:00 of the next working day
    (at(2026, 11, 28, 15, 0), 2, at(2026, 12, 2, 0, 0)),       # Saturday: Monday and Tuesday given
    (at(2026, 11, 29, 23, 0), 1, at(2026, 12, 1, 0, 0)),       # Sunday night
    (at(2026, 10, 3, 10, 0), 2, at(2026, 10, 10, 0, 0)),       # in the holiday: Oct 8, 9 -> Sat 10, 00:00
    (at(2026, 10, 3, 10, 0), 0, at(2026, 10, 8, 0, 0)),        # n = 0: the start of the next working day
    (at(2026, 11, 30, 9, 30), 0, at(2026, 11, 30, 9, 30)),     # n = 0 on a working day: the start
])
def test_add_working_days(start: datetime, n: int, due: datetime) -> None:
    assert CAL.add_working_days(start, n) == due
    assert CAL.add_working_days(start, n).tzinfo is TZ


def test_the_start_is_read_in_the_calendars_zone() -> None:
    # Friday 2026-11-27 17:00 UTC is Saturday 01:00 in China: outside a working day there
    start = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    assert CAL.add_working_days(start, 2) == at(2026, 12, 2, 0, 0)


def test_a_naive_start_is_local_time_and_gives_a_naive_deadline() -> None:
    assert CAL.add_working_days(datetime(2026, 9, 30, 10, 0), 2) == datetime(2026, 10, 9, 10, 0)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_days(at(2026, 11, 30), -1)


def test_a_deadline_outside_the_file_is_an_error_naming_it() -> None:
    with pytest.raises(OutsideCalendar, match=r"holidays\.yaml covers 2026-01-01 to 2027-12-31 only, not 2028-01-0"):
        CAL.add_working_days(at(2027, 12, 30, 10, 0), 2)
    with pytest.raises(OutsideCalendar, match="2025-12-31"):
        CAL.is_working_day(date(2025, 12, 31))


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 11, 30)),
       n=st.integers(min_value=0, max_value=10))
def test_exactly_n_working_days_lie_between_the_start_and_the_deadline(start: datetime, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert due >= start
    assert due.time() == (start.time() if CAL.is_working_day(start.date()) else datetime.min.time())
    first = start.date() if CAL.is_working_day(start.date()) else CAL.next_working_day(start.date())
    if n:
        assert CAL.is_working_day(due.date())
    days = [first + timedelta(days=k) for k in range(1, (due.date() - first).days + 1)]
    assert sum(CAL.is_working_day(d) for d in days) == n


# -- validation ---------------------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "timezone": "Asia/Shanghai", "covers": {"from": date(2026, 1, 1), "to": date(2026, 12, 31)},
    "holidays": [
        {"name": {"zh": "国庆节", "en": "National Day"},
         "days_off": [{"from": date(2026, 10, 1), "to": date(2026, 10, 7)}],
         "working_days": [date(2026, 9, 20), date(2026, 10, 10)]},
        {"name": {"zh": "元旦", "en": "New Year's Day"}, "days_off": ["2026-01-01"], "provisional": True},
    ],
}


def _load(tmp_path: Path, doc: Any) -> WorkCalendar:
    path = tmp_path / "holidays.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True))
    return load_calendar(path)


def test_the_minimal_file_loads(tmp_path: Path) -> None:
    cal = _load(tmp_path, MINIMAL)
    assert cal.off == {date(2026, 10, d) for d in range(1, 8)} | {date(2026, 1, 1)}
    assert cal.on == {date(2026, 9, 20), date(2026, 10, 10)}


NATIONAL = "holidays[0] (国庆节 National Day)"


@pytest.mark.parametrize(("change", "entry", "field", "why"), [
    ({"working_days": [date(2026, 10, 3)]}, NATIONAL, "'working_days'", "both a day off and a working day"),
    ({"working_days": [date(2026, 10, 9)]}, NATIONAL, "'working_days'", "2026-10-09 is a Friday"),
    ({"days_off": [date(2026, 10, 1), date(2026, 10, 1)]}, NATIONAL, "'days_off'", "listed already"),
    ({"days_off": [date(2027, 10, 1)]}, NATIONAL, "'days_off'", "outside covers"),
    ({"days_off": ["2026-02-30"]}, NATIONAL, "'days_off'", "'2026-02-30' is not a date"),
    ({"days_off": [datetime(2026, 10, 1, 8, 0)]}, NATIONAL, "'days_off'", "is a time"),
    ({"days_off": [{"from": date(2026, 10, 7), "to": date(2026, 10, 1)}]}, NATIONAL, "'days_off'", "is after"),
    ({"days_off": [{"from": date(2026, 1, 1), "to": date(2026, 6, 1)}]}, NATIONAL, "'days_off'", "longer than"),
    ({"days_off": [{"start": date(2026, 10, 1)}]}, NATIONAL, "'days_off'", "a range is"),
    ({"days_off": date(2026, 10, 1)}, NATIONAL, "'days_off'", "must be a list"),
    ({"weekday": "mon"}, NATIONAL, "weekday", "unknown field"),
    ({"provisional": "maybe"}, NATIONAL, "'provisional'", "true or false"),
    ({"name": {"zh": "国庆节"}}, "holidays[0]", "'name'", "both non-empty"),
])
def test_a_mistake_names_the_file_the_entry_and_the_field(tmp_path: Path, change: dict[str, Any], entry: str,
                                                         field: str, why: str) -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["holidays"][0].update(change)
    with pytest.raises(CalendarError) as caught:
        _load(tmp_path, doc)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'holidays.yaml'}: {entry}: field {field}" if field.startswith("'")
                              else f"{tmp_path / 'holidays.yaml'}: {entry}: "), message
    assert field in message and why in message, message


def test_a_day_listed_by_two_holidays_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["holidays"][1]["days_off"] = [date(2026, 10, 7)]
    with pytest.raises(CalendarError, match=r"holidays\[1\] \(元旦 New Year's Day\): field 'days_off': 2026-10-07 "
                                            r"is listed already \(a day off of 国庆节 2026\)"):
        _load(tmp_path, doc)


@pytest.mark.parametrize(("change", "why"), [
    ({"timezone": "Mars/Olympus"}, "field 'timezone': unknown time zone 'Mars/Olympus'"),
    ({"covers": {"from": date(2026, 12, 31), "to": date(2026, 1, 1)}}, "field 'covers': from 2026-12-31 is after"),
    ({"covers": [2026]}, "field 'covers' must be"),
    ({"holidays": {"national": {}}}, "field 'holidays' must be a list"),
    ({"year": 2026}, "expected a mapping with the keys"),
])
def test_top_level_mistakes_name_the_file_and_the_field(tmp_path: Path, change: dict[str, Any], why: str) -> None:
    doc = {**copy.deepcopy(MINIMAL), **change}
    with pytest.raises(CalendarError) as caught:
        _load(tmp_path, doc)
    assert str(caught.value).startswith(f"{tmp_path / 'holidays.yaml'}: ") and why in str(caught.value)


def test_on_and_off_as_keys_are_not_what_yaml_reads(tmp_path: Path) -> None:
    """YAML 1.1 reads the keys `on`/`off` as booleans: the file uses working_days/days_off,
    and a file written with the short words is refused, not silently misread."""
    with pytest.raises(CalendarError, match="unknown field"):
        _load(tmp_path, "timezone: Asia/Shanghai\ncovers: {from: 2026-01-01, to: 2026-12-31}\n"
                        "holidays:\n  - name: {zh: 元旦, en: New Year}\n    days_off: [2026-01-01]\n"
                        "    on: [2026-01-04]\n")
