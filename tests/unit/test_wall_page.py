"""The supervisors' wallboard page (``/wall``) in a real browser: Debian's Chromium driven by
Playwright, against ``make_app`` over the in-process fakes (``tests/fakes_api.py``) and an
``InMemoryWallboard``, served by uvicorn on a loopback port in a background thread.

What a supervisor sees, end to end: sign in; a caller put in line shows within 2 s, their
wait ticking, and goes when answered; an agent's state change shows live; the service-level
alert fires in a scenario built to miss the target (and the page says it in English too);
the page polls when the event stream cannot open; an agent is told the page is not theirs;
the big-screen mode at 1920x1080 (large type, no controls, the whole wall in one screen);
no horizontal scrolling at 1366x768 in either language. No script error or CSP violation on
any page. Screenshots go to ``var/screenshots/wall-*.png``.

The wall's state lives in the server's event loop: a test changes it only through
``WallServer.do`` (run in that loop), never from its own thread. The server, the browser and
the checks of the files: ``tests/unit/page_server.py`` (the desk's tests share them).
"""
from __future__ import annotations

import re
import time

from agents.state import AgentRecord, AgentState
from calls.records import CallRecord
from hotline.api.app import make_app
from hotline.api.wallboard_memory import InMemoryWallboard
from tests.fakes_api import World
from tests.unit.page_server import (LiveServer, Page, WallClock, assert_fits_in_either_language, assert_not_found,
                                    assert_nothing_inline, assert_served, expect, fetch, screenshot, serve_fixture,
                                    sign_in_form)
from tests.unit.page_server import browser, new_page  # noqa: F401 (fixtures)


# -- the server ---------------------------------------------------------------------------------

def wall_world() -> World:
    """alice (agent 1001), sam (supervisor), ada (admin)."""
    world = World(clock=WallClock())
    world.add_user("alice", "agent", agent_id="1001")
    world.add_user("sam", "supervisor")
    world.add_user("ada", "admin")
    return world


class WallServer(LiveServer):
    """The live server over ``world``'s fakes with ``wall`` as the API's wallboard."""

    def __init__(self, world: World, wall: InMemoryWallboard) -> None:
        super().__init__(world, wallboard=wall)
        self.wall = wall


serve = serve_fixture(lambda wall=None: WallServer(wall_world(), wall or InMemoryWallboard()))


def shot(page: Page, name: str) -> None:
    screenshot(page, f"wall-{name}")


def sign_in(page: Page, server: WallServer, username: str = "sam", query: str = "") -> None:
    """Open the page and sign in; for staff, wait until the wall is shown and its stream open."""
    sign_in_form(page, f"{server.url}/wall{query}", username)
    if username in ("sam", "ada"):
        expect(page.locator("#view-wall")).to_be_visible()
        expect(page.locator("#stream")).to_have_text(re.compile("^(实时|Live)$"))


# -- what happens in the wall's state (run with WallServer.do) --------------------------------------

def stored(call_id: str, line: str, queued: float, outcome: str, wait: float) -> CallRecord:
    answered = queued + wait if outcome == "answered" else None
    return CallRecord(call_id=call_id, caller="13800000000", dnis="12345", arrived_at=queued - 8, queue=line,
                      language="zh", queued_at=queued, answered_at=answered,
                      ended_at=(answered + 50) if answered is not None else queued + wait,
                      agent_id="1002" if answered is not None else "", outcome=outcome)


def answer_call(wall: InMemoryWallboard, call_id: str, agent_id: str) -> None:
    """The agent answers: the caller leaves the line, the agent is on the call."""
    wall.remove_call(call_id)
    wall.put_agent(AgentRecord(agent_id, AgentState.ON_CALL, since=time.time(), call_id=call_id, queue="main"))


