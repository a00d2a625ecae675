"""The forecast a planner hands in: calls per interval, as CSV text.

Shape: a header ``start,calls[,aht][,<group>...]`` and one row per interval. ``start`` is
``HH:MM`` (one day) or a date and time (``2026-10-01 08:00``, ``2026-10-01T08:00``);
intervals are 15 minutes, an hour or any other constant step, read from the starts (the
last row lasts as long as the one before it). ``aht`` (seconds, talk plus wrap-up) is
optional per row. Any other column is a group of the calls (a line, a language, a skill):
its count per interval, for the comparison with isolated pools.

Why strict: a forecast with a typo ("calsl", a row out of order) would otherwise plan the
wrong day without a word; every error names the line and the problem.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DAY = 86_400.0


class ForecastError(ValueError):
    """The forecast cannot be read; the message names the line and the problem."""


@dataclass(frozen=True, slots=True)
class Interval:
    """One row: ``calls`` arriving in ``seconds`` from ``start`` (its text, as given)."""

    start: str
    offset: float  # seconds since the first row's start
    seconds: float
    calls: float
    aht: float | None = None
    groups: tuple[tuple[str, float], ...] = field(default=())

    @property
    def arrival_rate(self) -> float:
        """Calls per second."""
        return self.calls / self.seconds


def _moment(text: str, line: int) -> tuple[datetime, bool]:
    """The row's start and whether it carried a date."""
    text = text.strip()
    for pattern, dated in (("%H:%M", False), ("%H:%M:%S", False), ("%Y-%m-%d %H:%M", True),
                           ("%Y-%m-%d %H:%M:%S", True), ("%Y-%m-%dT%H:%M", True), ("%Y-%m-%dT%H:%M:%S", True)):
        try:
            return datetime.strptime(text, pattern), dated
        except ValueError:
            continue
    raise ForecastError(f"line {line}: start {text!r} is not HH:MM or YYYY-MM-DD HH:MM")


def _number(text: str, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ForecastError(f"line {line}: {column} {text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise ForecastError(f"line {line}: {column} must be a finite number >= 0, got {text!r}")
    return value


def parse_forecast(text: str) -> tuple[Interval, ...]:
    """The intervals of a forecast CSV text; raises ``ForecastError``."""
    reader = csv.reader(io.StringIO(text))
    rows = [(i, row) for i, row in enumerate(reader, start=1) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ForecastError("the forecast is empty")
    header = [cell.strip() for cell in rows[0][1]]
    if header[:2] != ["start", "calls"]:
        raise ForecastError(f"line {rows[0][0]}: the header must begin with start,calls (got {','.join(header)})")
    if len(set(header)) != len(header):
        raise ForecastError(f"line {rows[0][0]}: a column is named twice")
    groups = [name for name in header[2:] if name != "aht"]
    body = rows[1:]
    if not body:
        raise ForecastError("the forecast has a header but no interval")
    starts: list[tuple[datetime, bool, int]] = []
    for line, row in body:
        if len(row) != len(header):
            raise ForecastError(f"line {line}: {len(row)} cells for {len(header)} columns")
        starts.append((*_moment(row[0], line), line))
    offsets = _offsets(starts)
    lengths = _lengths(offsets)
    return tuple(_interval(header, groups, row, line, offset, length)
                 for (line, row), offset, length in zip(body, offsets, lengths))


def _offsets(starts: list[tuple[datetime, bool, int]]) -> list[float]:
    """Seconds since the first start; times of day without a date roll over midnight."""
    first = starts[0][0]
    offsets, day = [], timedelta(0)
    previous = first
    for moment, dated, line in starts:
        if not dated and moment + day < previous:
            day += timedelta(days=1)
        at = moment + (timedelta(0) if dated else day)
        if offsets and at <= previous:
            raise ForecastError(f"line {line}: start is not after the previous row's")
        offsets.append((at - first).total_seconds())
        previous = at
    return offsets


def _lengths(offsets: list[float]) -> list[float]:
    """Each row lasts until the next one starts; the last as long as the one before."""
    if len(offsets) == 1:
        return [3600.0]  # a single row: an hour
    steps = [b - a for a, b in zip(offsets, offsets[1:])]
    return [*steps, steps[-1]]


def _interval(header: list[str], groups: list[str], row: list[str], line: int, offset: float,
              seconds: float) -> Interval:
    cells = dict(zip(header, (cell.strip() for cell in row)))
    aht = cells.get("aht")
    aht_value = _number(aht, line, "aht") if aht else None
    if aht_value is not None and aht_value <= 0:
        raise ForecastError(f"line {line}: aht must be > 0")
    counts = tuple((name, _number(cells[name] or "0", line, name)) for name in groups)
    return Interval(cells["start"], offset, seconds, _number(cells["calls"], line, "calls"), aht_value, counts)
