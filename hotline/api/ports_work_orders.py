"""What the work-order routes need from the rest of the controller: the ``WorkOrders`` port.

Why a port of its own: the routes must not know SQL. The controller backs it with
``hotline.api.work_orders_sql.SqlWorkOrders`` (the store on the instance's database), an
instance without one with ``hotline.api.work_orders_memory.InMemoryWorkOrders``, the tests
with either or with ``tests/fakes_work_orders.py``. Every implementation files orders through
the same pure rules (``workorders.filing``), so they cannot disagree on what is valid.

Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol

from hotline.api.ports import DeskError
from workorders.config import WorkOrderConfig
from workorders.history import PastCall, StoredCall
from workorders.model import FieldError, OrderQuery, WorkOrder


class InvalidWorkOrder(DeskError):
    """The draft breaks the rules; ``errors`` names each field (HTTP 422 ``invalid_request``,
    one detail per field)."""

    error_id = "invalid_request"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid work order: " + "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class WorkOrders(Protocol):
    """Work orders and the stored calls they belong to.

    Times are epoch seconds in (``now``, ``since``), aware datetimes in the calendar's zone
    out. Every async method raises ``Unavailable`` when the database does not answer.
    """

    def config(self) -> WorkOrderConfig:
        """The taxonomy, districts and calendar in force (in memory: no I/O)."""
        ...

    async def stored_call(self, call_id: str) -> StoredCall | None:
        """What the call record says (None while the call is not stored: it goes on, or is
        in wrap-up)."""
        ...

    async def get(self, call_id: str) -> WorkOrder | None: ...

    async def get_by_case(self, case_number: str) -> WorkOrder | None: ...

    async def save(self, call_id: str, fields: Mapping[str, Any], *, caller: str, agent_id: str,
                   live_agency_leg: bool, now: float) -> WorkOrder:
        """File or update the call's order from ``fields`` (``workorders.model.FIELDS``) and
        the call's facts (``workorders.filing``); the order as stored, with its case number.
        Raises ``InvalidWorkOrder`` with every field at fault."""
        ...

    async def list_orders(self, query: OrderQuery, now: float) -> list[WorkOrder]:
        """The orders matching ``query``, newest first."""
        ...

    async def history(self, caller: str, since: float, now: float, limit: int = 100) -> list[PastCall]:
        """The stored calls of ``caller`` since ``since``, newest first, each with its order."""
        ...

    async def set_satisfaction(self, call_id: str, satisfaction: str) -> bool:
        """The survey's answer for the call's order; False when it has no order yet."""
        ...
