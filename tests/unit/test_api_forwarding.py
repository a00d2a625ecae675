"""hotline/api/forwarding.py: a request about a call goes to the controller holding it, with the
caller's credentials, once; the holder's answer comes back as it is. The holder here is a
real HTTP server (aiohttp) on loopback."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from starlette.requests import Request

from hotline.api.forwarding import FORWARDED_BY, ForwardToHolder
from hotline.api.ports import Unavailable


def request(path: str = "/api/v1/agents/2001/call/join", query: str = "call_id=c1", body: bytes = b"{}",
            headers: dict[str, str] | None = None) -> Request:
    sent = {"authorization": "Bearer tok", "content-type": "application/json", "x-csrf-token": "csrf",
            "cookie": "hl_session=abc", "x-other": "dropped", **(headers or {})}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": path, "query_string": query.encode(), "scheme": "http",
             "server": ("127.0.0.1", 1), "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()]}
    return Request(scope, receive)


async def holder(seen: list[web.Request], status: int = 200) -> tuple[web.AppRunner, str]:
    async def answer(req: web.Request) -> web.Response:
        seen.append(req)
        await req.read()
        return web.json_response({"call_id": "c1", "three_party": {"state": "conference"}}, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def forwarder(owner: str | None, url: str | None, me: str = "ctl-a") -> ForwardToHolder:
    async def owner_of(call_id: str) -> str | None:
        return owner

    async def url_of(controller: str) -> str | None:
        return url

    return ForwardToHolder(me, owner_of, url_of, timeout=5)


def test_the_request_goes_to_the_holder_with_its_credentials_once() -> None:
    async def run() -> None:
        seen: list[web.Request] = []
        runner, url = await holder(seen)
        try:
            answer = await forwarder("ctl-b", url)(request(), "c1")
        finally:
            await runner.cleanup()
        assert answer is not None and answer.status_code == 200
        assert b'"conference"' in answer.body
        [got] = seen
        assert (got.method, got.path, got.query_string) == ("POST", "/api/v1/agents/2001/call/join", "call_id=c1")
        assert got.headers["Authorization"] == "Bearer tok" and got.headers["X-CSRF-Token"] == "csrf"
        assert got.headers["Cookie"] == "hl_session=abc" and "X-Other" not in got.headers
        assert got.headers[FORWARDED_BY] == "ctl-a"
    asyncio.run(run())


def test_the_holders_refusal_comes_back_as_it_is() -> None:
    async def run() -> None:
        runner, url = await holder([], status=409)
        try:
            answer = await forwarder("ctl-b", url)(request(), "c1")
        finally:
            await runner.cleanup()
        assert answer is not None and answer.status_code == 409
    asyncio.run(run())


@pytest.mark.parametrize("owner, url, headers", [
    ("ctl-a", "http://127.0.0.1:9", {}),              # we hold it ourselves
    (None, "http://127.0.0.1:9", {}),                  # nobody holds it
    ("ctl-b", None, {}),                               # its controller is dead (no heartbeat)
    ("ctl-b", "http://127.0.0.1:9", {FORWARDED_BY: "ctl-c"}),  # forwarded already: never twice
])
def test_nothing_to_forward_to(owner: str | None, url: str | None, headers: dict[str, str]) -> None:
    assert asyncio.run(forwarder(owner, url)(request(headers=headers), "c1")) is None


def test_a_holder_that_does_not_answer_is_unavailable() -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(Unavailable, match="does not answer"):
        asyncio.run(forwarder("ctl-b", f"http://127.0.0.1:{port}")(request(), "c1"))
