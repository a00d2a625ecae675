"""Supervisors step into a call taker's call: listen, whisper (to the call taker only) or
barge, ringing the supervisor's own phone (agents/supervisors.yaml). Supervisors only; every
session is in the audit table (``supervisor_sessions``) with who, which phone, which call,
the mode, and when it started and ended."""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.auth import AgentAccess, Allow, AllowAgent, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import error_responses
from hotline.api.ports import NotFound
from recordings.model import SupervisorSession

Api = Annotated[ApiRuntime, Depends(runtime)]
Supervisor = Annotated[Principal, Depends(Allow("supervisor"))]
SupervisorOnAgent = Annotated[AgentAccess, Depends(AllowAgent("supervisor", own=False))]


class SuperviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"mode": "listen", "phone": "9001"}]})
    mode: Literal["listen", "whisper", "barge"]
    phone: str = Field(pattern=r"^[0-9]{3,8}$", description="the supervisor's phone (agents/supervisors.yaml)")


class SessionOut(BaseModel):
    session_id: int
    supervisor: str
    phone: str
    agent_id: str
    call_id: str
    mode: str
    started_at: datetime

    @classmethod
    def of(cls, s: SupervisorSession) -> "SessionOut":
        return cls(session_id=s.id or 0, supervisor=s.supervisor, phone=s.supervisor_phone, agent_id=s.agent_id,
                   call_id=s.call_id, mode=s.mode, started_at=s.started_at)


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["supervision"])

    @r.post("/agents/{agent_id}/supervise", response_model=SessionOut,
            responses=error_responses(400, 401, 403, 404, 409, 422, 503))
    async def supervise(access: SupervisorOnAgent, api: Api, body: SuperviseBody) -> SessionOut:
        """Ring the supervisor's phone into the agent's current call: ``listen`` (hears both),
        ``whisper`` (the call taker alone hears the supervisor) or ``barge`` (both hear). A
        supervisor has one session at a time: a new mode replaces the running one."""
        session = await api.deps.supervision.start(access.principal.username, body.phone, access.agent_id, body.mode)
        return SessionOut.of(session)

    @r.get("/supervision", response_model=list[SessionOut], responses=error_responses(401, 403, 503))
    async def sessions(_who: Supervisor, api: Api) -> list[SessionOut]:
        """The sessions running now."""
        return [SessionOut.of(s) for s in api.deps.supervision.sessions()]

    @r.delete("/supervision/{session_id}", status_code=204, responses=error_responses(401, 403, 404, 422, 503))
    async def stop(_who: Supervisor, api: Api, session_id: Annotated[int, Path(ge=1, le=2**31)]) -> None:
        """End a session (the supervisor's phone is hung up; the audit row is closed)."""
        if not await api.deps.supervision.stop(session_id, "stopped by a supervisor"):
            raise NotFound(f"no supervision session {session_id} running")

    return r