def busy_wall(wall: InMemoryWallboard) -> None:
    """A busy morning: every line has callers, agents in every state, callbacks, a hot topic."""
    now = time.time()
    for i, (line, waited, lang, skills) in enumerate([
            ("main", 95, "zh", ["utilities"]), ("main", 40, "en", []), ("main", 12, "zh", ["housing"]),
            ("main", 6, "ja", []), ("province", 22, "zh", ["social_insurance"]), ("business", 3, "zh", [])]):
        wall.wait(f"w{i}", line, now - waited, language=lang, skills=skills)
    wall.offer("w3", "1004")
    wall.wait("cb1", "main", now - 1500, callback=True, attempts=1, not_before=now + 200)
    wall.wait("cb2", "province", now - 700, callback=True)
    states = [("1001", AgentState.ON_CALL, None, "main"), ("1002", AgentState.ON_CALL, None, "province"),
              ("1003", AgentState.AVAILABLE, None, None), ("1004", AgentState.RINGING, None, "main"),
              ("1005", AgentState.WRAP_UP, None, "main"), ("1006", AgentState.PAUSED, "meal", None),
              ("1007", AgentState.PAUSED, "training", None), ("1008", AgentState.AVAILABLE, None, None),
              ("1009", AgentState.ON_CALL, None, "business"), ("1010", AgentState.LOGGED_OUT, None, None)]
    for i, (agent_id, state, reason, line) in enumerate(states):
        wall.put_agent(AgentRecord(agent_id, state, since=now - 30 * (i + 1), pause_reason=reason, queue=line,
                                   call_id=f"x{i}" if line else None,
                                   wrap_until=now + 10 if state is AgentState.WRAP_UP else None))
    orders = []
    for i in range(24):
        queued = now - 3400 + i * 120
        wall.reports.add_call(stored(f"s{i}", "main" if i % 3 else "province", queued,
                                     "abandoned" if i % 7 == 0 else "answered", 4 + i % 9))
        orders.append({"call_id": f"s{i}", "category": "04.01.01" if i < 16 else "01.01.02", "handling": "direct"})
    wall.reports.orders.extend(orders)
    wall.changed()


# -- the files ------------------------------------------------------------------------------------

def test_the_page_and_its_files_have_their_types_and_a_self_only_policy() -> None:
    types = {"/wall": "text/html", "/wall/": "text/html", "/wall/wall.js": "text/javascript",
             "/wall/page-shell.js": "text/javascript", "/wall/wall-i18n.js": "text/javascript",
             "/wall/wall.css": "text/css", "/wall/base.css": "text/css", "/wall/api.js": "text/javascript",
             "/wall/i18n.js": "text/javascript", "/wall/views.js": "text/javascript", "/wall/icon.svg": "image/svg+xml",
             "/wall/pause-reasons.json": "application/json"}
    missing = ["/wall/nothing.js", "/wall/..%2Fwall.html", "/api/v1/wall"]
    got = fetch(make_app(wall_world().deps()), [*types, *missing, "/api/v1/openapi.json"])
    assert_served(got, types)
    assert_not_found(got, missing)
    assert not [p for p in got["/api/v1/openapi.json"].json()["paths"] if p.startswith("/wall")]  # not API
    assert_nothing_inline(got["/wall"].text, "/wall/wall.js")
    for module in ("/wall/wall.js", "/wall/page-shell.js"):
        assert "innerHTML" not in got[module].text  # every text from the API goes in as text


# -- in the browser -------------------------------------------------------------------------------

def test_a_waiting_call_appears_within_2_s_and_goes_when_answered(serve, new_page) -> None:
    server = serve()
    wall = server.wall
    page = new_page()
    page.goto(f"{server.url}/wall")
    expect(page.locator("#login-form")).to_be_visible()
    shot(page, "login")
    sign_in(page, server)
    main = page.locator("article[data-line=main]")
    expect(main).to_be_visible()
    expect(main.locator(".waiting-list")).to_contain_text("无人排队")
    expect(page.locator("#alerts .banner.ok")).to_have_text("运行正常，无告警")

    started = time.monotonic()
    server.do(wall.wait, "c1", "main", time.time() - 3, skills=["utilities"])
    caller = main.locator("[data-call=c1]")
    expect(caller).to_be_visible(timeout=2000)
    print(f"\nwall: shown {1000 * (time.monotonic() - started):.0f} ms after the change")  # shown, not asserted
    expect(caller).to_contain_text("utilities")
    expect(main.locator(".count")).to_have_text("1")
    expect(page.locator("#sum-waiting")).to_have_text("1")
    first = caller.locator(".wait").text_content()
    assert re.fullmatch(r"0:0[3-5]", first or ""), first
    expect(caller.locator(".wait")).not_to_have_text(first or "", timeout=1500)  # the wait ticks
    shot(page, "waiting")

    started = time.monotonic()
    server.do(answer_call, wall, "c1", "1002")
    expect(caller).to_have_count(0, timeout=2000)
    print(f"\nwall: shown {1000 * (time.monotonic() - started):.0f} ms after the change")  # shown, not asserted
    expect(main.locator(".count")).to_have_text("0")
    expect(page.locator("[data-agent='1002'] .badge")).to_have_text("通话中")


