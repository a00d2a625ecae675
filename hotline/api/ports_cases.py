"""What the case routes need from the rest of the controller: the ``Cases`` port.

Why a port of its own: the routes must not know SQL. The controller backs it with
``hotline.api.cases_sql.SqlCases`` (``hotline.store.cases.CaseStore`` on the instance's
database); an API built without one (``ApiDeps``' default, the tests) with
``hotline.api.cases_memory.InMemoryCases``. Both apply the same pure rules
(``cases.lifecycle``, ``cases.supervision``, ``cases.followup``), and
``tests/unit/test_api_cases.py`` runs the routes over both.

Errors cross as ``hotline.api.ports`` errors: ``NotFound`` (no such case), ``NotYourCase``
(403 ``not_your_case``: an agency acting on another agency's case), ``IllegalOperation``
(409: the case's state or a rule forbids the event), ``Unavailable`` (503).

Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import Protocol

from cases.followup import FollowUp
from cases.lifecycle import Case, Event
from cases.query import CaseEntry, CaseQuery, SupervisionEntry
from cases.rules import CaseRules
from hotline.api.ports import NotYourCall
from workorders.model import WorkOrder


class NotYourCase(NotYourCall):
    """The case is not the agency's (HTTP 403 ``not_your_case``)."""

    error_id = "not_your_case"


class Cases(Protocol):
    """Cases after the call. Times are epoch seconds in, aware datetimes in the calendar's
    zone out. Every async method raises ``Unavailable`` when the database does not answer."""

    def rules(self) -> CaseRules:
        """The rules in force (in memory: no I/O)."""
        ...

    def tz(self) -> tzinfo:
        """The calendar's zone (deadlines, days of the filters and the ranking)."""
        ...

    async def open_case_for(self, order: WorkOrder) -> Case:
        """The case of a saved work order (call after every save; see
        ``hotline.store.cases.CaseStore.open_case_for``)."""
        ...

    async def get(self, case_number: str) -> Case | None: ...

    async def events(self, case_number: str) -> list[CaseEntry]:
        """The case's history, oldest first."""
        ...

    async def follow_ups(self, case_number: str) -> list[FollowUp]: ...

    async def list_cases(self, query: CaseQuery, now: float) -> list[Case]:
        """The cases matching ``query`` at ``now``, newest first."""
        ...

    async def act(self, case_number: str, event: Event, now: float, actor: str, agency_id: str | None = None) -> Case:
        """Apply ``event``; with ``agency_id``, only to a case of that agency (checked in the
        same transaction: ``NotYourCase`` otherwise). ``NotFound``, ``IllegalOperation``."""
        ...

    async def supervision_list(self) -> list[SupervisionEntry]: ...

    async def transferred_between(self, start: float, end: float) -> list[Case]:
        """The cases transferred to an agency in ``[start, end)`` (for the ranking)."""
        ...

    async def sweep_overdue(self, now: float) -> list[Case]:
        """Flag the overdue cases for supervision; the ones flagged now."""
        ...

    async def due_follow_ups(self, now: float) -> list[FollowUp]:
        """Scheduled follow-ups whose next try is due (quiet hours not applied yet)."""
        ...

    async def claim_attempt(self, case_number: str, now: float, until: float) -> bool:
        """Take a due follow-up for one try (its next try moves to ``until``, a lease); False
        when it is not due any more (another controller took it)."""
        ...

    async def record_attempt(self, case_number: str, outcome: str, now: float, *, satisfied: bool | None = None,
                             solved: bool | None = None, actor: str = "follow_up",
                             to_agent: bool = False) -> tuple[FollowUp, Case]:
        """One try of the case's follow-up call, and what its answer does to the case;
        ``actor``: ``follow_up`` (the dialler) or the user who made the call; ``to_agent``:
        the citizen was put through to a call taker (no automated try again)."""
        ...
