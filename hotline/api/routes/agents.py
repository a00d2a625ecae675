"""Agent states: read them, and change one's own (log in, ready, pause, log out); a
supervisor reads every agent and may force one out, with a reason."""
# No ``from __future__ import annotations``: the routes' bodies are classes made in
# ``router()``, and FastAPI must see the annotations as objects, not as names to look up.
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from hotline.api.auth import AgentAccess, Allow, AllowAgent, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import error_responses
from hotline.api.models import AgentOut, ForceLogoutBody, login_body_model, pause_body_model

Api = Annotated[ApiRuntime, Depends(runtime)]
Supervisor = Annotated[Principal, Depends(Allow("supervisor"))]
SelfOrSupervisor = Annotated[AgentAccess, Depends(AllowAgent("supervisor"))]
Self = Annotated[AgentAccess, Depends(AllowAgent())]
SupervisorOnAgent = Annotated[AgentAccess, Depends(AllowAgent("supervisor", own=False))]

READ = error_responses(401, 403, 404, 422, 503)
CHANGE = error_responses(400, 401, 403, 404, 409, 422, 503)


def router(config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/agents", tags=["agents"])
    PauseBody = pause_body_model(config.pause_reasons)
    LoginBody = login_body_model(config.pause_reasons)

    @r.get("", response_model=list[AgentOut], responses=error_responses(401, 403, 503))
    async def list_agents(_who: Supervisor, api: Api) -> list[AgentOut]:
        """Every agent's live state (supervisor)."""
        return [AgentOut.of(record) for record in await api.deps.agents.states()]

    @r.get("/{agent_id}", response_model=AgentOut, responses=READ)
    async def get_agent(access: SelfOrSupervisor, api: Api) -> AgentOut:
        """One agent's live state (the agent themselves, or a supervisor)."""
        return AgentOut.of(await api.deps.agents.state(access.agent_id))

    @r.post("/{agent_id}/login", response_model=AgentOut, responses=CHANGE)
    async def log_in(access: Self, api: Api,
                     body: Annotated[LoginBody | None, Body()] = None) -> AgentOut:  # type: ignore[valid-type]
        """Start the shift; with ``paused``, logged in and paused at once. Already logged
        in: nothing changes."""
        paused: Any = getattr(body, "paused", None)
        return AgentOut.of(await api.deps.agents.log_in(access.agent_id, paused))

    @r.post("/{agent_id}/ready", response_model=AgentOut, responses=CHANGE)
    async def ready(access: Self, api: Api) -> AgentOut:
        """Take calls again (end a pause, or cancel one pending after the call)."""
        return AgentOut.of(await api.deps.agents.ready(access.agent_id))

    @r.post("/{agent_id}/pause", response_model=AgentOut, responses=CHANGE)
    async def pause(access: Self, api: Api, body: PauseBody) -> AgentOut:  # type: ignore[valid-type]
        """Stop taking calls, for one of the configured reasons (on a call: from the end
        of its wrap-up)."""
        return AgentOut.of(await api.deps.agents.pause(access.agent_id, body.reason))  # type: ignore[attr-defined]

    @r.post("/{agent_id}/logout", response_model=AgentOut, responses=CHANGE)
    async def log_out(access: Self, api: Api) -> AgentOut:
        """End the shift (not on a call)."""
        return AgentOut.of(await api.deps.agents.log_out(access.agent_id))

    @r.post("/{agent_id}/force-logout", response_model=AgentOut, responses=CHANGE)
    async def force_log_out(access: SupervisorOnAgent, api: Api, body: ForceLogoutBody) -> AgentOut:
        """Take the agent out of any state, on a call included (supervisor; logged with
        the reason and the supervisor's name)."""
        reason = f"{body.reason} (by {access.principal.username})"
        return AgentOut.of(await api.deps.agents.force_log_out(access.agent_id, reason))

    return r
