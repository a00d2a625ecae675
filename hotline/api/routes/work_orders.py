"""Work orders (工单) from the call taker's desk: the taxonomy to file under, a call's work
order (read, create or update), the caller's earlier calls, and the supervisors' list.

Who may see what (``AllowCall``): an agent reads and writes the work order and the caller's
history of *their* calls only: the current call (``CallDesk.current_call``), the call their
agent record is bound to (so also in wrap-up, when the desk files the order), or a stored
call (or order) that names them as its agent; any other call is 403 ``not_your_call``.
Supervisors and admins read every call's order and history; supervisors may also correct an
order (PUT); admins manage accounts, not cases, and only read. The list is for supervisors
and admins.

A draft that breaks the filing rules (``workorders.model.validate``: an unknown category or
district, a transfer without its agency...) is 422 ``invalid_request`` with one detail per
field, like a body of the wrong shape.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError

from hotline.api.auth import AGENT_ID_PATTERN, Allow, Principal, authenticated
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models import AGENCY_ID
from hotline.api.models_work_orders import (CALL_ID, CASE_NUMBER, CATEGORY_PREFIX, DISTRICT, Handling, HistoryOut,
                                            PastCallOut, Status, TaxonomyOut, Urgency, WorkOrderBody, WorkOrderOut)
from hotline.api.ports import NotFound, NotYourCall, Unavailable
from hotline.api.ports_work_orders import InvalidWorkOrder
from workorders.history import category_ref
from workorders.model import OrderQuery, WorkOrder

Api = Annotated[ApiRuntime, Depends(runtime)]
AnyUser = Annotated[Principal, Depends(Allow())]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
READ = error_responses(401, 403, 404, 422, 503)
DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class LiveCall:
    """An agent's call as the live state shows it (the caller may be unknown in wrap-up)."""

    caller: str
    agent_id: str
    agency_leg: bool


@dataclass(frozen=True)
class CallAccess:
    """The caller of the API, the call named in the path, and the agent's live call when
    that is how the call was found to be theirs."""

    principal: Principal
    call_id: str
    live: LiveCall | None


async def _own_live_call(api: ApiRuntime, agent_id: str, call_id: str) -> tuple[LiveCall | None, bool]:
    """The agent's live call when it is ``call_id`` (current call, or the call their record
    is bound to, as in wrap-up), and whether the live state failed to answer."""
    failed = False
    try:
        view = await api.deps.calls.current_call(agent_id)
    except Unavailable:
        view, failed = None, True
    if view is not None and str(view.get("call_id")) == call_id:
        return LiveCall(str(view.get("caller") or ""), agent_id, view.get("three_party") is not None), False
    try:
        record = await api.deps.agents.state(agent_id)
    except NotFound:
        record = None
    except Unavailable:
        record, failed = None, True
    if record is not None and record.call_id == call_id:
        return LiveCall("", agent_id, False), False
    return None, failed


class AllowCall(Allow):
    """Dependency for ``/calls/{call_id}/...``: a caller holding one of ``roles`` (any call),
    or an agent on a call of theirs (live, in wrap-up, or stored with their id)."""

    def __init__(self, *roles: str) -> None:
        super().__init__(*roles)
        self.own_agent = True

    async def __call__(  # type: ignore[override]
        self,
        principal: Annotated[Principal, Depends(authenticated)],
        call_id: Annotated[str, Path(pattern=CALL_ID, description="the call's id")],
        api: Api,
    ) -> CallAccess:
        if principal.role in self.roles:
            return CallAccess(principal, call_id, None)
        if principal.role != "agent" or not principal.agent_id:
            raise ApiError(403, "forbidden", f"not allowed for the {principal.role} role")
        live, failed = await _own_live_call(api, principal.agent_id, call_id)
        if live is not None:
            return CallAccess(principal, call_id, live)
        stored = await api.deps.work_orders.stored_call(call_id)
        order = None if stored is not None else await api.deps.work_orders.get(call_id)
        owner = stored.agent_id if stored is not None else order.agent_id if order is not None else None
        if owner == principal.agent_id:
            return CallAccess(principal, call_id, None)
        if failed:
            raise Unavailable("the live state does not answer: cannot tell whether the call is yours")
        raise NotYourCall(f"call {call_id} is not one of agent {principal.agent_id}'s calls")

    def access(self) -> dict[str, object]:
        return {"roles": sorted(self.roles), "own_agent": True}


ReadCall = Annotated[CallAccess, Depends(AllowCall("supervisor", "admin"))]
WriteCall = Annotated[CallAccess, Depends(AllowCall("supervisor"))]


async def _call_facts(api: ApiRuntime, access: CallAccess) -> LiveCall:
    """The call's caller, agent and live agency leg: from the live call the agent is on,
    the stored record, an order filed before, or (for a supervisor) the agent bound to it."""
    work_orders = api.deps.work_orders
    stored = await work_orders.stored_call(access.call_id)
    order = await work_orders.get(access.call_id)
    known = stored or order
    if access.live is not None:
        return LiveCall(access.live.caller or (known.caller if known else ""), access.live.agent_id,
                        access.live.agency_leg)
    if known is not None:
        return LiveCall(known.caller, known.agent_id, False)
    for record in await api.deps.agents.states():
        if record.call_id == access.call_id:
            view = await api.deps.calls.current_call(record.agent_id)
            if view is not None and str(view.get("call_id")) == access.call_id:
                return LiveCall(str(view.get("caller") or ""), record.agent_id, view.get("three_party") is not None)
            return LiveCall("", record.agent_id, False)
    raise NotFound(f"no call {access.call_id}: not stored, not live")


