"""``make_app(deps)``: the FastAPI application, built from its dependencies and nothing else.

No work at import time and no module state: two apps (a test's and another's, or two
controllers in one test) never share anything. The app serves ``/api/v1/...`` and its
OpenAPI document at ``/api/v1/openapi.json`` (no interactive docs page: it would load its
scripts from a CDN). Every route's access rule is copied from its dependencies into the
document as ``x-hotline-access``.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.api.auth import Allow
from hotline.api.deps import ApiDeps, ApiRuntime
from hotline.api.errors import install_error_handlers
from hotline.api.routes import (agents, calls, directory, events, health, knowledge, session, users,
                                 work_orders)
from hotline.api.routes import quality, recordings
from hotline.api.routes import reports, supervision
from hotline.api.routes import wallboard
from hotline.api.routes import cases
from hotline.web import routes as desk_page

PREFIX = "/api/v1"
_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                     (b"x-frame-options", b"DENY")]


def make_app(deps: ApiDeps) -> FastAPI:
    """The API over ``deps``; serve it with ``hotline.api.server.serve_api``."""
    app = FastAPI(title=deps.config.title, version="1", openapi_url=f"{PREFIX}/openapi.json",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None)
    app.state.api = ApiRuntime(deps)
    install_error_handlers(app)
    for module in (health, session, agents, calls, events, directory, knowledge, users, work_orders,
                   recordings, quality, reports, supervision, wallboard, cases):
        router = module.router(deps.config)
        for route in router.routes:  # before inclusion: what the app serves is made from these
            if isinstance(route, APIRoute):
                _declare_access(route)
        app.include_router(router, prefix=PREFIX)
    app.include_router(desk_page.router(deps.config))  # /desk: the call taker's page, outside the API
    app.add_middleware(_SecurityHeaders)
    return app


def runtime_of(app: FastAPI) -> ApiRuntime:
    """The app's runtime (``serve_api`` calls its ``stop_streams`` on shutdown)."""
    api = app.state.api
    assert isinstance(api, ApiRuntime)
    return api


def _guards(dependant: Dependant) -> list[Allow]:
    found = [dependant.call] if isinstance(dependant.call, Allow) else []
    for sub in dependant.dependencies:
        found.extend(_guards(sub))
    return found


def _declare_access(route: APIRoute) -> None:
    guards = _guards(route.dependant)
    if guards:
        route.openapi_extra = {**(route.openapi_extra or {}), "x-hotline-access": guards[0].access()}


class _SecurityHeaders:
    """Pure ASGI (streams pass through untouched): headers that keep a browser from sniffing
    types, framing the API or leaking URLs; ``Cache-Control: no-store`` unless set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