def test_an_agents_state_change_shows_live(serve, new_page) -> None:
    server = serve()
    wall = server.wall
    now = time.time()
    server.do(wall.put_agent, AgentRecord("1001", AgentState.AVAILABLE, since=now - 65))
    server.do(wall.put_agent, AgentRecord("1002", AgentState.ON_CALL, since=now - 20, call_id="x", queue="main"))
    page = new_page()
    sign_in(page, server)
    agent = page.locator("[data-agent='1001']")
    expect(agent.locator(".badge")).to_have_text("就绪")
    expect(agent.locator(".in-state")).to_have_text(re.compile(r"^1:0[5-7]$"))
    expect(page.locator(".chip[data-state=available] strong")).to_have_text("1")

    started = time.monotonic()
    server.do(wall.put_agent, AgentRecord("1001", AgentState.PAUSED, since=time.time(), pause_reason="meal"))
    expect(agent.locator(".badge")).to_have_text("暂停", timeout=1000)
    print(f"\nwall: shown {1000 * (time.monotonic() - started):.0f} ms after the change")  # shown, not asserted
    expect(agent).to_have_class(re.compile(r"\bstate-paused\b"))
    expect(agent.locator(".detail")).to_have_text("用餐")
    expect(agent.locator(".in-state")).to_have_text(re.compile(r"^0:0\d$"))
    expect(page.locator(".chip[data-state=paused] strong")).to_have_text("1")
    expect(page.locator(".chip[data-state=available]")).to_have_count(0)
    expect(page.locator("[data-agent='1002'] .detail")).to_contain_text("12345 市民热线")
    shot(page, "agent-paused")

    server.do(wall.put_agent, AgentRecord("1001", AgentState.LOGGED_OUT, since=time.time()))
    expect(agent).to_have_count(0)  # logged-out seats are counted, not listed
    expect(page.locator(".chip[data-state=logged_out] strong")).to_have_text("1")


def test_the_service_level_alert_fires_in_a_scenario_built_to_miss_it(serve, new_page) -> None:
    server = serve()
    wall = server.wall
    page = new_page()
    sign_in(page, server)
    expect(page.locator("#alerts .banner.ok")).to_be_visible()
    now = time.time()
    # the last 15 minutes on main: one caller answered in 6 s, three after 20 s or more: 25 %
    for i, wait in enumerate((6.0, 21.0, 34.0, 48.0)):
        server.do(wall.add_record, stored(f"r{i}", "main", now - 800 + i * 120, "answered", wait))
    banner = page.locator("#alerts .banner[data-kind=service_level][data-line=main]")
    expect(banner).to_be_visible(timeout=2000)
    expect(banner).to_have_class(re.compile(r"\bsev-warning\b"))
    expect(banner).to_contain_text("12345 市民热线 (general line)：近15分钟服务水平 25%，低于目标 80%（已接听 4 通）")
    main = page.locator("article[data-line=main]")
    expect(main).to_have_class(re.compile(r"\bmissing\b"))
    expect(main.locator("tbody tr").nth(1).locator("td.bad")).to_have_text("25%")
    expect(main.locator(".target")).to_have_text("目标：15 秒内接听 ≥ 80%")
    expect(page.locator("#sum-answered")).to_have_text("4")
    expect(page.locator("article[data-line=province]")).not_to_have_class(re.compile(r"\bmissing\b"))
    shot(page, "alert")

    page.click("#lang")
    expect(banner).to_contain_text("service level 25% in the last 15 min, below the 80% target (4 answered)")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "alert-en")


