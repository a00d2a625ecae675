"""Quality checks (质检) of reviewed calls: the form, a supervisor's check of a call, and the
checks of a call or of an agent over a period.

The form is readable by every logged-in user (call takers are assessed against it); a check
is written by a supervisor, on a stored call somebody answered, and read by supervisors and
admins. The score is computed from the points given (``recordings.quality.score_check``);
points that do not fit the form are 422 ``invalid_request`` with one detail per field.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from hotline.api.auth import AGENT_ID_PATTERN, Allow, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models_recordings import QualityCheckBody, QualityCheckOut, QualityFormOut
from hotline.api.models_work_orders import CALL_ID
from hotline.api.ports import IllegalOperation, NotFound
from recordings.quality import CheckQuery, QualityCheck, score_check

Api = Annotated[ApiRuntime, Depends(runtime)]
AnyUser = Annotated[Principal, Depends(Allow())]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
Supervisor = Annotated[Principal, Depends(Allow("supervisor"))]
CallId = Annotated[str, Path(pattern=CALL_ID, description="the call's id")]


def _moment(value: datetime | None, name: str) -> datetime | None:
    if value is not None and not 2000 <= value.year <= 2999:
        raise ApiError(422, "invalid_request", f"invalid request: {name}: a time between the years 2000 and 2999")
    return value


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["quality"])

    @r.get("/quality/form", response_model=QualityFormOut, responses=error_responses(401, 503))
    async def quality_form(_who: AnyUser, api: Api) -> QualityFormOut:
        """The quality-check form: criteria with their points (adding up to 100), the
        vetoes (一票否决), the pass score."""
        return QualityFormOut.of(api.deps.recordings.form())

    @r.post("/calls/{call_id}/quality-checks", response_model=QualityCheckOut, status_code=201,
            responses=error_responses(400, 401, 403, 404, 409, 422, 503))
    async def add_quality_check(who: Supervisor, api: Api, call_id: CallId, body: QualityCheckBody) -> QualityCheckOut:
        """Check a stored call: points per criterion of the form, vetoes found, remarks;
        ``keep`` keeps the call's recordings past the retention policy. 404 while the call
        is not stored; 409 ``illegal_in_state`` when nobody answered it."""
        recordings = api.deps.recordings
        agent_id = await recordings.call_agent(call_id)
        if agent_id is None:
            raise NotFound(f"call {call_id} is not stored (yet)")
        if not agent_id:
            raise IllegalOperation(f"nobody answered call {call_id}: there is no conversation to check")
        scored = score_check(recordings.form(), body.scores, body.vetoes)
        if isinstance(scored, list):
            raise RequestValidationError([{"loc": ("body", *e.field.split(".")), "msg": e.message,
                                           "type": "value_error"} for e in scored])
        check = QualityCheck(call_id=call_id, agent_id=agent_id, reviewer=who.username, score=scored.score,
                             items=scored.items, remarks=body.remarks, keep=body.keep,
                             at=datetime.fromtimestamp(api.deps.clock(), tz=timezone.utc))
        return QualityCheckOut.of(await recordings.add_check(check))

    @r.get("/calls/{call_id}/quality-checks", response_model=list[QualityCheckOut],
           responses=error_responses(401, 403, 422, 503))
    async def call_quality_checks(_who: Staff, api: Api, call_id: CallId) -> list[QualityCheckOut]:
        """The call's checks, oldest first."""
        return [QualityCheckOut.of(c) for c in await api.deps.recordings.checks_for_call(call_id)]

    @r.get("/quality-checks", response_model=list[QualityCheckOut], responses=error_responses(401, 403, 422, 503))
    async def quality_checks(
        _who: Staff, api: Api,
        agent_id: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN)] = None,
        since: Annotated[AwareDatetime | None, Query(alias="from", description="checked at or after (ISO 8601 "
                                                                                "with offset)")] = None,
        until: Annotated[AwareDatetime | None, Query(alias="to", description="checked before")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 200,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[QualityCheckOut]:
        """Checks of every call (or one agent's) in a period, newest first (supervisors and admins)."""
        query = CheckQuery(agent_id=agent_id, since=_moment(since, "from"), until=_moment(until, "to"),
                           limit=limit, offset=offset)
        return [QualityCheckOut.of(c) for c in await api.deps.recordings.checks(query)]

    return r
