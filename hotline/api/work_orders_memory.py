"""``InMemoryWorkOrders``: the ``WorkOrders`` port in dicts, with the rules of the SQL one.

Why: an API built without a database (``ApiDeps``' default, a demo, the API's tests) still
files valid orders with case numbers, through the same pure rules (``workorders.filing``,
``workorders.model``) as ``SqlWorkOrders``. Stored calls (for access, history and the
survey's answer) are whatever ``add_call`` was given: nothing writes call records here.

``shipped()`` reads the files of ``workorders/`` and the shipped agency directory on first
use, not when it is built (an ``ApiDeps`` is built in many tests that never file an order).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any, Callable, Mapping

from hotline.api.ports_work_orders import InvalidWorkOrder
from hotline.settings import PROJECT_ROOT
from outbound.agencies import Directory, load_directory
from workorders.config import WorkOrderConfig, load_work_order_config
from workorders.filing import file_order
from workorders.history import PastCall, StoredCall, has_history, summarize
from workorders.model import SATISFACTIONS, OrderQuery, WorkOrder, case_number, status_of


@dataclass(frozen=True)
class MemoryCall:
    """A stored call as the in-memory port knows it."""

    call: StoredCall
    queue: str = "main"
    outcome: str = "answered"


class InMemoryWorkOrders:
    """``config`` and ``directory`` are called on first use (then kept / at each save)."""

    def __init__(self, config: Callable[[], WorkOrderConfig], directory: Callable[[], Directory]) -> None:
        self._load_config = config
        self._directory = directory
        self.orders: dict[str, WorkOrder] = {}
        self.calls: dict[str, MemoryCall] = {}
        self._days: dict[str, int] = {}

    @classmethod
    def shipped(cls) -> "InMemoryWorkOrders":
        """With the files of ``workorders/`` and ``outbound/agencies.yaml``, read on first use."""
        directory: list[Directory] = []

        def shipped_directory() -> Directory:
            if not directory:
                directory.append(load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml"))
            return directory[0]
        return cls(lambda: load_work_order_config(shipped_directory()), shipped_directory)

    @cached_property
    def _config(self) -> WorkOrderConfig:
        return self._load_config()

    def config(self) -> WorkOrderConfig:
        return self._config

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self._config.calendar.tz)

    def add_call(self, call: StoredCall, queue: str = "main", outcome: str = "answered") -> None:
        """Make a call record known (what the SQL port reads from the ``calls`` table)."""
        self.calls[call.call_id] = MemoryCall(call, queue, outcome)

    async def stored_call(self, call_id: str) -> StoredCall | None:
        found = self.calls.get(call_id)
        return found.call if found else None

    async def get(self, call_id: str) -> WorkOrder | None:
        return self.orders.get(call_id)

    async def get_by_case(self, number: str) -> WorkOrder | None:
        return next((o for o in self.orders.values() if o.case_number == number), None)

    async def save(self, call_id: str, fields: Mapping[str, Any], *, caller: str, agent_id: str,
                   live_agency_leg: bool, now: float) -> WorkOrder:
        stored = await self.stored_call(call_id)
        previous = self.orders.get(call_id)
        result = file_order(fields, self._config, self._directory(), call_id=call_id, caller=caller,
                            agent_id=agent_id, now=self._at(now), live_agency_leg=live_agency_leg, stored=stored,
                            previous=previous)
        if isinstance(result, list):
            raise InvalidWorkOrder(result)
        if previous is None:  # no await since the look-up: nobody else filed it meanwhile
            day = result.created_at.date()
            self._days[f"{day:%Y%m%d}"] = sequence = self._days.get(f"{day:%Y%m%d}", 0) + 1
            result = replace(result, case_number=case_number(day, sequence))
        self.orders[call_id] = result
        return result

    async def list_orders(self, query: OrderQuery, now: float) -> list[WorkOrder]:
        at = self._at(now)

        def matches(o: WorkOrder) -> bool:
            checks = [
                query.created_from is None or o.created_at >= query.created_from,
                query.created_to is None or o.created_at < query.created_to,
                not query.category or o.category == query.category or o.category.startswith(query.category + "."),
                query.three_party is None or o.three_party == query.three_party,
                not query.status or status_of(o, at) == query.status,
            ]
            checks += [not getattr(query, name) or getattr(o, name) == getattr(query, name)
                       for name in ("district", "agent_id", "handling", "agency_id", "urgency", "caller",
                                    "case_number")]
            return all(checks)
        found = sorted((o for o in self.orders.values() if matches(o)),
                       key=lambda o: (o.created_at, o.case_number or ""), reverse=True)
        return found[query.offset:query.offset + query.limit]

    async def history(self, caller: str, since: float, now: float, limit: int = 100) -> list[PastCall]:
        if not has_history(caller):
            return []
        start, at = self._at(since), self._at(now)
        mine = sorted((c for c in self.calls.values() if c.call.caller == caller and c.call.arrived_at >= start),
                      key=lambda c: (c.call.arrived_at, c.call.call_id), reverse=True)[:limit]
        out = []
        for c in mine:
            order = self.orders.get(c.call.call_id)
            out.append(PastCall(c.call.call_id, c.call.arrived_at, c.call.agent_id, c.queue, c.outcome,
                                (order.satisfaction if order else None) or c.call.satisfaction,
                                summarize(order, self._config.taxonomy, at) if order else None))
        return out

    async def set_satisfaction(self, call_id: str, satisfaction: str) -> bool:
        if satisfaction not in SATISFACTIONS:
            raise ValueError(f"satisfaction must be one of {', '.join(SATISFACTIONS)}, not {satisfaction!r}")
        order = self.orders.get(call_id)
        if order is None:
            return False
        self.orders[call_id] = replace(order, satisfaction=satisfaction)
        return True