def test_without_the_event_stream_the_page_polls(serve, new_page) -> None:
    server = serve()
    wall = server.wall
    page = new_page()
    page.route("**/api/v1/wallboard/events", lambda route: route.abort())  # a proxy that drops streams
    sign_in_form(page, f"{server.url}/wall", "sam")
    expect(page.locator("#view-wall")).to_be_visible()
    expect(page.locator("#stream")).to_have_class(re.compile(r"\bdown\b"))
    expect(page.locator("#stream")).to_contain_text("实时连接中断")
    server.do(wall.wait, "c9", "province", time.time() - 1)
    expect(page.locator("article[data-line=province] [data-call=c9]")).to_be_visible(timeout=5000)


def test_an_agent_is_told_the_wall_is_not_theirs(serve, new_page) -> None:
    server = serve()
    page = new_page()
    sign_in_form(page, f"{server.url}/wall", "alice", "wrong-password")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    sign_in(page, server, "alice")
    expect(page.locator("#view-other")).to_be_visible()
    expect(page.locator("#other-text")).to_contain_text("话务员")
    expect(page.locator("#view-wall")).to_be_hidden()
    assert page.evaluate("fetch('/api/v1/wallboard').then(r => r.status)") == 403
    page.click("#sign-out")
    expect(page.locator("#login-form")).to_be_visible()


def test_the_big_screen_mode_fills_a_1920x1080_wall_with_large_type_and_no_controls(serve, new_page) -> None:
    server = serve()
    server.do(busy_wall, server.wall)
    normal = new_page(1920, 1080)
    sign_in(normal, server, "ada")
    expect(normal.locator("#lang")).to_be_visible()
    normal_size = normal.evaluate("parseFloat(getComputedStyle(document.querySelector('#sum-waiting')).fontSize)")
    normal.click("#big-toggle")  # the toggle: big, the address says so; Esc leaves it
    expect(normal.locator("body")).to_have_class(re.compile(r"\bbig\b"))
    assert normal.url.endswith("?big=1")
    normal.keyboard.press("Escape")
    expect(normal.locator("body")).not_to_have_class(re.compile(r"\bbig\b"))

    page = new_page(1920, 1080)
    sign_in(page, server, "sam", "?big=1")
    expect(page.locator("body")).to_have_class(re.compile(r"\bbig\b"))
    for control in ("#lang", "#sign-out", "#big-toggle"):
        expect(page.locator(control)).to_be_hidden()
    big_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#sum-waiting')).fontSize)")
    assert big_size >= 1.4 * normal_size, (big_size, normal_size)
    expect(page.locator("article[data-line=main] .waiting")).to_have_count(4)
    expect(page.locator("article[data-line=main] .waiting.offered")).to_contain_text("1004")
    expect(page.locator("#callbacks li")).to_have_count(2)
    expect(page.locator("#alerts .banner[data-kind=hot_topic]")).to_contain_text("供水")
    expect(page.locator("#alerts .banner[data-kind=long_wait]")).to_contain_text("1:3")
    expect(page.locator("#topics li.hot")).to_have_count(1)
    shot(page, "big-1920x1080")
    sizes = page.evaluate("""({sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
        sh: document.documentElement.scrollHeight, ch: document.documentElement.clientHeight})""")
    assert sizes["sw"] <= sizes["cw"] and sizes["sh"] <= sizes["ch"], sizes  # one screen, nothing to scroll
    shot(page, "big-1920x1080")


def test_no_horizontal_scrolling_at_1366x768_in_either_language(serve, new_page) -> None:
    server = serve()
    server.do(busy_wall, server.wall)
    page = new_page(1366, 768)
    sign_in(page, server)
    expect(page.locator("article[data-line=main] .waiting")).to_have_count(4)
    assert_fits_in_either_language(page, ".card, .line, .tile, .banner", shot)
    expect(page.locator("[data-agent='1006'] .detail")).to_have_text("用餐")
