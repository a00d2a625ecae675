"""Cases in SQL (tables ``cases``, ``case_events``, ``follow_ups``; migration 0006), on SQLite
or PostgreSQL, identical on both.

Why a store of its own and not columns on the work order: a case lives for weeks after its
call (the agency's acceptance, extensions, the reply, follow-up calls, reopenings), every
step is an event with its time and its actor, and the agencies' ranking reads those times.
The work order stays what the call taker filed.

The shell around the pure core (``cases.lifecycle``, ``cases.supervision``,
``cases.followup``): each change is one transaction that reads the case row (locked: on
PostgreSQL ``FOR UPDATE``, on SQLite the database lock taken by ``BEGIN IMMEDIATE``), applies
the pure event, writes the row and one ``case_events`` row, and then does what the change
implies:

- a case opened (``open_case_for``): the automatic supervision rules over the other cases of
  their window (same caller, same district);
- a case replied to, or handled directly and in the follow-up sample: its follow-up is
  scheduled (``cases.followup.schedule``); a case that no longer needs its scheduled
  follow-up (closed, reopened) gets it cancelled;
- a follow-up's last attempt (``record_attempt``): the case events its answer means
  (``cases.followup.case_events``: satisfied closes, unhappy reopens and flags).

Times are stored in UTC (SQLite gives them back naive) and returned in the calendar's zone.
Synchronous like the other stores; the API calls it through ``asyncio.to_thread``
(``hotline/api/cases_sql.py``).
"""
from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from sqlalchemy import Connection, Engine, and_, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from cases.followup import FollowUp, after_attempt, after_change, cancels, case_events
from cases.lifecycle import (AWAITING_ACCEPT, Case, CaseState, Event, apply, event_data, event_kind,
                             events_for_order, open_case)
from cases.query import CaseEntry, CaseQuery, SupervisionEntry
from cases.rules import CaseRules
from cases.supervision import extract_address, findings, flags_for
from sql.schema import case_events as events_table
from sql.schema import cases as cases_table
from sql.schema import follow_ups as follow_ups_table
from workorders.calendar import WorkCalendar
from workorders.model import WorkOrder
from workorders.taxonomy import Taxonomy

_TIMES = tuple(f.name for f in dataclasses.fields(Case) if f.name.endswith(("_at", "_due")))
_FOLLOW_UP_TIMES = ("ready_at", "due_by", "next_attempt_at", "last_attempt_at")
_SAVE_ATTEMPTS = 3
S = CaseState


class CaseNotFound(LookupError):
    """No case of that number (or no follow-up scheduled for it)."""


class WrongAgency(PermissionError):
    """The case is not with the agency that acts on it."""


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"a stored time must be aware: {moment!r}")
    return moment.astimezone(timezone.utc)


def overdue_condition(now: datetime) -> Any:
    """``cases.lifecycle.overdue(case, now)`` is not empty, as SQL (never NULL, so it can be
    negated); the tests compare the two."""
    c, at = cases_table.c, _utc(now)
    accept_missed = and_(c.accept_due.is_not(None), c.accept_due <= at)
    reply_missed = and_(c.reply_due.is_not(None), c.reply_due <= at)
    return or_(and_(c.state == S.OPEN.value, accept_missed),
               and_(c.state.in_([s.value for s in AWAITING_ACCEPT]), or_(accept_missed, reply_missed)),
               and_(c.state.in_([S.ACCEPTED.value, S.EXTENSION_REQUESTED.value, S.EXTENDED.value]), reply_missed))


