"""What the page tests share (test_desk_page.py, test_wall_page.py, and through the desk's,
test_agency_page.py): the controller's app over the in-process fakes (``tests/fakes_api.py``),
served by the controller's own uvicorn set-up on a loopback port in a background thread; Debian's
Chromium driven by Playwright (one browser per module, a fresh profile per page, and no script
error or CSP violation allowed on any page); and the checks of a page's static files. The tests
of the real pages (tests/integration) have theirs in ``tests/integration/browser.py``.

The fakes live in the server's event loop: a test changes them only through ``LiveServer.do``
(run in that loop, thread-safe), never from its own thread.

Import the fixtures ``browser`` and ``new_page`` into the test module; make its ``serve``
fixture with ``serve_fixture``.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import httpx
import pytest

from hotline.api.app import make_app, runtime_of
from hotline.api.server import make_server
from hotline.settings import PROJECT_ROOT
from tests.fakes_api import PASSWORD, ManualClock, World

CHROMIUM = "/usr/bin/chromium"
SHOTS = PROJECT_ROOT / "var" / "screenshots"

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the install scripts install it
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not Path(CHROMIUM).exists():
    why = "needs playwright (pip) and Debian's chromium: run `make install`"
    raise RuntimeError(why)  # a missing install is a failure, never a skip (make install installs both)

__all__ = ["Browser", "Page", "expect", "LiveServer", "WallClock", "browser", "new_page", "serve_fixture",
           "screenshot", "sign_in_form", "fetch", "assert_served", "assert_not_found", "assert_nothing_inline",
           "assert_fits_in_either_language"]


# -- the server ---------------------------------------------------------------------------------

class WallClock(ManualClock):
    """The fakes' clock on the wall's time (the pages' timers count from the server's times,
    which they check against the answers' Date header); ``advance`` moves it ahead."""

    def __init__(self) -> None:
        super().__init__(0.0)

    def __call__(self) -> float:
        return time.time() + self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _paths(route: Any) -> list[str]:
    """The full paths a route of the app serves (an included router: each of its routes)."""
    included = getattr(route, "original_router", None)
    if included is None:
        return [getattr(route, "path", "")]
    prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
    return [prefix + getattr(r, "path", "") for r in included.routes]


class LiveServer:
    """``make_app`` over ``world``'s fakes (``deps``: what replaces them, such as a
    ``wallboard``; ``without``: less the routes whose path matches it) on a loopback port,
    served by the controller's own uvicorn set-up in a thread with its own event loop."""

    def __init__(self, world: World, without: str = "", **deps: Any) -> None:
        self.world = world
        self.app = make_app(dataclasses.replace(world.deps(), **deps) if deps else world.deps())
        if without:  # a server without the route modules that serve these paths (yet)
            self.app.router.routes = [r for r in self.app.router.routes
                                      if not any(re.search(without, path) for path in _paths(r))]
            self.app.router._routes_version += 1  # FastAPI caches the routes it includes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server(self.app, "127.0.0.1", self.port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=lambda: self.loop.run_until_complete(self.server.serve()),
                                       name=f"page-server-{self.port}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(runtime_of(self.app).stop_streams)
        self.server.should_exit = True
        self.thread.join(10)
        self.loop.close()

    def do(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``work(*args, **kwargs)`` in the server's loop and return its result."""
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(work(*args, **kwargs))
            except Exception as exc:  # handed to the test's thread
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(call)
        return done.result(5)

    def run(self, coroutine: Any) -> Any:
        """Await ``coroutine`` in the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(5)

    @property
    def deps(self) -> Any:
        return runtime_of(self.app).deps


def serve_fixture(make: Callable[..., LiveServer]) -> Any:
    """A fixture ``serve``: ``serve(...)`` starts the server ``make(...)`` makes and returns it;
    each is stopped when the test ends."""

    @pytest.fixture
    def serve() -> Iterator[Callable[..., LiveServer]]:
        started: list[LiveServer] = []

        def start(*args: Any, **kwargs: Any) -> LiveServer:
            server = make(*args, **kwargs)
            server.start()
            started.append(server)
            return server

        yield start
        for server in started:
            server.stop()

    return serve


# -- the browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A fresh browser profile per page; at the end, no script error and no CSP violation
    may have happened (failed loads the page expects, such as 404 no_current_call or an
    aborted stream, are logged by Chromium as failed loads: those are allowed)."""
    contexts = []
    problems: list[str] = []

    def make(width: int = 1366, height: int = 768) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text
                and "net::ERR_FAILED" not in m.text else None)
        return page

    yield make
    for context in contexts:
        context.close()
    assert problems == []


def screenshot(page: Page, name: str) -> None:
    """The page as ``var/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def assert_fits_in_either_language(page: Page, boxes: str, shot: Callable[[Page, str], None]) -> None:
    """In Chinese, then in English (the page's language button between), neither the page nor
    any of ``boxes`` (a CSS selector) is wider than its room; ``shot`` takes a screenshot of each."""
    for language in ("zh", "en"):
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                               " document.body.scrollWidth]")
        assert widths[0] <= widths[1] and widths[2] <= widths[1], (language, widths)
        overflowing = page.evaluate(f"""[...document.querySelectorAll({boxes!r})]
            .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.id || c.className)""")
        assert overflowing == [], (language, overflowing)
        shot(page, f"1366x768-{language}")
        page.click("#lang")


def sign_in_form(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    """Open ``url`` and send its sign-in form."""
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")


# -- the files ------------------------------------------------------------------------------------

def fetch(app: Any, paths: Iterable[str], headers: dict[str, str] | None = None) -> dict[str, httpx.Response]:
    """GET each of ``paths`` from ``app`` (in process, no server): the answers by path."""
    async def get_all() -> dict[str, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://page.test") as http:
            return {path: await http.get(path, headers=headers) for path in paths}

    return asyncio.run(get_all())


def assert_served(got: dict[str, httpx.Response], types: dict[str, str]) -> None:
    """Each path of ``types`` answered with its media type and a policy that allows this
    origin only."""
    for path, media in types.items():
        answer = got[path]
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].split(";")[0] == media, path
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe" not in csp and "http" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"


def assert_not_found(got: dict[str, httpx.Response], paths: Iterable[str]) -> None:
    for path in paths:
        assert got[path].status_code == 404 and got[path].json()["error"] == "not_found", path


def assert_nothing_inline(html: str, script: str) -> None:
    """The page loads its module ``script`` and nothing else runs or styles it inline; nothing
    comes from another origin."""
    assert f'<script type="module" src="{script}">' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html  # nothing inline
    assert "http://" not in html and "https://" not in html  # no CDN
