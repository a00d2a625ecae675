"""Log in (``POST /session``), log out (``DELETE /session``), who am I (``GET /me``)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from hotline.api.auth import COOKIE, Allow, Principal, log_in, log_out
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import error_responses
from hotline.api.models import LoginBody, MeOut, SessionOut, utc

Api = Annotated[ApiRuntime, Depends(runtime)]
AnyUser = Annotated[Principal, Depends(Allow())]


def router(config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["session"])

    @r.post("/session", response_model=SessionOut, responses=error_responses(400, 401, 422, 429, 503))
    async def create_session(body: LoginBody, request: Request, response: Response, api: Api) -> SessionOut:
        """Log in. The token comes back once, here; the HttpOnly cookie ``hotline_session``
        holds it too, for browsers (then send ``X-CSRF-Token: <csrf>`` on every non-GET)."""
        address = request.client.host if request.client else "unknown"
        login = await log_in(api, body.username, body.password, address)
        response.set_cookie(COOKIE, login.token, max_age=int(config.session_hours * 3600), path="/api/",
                            httponly=True, samesite="strict", secure=config.secure_cookies)
        response.headers["Cache-Control"] = "no-store"
        return SessionOut(token=login.token, csrf=login.session.csrf, role=login.user.role,  # type: ignore[arg-type]
                          agent_id=login.user.agent_id, expires_at=utc(login.session.expires_at))  # type: ignore[arg-type]

    @r.delete("/session", status_code=204, responses=error_responses(401, 403, 503))
    async def delete_session(principal: AnyUser, api: Api) -> Response:
        """Log out: the token stops working at once."""
        await log_out(api, principal)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/api/", httponly=True, samesite="strict", secure=config.secure_cookies)
        return response

    @r.get("/me", response_model=MeOut, responses=error_responses(401, 503))
    async def me(principal: AnyUser) -> MeOut:
        """The logged-in user and when the session ends."""
        return MeOut(username=principal.username, role=principal.role,  # type: ignore[arg-type]
                     agent_id=principal.agent_id, expires_at=utc(principal.expires_at))  # type: ignore[arg-type]

    return r
