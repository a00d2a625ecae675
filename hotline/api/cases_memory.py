"""``InMemoryCases``: the ``Cases`` port in dicts, with the rules of the SQL one.

Why: an API built without a database (``ApiDeps``' default, a demo, the API's tests) still
runs cases through the same pure rules as ``SqlCases`` (``cases.lifecycle``,
``cases.supervision``, ``cases.followup``): the routes' tests run over both and must see the
same answers. What a change implies (supervision on opening, follow-ups scheduled or
cancelled, a follow-up's answer) is decided by the same pure functions the SQL store calls.

``shipped()`` reads ``workorders/`` (calendar, taxonomy), the agency directory and
``cases/rules.yaml`` on first use, not when it is built.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any, Callable, Mapping

from cases.followup import FollowUp, after_attempt, after_change, cancels, case_events
from cases.lifecycle import Case, Event, IllegalTransition, apply, event_data, event_kind, events_for_order, open_case
from cases.query import CaseEntry, CaseQuery, SupervisionEntry, matches, newest_first
from cases.rules import CaseRules, load_rules
from cases.supervision import extract_address, findings, flags_for
from hotline.api.ports import IllegalOperation, NotFound
from hotline.api.ports_cases import NotYourCase
from hotline.settings import PROJECT_ROOT
from outbound.agencies import load_directory
from workorders.calendar import OutsideCalendar
from workorders.config import WorkOrderConfig, load_work_order_config
from workorders.model import WorkOrder


class InMemoryCases:
    """``config`` (work orders' calendar and taxonomy) and ``rules`` are called on first use."""

    def __init__(self, config: Callable[[], WorkOrderConfig], rules: Callable[[], CaseRules]) -> None:
        self._load_config = config
        self._load_rules = rules
        self.cases: dict[str, Case] = {}
        self.entries: dict[str, list[CaseEntry]] = {}
        self.follow: dict[str, list[FollowUp]] = {}

    @classmethod
    def shipped(cls) -> "InMemoryCases":
        """With the files of ``workorders/``, ``outbound/agencies.yaml`` and ``cases/rules.yaml``,
        read on first use."""
        return cls(lambda: load_work_order_config(load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")),
                   load_rules)

    @cached_property
    def _config(self) -> WorkOrderConfig:
        return self._load_config()

    @cached_property
    def _rules(self) -> CaseRules:
        return self._load_rules()

    def rules(self) -> CaseRules:
        return self._rules

    def tz(self) -> tzinfo:
        return self._config.calendar.tz

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.tz())

    # -- the shell's steps, as in hotline.store.cases --------------------------------------

    def _log(self, case: Case, at: datetime, kind: str, actor: str, data: Mapping[str, Any]) -> None:
        self.entries.setdefault(case.case_number, []).append(
            CaseEntry(case.case_number, at, kind, actor, case.state.value, dict(data)))

    def _step(self, case: Case, event: Event, now: datetime, actor: str) -> Case:
        try:
            after = apply(case, event, now, self._config.calendar, self._rules.deadlines)
        except (IllegalTransition, OutsideCalendar) as exc:
            raise IllegalOperation(str(exc)) from exc
        self.cases[after.case_number] = after
        self._log(after, now, event_kind(event), actor, event_data(event))
        mine = self.follow.setdefault(after.case_number, [])
        planned = after_change(case, after, now, self.tz(), self._rules.follow_up)
        if planned is not None and not any(f.state == "scheduled" for f in mine):
            mine.append(planned)
        elif cancels(after):
            mine[:] = [replace(f, state="cancelled", next_attempt_at=None) if f.state == "scheduled" else f
                       for f in mine]
        return after

    def add(self, case: Case) -> None:
        """Make a case known as it is (tests: a case in any state without its history)."""
        self.cases[case.case_number] = case

    # -- the port -------------------------------------------------------------------------

    async def open_case_for(self, order: WorkOrder) -> Case:
        if not order.case_number:
            raise ValueError(f"the work order of call {order.call_id} has no case number: save it first")
        now = order.updated_at
        node = self._config.taxonomy.get(order.category)
        facts = {"caller": order.caller, "category": order.category, "district": order.district,
                 "request": order.request, "address": extract_address(order.request)[:200],
                 "emergency": bool(node and node.emergency) or order.urgency == "emergency"}
        existing = self.cases.get(order.case_number)
        if existing is not None:
            case = self.cases[order.case_number] = replace(existing, **facts)
            for event in events_for_order(case, order.handling, order.agency_id):
                case = self._step(case, event, now, "system")
            return case
        try:
            case = open_case(order.case_number, order.call_id, now, self._config.calendar, self._rules.deadlines,
                             **facts)
        except OutsideCalendar as exc:
            raise IllegalOperation(str(exc)) from exc
        self.cases[case.case_number] = case
        self._log(case, now, "open", "system", {"call_id": order.call_id, "agent_id": order.agent_id})
        for event in events_for_order(None, order.handling, order.agency_id):
            case = self._step(case, event, now, "system")
        start = case.opened_at - self._rules.supervision.lookback()
        others = [c for c in self.cases.values() if start <= c.opened_at <= case.opened_at]
        for flag in flags_for(case, findings(case, others, now, self._rules.supervision)):
            case = self._step(case, flag, now, "system")
        return case

    async def get(self, case_number: str) -> Case | None:
        return self.cases.get(case_number)

    async def events(self, case_number: str) -> list[CaseEntry]:
        return list(self.entries.get(case_number, []))

    async def follow_ups(self, case_number: str) -> list[FollowUp]:
        return list(self.follow.get(case_number, []))

    async def list_cases(self, query: CaseQuery, now: float) -> list[Case]:
        at = self._at(now)
        found = newest_first([c for c in self.cases.values() if matches(c, query, at)])
        return found[query.offset:query.offset + query.limit]

    async def act(self, case_number: str, event: Event, now: float, actor: str, agency_id: str | None = None) -> Case:
        case = self.cases.get(case_number)
        if case is None:
            raise NotFound(f"no case {case_number}")
        if agency_id is not None and case.agency_id != agency_id:
            raise NotYourCase(f"case {case_number} is not with agency {agency_id}")
        return self._step(case, event, self._at(now), actor)

    async def supervision_list(self) -> list[SupervisionEntry]:
        flagged = sorted((c for c in self.cases.values() if c.supervised),
                         key=lambda c: (c.supervised_at, c.case_number))
        return [SupervisionEntry(c, tuple(e for e in self.entries.get(c.case_number, [])
                                          if e.kind == "flag" and c.supervised_at is not None
                                          and e.at >= c.supervised_at)) for c in flagged]

    async def transferred_between(self, start: float, end: float) -> list[Case]:
        lo, hi = self._at(start), self._at(end)
        return sorted((c for c in self.cases.values() if c.agency_id and c.transferred_at is not None
                       and lo <= c.transferred_at < hi), key=lambda c: (c.transferred_at, c.case_number))

    async def sweep_overdue(self, now: float) -> list[Case]:
        at, flagged = self._at(now), []
        for case in list(self.cases.values()):
            overdue_only = [f for f in findings(case, (), at, self._rules.supervision) if f.reason == "overdue"]
            for flag in flags_for(case, overdue_only):
                flagged.append(self._step(case, flag, at, "system"))
        return flagged

    async def due_follow_ups(self, now: float) -> list[FollowUp]:
        at = self._at(now)
        ready = [f for fs in self.follow.values() for f in fs
                 if f.state == "scheduled" and f.next_attempt_at is not None and f.next_attempt_at <= at]
        return sorted(ready, key=lambda f: (f.next_attempt_at, f.case_number))

    async def claim_attempt(self, case_number: str, now: float, until: float) -> bool:
        mine = self.follow.get(case_number, [])
        i = next((i for i, f in enumerate(mine) if f.state == "scheduled" and f.next_attempt_at is not None
                  and f.next_attempt_at <= self._at(now)), None)
        if i is None:
            return False
        mine[i] = replace(mine[i], next_attempt_at=self._at(until))
        return True

    async def record_attempt(self, case_number: str, outcome: str, now: float, *, satisfied: bool | None = None,
                             solved: bool | None = None, actor: str = "follow_up",
                             to_agent: bool = False) -> tuple[FollowUp, Case]:
        mine = self.follow.get(case_number, [])
        i = next((i for i, f in enumerate(mine) if f.state == "scheduled"), None)
        if i is None:
            raise NotFound(f"no follow-up of case {case_number} is scheduled")
        at = self._at(now)
        tried = mine[i] = after_attempt(mine[i], outcome, at, self.tz(), self._rules.follow_up, satisfied=satisfied,
                                        solved=solved, to_agent=to_agent)
        case = self.cases[case_number]
        self._log(case, at, "follow_up_attempt", actor,
                  {"outcome": outcome, "attempt": tried.attempts, "state": tried.state})
        for event in case_events(case, tried, self._rules.follow_up):
            case = self._step(case, event, at, actor)
        return tried, case
