"""The work order (工单) a call taker files for a call, and the rules it must follow.

Why one pure ``validate``: the desk's API, a later CLI or an import all file orders through
the same rules, and each rule is testable without a database. ``validate`` takes the draft
(the fields a person gave, plus the call's facts and ``now``), the taxonomy, the agency
directory, the districts and the working-day calendar, and returns either the finished
``WorkOrder`` or every error, each naming its field.

The rules:

- ``category`` is an item (a leaf) of the taxonomy; ``request`` is required (at most
  ``REQUEST_MAX`` characters), ``district`` one of the configured districts;
- ``urgency`` is normal, urgent or emergency; left out, it is ``emergency`` for an item the
  taxonomy flags as an emergency (a gas leak) and ``normal`` otherwise;
- ``handling`` is ``direct`` (直办: answered on the spot) or ``transferred`` (转办: to an
  agency of the directory, ``agency_id`` required), due ``TRANSFER_WORKING_DAYS`` working
  days after it was first transferred; a direct order may name the agency consulted;
- ``three_party`` is true when the call had an agency leg (三方连线); ``satisfaction`` is the
  citizen's answer to the post-call survey, kept once known;
- an update keeps the case number, the filing time and the due date of a transfer.

The case number is ``YYYYMMDD-NNNN``: the local day of filing and that day's sequence, read
out to the citizen over the phone (digits only); the store assigns it once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from outbound.agencies import Directory
from workorders.calendar import OutsideCalendar, WorkCalendar
from workorders.districts import Districts
from workorders.taxonomy import Taxonomy

URGENCIES = ("normal", "urgent", "emergency")
HANDLINGS = ("direct", "transferred")
SATISFACTIONS = ("satisfied", "basically_satisfied", "unsatisfied", "no_answer")  # ivr/flows/survey.yaml
STATUSES = ("resolved", "transferred", "overdue", "supervision")
REQUEST_MAX = 2000
NOTES_MAX = 2000
ID_MAX = 64
TRANSFER_WORKING_DAYS = 2
CASE_NUMBER = re.compile(r"[0-9]{8}-[0-9]{4,6}")
# Text a person typed may hold line breaks and tabs, never other control characters (a NUL
# is refused by PostgreSQL; the rest only hides text from the person reading it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FIELDS = ("category", "request", "district", "urgency", "handling", "agency_id", "three_party", "satisfaction",
          "notes")
CONTEXT = ("call_id", "caller", "agent_id", "now")


@dataclass(frozen=True)
class WorkOrder:
    """One call's work order. Times are aware datetimes; ``case_number`` is None until the
    store has assigned it."""

    call_id: str
    caller: str
    agent_id: str
    category: str
    request: str
    district: str
    urgency: str
    handling: str
    agency_id: str | None
    due_at: datetime | None
    three_party: bool
    satisfaction: str | None
    notes: str
    created_at: datetime
    updated_at: datetime
    case_number: str | None = None


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of a draft."""

    field: str
    message: str


@dataclass(frozen=True)
class OrderQuery:
    """A supervisor's filter of work orders (every field optional; all must match).
    ``category`` matches a code and everything under it (``04`` finds ``04.03.01``);
    ``status`` is computed at ``now`` (see ``status_of``)."""

    created_from: datetime | None = None
    created_to: datetime | None = None        # exclusive
    category: str | None = None
    district: str | None = None
    agent_id: str | None = None
    handling: str | None = None
    agency_id: str | None = None
    urgency: str | None = None
    status: str | None = None
    caller: str | None = None
    case_number: str | None = None
    three_party: bool | None = None
    limit: int = 100
    offset: int = 0


def case_number(day: date, sequence: int) -> str:
    """``20261130-0042``: the day and its sequence (at least four digits)."""
    if sequence < 1:
        raise ValueError(f"a case's sequence starts at 1, not {sequence}")
    return f"{day:%Y%m%d}-{sequence:04d}"


def status_of(order: WorkOrder, now: datetime) -> str:
    """Where the case stands at ``now``, first rule that applies:

    - ``supervision`` (督办): the citizen said unsatisfied; the case goes back for supervision;
    - ``resolved``: handled directly on the call;
    - ``overdue``: transferred, and the agency's due date has passed;
    - ``transferred``: transferred, within the due date.
    """
    if order.satisfaction == "unsatisfied":
        return "supervision"
    if order.handling == "direct":
        return "resolved"
    if order.due_at is not None and now >= order.due_at:
        return "overdue"
    return "transferred"


