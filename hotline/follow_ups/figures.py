"""The inbound lines' live figures for the follow-ups' pacing (``cases.followup.LineFigures``).

Why from the wall's code: a line's service level over the pacing window is the same KPI the
supervisors' wall shows for its last 15 minutes (``hotline.wallboard.board.by_line``, each
line with its own ``sl_target``), and its goal is the wall's alert goal for that line
(``wallboard/alerts.yaml``): the dialler never stops or starts on a figure nobody can see.
``line_figures`` is pure; ``LiveLineFigures`` reads the stored records and the waiting calls.
"""
from __future__ import annotations

from typing import Awaitable, Callable, Iterable, Mapping, Sequence

from acd.model import QueuePolicy
from calls.model import QueuedCall
from cases.followup import LineFigures
from hotline.wallboard.board import by_line
from kpi.definitions import KpiRules
from kpi.facts import PeriodData

Period = Callable[[float, float, float], Awaitable[PeriodData]]


def line_figures(data: PeriodData, waiting: Iterable[QueuedCall], policies: Mapping[str, QueuePolicy],
                 goal_of: Callable[[str], float], rules: KpiRules, now: float, window_seconds: float
                 ) -> list[LineFigures]:
    """Each line's service level over the last ``window_seconds`` (None: nothing offered),
    its goal, and its waiting citizens (callback requests are not on the line)."""
    recent = [f for f in data.calls if now - window_seconds <= f.arrived_at <= now]
    values = by_line(recent, policies, rules)
    live = [c for c in waiting if not c.callback]
    out = []
    for line in sorted(set(values) | {c.queue for c in live}):
        mine = [c for c in live if c.queue == line]
        level = (values.get(line) or {}).get("service_level")
        out.append(LineFigures(line, float(level) if level is not None else None, goal_of(line),
                               max((now - c.arrived_at for c in mine), default=0.0), len(mine)))
    return out


class LiveLineFigures:
    """``line_figures`` over the stored records (``period``: the reports' loader) and the
    live waiting calls (``waiting``)."""

    def __init__(self, period: Period, waiting: Callable[[], Awaitable[Sequence[QueuedCall]]],
                 policies: Callable[[], Mapping[str, QueuePolicy]], goal_of: Callable[[str], float],
                 rules: KpiRules) -> None:
        self._period, self._waiting, self._policies = period, waiting, policies
        self._goal_of, self._rules = goal_of, rules

    async def __call__(self, now: float, window_seconds: float) -> list[LineFigures]:
        data = await self._period(now - window_seconds, now + 1e-3, now)
        return line_figures(data, await self._waiting(), self._policies(), self._goal_of, self._rules, now,
                            window_seconds)
