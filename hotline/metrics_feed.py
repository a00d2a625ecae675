"""What the Prometheus endpoint shows, read at each scrape (``Metrics.refresh``): the calls
waiting per line and the longest wait, the agents per state (the live state), the service
level of the last 15 minutes per line (the KPI module over the stored records: the same
figures as the reports), and the controller's own state. Reading at scrape time keeps the
call path free of metric bookkeeping."""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from kpi.definitions import KpiRules, kpi_rows
from hotline.metrics import Metrics
from hotline.store.kpi_source import KpiSource

log = logging.getLogger(__name__)
SL_WINDOW = 15 * 60


class MetricsFeed:
    def __init__(self, live: Any, source: KpiSource, rules: KpiRules, clock: Callable[[], float],
                 internals: Callable[[], Mapping[str, Any]], lines: Callable[[], Iterable[str]] = tuple) -> None:
        self._lines = lines  # every line in force: a line with nobody waiting shows 0
        self._live = live
        self._source = source
        self._rules = rules
        self._clock = clock
        self._internals = internals  # tasks, ami_connected, spool, leader
        self.service_levels: dict[str, float] = {}
        self.metrics = Metrics(service_level=lambda: dict(self.service_levels), refresh=self.refresh)

    async def refresh(self) -> None:
        now = self._clock()
        redis_up = True
        try:
            calls, agents = await self._live.routing_input()
            waiting = Counter({line: 0 for line in self._lines()})
            waiting.update(c.queue for c in calls if not c.callback)
            longest: dict[str, float] = {}
            for c in calls:
                if not c.callback:
                    longest[c.queue] = max(longest.get(c.queue, 0.0), now - c.arrived_at)
            self.metrics.set_waiting(dict(waiting), longest)
            self.metrics.set_agents(dict(Counter(a.state.value for a in agents)))
        except Exception as exc:  # Redis away: the gauge says so, the rest still answers
            redis_up = False
            log.debug("metrics: live state unreadable (%s)", exc)
        try:
            data = await asyncio.to_thread(self._source.load, now - SL_WINDOW, now, now)
            self.service_levels = {row.group: float(row.values["service_level"])
                                   for row in kpi_rows(data, "line", self._rules)
                                   if row.values.get("service_level") is not None}
        except Exception as exc:
            log.debug("metrics: service levels unreadable (%s)", exc)
        self.metrics.set_internals(redis_up=redis_up, **self._internals())


def spool_records(path: Path) -> int:
    """How many call records wait in the spool file for the database."""
    try:
        with path.open() as fh:
            return sum(1 for line in fh if line.strip())
    except FileNotFoundError:
        return 0
