"""``GET /metrics``: the controller's Prometheus metrics (``hotline.metrics.Metrics``), outside
``/api/v1`` where scrapers expect them, and not in the API's OpenAPI document (the answer is
Prometheus' text format, not JSON).

Who may read them: a scraper presenting ``Authorization: Bearer <HOTLINE_METRICS_TOKEN>``, or
an admin presenting their API session's token the same way (the session cookie is scoped to
``/api/``, so a browser does not send it here). Anything else is 401 (no or unknown
credentials) or 403 (a session of another role), in the API's error shape.
The numbers say how busy the hotline is and which lines miss their target, which is not for
every call taker's desk to read.

Mounted by the composition root after ``make_app``: ``install(app, metrics, token)``.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hotline.api.auth import authenticated
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError
from hotline.metrics import Metrics

_bearer = HTTPBearer(auto_error=False)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def router(metrics: Metrics, token: str) -> APIRouter:
    """The route over ``metrics``; ``token`` empty: only admins' sessions may read them."""
    r = APIRouter()

    async def scraper(
        request: Request,
        api: Annotated[ApiRuntime, Depends(runtime)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        if bearer is not None and token and _same(bearer.credentials, token):
            return "scraper"
        principal = await authenticated(request, api, bearer, None)  # 401 when neither token nor session
        if principal.role != "admin":
            raise ApiError(403, "forbidden", f"metrics are for scrapers and admins; not for the {principal.role} role")
        return principal.username

    @r.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(_who: Annotated[str, Depends(scraper)], request: Request) -> Response:
        body, content_type = await metrics.scrape(request.headers.get("accept", ""))
        return Response(content=body, media_type=content_type)

    return r


def install(app: FastAPI, metrics: Metrics, token: str) -> None:
    """Serve ``GET /metrics`` from ``app`` (built by ``hotline.api.app.make_app``)."""
    app.include_router(router(metrics, token))
