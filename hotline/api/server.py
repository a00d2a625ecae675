"""``serve_api``: uvicorn inside the controller's own event loop.

Why a subclass: ``uvicorn.Server.serve()`` installs handlers for SIGINT/SIGTERM (and the
controller's SIGHUP handling must stay the controller's); ``capture_signals`` is overridden
to do nothing, and the server stops when ``stop_event`` is set (``should_exit``). Open
event streams end at once (``ApiRuntime.stop_streams``) and whatever still runs after
``GRACE`` seconds is cancelled, so a stop never hangs on a browser's open stream.
A port that cannot be bound raises ``ApiServerError`` instead of uvicorn's ``sys.exit``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Iterator

import uvicorn
from fastapi import FastAPI

from hotline.api.app import runtime_of

log = logging.getLogger(__name__)
GRACE = 3.0


class ApiServerError(RuntimeError):
    """The API could not start (the address is taken or not ours); the message says which."""


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the process's signals stay the controller's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, lifespan="off", log_config=None, access_log=False,
                            server_header=False, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                            ws="none", timeout_graceful_shutdown=GRACE)
    return _QuietServer(config)


async def serve_api(app: FastAPI, host: str, port: int, stop_event: asyncio.Event) -> None:
    """Serve ``app`` on host:port until ``stop_event`` is set; return once stopped."""
    server = make_server(app, host, port)

    async def stop_when_told() -> None:
        await stop_event.wait()
        runtime_of(app).stop_streams()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_told(), name="api-stop-watcher")
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn's answer to a port it cannot bind
        raise ApiServerError(f"the HTTP API cannot listen on {host}:{port} (see the log above)") from exc
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    if not server.started and not stop_event.is_set():
        raise ApiServerError(f"the HTTP API did not start on {host}:{port}")
    log.info("HTTP API on %s:%d stopped", host, port)
