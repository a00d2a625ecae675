"""Filing a work order: what the call taker typed, completed with what is known of the call.

Why a rule of its own: the facts a person should not have to type (or may not change) come
from the call: the caller's number, whose call it was, whether an agency was brought in
(三方连线), the citizen's answer to the survey. They are known from the live call (while it
goes on or is in wrap-up), from the stored call record (once it ended), or from the order
filed before; this module decides which wins, ``workorders.model.validate`` checks the rest.

- ``caller`` and ``agent_id``: the live call's, else the stored record's, else the previous
  order's;
- ``three_party``: as given; left out (None), true when the live call has an agency leg, the
  record shows one, or the previous order said so;
- ``satisfaction``: never typed by the call taker (they are assessed by it): the previous
  order's, else the record's survey answer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from outbound.agencies import Directory
from workorders.config import WorkOrderConfig
from workorders.history import StoredCall
from workorders.model import FieldError, WorkOrder, validate


def draft_of(fields: Mapping[str, Any], *, call_id: str, caller: str, agent_id: str, now: datetime,
             live_agency_leg: bool, stored: StoredCall | None, previous: WorkOrder | None) -> dict[str, Any]:
    """The draft ``validate`` takes (see the module's rules)."""
    draft = {k: v for k, v in fields.items() if k not in ("satisfaction", "three_party")}
    draft.update(call_id=call_id, now=now,
                 caller=caller or (stored.caller if stored else "") or (previous.caller if previous else ""),
                 agent_id=agent_id or (stored.agent_id if stored else "") or (previous.agent_id if previous else ""))
    given = fields.get("three_party")
    derived = live_agency_leg or (stored is not None and stored.agency_leg) or \
        (previous is not None and previous.three_party)
    draft["three_party"] = given if given is not None else bool(derived)
    draft["satisfaction"] = (previous.satisfaction if previous else None) or (stored.satisfaction if stored else None)
    return draft


def file_order(fields: Mapping[str, Any], config: WorkOrderConfig, directory: Directory, *, call_id: str,
               caller: str, agent_id: str, now: datetime, live_agency_leg: bool, stored: StoredCall | None,
               previous: WorkOrder | None) -> WorkOrder | list[FieldError]:
    """The order to store for the call, or the errors (each naming its field)."""
    draft = draft_of(fields, call_id=call_id, caller=caller, agent_id=agent_id, now=now,
                     live_agency_leg=live_agency_leg, stored=stored, previous=previous)
    return validate(draft, config.taxonomy, directory, config.districts, config.calendar, previous)
