"""``InMemoryReports``: the ``Reports`` port over call records held in memory.

Why: an API built without a database (``ApiDeps``' default, a demo, the API's tests) still
answers every report route, and the figures come through the very path the database's do
(``kpi.facts.period_from_records``: records become the stored rows first). A test gives it
records, events, work orders and agent state changes (``add_call``, ``add_states``).

The taxonomy (category names) is read from ``workorders/taxonomy.yaml`` on first use, not
when the port is built (many tests build an ``ApiDeps`` and never ask for a report).
"""
from __future__ import annotations

from datetime import tzinfo
from functools import cached_property
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from kpi.definitions import KpiRules
from kpi.facts import PeriodData, period_from_records
from workorders import FOLDER
from workorders.taxonomy import Taxonomy, load_taxonomy

SHANGHAI = "Asia/Shanghai"


class InMemoryReports:
    """Records in lists; ``taxonomy`` is called on first use."""

    def __init__(self, taxonomy: Callable[[], Taxonomy], tz: tzinfo | None = None,
                 rules: KpiRules | None = None) -> None:
        self._load_taxonomy = taxonomy
        self._tz = tz or ZoneInfo(SHANGHAI)
        self._rules = rules or KpiRules()
        self.calls: list[tuple[Any, list[Any]]] = []
        self.orders: list[Any] = []
        self.states: list[Any] = []

    @classmethod
    def shipped(cls) -> "InMemoryReports":
        """Empty, with the shipped taxonomy (read on first use) and the hotline's time zone."""
        return cls(lambda: load_taxonomy(FOLDER / "taxonomy.yaml"))

    @cached_property
    def _taxonomy(self) -> Taxonomy:
        return self._load_taxonomy()

    def add_call(self, record: Any, events: Iterable[Any] = (), order: Any = None) -> None:
        """A ``CallRecord`` with its ``CallEvent``s and, if filed, its ``WorkOrder``."""
        self.calls.append((record, list(events)))
        if order is not None:
            self.orders.append(order)

    def add_states(self, changes: Iterable[Any]) -> None:
        """``StateChange``s of the agents' log."""
        self.states.extend(changes)

    def tz(self) -> tzinfo:
        return self._tz

    def rules(self) -> KpiRules:
        return self._rules

    def category_name(self, code: str) -> tuple[str, str]:
        node = self._taxonomy.get(code)
        return (node.name_zh, node.name_en) if node else (code, code)

    async def period(self, start: float, end: float, now: float) -> PeriodData:
        return period_from_records(start, end, self.calls, self.orders, self.states, now)
