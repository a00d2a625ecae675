"""What is asked of the stored cases, and what comes back besides the cases themselves: a
filter (``CaseQuery``, with ``matches``: the rule the SQL store mirrors and the in-memory
one runs), a case's history entry (``CaseEntry``) and a line of the supervision list
(``SupervisionEntry``).

Why pure values here: the SQL store, the in-memory store and the API all speak them, and
the tests compare the SQL filter with ``matches`` on every combination, so the two cannot
disagree on what "overdue" means.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from cases.lifecycle import Case, CaseState, overdue


@dataclass(frozen=True)
class CaseQuery:
    """A filter of cases (every field optional; all must match), newest first.
    ``overdue`` is computed at the ``now`` of the query (``lifecycle.overdue``)."""

    agency_id: str | None = None
    state: CaseState | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None       # exclusive
    caller: str | None = None
    limit: int = 100
    offset: int = 0


def matches(case: Case, query: CaseQuery, now: datetime) -> bool:
    """Whether ``case`` passes every field of ``query`` at ``now``."""
    return all((
        query.agency_id is None or case.agency_id == query.agency_id,
        query.state is None or case.state is query.state,
        query.overdue is None or bool(overdue(case, now)) == query.overdue,
        query.supervised is None or case.supervised == query.supervised,
        query.opened_from is None or case.opened_at >= query.opened_from,
        query.opened_to is None or case.opened_at < query.opened_to,
        query.caller is None or case.caller == query.caller,
    ))


def newest_first(cases: list[Case]) -> list[Case]:
    return sorted(cases, key=lambda c: (c.opened_at, c.case_number), reverse=True)


@dataclass(frozen=True)
class CaseEntry:
    """One stored event of a case: when, what (``open`` or a lifecycle event's kind), who
    (a user name, ``system``, ``follow_up``), the state after it, and the event's fields."""

    case_number: str
    at: datetime
    kind: str
    actor: str
    state: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class SupervisionEntry:
    """A supervised case with its escalation notes (its ``flag`` entries since it was
    flagged), for the supervisors' list."""

    case: Case
    notes: tuple[CaseEntry, ...]