class CaseStore:
    """Cases of the database of ``engine`` (migrated to 0006 or later). ``calendar``: the
    working days of the deadlines and the zone of the times returned; ``taxonomy``: which
    categories are emergencies; ``rules``: ``cases/rules.yaml``."""

    def __init__(self, engine: Engine, calendar: WorkCalendar, taxonomy: Taxonomy, rules: CaseRules) -> None:
        self.engine = engine
        self.calendar = calendar
        self.taxonomy = taxonomy
        self.rules = rules

    # -- rows ---------------------------------------------------------------------------

    def _local(self, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(self.calendar.tz)

    def _case(self, row: Mapping[str, Any]) -> Case:
        values = {f.name: row[f.name] for f in dataclasses.fields(Case)}
        values.update({name: self._local(row[name]) for name in _TIMES})
        values.update(state=CaseState(row["state"]), supervision=tuple(row["supervision"] or ()),
                      emergency=bool(row["emergency"]), accepted_late=bool(row["accepted_late"]),
                      replied_late=bool(row["replied_late"]))
        return Case(**values)

    @staticmethod
    def _row(case: Case) -> dict[str, Any]:
        row = {f.name: getattr(case, f.name) for f in dataclasses.fields(Case)}
        row.update({name: _utc(row[name]) for name in _TIMES})
        row.update(state=case.state.value, supervision=list(case.supervision), supervised=case.supervised)
        return row

    def _follow_up(self, row: Mapping[str, Any]) -> FollowUp:
        values = {f.name: row[f.name] for f in dataclasses.fields(FollowUp)}
        values.update({name: self._local(row[name]) for name in _FOLLOW_UP_TIMES})
        return FollowUp(**values)

    @staticmethod
    def _follow_up_row(follow_up: FollowUp) -> dict[str, Any]:
        row = {f.name: getattr(follow_up, f.name) for f in dataclasses.fields(FollowUp)}
        row.update({name: _utc(row[name]) for name in _FOLLOW_UP_TIMES})
        return row

    # -- transactions -------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: no upgrade deadlock
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            else:
                with conn.begin():
                    yield conn

    def _load(self, conn: Connection, case_number: str) -> Case:
        row = conn.execute(select(cases_table).where(cases_table.c.case_number == case_number)
                           .with_for_update()).mappings().first()
        if row is None:
            raise CaseNotFound(f"no case {case_number}")
        return self._case(row)

    def _log(self, conn: Connection, case: Case, at: datetime, kind: str, actor: str, data: Mapping[str, Any]) -> None:
        conn.execute(insert(events_table).values(case_number=case.case_number, at=_utc(at), kind=kind,
                                                 actor=actor[:64], state=case.state.value, data=dict(data)))

    def _step(self, conn: Connection, case: Case, event: Event, now: datetime, actor: str) -> Case:
        """Apply one event (raises ``IllegalTransition``), write the row and its entry, and
        keep the case's follow-up in line with its new state."""
        after = apply(case, event, now, self.calendar, self.rules.deadlines)
        conn.execute(update(cases_table).where(cases_table.c.case_number == case.case_number)
                     .values(**self._row(after)))
        self._log(conn, after, now, event_kind(event), actor, event_data(event))
        self._follow_up_after(conn, case, after, now)
        return after

    def _follow_up_after(self, conn: Connection, before: Case, after: Case, now: datetime) -> None:
        f = follow_ups_table.c
        scheduled = and_(f.case_number == after.case_number, f.state == "scheduled")
        planned = after_change(before, after, now, self.calendar.tz, self.rules.follow_up)
        if planned is not None and conn.execute(select(f.id).where(scheduled)).first() is None:
            conn.execute(insert(follow_ups_table).values(**self._follow_up_row(planned)))
        elif cancels(after):
            conn.execute(update(follow_ups_table).where(scheduled).values(state="cancelled", next_attempt_at=None))

    # -- writing ------------------------------------------------------------------------

    def open_case_for(self, order: WorkOrder, now: datetime | None = None, actor: str = "system") -> Case:
        """The case of a saved work order (call this after every save of an order): opened
        and transferred or handled directly on its first save, with the automatic supervision
        flags; moved along on a later save (``cases.lifecycle.events_for_order``: direct to
        transferred, another agency before acceptance); its facts (category, district,
        request) follow the order. ``now``: the order's ``updated_at`` by default."""
        if not order.case_number:
            raise ValueError(f"the work order of call {order.call_id} has no case number: save it first")
        at = now or order.updated_at
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                with self._writing() as conn:
                    return self._open_once(conn, order, at, actor)
            except IntegrityError:
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _facts(self, order: WorkOrder) -> dict[str, Any]:
        node = self.taxonomy.get(order.category)
        return {"caller": order.caller, "category": order.category, "district": order.district,
                "request": order.request, "address": extract_address(order.request)[:200],
                "emergency": bool(node and node.emergency) or order.urgency == "emergency"}

    def _open_once(self, conn: Connection, order: WorkOrder, now: datetime, actor: str) -> Case:
        number = str(order.case_number)
        row = conn.execute(select(cases_table).where(cases_table.c.case_number == number)
                           .with_for_update()).mappings().first()
        facts = self._facts(order)
        if row is not None:
            case = dataclasses.replace(self._case(row), **facts)
            conn.execute(update(cases_table).where(cases_table.c.case_number == number).values(**self._row(case)))
            for event in events_for_order(case, order.handling, order.agency_id):
                case = self._step(conn, case, event, now, actor)
            return case
        case = open_case(number, order.call_id, now, self.calendar, self.rules.deadlines, **facts)
        conn.execute(insert(cases_table).values(**self._row(case)))
        self._log(conn, case, now, "open", actor, {"call_id": order.call_id, "agent_id": order.agent_id})
        for event in events_for_order(None, order.handling, order.agency_id):
            case = self._step(conn, case, event, now, actor)
        others = self._neighbours(conn, case)
        for flag in flags_for(case, findings(case, others, now, self.rules.supervision)):
            case = self._step(conn, case, flag, now, "system")
        return case

    def _neighbours(self, conn: Connection, case: Case) -> list[Case]:
        """The cases the repeat rules compare ``case`` with: opened in the lookback window
        before it, from the same caller or in the same district."""
        lookback = self.rules.supervision.lookback()
        if not lookback:
            return []
        c = cases_table.c
        q = select(cases_table).where(c.opened_at >= _utc(case.opened_at - lookback),
                                      c.opened_at <= _utc(case.opened_at), c.case_number != case.case_number,
                                      or_(c.caller == case.caller, c.district == case.district))
        return [self._case(r) for r in conn.execute(q).mappings()]

    def act(self, case_number: str, event: Event, now: datetime, actor: str, agency_id: str | None = None) -> Case:
        """Apply ``event`` to the case at ``now`` on behalf of ``actor``; the case after it.
        With ``agency_id``, only if the case is with that agency (``WrongAgency``), checked
        under the row's lock. Raises ``CaseNotFound``, ``cases.lifecycle.IllegalTransition``."""
        with self._writing() as conn:
            case = self._load(conn, case_number)
            if agency_id is not None and case.agency_id != agency_id:
                raise WrongAgency(f"case {case_number} is not with agency {agency_id}")
            return self._step(conn, case, event, now, actor)

    def sweep_overdue(self, now: datetime, actor: str = "system") -> list[Case]:
        """Flag every overdue case not flagged ``overdue`` yet (run it every few minutes);
        the cases flagged now."""
        flagged = []
        with self._writing() as conn:
            rows = conn.execute(select(cases_table).where(overdue_condition(now)).with_for_update()).mappings()
            for case in [self._case(r) for r in rows]:
                overdue_only = [f for f in findings(case, (), now, self.rules.supervision) if f.reason == "overdue"]
                for flag in flags_for(case, overdue_only):
                    flagged.append(self._step(conn, case, flag, now, actor))
        return flagged

    # -- follow-ups ---------------------------------------------------------------------

    def scheduled_follow_ups(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        """Scheduled follow-ups whose next try is due at ``now``, oldest first (the dialler
        then asks ``cases.followup.due`` for the quiet hours and ``pacing`` for how many)."""
        f = follow_ups_table.c
        q = (select(follow_ups_table).where(f.state == "scheduled", f.next_attempt_at <= _utc(now))
             .order_by(f.next_attempt_at, f.case_number).limit(limit))
        with self.engine.connect() as conn:
            return [self._follow_up(r) for r in conn.execute(q).mappings()]

    def claim_attempt(self, case_number: str, now: datetime, until: datetime) -> bool:
        """Take the case's due follow-up for one try: its next try moves to ``until`` (a lease:
        the try's outcome sets the real next one), so no other controller, and no leader after
        a restart, dials the citizen again meanwhile. False when it is not due (any more)."""
        f = follow_ups_table.c
        with self._writing() as conn:
            done = conn.execute(update(follow_ups_table).where(
                f.case_number == case_number, f.state == "scheduled", f.next_attempt_at <= _utc(now))
                .values(next_attempt_at=_utc(until)))
            return bool(done.rowcount)

    def follow_ups(self, case_number: str) -> list[FollowUp]:
        f = follow_ups_table.c
        q = select(follow_ups_table).where(f.case_number == case_number).order_by(f.ready_at, f.id)
        with self.engine.connect() as conn:
            return [self._follow_up(r) for r in conn.execute(q).mappings()]

    def record_attempt(self, case_number: str, outcome: str, now: datetime, *, satisfied: bool | None = None,
                       solved: bool | None = None, actor: str = "follow_up",
                       to_agent: bool = False) -> tuple[FollowUp, Case]:
        """One try of the case's scheduled follow-up (``cases.followup.after_attempt``), and,
        when that finishes it, the case events its answer means. Raises ``CaseNotFound``
        when no follow-up of the case is scheduled."""
        f = follow_ups_table.c
        with self._writing() as conn:
            row = conn.execute(select(follow_ups_table).where(f.case_number == case_number, f.state == "scheduled")
                               .with_for_update()).mappings().first()
            if row is None:
                raise CaseNotFound(f"no follow-up of case {case_number} is scheduled")
            tried = after_attempt(self._follow_up(row), outcome, now, self.calendar.tz, self.rules.follow_up,
                                  satisfied=satisfied, solved=solved, to_agent=to_agent)
            conn.execute(update(follow_ups_table).where(f.id == row["id"]).values(**self._follow_up_row(tried)))
            case = self._load(conn, case_number)
            self._log(conn, case, now, "follow_up_attempt", actor,
                      {"outcome": outcome, "attempt": tried.attempts, "state": tried.state})
            for event in case_events(case, tried, self.rules.follow_up):
                case = self._step(conn, case, event, now, actor)
            return tried, case

    # -- reading ------------------------------------------------------------------------

    def get(self, case_number: str) -> Case | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases_table).where(cases_table.c.case_number == case_number)).mappings().first()
            return self._case(row) if row else None

    def by_call(self, call_id: str) -> Case | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases_table).where(cases_table.c.call_id == call_id)).mappings().first()
            return self._case(row) if row else None

    def events(self, case_number: str) -> list[CaseEntry]:
        e = events_table.c
        q = select(events_table).where(e.case_number == case_number).order_by(e.at, e.id)
        with self.engine.connect() as conn:
            return [self._entry(r) for r in conn.execute(q).mappings()]

    def _entry(self, row: Mapping[str, Any]) -> CaseEntry:
        at = self._local(row["at"])
        assert at is not None
        return CaseEntry(row["case_number"], at, row["kind"], row["actor"], row["state"], dict(row["data"] or {}))

    def list_cases(self, query: CaseQuery, now: datetime) -> list[Case]:
        """The cases matching every field of ``query`` at ``now`` (``cases.query.matches``),
        newest first."""
        c = cases_table.c
        where: list[Any] = []
        for name in ("agency_id", "caller"):
            if getattr(query, name) is not None:
                where.append(c[name] == getattr(query, name))
        if query.state is not None:
            where.append(c.state == query.state.value)
        if query.supervised is not None:
            where.append(c.supervised == query.supervised)
        if query.overdue is not None:
            where.append(overdue_condition(now) if query.overdue else not_(overdue_condition(now)))
        if query.opened_from is not None:
            where.append(c.opened_at >= _utc(query.opened_from))
        if query.opened_to is not None:
            where.append(c.opened_at < _utc(query.opened_to))
        q = (select(cases_table).where(*where).order_by(c.opened_at.desc(), c.case_number.desc())
             .limit(query.limit).offset(query.offset))
        with self.engine.connect() as conn:
            return [self._case(r) for r in conn.execute(q).mappings()]

    def supervision_list(self, limit: int = 500) -> list[SupervisionEntry]:
        """The supervised cases, longest supervised first, each with its escalation notes
        (``flag`` entries since it was flagged)."""
        c, e = cases_table.c, events_table.c
        q = select(cases_table).where(c.supervised.is_(True)).order_by(c.supervised_at, c.case_number).limit(limit)
        out = []
        with self.engine.connect() as conn:
            flagged = [self._case(r) for r in conn.execute(q).mappings()]
            for case in flagged:
                notes = conn.execute(select(events_table).where(
                    e.case_number == case.case_number, e.kind == "flag", e.at >= _utc(case.supervised_at))
                    .order_by(e.at, e.id)).mappings()
                out.append(SupervisionEntry(case, tuple(self._entry(n) for n in notes)))
        return out

    def transferred_between(self, start: datetime, end: datetime) -> list[Case]:
        """The cases transferred to an agency in ``[start, end)`` (what the ranking counts)."""
        c = cases_table.c
        q = select(cases_table).where(c.agency_id.is_not(None), c.transferred_at >= _utc(start),
                                      c.transferred_at < _utc(end)).order_by(c.transferred_at, c.case_number)
        with self.engine.connect() as conn:
            return [self._case(r) for r in conn.execute(q).mappings()]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(cases_table)).scalar_one())