def _order_out(api: ApiRuntime, order: WorkOrder) -> WorkOrderOut:
    config = api.deps.work_orders.config()
    now = datetime.fromtimestamp(api.deps.clock(), tz=config.calendar.tz)
    return WorkOrderOut.of(order, category_ref(config.taxonomy, order.category), now)


def _day(value: date | None, name: str) -> date | None:
    if value is not None and not 2000 <= value.year <= 2999:
        raise ApiError(422, "invalid_request", f"invalid request: {name}: a date between 2000 and 2999")
    return value


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["work_orders"])

    @r.get("/taxonomy", response_model=TaxonomyOut, responses=error_responses(401, 422, 503))
    async def taxonomy(
        _who: AnyUser, api: Api,
        q: Annotated[str, Query(max_length=100, description="words, all in an item's code or names or its "
                                                              "parents' (case-insensitive); the tree is pruned "
                                                              "to the items found")] = "",
    ) -> TaxonomyOut:
        """The taxonomy a case is filed under (class > subclass > item) and the districts."""
        config = api.deps.work_orders.config()
        leaves = {n.code for n in config.taxonomy.search(q)} if q.strip() else None
        return TaxonomyOut.of(config.taxonomy, config.districts, leaves)

    @r.get("/calls/{call_id}/work-order", response_model=WorkOrderOut, responses=READ)
    async def get_work_order(access: ReadCall, api: Api) -> WorkOrderOut:
        """The call's work order (404 ``not_found`` while none is filed)."""
        order = await api.deps.work_orders.get(access.call_id)
        if order is None:
            raise NotFound(f"call {access.call_id} has no work order yet")
        return _order_out(api, order)

    @r.put("/calls/{call_id}/work-order", response_model=WorkOrderOut,
           responses=error_responses(400, 401, 403, 404, 422, 503))
    async def put_work_order(access: WriteCall, api: Api, body: WorkOrderBody) -> WorkOrderOut:
        """File the call's work order, or update it (the case number, the filing time and a
        transfer's due date stay). The caller, the agent and the survey's answer come from
        the call; ``three_party`` left out is true when the call had an agency leg."""
        facts = await _call_facts(api, access)
        try:
            order = await api.deps.work_orders.save(access.call_id, body.fields(), caller=facts.caller,
                                                    agent_id=facts.agent_id, live_agency_leg=facts.agency_leg,
                                                    now=api.deps.clock())
        except InvalidWorkOrder as exc:
            raise RequestValidationError([{"loc": ("body", e.field), "msg": e.message, "type": "value_error"}
                                          for e in exc.errors]) from exc
        # the case's life after the call starts here: closed at once when handled directly,
        # transferred to its agency with its deadlines otherwise (cases/lifecycle.py)
        await api.deps.cases.open_case_for(order)
        return _order_out(api, order)

    @r.get("/calls/{call_id}/history", response_model=HistoryOut, responses=READ)
    async def history(access: ReadCall, api: Api,
                      days: Annotated[int, Query(ge=1, le=365, description="how far back, in days")] = 30
                      ) -> HistoryOut:
        """The earlier calls of this call's caller within ``days``, newest first, each with
        its work order (case number, category, status, request, notes) when one was filed."""
        facts = await _call_facts(api, access)
        now = api.deps.clock()
        since = now - days * DAY_SECONDS
        calls = await api.deps.work_orders.history(facts.caller, since, now)
        tz = api.deps.work_orders.config().calendar.tz
        return HistoryOut(call_id=access.call_id, caller=facts.caller, days=days,
                          since=datetime.fromtimestamp(since, tz=tz), calls=[PastCallOut.of(c) for c in calls])

    @r.get("/work-orders", response_model=list[WorkOrderOut], responses=READ)
    async def list_work_orders(
        _who: Staff, api: Api,
        since: Annotated[date | None, Query(description="filed on this local day or later")] = None,
        until: Annotated[date | None, Query(description="filed on this local day or earlier")] = None,
        category: Annotated[str | None, Query(pattern=CATEGORY_PREFIX, description="a code: it and "
                                                                                      "everything under it")] = None,
        district: Annotated[str | None, Query(pattern=DISTRICT)] = None,
        agent_id: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN)] = None,
        handling: Annotated[Handling | None, Query()] = None,
        agency_id: Annotated[str | None, Query(pattern=AGENCY_ID)] = None,
        urgency: Annotated[Urgency | None, Query()] = None,
        status: Annotated[Status | None, Query(description="as of now")] = None,
        caller: Annotated[str | None, Query(max_length=64, pattern=r"^\+?[0-9]{1,63}$")] = None,
        case_number: Annotated[str | None, Query(pattern=CASE_NUMBER)] = None,
        three_party: Annotated[bool | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[WorkOrderOut]:
        """Work orders matching every filter given, newest first (supervisors and admins)."""
        tz = api.deps.work_orders.config().calendar.tz
        first, last = _day(since, "since"), _day(until, "until")
        query = OrderQuery(
            created_from=datetime.combine(first, time(0), tzinfo=tz) if first else None,
            created_to=datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) if last else None,
            category=category, district=district, agent_id=agent_id, handling=handling, agency_id=agency_id,
            urgency=urgency, status=status, caller=caller, case_number=case_number, three_party=three_party,
            limit=limit, offset=offset)
        orders = await api.deps.work_orders.list_orders(query, api.deps.clock())
        return [_order_out(api, o) for o in orders]

    return r
