"""``SqlReports``: the ``Reports`` port over the instance's database
(``hotline.store.kpi_source``), for the composition root to plug into ``ApiDeps.reports``.

Why an adapter: the source is synchronous (the CLI uses it as it is); here each load runs in
a worker thread so the event loop never waits on the database, and a database that does
not answer becomes ``Unavailable`` (HTTP 503).

Wiring (hotline/bootstrap.py)::

    reports = SqlReports(engine, work_orders.config().taxonomy, work_orders.config().calendar.tz,
                         KpiRules(wrap_cap_seconds=max(q.wrapup_seconds for q in config.current.queues.values())))
"""
from __future__ import annotations

import asyncio
from datetime import tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from hotline.api.ports import Unavailable
from hotline.store.kpi_source import KpiSource
from kpi.definitions import KpiRules
from kpi.facts import PeriodData
from workorders.taxonomy import Taxonomy


class SqlReports:
    """Reports from ``engine``'s database (migrated to 0004 or later)."""

    def __init__(self, engine: Engine, taxonomy: Taxonomy, tz: tzinfo | None = None,
                 rules: KpiRules | None = None) -> None:
        self.source = KpiSource(engine)
        self._taxonomy = taxonomy
        self._tz = tz or ZoneInfo("Asia/Shanghai")
        self._rules = rules or KpiRules()

    def tz(self) -> tzinfo:
        return self._tz

    def rules(self) -> KpiRules:
        return self._rules

    def category_name(self, code: str) -> tuple[str, str]:
        node = self._taxonomy.get(code)
        return (node.name_zh, node.name_en) if node else (code, code)

    async def period(self, start: float, end: float, now: float) -> PeriodData:
        try:
            return await asyncio.to_thread(self.source.load, start, end, now)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc
