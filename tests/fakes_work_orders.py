"""An in-memory ``WorkOrders`` port (``hotline/api/ports_work_orders.py``) for the API's tests.

Why not a mock: it is ``InMemoryWorkOrders``, which files orders through the same pure rules
as the SQL port (``workorders.filing``), so a route test sees real validation, real case
numbers and real history; this subclass only adds what a test steers: ``give_call`` (a
stored call record), ``asked`` (what the routes asked, in order) and ``down`` (every call
raises ``Unavailable``, like a stopped database).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from hotline.api.ports import Unavailable
from hotline.api.work_orders_memory import InMemoryWorkOrders
from outbound.agencies import Directory
from tests.fakes_api import DIRECTORY
from workorders.config import WorkOrderConfig, load_work_order_config
from workorders.history import PastCall, StoredCall
from workorders.model import OrderQuery, WorkOrder

CONFIG = load_work_order_config(DIRECTORY)


class FakeWorkOrders(InMemoryWorkOrders):
    def __init__(self, config: WorkOrderConfig = CONFIG,
                 directory: Callable[[], Directory] = lambda: DIRECTORY) -> None:
        super().__init__(lambda: config, directory)
        self.asked: list[tuple[str, tuple[Any, ...]]] = []
        self.down = False

    def give_call(self, call_id: str, caller: str, agent_id: str, arrived_at: float, *, agency_leg: bool = False,
                  satisfaction: str | None = None, queue: str = "main", outcome: str = "answered") -> None:
        """A stored call record (what the SQL port reads from ``calls``)."""
        when = datetime.fromtimestamp(arrived_at, tz=self.config().calendar.tz)
        self.add_call(StoredCall(call_id, caller, agent_id, when, agency_leg, satisfaction), queue, outcome)

    def _ask(self, what: str, *args: Any) -> None:
        self.asked.append((what, args))
        if self.down:
            raise Unavailable("the database does not answer (fake stopped)")

    async def stored_call(self, call_id: str) -> StoredCall | None:
        self._ask("stored_call", call_id)
        return await super().stored_call(call_id)

    async def get(self, call_id: str) -> WorkOrder | None:
        self._ask("get", call_id)
        return await super().get(call_id)

    async def save(self, call_id: str, fields: Mapping[str, Any], *, caller: str, agent_id: str,
                   live_agency_leg: bool, now: float) -> WorkOrder:
        self._ask("save", call_id, dict(fields), caller, agent_id, live_agency_leg)
        return await super().save(call_id, fields, caller=caller, agent_id=agent_id,
                                  live_agency_leg=live_agency_leg, now=now)

    async def list_orders(self, query: OrderQuery, now: float) -> list[WorkOrder]:
        self._ask("list_orders", query)
        return await super().list_orders(query, now)

    async def history(self, caller: str, since: float, now: float, limit: int = 100) -> list[PastCall]:
        self._ask("history", caller, since)
        return await super().history(caller, since, now, limit)