def validate(draft: Mapping[str, Any], taxonomy: Taxonomy, directory: Directory, districts: Districts,
             calendar: WorkCalendar, previous: WorkOrder | None = None) -> WorkOrder | list[FieldError]:
    """The work order the draft makes (an update of ``previous`` when given), or every error.

    ``draft`` holds the call's facts ``call_id``, ``caller``, ``agent_id`` and ``now`` (an
    aware datetime: the filing or update time) and the fields of ``FIELDS``; a field left
    out takes its default (``urgency`` from the category, ``agency_id`` none,
    ``three_party`` false, ``notes`` empty, ``satisfaction`` the previous one)."""
    errors: list[FieldError] = []

    def error(name: str, message: str) -> None:
        errors.append(FieldError(name, message))

    for key in sorted(set(draft) - set(FIELDS) - set(CONTEXT)):
        error(str(key), "unknown field")
    now = draft.get("now")
    if not isinstance(now, datetime) or now.tzinfo is None:
        error("now", "the filing time must be an aware datetime")
    call_id = _text(draft.get("call_id"), "call_id", ID_MAX, error, required=True, single_line=True)
    caller = _text(draft.get("caller", ""), "caller", ID_MAX, error, single_line=True)
    agent_id = _text(draft.get("agent_id", ""), "agent_id", 16, error, single_line=True)

    category = draft.get("category")
    leaf = taxonomy.get(category) if isinstance(category, str) else None
    if not isinstance(category, str) or not category:
        error("category", "required: the code of a taxonomy item, e.g. 04.03.01")
    elif leaf is None:
        error("category", f"unknown category {category!r}")
    elif not leaf.is_leaf:
        error("category", f"{category} ({leaf.name_zh} {leaf.name_en}) is a {('class', 'subclass')[leaf.level]}: "
                          "file the case under one of its items")

    request = _text(draft.get("request"), "request", REQUEST_MAX, error, required=True)
    notes = _text(draft.get("notes", ""), "notes", NOTES_MAX, error)

    district = draft.get("district")
    if not isinstance(district, str) or not district:
        error("district", "required: one of the configured districts")
    elif district not in districts.ids:
        error("district", f"unknown district {district!r}")

    urgency = draft.get("urgency")
    if urgency is None:
        urgency = "emergency" if leaf is not None and leaf.emergency else "normal"
    elif urgency not in URGENCIES:
        error("urgency", f"must be one of {', '.join(URGENCIES)}")

    handling = draft.get("handling")
    if handling not in HANDLINGS:
        error("handling", f"required: one of {', '.join(HANDLINGS)}")

    agency_id = draft.get("agency_id")
    if agency_id is not None and (not isinstance(agency_id, str) or directory.get(agency_id) is None):
        error("agency_id", f"no agency {agency_id!r} in the directory")
    elif agency_id is None and handling == "transferred":
        error("agency_id", "required for a transferred case: the agency it goes to")

    three_party = draft.get("three_party", False)
    if not isinstance(three_party, bool):
        error("three_party", "must be true or false")

    satisfaction = draft.get("satisfaction", previous.satisfaction if previous else None)
    if satisfaction is not None and satisfaction not in SATISFACTIONS:
        error("satisfaction", f"must be one of {', '.join(SATISFACTIONS)}")

    if previous is not None and call_id is not None and previous.call_id != call_id:
        error("call_id", f"the previous order is of call {previous.call_id}")

    due_at: datetime | None = None
    if handling == "transferred" and isinstance(now, datetime) and now.tzinfo is not None:
        if previous is not None and previous.handling == "transferred" and previous.due_at is not None:
            due_at = previous.due_at
        else:
            try:
                due_at = calendar.add_working_days(now, TRANSFER_WORKING_DAYS)
            except OutsideCalendar as exc:
                error("handling", f"no due date can be set: {exc}")

    if errors:
        return errors
    assert isinstance(now, datetime) and call_id is not None and request is not None and notes is not None
    return WorkOrder(
        call_id=call_id, caller=caller or "", agent_id=agent_id or "", category=str(category), request=request,
        district=str(district), urgency=str(urgency), handling=str(handling), agency_id=agency_id, due_at=due_at,
        three_party=bool(three_party), satisfaction=satisfaction, notes=notes,
        created_at=previous.created_at if previous is not None else calendar.local(now),
        updated_at=calendar.local(now), case_number=previous.case_number if previous is not None else None)


def _text(value: Any, name: str, limit: int, error: Any, *, required: bool = False,
          single_line: bool = False) -> str | None:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        error(name, "must be a text")
        return None
    text = value.strip()
    if required and not text:
        error(name, "required: it may not be empty")
        return None
    if len(text) > limit:
        error(name, f"at most {limit} characters, not {len(text)}")
        return None
    if (_SINGLE_LINE_CONTROL if single_line else _CONTROL).search(text):
        error(name, "may not hold control characters" + (" or line breaks" if single_line else ""))
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        error(name, "is not valid text (a lone surrogate)")
        return None
    return text
