"""API accounts (admin): list, create, delete. The first admin is made on the command line
(``hotline user add NAME --role admin``); passwords are never returned."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from hotline.api.auth import Allow, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models import NewUserBody, UserOut
from hotline.api.ports import NotFound
from hotline.api.users import check_new_user

Api = Annotated[ApiRuntime, Depends(runtime)]
Admin = Annotated[Principal, Depends(Allow("admin"))]


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/users", tags=["users"])

    @r.get("", response_model=list[UserOut], responses=error_responses(401, 403, 503))
    async def list_users(_who: Admin, api: Api) -> list[UserOut]:
        """Every account, by name."""
        return [UserOut.of(u) for u in await api.accounts(api.deps.users.users)]

    @r.post("", response_model=UserOut, status_code=201, responses=error_responses(400, 401, 403, 409, 422, 503))
    async def add_user(who: Admin, api: Api, body: NewUserBody) -> UserOut:
        """Create an account; an agent's needs the ``agent_id`` of a roster seat (422
        ``unknown_agent`` otherwise), 409 ``user_exists`` for a name taken."""
        roster = frozenset(api.deps.roster_ids())
        check_new_user(body.username, body.role, body.agent_id, roster)  # before the hashing work
        password_hash = await api.accounts(api.deps.passwords.hash, body.password)
        user = await api.accounts(api.deps.users.add_user, body.username, body.role, password_hash,
                                  agent_id=body.agent_id, roster=roster, now=api.deps.clock())
        return UserOut.of(user)

    @r.delete("/{username}", status_code=204, responses=error_responses(401, 403, 404, 409, 422, 503))
    async def delete_user(who: Admin, api: Api,
                          username: Annotated[str, Path(max_length=32, pattern=r"^[a-z][a-z0-9._-]{1,31}$")]
                          ) -> Response:
        """Remove an account and end its sessions (not one's own: 409)."""
        if username == who.username:
            raise ApiError(409, "illegal_in_state", "an admin cannot delete their own account")
        if not await api.accounts(api.deps.users.delete_user, username):
            raise NotFound(f"no user {username}")
        return Response(status_code=204)

    return r
