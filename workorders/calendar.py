"""Working days: when a transferred case (转办) is due.

GB/T 33358-2016 gives an agency 2 *working* days for a transferred case, and in China a
working day is not simply Monday to Friday: public holidays are days off, and some weekend
days are worked instead (调休 make-up days). Both come from a file (``holidays.yaml``),
validated at start-up, because the State Council publishes them once a year.

The rule of ``WorkCalendar.add_working_days(start, n)``:

- a start on a working day: the deadline is the same local time of day, ``n`` working days
  later (filed Friday 16:00, 2 working days: Tuesday 16:00, the weekend skipped);
- a start outside a working day (a weekend or a holiday day off): the clock starts at 00:00
  of the next working day, so the agency still gets ``n`` whole working days (filed Saturday
  15:00, 2 working days: Wednesday 00:00, i.e. by the end of Tuesday);
- ``n == 0``: the start itself, or 00:00 of the next working day when the start is off.

A day outside the file's ``covers`` range raises ``OutsideCalendar`` (naming the file):
guessing would give citizens a wrong date without anyone noticing.

Pure: no I/O beyond reading the file; times are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

_FIELDS = {"name", "days_off", "working_days", "source", "provisional"}


class CalendarError(ValueError):
    """The holiday file is unusable; the message names the file, the entry and the field."""


class OutsideCalendar(ValueError):
    """A day the holiday file does not cover; the message names the file and the range."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days in ``tz``: Monday-Friday except ``off`` (the holidays' days off), plus
    the weekend days ``on`` (make-up working days), known from ``first`` to ``last``
    (inclusive)."""

    tz: tzinfo
    first: date
    last: date
    off: frozenset[date]
    on: frozenset[date]
    source: str = ""

    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise OutsideCalendar(f"{self.source or 'the holiday calendar'} covers {self.first} to {self.last} "
                                  f"only, not {day}: add that year's public holidays")

    def is_working_day(self, day: date) -> bool:
        self._check(day)
        if day in self.on:
            return True
        return day.weekday() < 5 and day not in self.off

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's time zone (a naive datetime is local time already)."""
        return moment if moment.tzinfo is None else moment.astimezone(self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline ``n`` working days after ``start`` (see the module's rule). An aware
        ``start`` gives an aware answer in the calendar's zone; a naive one a naive one."""
        if n < 0:
            raise ValueError(f"a number of working days cannot be negative: {n}")
        start = self.local(start)
        day, at = start.date(), start.timetz().replace(tzinfo=None)
        if not self.is_working_day(day):
            day, at = self.next_working_day(day), time(0, 0)
        for _ in range(n):
            day = self.next_working_day(day)
        return datetime.combine(day, at, tzinfo=self.tz if start.tzinfo is not None else None)


def load_calendar(path: Path) -> WorkCalendar:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CalendarError(f"{path}: cannot read the holiday calendar: {exc}") from exc
    return parse_calendar(data, str(path))


def parse_calendar(data: Any, where: str) -> WorkCalendar:
    if not isinstance(data, dict) or set(data) != {"timezone", "covers", "holidays"}:
        raise CalendarError(f"{where}: expected a mapping with the keys 'timezone', 'covers' and 'holidays'")
    try:
        tz = ZoneInfo(str(data["timezone"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"{where}: field 'timezone': unknown time zone {data['timezone']!r}") from exc
    covers = data["covers"]
    if not isinstance(covers, dict) or set(covers) != {"from", "to"}:
        raise CalendarError(f"{where}: field 'covers' must be {{from: YYYY-MM-DD, to: YYYY-MM-DD}}")
    first, last = _date(covers["from"], f"{where}: field 'covers'"), _date(covers["to"], f"{where}: field 'covers'")
    if first > last:
        raise CalendarError(f"{where}: field 'covers': from {first} is after to {last}")
    if not isinstance(data["holidays"], list):
        raise CalendarError(f"{where}: field 'holidays' must be a list")
    off: dict[date, str] = {}
    on: dict[date, str] = {}
    for i, raw in enumerate(data["holidays"]):
        entry = f"{where}: holidays[{i}]"
        if not isinstance(raw, dict):
            raise CalendarError(f"{entry}: expected a mapping {{name, days_off, working_days}}")
        name = raw.get("name")
        if isinstance(name, dict) and isinstance(name.get("zh"), str) and isinstance(name.get("en"), str) \
                and name["zh"].strip() and name["en"].strip() and not set(name) - {"zh", "en"}:
            entry = f"{entry} ({name['zh']} {name['en']})"
        else:
            raise CalendarError(f"{entry}: field 'name' must be {{zh: ..., en: ...}}, both non-empty")
        unknown = sorted(map(str, set(raw) - _FIELDS))
        if unknown:
            raise CalendarError(f"{entry}: unknown field(s) {', '.join(unknown)} "
                                f"(allowed: {', '.join(sorted(_FIELDS))})")
        if not isinstance(raw.get("provisional", False), bool):
            raise CalendarError(f"{entry}: field 'provisional' must be true or false")
        if not isinstance(raw.get("source", ""), str):
            raise CalendarError(f"{entry}: field 'source' must be a text")
        if "days_off" not in raw:
            raise CalendarError(f"{entry}: field 'days_off' is missing: a holiday needs its days off")
        for key, into in (("days_off", off), ("working_days", on)):
            for day in _days(raw.get(key, []), f"{entry}: field '{key}'"):
                if not first <= day <= last:
                    raise CalendarError(f"{entry}: field '{key}': {day} is outside covers ({first} to {last})")
                if key == "working_days" and day.weekday() < 5:
                    raise CalendarError(f"{entry}: field 'working_days': {day} is a {day:%A}; a make-up working day "
                                        "is a Saturday or a Sunday")
                if day in off or day in on:
                    other = off.get(day) or on.get(day)
                    raise CalendarError(f"{entry}: field '{key}': {day} is listed already ({other})"
                                        if (day in into) else
                                        f"{entry}: field '{key}': {day} is both a day off and a working day "
                                        f"({other})")
                into[day] = f"{'a day off' if key == 'days_off' else 'a working day'} of {name['zh']} {day.year}"
    return WorkCalendar(tz, first, last, frozenset(off), frozenset(on), where)


def _date(raw: Any, entry: str) -> date:
    if isinstance(raw, datetime):
        raise CalendarError(f"{entry}: {raw} is a time; give a date (YYYY-MM-DD)")
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise CalendarError(f"{entry}: {raw!r} is not a date (YYYY-MM-DD)")


def _days(raw: Any, entry: str) -> list[date]:
    if not isinstance(raw, list):
        raise CalendarError(f"{entry} must be a list of dates or {{from, to}} ranges")
    days: list[date] = []
    for item in raw:
        if isinstance(item, dict):
            if set(item) != {"from", "to"}:
                raise CalendarError(f"{entry}: a range is {{from: YYYY-MM-DD, to: YYYY-MM-DD}}, not {item!r}")
            start, end = _date(item["from"], entry), _date(item["to"], entry)
            if start > end:
                raise CalendarError(f"{entry}: range from {start} is after to {end}")
            if (end - start).days > 31:
                raise CalendarError(f"{entry}: range {start} to {end} is longer than a month (a typo?)")
            days.extend(start + timedelta(days=k) for k in range((end - start).days + 1))
        else:
            days.append(_date(item, entry))
    return days
