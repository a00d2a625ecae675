"""``SqlCases``: the ``Cases`` port over ``hotline.store.cases.CaseStore`` (the instance's
database), for the composition root to plug into ``ApiDeps.cases``.

Why an adapter: the store is synchronous (the dialler and the sweep may use it as it is);
here each call runs in a worker thread so the event loop never waits on the database, a
database that does not answer becomes ``Unavailable`` (503), and the store's errors become
the API's (``NotFound``, ``NotYourCase``, ``IllegalOperation``).
"""
from __future__ import annotations

import asyncio
from datetime import datetime, tzinfo
from typing import Any, Callable, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from cases.followup import FollowUp
from cases.lifecycle import Case, Event, IllegalTransition
from cases.query import CaseEntry, CaseQuery, SupervisionEntry
from cases.rules import CaseRules, load_rules
from hotline.api.ports import IllegalOperation, NotFound, Unavailable
from hotline.api.ports_cases import NotYourCase
from hotline.store.cases import CaseNotFound, CaseStore, WrongAgency
from workorders.calendar import OutsideCalendar
from workorders.config import WorkOrderConfig
from workorders.model import WorkOrder

T = TypeVar("T")


class SqlCases:
    """Cases in the database of ``engine`` (migrated to 0006 or later)."""

    def __init__(self, engine: Engine, config: WorkOrderConfig, rules: CaseRules) -> None:
        self._rules = rules
        self.store = CaseStore(engine, config.calendar, config.taxonomy, rules)

    @classmethod
    def shipped(cls, engine: Engine, config: WorkOrderConfig) -> "SqlCases":
        """With ``cases/rules.yaml`` (validated now: a bad file stops the start-up) and the
        work orders' configuration in force (its calendar and taxonomy)."""
        return cls(engine, config, load_rules())

    def rules(self) -> CaseRules:
        return self._rules

    def use_rules(self, rules: CaseRules) -> None:
        """``hotline reload``: new rules for every later step (deadlines already set stay)."""
        self._rules = self.store.rules = rules

    def tz(self) -> tzinfo:
        return self.store.calendar.tz

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.tz())

    async def _db(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(work, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc
        except CaseNotFound as exc:
            raise NotFound(str(exc)) from exc
        except WrongAgency as exc:
            raise NotYourCase(str(exc)) from exc
        except (IllegalTransition, OutsideCalendar) as exc:
            raise IllegalOperation(str(exc)) from exc

    async def open_case_for(self, order: WorkOrder) -> Case:
        return await self._db(self.store.open_case_for, order)

    async def get(self, case_number: str) -> Case | None:
        return await self._db(self.store.get, case_number)

    async def events(self, case_number: str) -> list[CaseEntry]:
        return await self._db(self.store.events, case_number)

    async def follow_ups(self, case_number: str) -> list[FollowUp]:
        return await self._db(self.store.follow_ups, case_number)

    async def list_cases(self, query: CaseQuery, now: float) -> list[Case]:
        return await self._db(self.store.list_cases, query, self._at(now))

    async def act(self, case_number: str, event: Event, now: float, actor: str, agency_id: str | None = None) -> Case:
        return await self._db(self.store.act, case_number, event, self._at(now), actor, agency_id)

    async def supervision_list(self) -> list[SupervisionEntry]:
        return await self._db(self.store.supervision_list)

    async def transferred_between(self, start: float, end: float) -> list[Case]:
        return await self._db(self.store.transferred_between, self._at(start), self._at(end))

    async def sweep_overdue(self, now: float) -> list[Case]:
        return await self._db(self.store.sweep_overdue, self._at(now))

    async def due_follow_ups(self, now: float) -> list[FollowUp]:
        return await self._db(self.store.scheduled_follow_ups, self._at(now))

    async def claim_attempt(self, case_number: str, now: float, until: float) -> bool:
        return await self._db(self.store.claim_attempt, case_number, self._at(now), self._at(until))

    async def record_attempt(self, case_number: str, outcome: str, now: float, *, satisfied: bool | None = None,
                             solved: bool | None = None, actor: str = "follow_up",
                             to_agent: bool = False) -> tuple[FollowUp, Case]:
        return await self._db(self.store.record_attempt, case_number, outcome, self._at(now), satisfied=satisfied,
                              solved=solved, actor=actor, to_agent=to_agent)
