"""Work orders in SQL (tables ``work_orders`` and ``work_order_days``, migration 0004):
one per call, on SQLite or PostgreSQL.

Synchronous and small like ``hotline.store.calls``; the API calls it through
``asyncio.to_thread`` (``hotline/api/work_orders_sql.py``).

Why the case number is drawn in SQL: two desks (or two controllers) filing at the same
moment must never give two citizens one number. The order's insert and the increment of
that day's counter (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) are one transaction:
on PostgreSQL the counter's row lock orders them; on SQLite the transaction starts with
``BEGIN IMMEDIATE``, so writers queue for the database lock instead of failing when one
upgrades a read lock. Two first saves of one call race on the primary key: the loser
retries as an update, so a call keeps the one number it was given first.

Times are stored in UTC (SQLite keeps no offset: it gives them back naive) and returned in
the calendar's time zone, in which the case number's day is counted.
"""
from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterator, Mapping

from sqlalchemy import Connection, Engine, and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from sql.schema import call_legs, calls, work_order_days, work_orders
from workorders.history import PastCall, StoredCall, has_history, summarize
from workorders.model import SATISFACTIONS, OrderQuery, WorkOrder, case_number
from workorders.taxonomy import Taxonomy

# What the call record's ``attrs.handling`` says when an agency was brought in (calls/legs.py).
_AGENCY_HANDLINGS = ("consulted", "three_party", "transferred")
_SAVE_ATTEMPTS = 3


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a stored time must be aware: {moment!r}")
    return moment.astimezone(timezone.utc)


