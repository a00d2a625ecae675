"""The agent's current call and its three-party operations (三方连线).

Every operation acts on the agent's *current* call (``CallDesk.current_call``); a client
that shows a call may name it (``?call_id=``) so that a click meant for a call that has
just ended never lands on the next one (403 ``not_your_call``). An agency is named by its
directory id; a number, when given, must be one of that agency's directory numbers (422
``number_not_in_directory``): nothing else is ever dialled. Without one, the agency's
numbers open now are tried in the directory's order (409 ``agency_closed`` when none is).
"""
# No ``from __future__ import annotations``: the routes' bodies are classes made in
# ``router()``, and FastAPI must see the annotations as objects, not as names to look up.
from typing import Annotated, Any, Awaitable, Callable

from fastapi import APIRouter, Depends, Query, Request, Response

from hotline.api.auth import AgentAccess, AllowAgent
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models import CallOut, DialBody, TransferBody
from hotline.api.ports import IllegalOperation, NoCurrentCall, NotYourCall

Api = Annotated[ApiRuntime, Depends(runtime)]
SelfOrSupervisor = Annotated[AgentAccess, Depends(AllowAgent("supervisor"))]
Self = Annotated[AgentAccess, Depends(AllowAgent())]
CallId = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                                     description="the call the client shows; refused if it is not the current one")]

OPERATION = error_responses(400, 401, 403, 404, 409, 422, 503)


async def current_call_id(api: ApiRuntime, agent_id: str, expected: str | None) -> str:
    """The agent's current call id; NoCurrentCall, or NotYourCall when ``expected`` differs."""
    view = await api.deps.calls.current_call(agent_id)
    if view is None:
        raise NoCurrentCall(f"agent {agent_id} has no current call")
    call_id = str(view["call_id"])
    if expected is not None and expected != call_id:
        raise NotYourCall(f"call {expected} is not agent {agent_id}'s current call")
    return call_id


def numbers_to_dial(api: ApiRuntime, body: DialBody) -> tuple[str, ...]:
    """The directory numbers the operation may dial, in order; ApiError when none may."""
    agency = api.deps.directory().get(body.agency_id)
    if agency is None:
        raise ApiError(422, "unknown_agency", f"no agency {body.agency_id!r} in the directory")
    if body.number is not None:
        if body.number not in {n.number for n in agency.numbers}:
            raise ApiError(422, "number_not_in_directory",
                           f"{body.number} is not one of {agency.agency_id}'s directory numbers")
        return (body.number,)
    numbers = agency.numbers_to_try(api.deps.local_now())
    if not numbers:
        raise ApiError(409, "agency_closed", f"{agency.agency_id} has no line open now (office hours only)")
    return numbers


async def held_elsewhere(api: ApiRuntime, request: Request, call_id: str,
                         operate: Callable[[], Awaitable[dict[str, Any]]]) -> "CallOut | Response":
    """Run ``operate``; when this controller does not hold the call (409 ``not_here``), the
    answer of the controller that does (hotline/api/forwarding.py)."""
    try:
        return CallOut.of(await operate())
    except IllegalOperation as exc:
        if exc.error_id != "not_here" or api.deps.forward is None:
            raise
        answer = await api.deps.forward(request, call_id)
        if answer is None:
            raise
        return answer


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/agents/{agent_id}/call", tags=["calls"])

    @r.get("", response_model=CallOut, responses=error_responses(401, 403, 404, 422, 503))
    async def current_call(access: SelfOrSupervisor, api: Api, request: Request) -> Any:
        """The agent's current call with its three-party state (404 ``no_current_call``)."""
        view = await api.deps.calls.current_call(access.agent_id)
        if view is None:
            raise NoCurrentCall(f"agent {access.agent_id} has no current call")
        if view.get("three_party") is None and api.deps.forward is not None:
            # its legs may be held by another controller: that one knows their state
            answer = await api.deps.forward(request, str(view["call_id"]))
            if answer is not None and answer.status_code == 200:
                return answer
        return CallOut.of(view)

    def dialling(name: str, doc: str, body_type: type[DialBody]) -> None:
        async def operation(access: Self, api: Api, body: body_type, request: Request,  # type: ignore[valid-type]
                            call_id: CallId = None) -> Any:
            numbers = numbers_to_dial(api, body)
            current = await current_call_id(api, access.agent_id, call_id)
            method: Callable[..., Awaitable[dict[str, Any]]] = getattr(api.deps.calls, name)
            extra = (body.mode,) if isinstance(body, TransferBody) else ()
            return await held_elsewhere(api, request, current, lambda: method(access.agent_id, current,
                                                                              body.agency_id, numbers, *extra))
        operation.__doc__ = doc
        r.add_api_route(f"/{name}", operation, methods=["POST"], response_model=CallOut, responses=OPERATION,
                        name=name, operation_id=f"call_{name}")

    def simple(path: str, name: str, doc: str) -> None:
        async def operation(access: Self, api: Api, request: Request, call_id: CallId = None) -> Any:
            current = await current_call_id(api, access.agent_id, call_id)
            method: Callable[..., Awaitable[dict[str, Any]]] = getattr(api.deps.calls, name)
            return await held_elsewhere(api, request, current, lambda: method(access.agent_id, current))
        operation.__doc__ = doc
        r.add_api_route(path, operation, methods=["POST"], response_model=CallOut, responses=OPERATION,
                        name=name, operation_id=f"call_{name}")

    dialling("consult", "Put the caller on hold and dial the agency, to talk to it alone.", DialBody)
    dialling("conference", "Dial the agency straight into a three-way call with the caller.", DialBody)
    dialling("transfer", "Blind transfer: hand the caller to the agency and leave (attended: consult, then "
                         "POST .../call/transfer/complete).", TransferBody)
    simple("/join", "join", "After a consultation: bring the caller in, three-way.")
    simple("/leave", "leave", "Leave the three-way call; caller and agency stay connected.")
    simple("/cancel", "cancel", "Abandon the consultation (or a dial still ringing) and go back to the caller.")
    simple("/hangup-agency", "hangup_agency", "Drop the agency's leg; stay with the caller.")
    simple("/transfer/complete", "complete_transfer", "Attended transfer: after a consultation, connect the "
                                                      "caller and the agency and leave.")
    return r
