"""A call's operation sent to a controller that does not hold the call goes to the one that does.

Why: every controller serves the same API (behind one address, or each desk on its own), but
a call's legs are held by the controller whose FastAGI session answered it: only that one
can move them. Before this, the others answered 409 ``not_here``. Now a route that meets
``not_here`` asks ``ForwardToHolder`` to pass the request on: the call's owner (its saved
state in Redis), that controller's API address (it renews it with its heartbeat), and the
request as it came (method, path, query, body, and the caller's credentials: the sessions
are in the shared database, so the holder checks the same token or cookie and CSRF value
again itself). The holder's answer goes back as it is. A forwarded request carries
``X-Hotline-Forwarded-By`` and is never forwarded again; when the holder is unknown, dead,
or does not answer, the original 409 ``not_here`` (or 503) stands.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

import aiohttp
from fastapi import Request, Response

from hotline.api.ports import Unavailable

log = logging.getLogger(__name__)
FORWARDED_BY = "X-Hotline-Forwarded-By"
PASSED_ON = ("authorization", "cookie", "content-type", "accept", "x-csrf-token", "accept-language")
TIMEOUT_SECONDS = 15.0


class ForwardToHolder:
    """Forwards a request about ``call_id`` to the controller holding the call."""

    def __init__(self, me: str, owner_of: Callable[[str], Awaitable[str | None]],
                 api_url_of: Callable[[str], Awaitable[str | None]], timeout: float = TIMEOUT_SECONDS) -> None:
        self._me = me
        self._owner_of = owner_of
        self._api_url_of = api_url_of
        self._timeout = timeout

    async def __call__(self, request: Request, call_id: str) -> Response | None:
        """The holder's answer, or None when the request cannot be forwarded (it was
        forwarded already, the call has no other live holder)."""
        if request.headers.get(FORWARDED_BY):
            return None  # one hop only: two controllers never bounce a request
        try:
            owner = await self._owner_of(call_id)
            base = await self._api_url_of(owner) if owner and owner != self._me else None
        except Exception as exc:
            raise Unavailable(f"the live state does not answer: {exc}") from exc
        if not base:
            return None
        url = base.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED_ON}
        headers[FORWARDED_BY] = self._me
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout)) as client:
                async with client.request(request.method, url, data=await request.body(), headers=headers,
                                          allow_redirects=False) as answer:
                    body = await answer.read()
                    log.info("call %s: %s %s forwarded to its controller %s: %d", call_id, request.method,
                             request.url.path, owner, answer.status)
                    return Response(body, status_code=answer.status,
                                    media_type=answer.headers.get("Content-Type", "application/json"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"the controller holding call {call_id} ({owner}) does not answer: {exc}") from exc