class WorkOrderStore:
    """``tz``: the local zone of case numbers and of the times returned; ``taxonomy``: the
    category paths of the history."""

    def __init__(self, engine: Engine, taxonomy: Taxonomy, tz: tzinfo) -> None:
        self.engine = engine
        self.taxonomy = taxonomy
        self.tz = tz

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: no upgrade deadlock
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            else:
                with conn.begin():
                    yield conn

    def save(self, order: WorkOrder) -> WorkOrder:
        """Insert the call's order (drawing its case number) or update it (keeping its case
        number and filing time); the order as stored. A satisfaction the order does not give
        is kept from the stored order, or taken from the call record's survey answer."""
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                return self._save_once(order)
            except IntegrityError:
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _save_once(self, order: WorkOrder) -> WorkOrder:
        with self._writing() as conn:
            row = conn.execute(select(work_orders).where(work_orders.c.call_id == order.call_id)
                               .with_for_update()).mappings().first()
            satisfaction = order.satisfaction or (row["satisfaction"] if row else None) or \
                self._survey_answer(conn, order.call_id)
            values = self._values(order, satisfaction)
            if row is not None:
                conn.execute(update(work_orders).where(work_orders.c.call_id == order.call_id).values(**values))
                return replace(order, case_number=row["case_number"], created_at=self._local(row["created_at"]),
                               satisfaction=satisfaction)
            day = order.created_at.astimezone(self.tz).date()
            number = case_number(day, self._next_sequence(conn, f"{day:%Y%m%d}"))
            conn.execute(insert(work_orders).values(call_id=order.call_id, case_number=number,
                                                    created_at=_utc(order.created_at), **values))
            return replace(order, case_number=number, satisfaction=satisfaction)

    @staticmethod
    def _next_sequence(conn: Connection, day: str) -> int:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(work_order_days).values(day=day, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=[work_order_days.c.day],
                                          set_={"last": work_order_days.c.last + 1})
        return int(conn.execute(stmt.returning(work_order_days.c.last)).scalar_one())

    @staticmethod
    def _values(order: WorkOrder, satisfaction: str | None) -> dict[str, Any]:
        return {"caller": order.caller, "agent_id": order.agent_id, "category": order.category,
                "request": order.request, "district": order.district, "urgency": order.urgency,
                "handling": order.handling, "agency_id": order.agency_id,
                "due_at": _utc(order.due_at) if order.due_at is not None else None,
                "three_party": order.three_party, "satisfaction": satisfaction, "notes": order.notes,
                "updated_at": _utc(order.updated_at)}

    @staticmethod
    def _survey_answer(conn: Connection, call_id: str) -> str | None:
        attrs = conn.execute(select(calls.c.attrs).where(calls.c.call_id == call_id)).scalar()
        answer = attrs.get("satisfaction") if isinstance(attrs, dict) else None
        return answer if answer in SATISFACTIONS else None

    def set_satisfaction(self, call_id: str, satisfaction: str) -> bool:
        """Store the survey's answer (or a callback's) on the call's order; False when the
        call has no order yet (its save will take the answer from the call record)."""
        if satisfaction not in SATISFACTIONS:
            raise ValueError(f"satisfaction must be one of {', '.join(SATISFACTIONS)}, not {satisfaction!r}")
        with self._writing() as conn:
            done = conn.execute(update(work_orders).where(work_orders.c.call_id == call_id)
                                .values(satisfaction=satisfaction))
            return bool(done.rowcount)

    # -- reading ------------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(self.tz)

    def _order(self, row: Mapping[str, Any], prefix: str = "") -> WorkOrder:
        def at(name: str) -> Any:
            return row[prefix + name]

        due = at("due_at")
        return WorkOrder(
            call_id=at("call_id"), caller=at("caller"), agent_id=at("agent_id"), category=at("category"),
            request=at("request"), district=at("district"), urgency=at("urgency"), handling=at("handling"),
            agency_id=at("agency_id"), due_at=self._local(due) if due is not None else None,
            three_party=bool(at("three_party")), satisfaction=at("satisfaction"), notes=at("notes"),
            created_at=self._local(at("created_at")), updated_at=self._local(at("updated_at")),
            case_number=at("case_number"))

    def get(self, call_id: str) -> WorkOrder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(work_orders).where(work_orders.c.call_id == call_id)).mappings().first()
            return self._order(row) if row else None

    def get_by_case(self, number: str) -> WorkOrder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(work_orders).where(work_orders.c.case_number == number)).mappings().first()
            return self._order(row) if row else None

    def list_orders(self, query: OrderQuery, now: datetime) -> list[WorkOrder]:
        """The orders matching every field of ``query``, newest first."""
        c = work_orders.c
        where: list[Any] = []
        if query.created_from is not None:
            where.append(c.created_at >= _utc(query.created_from))
        if query.created_to is not None:
            where.append(c.created_at < _utc(query.created_to))
        if query.category:  # codes are digits and dots: nothing in them is a LIKE wildcard
            where.append(or_(c.category == query.category, c.category.like(query.category + ".%")))
        for name in ("district", "agent_id", "handling", "agency_id", "urgency", "caller", "case_number"):
            value = getattr(query, name)
            if value:
                where.append(c[name] == value)
        if query.three_party is not None:
            where.append(c.three_party == query.three_party)
        if query.status:
            where.append(_status_condition(query.status, _utc(now)))
        q = (select(work_orders).where(*where).order_by(c.created_at.desc(), c.case_number.desc())
             .limit(query.limit).offset(query.offset))
        with self.engine.connect() as conn:
            return [self._order(row) for row in conn.execute(q).mappings()]

    def stored_call(self, call_id: str) -> StoredCall | None:
        """What the call record says, or None when the call is not (yet) stored."""
        legs = exists(select(call_legs.c.call_id).where(call_legs.c.call_id == call_id))
        q = select(calls.c.call_id, calls.c.caller, calls.c.agent_id, calls.c.arrived_at, calls.c.attrs,
                   legs.label("has_legs")).where(calls.c.call_id == call_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        if row is None:
            return None
        attrs = row["attrs"] if isinstance(row["attrs"], dict) else {}
        answer = attrs.get("satisfaction")
        return StoredCall(row["call_id"], row["caller"], row["agent_id"], self._local(row["arrived_at"]),
                          bool(row["has_legs"]) or attrs.get("handling") in _AGENCY_HANDLINGS,
                          answer if answer in SATISFACTIONS else None)

    def history(self, caller: str, since: datetime, now: datetime, limit: int = 100) -> list[PastCall]:
        """The calls from ``caller`` that arrived at ``since`` or later, newest first, each
        with its work order (summarized at ``now``) when one was filed. A withheld or
        unusable number has no history (``workorders.history.has_history``)."""
        if not has_history(caller):
            return []
        labelled = [col.label(f"wo_{col.name}") for col in work_orders.c]
        q = (select(calls.c.call_id, calls.c.arrived_at, calls.c.agent_id, calls.c.queue, calls.c.outcome,
                    calls.c.attrs, *labelled)
             .select_from(calls.outerjoin(work_orders, work_orders.c.call_id == calls.c.call_id))
             .where(calls.c.caller == caller, calls.c.arrived_at >= _utc(since))
             .order_by(calls.c.arrived_at.desc(), calls.c.call_id.desc()).limit(limit))
        out = []
        with self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
        for row in rows:
            order = self._order(row, "wo_") if row["wo_call_id"] is not None else None
            attrs = row["attrs"] if isinstance(row["attrs"], dict) else {}
            answer = attrs.get("satisfaction")
            satisfaction = (order.satisfaction if order else None) or (answer if answer in SATISFACTIONS else None)
            out.append(PastCall(row["call_id"], self._local(row["arrived_at"]), row["agent_id"], row["queue"],
                                row["outcome"], satisfaction,
                                summarize(order, self.taxonomy, now) if order else None))
        return out

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(work_orders)).scalar_one())


def _status_condition(status: str, now_utc: datetime) -> Any:
    """``workorders.model.status_of`` as SQL (the tests compare the two on every status)."""
    c = work_orders.c
    content = or_(c.satisfaction.is_(None), c.satisfaction != "unsatisfied")
    conditions = {
        "supervision": c.satisfaction == "unsatisfied",
        "resolved": and_(content, c.handling == "direct"),
        "overdue": and_(content, c.handling == "transferred", c.due_at <= now_utc),
        "transferred": and_(content, c.handling == "transferred", c.due_at > now_utc),
    }
    if status not in conditions:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(conditions)})")
    return conditions[status]
