"""``SqlWorkOrders``: the ``WorkOrders`` port over ``hotline.store.work_orders`` (the
instance's database), for the composition root to plug into ``ApiDeps.work_orders``.

Why an adapter: the store is synchronous (the CLI and the reports use it as it is); here
each call runs in a worker thread (``asyncio.to_thread``) so the event loop never waits on
the database, a database that does not answer becomes ``Unavailable`` (HTTP 503), and a
draft is filed through the pure rules (``workorders.filing``) with the agency directory in
force (``directory``: ``hotline reload`` swaps it, so it is read at each save).
"""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Callable, Mapping, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from hotline.api.ports import Unavailable
from hotline.api.ports_work_orders import InvalidWorkOrder
from hotline.store.work_orders import WorkOrderStore
from outbound.agencies import Directory
from workorders.config import WorkOrderConfig, load_work_order_config
from workorders.filing import file_order
from workorders.history import PastCall, StoredCall
from workorders.model import OrderQuery, WorkOrder

T = TypeVar("T")


class SqlWorkOrders:
    """Work orders in the database of ``engine`` (migrated to 0004 or later)."""

    def __init__(self, engine: Engine, config: WorkOrderConfig, directory: Callable[[], Directory]) -> None:
        self._config = config
        self._directory = directory
        self.store = WorkOrderStore(engine, config.taxonomy, config.calendar.tz)

    @classmethod
    def shipped(cls, engine: Engine, directory: Callable[[], Directory]) -> "SqlWorkOrders":
        """With the taxonomy, districts and holidays of ``workorders/`` (validated now, the
        taxonomy's agencies against ``directory()``: a bad file stops the start-up)."""
        return cls(engine, load_work_order_config(directory()), directory)

    def config(self) -> WorkOrderConfig:
        return self._config

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self._config.calendar.tz)

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(work, *args)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc

    async def stored_call(self, call_id: str) -> StoredCall | None:
        return await self._db(self.store.stored_call, call_id)

    async def get(self, call_id: str) -> WorkOrder | None:
        return await self._db(self.store.get, call_id)

    async def get_by_case(self, case_number: str) -> WorkOrder | None:
        return await self._db(self.store.get_by_case, case_number)

    async def save(self, call_id: str, fields: Mapping[str, Any], *, caller: str, agent_id: str,
                   live_agency_leg: bool, now: float) -> WorkOrder:
        directory = self._directory()

        def work() -> WorkOrder:
            result = file_order(fields, self._config, directory, call_id=call_id, caller=caller, agent_id=agent_id,
                                now=self._at(now), live_agency_leg=live_agency_leg,
                                stored=self.store.stored_call(call_id), previous=self.store.get(call_id))
            if isinstance(result, list):
                raise InvalidWorkOrder(result)
            return self.store.save(result)
        return await self._db(work)

    async def list_orders(self, query: OrderQuery, now: float) -> list[WorkOrder]:
        return await self._db(self.store.list_orders, query, self._at(now))

    async def history(self, caller: str, since: float, now: float, limit: int = 100) -> list[PastCall]:
        return await self._db(self.store.history, caller, self._at(since), self._at(now), limit)

    async def set_satisfaction(self, call_id: str, satisfaction: str) -> bool:
        return await self._db(self.store.set_satisfaction, call_id, satisfaction)
