"""A citizen's earlier calls, as the call taker sees them: each call with its work order's
case number, category (code and path in Chinese and English), status, request and notes.

Why: repeat callers are known to the hotline (an 80-year-old woman had called 5 times), and
a call taker who sees what was asked and promised before answers the sixth call in one go.
These are pure values; ``hotline/store/work_orders.py`` reads them from the database.

A caller whose number is withheld or unusable (``anonymous``, empty) has no history: all
such calls are different people, and showing one the others' requests would be a leak.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from workorders.model import WorkOrder, status_of
from workorders.taxonomy import Taxonomy

_NUMBER = re.compile(r"\+?[0-9]{5,20}")


def has_history(caller: str) -> bool:
    """Whether calls from ``caller`` may be put together: a real number (5-20 digits)."""
    return bool(_NUMBER.fullmatch(caller or ""))


@dataclass(frozen=True)
class StoredCall:
    """What the call records (``calls`` table) say about one call, for the work order:
    whose it was, the caller, whether an agency leg was dialled, the survey's answer."""

    call_id: str
    caller: str
    agent_id: str
    arrived_at: datetime
    agency_leg: bool
    satisfaction: str | None


@dataclass(frozen=True)
class CategoryRef:
    """A category code with its path; empty paths for a code the taxonomy no longer has."""

    code: str
    path_zh: tuple[str, ...]
    path_en: tuple[str, ...]
    emergency: bool


def category_ref(taxonomy: Taxonomy, code: str) -> CategoryRef:
    node = taxonomy.get(code)
    return CategoryRef(code, taxonomy.breadcrumbs(code, "zh"), taxonomy.breadcrumbs(code, "en"),
                       bool(node and node.emergency))


@dataclass(frozen=True)
class OrderSummary:
    """The parts of a work order a call taker reads in the history."""

    case_number: str
    category: CategoryRef
    status: str
    request: str
    notes: str
    handling: str
    agency_id: str | None
    due_at: datetime | None
    urgency: str


def summarize(order: WorkOrder, taxonomy: Taxonomy, now: datetime) -> OrderSummary:
    return OrderSummary(order.case_number or "", category_ref(taxonomy, order.category), status_of(order, now),
                        order.request, order.notes, order.handling, order.agency_id, order.due_at, order.urgency)


@dataclass(frozen=True)
class PastCall:
    """One earlier call of the citizen, with its work order when one was filed."""

    call_id: str
    arrived_at: datetime
    agent_id: str
    queue: str
    outcome: str
    satisfaction: str | None
    work_order: OrderSummary | None
