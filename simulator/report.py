"""A short summary of a simulated run, and the hotline's own KPI report on it.

``summarize`` is what the validation and the study compare, computed from the records
with the KPI catalogue's definitions (``kpi.definitions``): the service level is answered
within 15 s ÷ answered, the connect rate answered ÷ live offered (offered minus booked
callbacks), ASA the mean wait of answered calls, the wait counted from the queue entry.
It adds what only a simulation knows: the calls answered by an agent who does not speak
the caller's language (the roster says who speaks what), which must be 0 for our router.

``kpi_report`` hands the same records and the agents' log to ``kpi`` (another part of the
project), so a simulated day gets the report a real day gets; it returns None when that
package is not there.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo

from agents.roster import RosterAgent
from calls.records import CallEvent, CallRecord

SL_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Summary:
    """Figures of one group of inbound calls (see the module doc for the definitions)."""

    offered: int
    answered: int
    abandoned: int
    callbacks: int
    within_sl: int
    waits_answered: float   # sum of the waits of answered calls
    waits_all: float        # sum of the waits of answered and abandoned calls
    wrong_language: int

    @property
    def live_offered(self) -> int:
        return self.answered + self.abandoned

    @property
    def service_level(self) -> float:
        return self.within_sl / self.answered if self.answered else 1.0

    @property
    def connect_rate(self) -> float:
        return self.answered / self.live_offered if self.live_offered else 1.0

    @property
    def abandonment(self) -> float:
        return self.abandoned / self.live_offered if self.live_offered else 0.0

    @property
    def asa(self) -> float:
        return self.waits_answered / self.answered if self.answered else 0.0

    @property
    def mean_wait(self) -> float:
        """Mean time in queue of answered and abandoned calls (Erlang A's E[W])."""
        return self.waits_all / self.live_offered if self.live_offered else 0.0


def _wait(record: CallRecord) -> float:
    start = record.queued_at if record.queued_at is not None else record.arrived_at
    end = record.answered_at if record.answered_at is not None else record.ended_at
    return max(0.0, (end or start) - start)


def summarize(records: Iterable[CallRecord], roster: Mapping[str, RosterAgent] | None = None,
              window: tuple[float, float] | None = None, sl_seconds: float = SL_SECONDS) -> Summary:
    """Figures of the inbound calls that reached the queue and arrived inside ``window``."""
    offered = answered = abandoned = callbacks = within = wrong = 0
    waits_answered = waits_all = 0.0
    for r in records:
        if r.source == "callback" or r.queued_at is None:
            continue
        if window is not None and not window[0] <= r.arrived_at < window[1]:
            continue
        if r.outcome == "answered":
            wait = _wait(r)
            offered += 1
            answered += 1
            within += wait <= sl_seconds
            waits_answered += wait
            waits_all += wait
            seat = roster.get(r.agent_id) if roster is not None else None
            wrong += seat is not None and r.language not in seat.languages
        elif r.outcome == "abandoned":
            offered += 1
            abandoned += 1
            waits_all += _wait(r)
        elif r.outcome == "callback_requested":
            offered += 1
            callbacks += 1
    return Summary(offered, answered, abandoned, callbacks, within, waits_answered, waits_all, wrong)


def by_key(records: Iterable[CallRecord], key: str, roster: Mapping[str, RosterAgent] | None = None,
           sl_seconds: float = SL_SECONDS) -> dict[str, Summary]:
    """``summarize`` per value of a record field (``language``, ``queue``, ...)."""
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        groups[str(getattr(r, key))].append(r)
    return {k: summarize(v, roster, sl_seconds=sl_seconds) for k, v in sorted(groups.items())}


def render(summary: Summary, groups: Mapping[str, Mapping[str, Summary]] | None = None) -> str:
    """The summary as text, with one line per group of each grouping given."""
    lines = [f"{'':<14}{'offered':>8}{'answered':>9}{'abandoned':>10}{'callbacks':>10}{'SL15':>8}"
             f"{'connect':>9}{'ASA s':>7}{'wrong lang':>11}", _line("all calls", summary)]
    for name, group in (groups or {}).items():
        lines.append(f"by {name}:")
        lines += [_line(f"  {key}", s) for key, s in group.items() if s.offered]
    return "\n".join(lines) + "\n"


def _line(label: str, s: Summary) -> str:
    return (f"{label:<14}{s.offered:>8}{s.answered:>9}{s.abandoned:>10}{s.callbacks:>10}{s.service_level:>8.1%}"
            f"{s.connect_rate:>9.1%}{s.asa:>7.1f}{s.wrong_language:>11}")


def median_wait(records: Iterable[CallRecord]) -> float:
    waits = [_wait(r) for r in records if r.outcome == "answered" and r.source != "callback"]
    return statistics.median(waits) if waits else 0.0


def kpi_report(start: float, end: float, calls: list[tuple[CallRecord, list[CallEvent]]], states: Iterable[object],
               tz: tzinfo) -> str | None:
    """The hotline's daily report (``kpi.report``) of a simulated period, or None without ``kpi``."""
    try:
        from kpi.facts import period_from_records
        from kpi.report import daily_report, render_text
    except ImportError:
        return None
    current = period_from_records(start, end, calls, states=states)
    previous = period_from_records(2 * start - end, start, [])
    return render_text(daily_report(current, previous, tz), tz)
