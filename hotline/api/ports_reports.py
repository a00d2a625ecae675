"""What the report routes need from the rest of the controller: the ``Reports`` port.

Why a port: the routes compute every figure with the pure core (``kpi.definitions``,
``kpi.report``) and must not know where the facts come from. The controller backs the port
with ``hotline.api.reports_sql.SqlReports`` (the instance's database, through
``hotline.store.kpi_source``); an API built without a database, and the tests, with
``hotline.api.reports_memory.InMemoryReports`` (records given to it, through the same
``kpi.facts`` path). Both hand the core the same ``PeriodData``, so the figures cannot
depend on the backing.

Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import Protocol

from kpi.definitions import KpiRules
from kpi.facts import PeriodData

__all__ = ["KpiRules", "PeriodData", "Reports"]


class Reports(Protocol):
    """The facts of a period, and how to read them (time zone, rules, category names)."""

    def tz(self) -> tzinfo:
        """The local zone days and intervals are counted in (no I/O)."""
        ...

    def rules(self) -> KpiRules:
        """The thresholds the KPIs follow (no I/O)."""
        ...

    def category_name(self, code: str) -> tuple[str, str]:
        """A work-order category's (Chinese, English) name; the code itself when unknown."""
        ...

    async def period(self, start: float, end: float, now: float) -> PeriodData:
        """The facts of the calls that arrived in ``[start, end)`` (epoch seconds), observed
        up to ``now``. Raises ``Unavailable`` when the database does not answer."""
        ...
