"""The call taker's desk page (``/desk``) in a real browser: Debian's Chromium driven by
Playwright, against ``make_app`` over the in-process fakes (``tests/fakes_api.py``) served by
uvicorn on a loopback port in a background thread.

What a call taker does with it, end to end: log in, log in to the queue, a ringing call's
screen pop (within 1 s of the event), talking, consult -> join -> leave on the fake
``CallDesk``, the wrap-up countdown, the language switch, a pause with a reason, logging out;
an agency that was busy or closed; another agent's call never shown; the poll when the event
stream cannot open; ready and pause by keyboard only; no horizontal scrolling at 1366x768;
the work-order, history and knowledge panels over their routes (routes/work_orders.py,
routes/knowledge.py, with the shipped taxonomy and articles), and "not available" on a
server without them. No script error or CSP violation on any page. Screenshots of the main
states go to ``var/screenshots/desk-*.png``.

The fakes live in the server's event loop: a test changes them only through
``LiveServer.do`` (run in that loop, thread-safe), never from its own thread. The server, the
browser and the checks of the files: ``tests/unit/page_server.py`` (the wall's tests share them).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any

from acd.model import QueuePolicy
from agents.state import Answer, Hangup, LogIn, Reserve, Ring, WrapUpDone, apply
from hotline.api.app import make_app
from tests.fakes_api import MONDAY_22, PASSWORD, World
from tests.unit.page_server import (LiveServer, Page, WallClock, assert_fits_in_either_language, assert_not_found,
                                    assert_nothing_inline, assert_served, expect, fetch, screenshot, serve_fixture,
                                    sign_in_form)
from tests.unit.page_server import browser, new_page  # noqa: F401 (fixtures)
from workorders.history import StoredCall

WRAP = QueuePolicy(name="main", wrapup_seconds=30)


# -- the server ---------------------------------------------------------------------------------

def desk_world(**kw: Any) -> World:
    """alice (agent 1001), bob (agent 1002), sam (supervisor), ada (admin)."""
    world = World(clock=WallClock(), **kw)
    world.add_user("alice", "agent", agent_id="1001")
    world.add_user("bob", "agent", agent_id="1002")
    world.add_user("sam", "supervisor")
    world.add_user("ada", "admin")
    return world


# serve(world=None, without=""): the desk's world unless another is given; ``without``: a server
# without the routes whose path matches it
serve = serve_fixture(lambda world=None, without="": LiveServer(world or desk_world(), without))


def shot(page: Page, name: str) -> None:
    screenshot(page, f"desk-{name}")


# -- what happens in the fakes (run with LiveServer.do) --------------------------------------------

def agent_event(world: World, agent_id: str) -> None:
    record = world.agents.records[agent_id]
    world.events.push(agent_id, {"kind": "agent_state", "agent_id": agent_id, "state": record.state.value,
                                 "call_id": record.call_id or ""})


def queue_login(world: World, agent_id: str) -> None:
    world.agents.records[agent_id] = apply(world.agents.records[agent_id], LogIn(), world.clock())


def ring(world: World, agent_id: str, call_id: str, caller: str, quiet: bool = False, **pop: Any) -> None:
    """The router offers the call: the agent reserved then ringing, the call on the desk;
    the events a controller publishes then (none when ``quiet``)."""
    now = world.clock()
    record = apply(apply(world.agents.records[agent_id], Reserve(call_id, "main"), now), Ring(), now)
    world.agents.records[agent_id] = record
    world.calls.give_call(agent_id, call_id=call_id, caller=caller, queue="main", language="zh")
    if not quiet:
        world.events.push(agent_id, {"kind": "call", "call_id": call_id, "event": "ringing", **pop})
        agent_event(world, agent_id)


def answer(world: World, agent_id: str) -> None:
    world.agents.records[agent_id] = apply(world.agents.records[agent_id], Answer(), world.clock())
    agent_event(world, agent_id)


def hang_up(world: World, agent_id: str) -> None:
    world.agents.records[agent_id] = apply(world.agents.records[agent_id], Hangup(), world.clock(), WRAP)
    world.calls.calls.pop(agent_id, None)
    agent_event(world, agent_id)


def wrap_up_done(world: World, agent_id: str) -> None:
    world.clock.advance(31)
    world.agents.records[agent_id] = apply(world.agents.records[agent_id], WrapUpDone(), world.clock())
    agent_event(world, agent_id)


def log_in(page: Page, server: LiveServer, username: str = "alice", live: bool = True) -> None:
    """Open the page and log in; for an agent, wait until the event stream is open
    (``live``): the fakes deliver events to the subscribers of the moment only."""
    sign_in_form(page, f"{server.url}/desk", username)
    if live and username in ("alice", "bob"):
        expect(page.locator("#stream")).to_have_text("实时")


# -- the files ------------------------------------------------------------------------------------

def test_the_page_and_its_files_have_their_types_and_a_self_only_policy() -> None:
    app = make_app(desk_world().deps())
    types = {"/desk": "text/html", "/desk/": "text/html", "/desk/desk.js": "text/javascript",
             "/desk/page-shell.js": "text/javascript", "/desk/api.js": "text/javascript",
             "/desk/i18n.js": "text/javascript", "/desk/views.js": "text/javascript",
             "/desk/panels.js": "text/javascript", "/desk/desk.css": "text/css", "/desk/base.css": "text/css",
             "/desk/pause-reasons.json": "application/json", "/desk/icon.svg": "image/svg+xml"}
    missing = ["/desk/nothing.js", "/desk/..%2Fdesk.html", "/desk/routes.py", "/api/v1/desk"]
    got = fetch(app, [*types, *missing, "/api/v1/openapi.json"])
    assert_served(got, types)
    assert_not_found(got, missing)
    etag = got["/desk/desk.js"].headers["etag"]
    assert fetch(app, ["/desk/desk.js"], {"If-None-Match": etag})["/desk/desk.js"].status_code == 304
    assert not [p for p in got["/api/v1/openapi.json"].json()["paths"] if "desk" in p]  # not part of the API
    assert_nothing_inline(got["/desk"].text, "/desk/desk.js")


def test_every_page_is_served_at_its_path_with_its_own_file() -> None:
    """The four pages of hotline/web/routes.py's PAGES: each path answers its page, with and
    without the slash, and HEAD too; the agencies' page has no files of its own."""
    app = make_app(desk_world().deps())
    pages = {"/desk": "desk.js", "/wall": "wall.js", "/review": "review.js", "/agency": "agency.js"}
    got = fetch(app, [u for p in pages for u in (p, p + "/")] + ["/wall/wall.css", "/review/review.css",
                                                                   "/agency/agency.js", "/walls"])
    for path, module in pages.items():
        for url in (path, path + "/"):
            assert got[url].status_code == 200 and got[url].headers["content-type"].startswith("text/html")
            assert module in got[url].text, (url, module)
    assert_served(got, {"/wall/wall.css": "text/css", "/review/review.css": "text/css"})
    assert_not_found(got, ["/agency/agency.js", "/walls"])
    import asyncio

    import httpx

    async def head() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://page.test") as http:
            return await http.head("/review")

    answer = asyncio.run(head())
    assert answer.status_code == 200 and answer.content == b"" and answer.headers["etag"]


# -- in the browser -------------------------------------------------------------------------------

def test_an_agent_takes_a_call_from_ring_to_wrap_up_with_a_three_party_call(serve, new_page) -> None:
    server = serve()
    world = server.world
    page = new_page()
    page.goto(f"{server.url}/desk")
    expect(page.locator("#login-form")).to_be_visible()
    shot(page, "login")
    log_in(page, server)
    expect(page.locator("#view-desk")).to_be_visible()
    expect(page.locator("#state-badge")).to_have_text("未签入")
    expect(page.locator("#stream")).to_have_text("实时")
    expect(page.locator("#wo-status")).to_have_text("有来电时可填写工单")

    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    assert [a[0] for a in world.agents.asked if a[0] != "state"] == ["log_in"]

    started = time.monotonic()
    server.do(ring, world, "1001", "1700000000.5", "13912345678", dnis="12345",
              ivr_path=[{"index": 0, "kind": "language", "flow": "main", "node": "lang", "value": "zh"},
                        {"index": 1, "kind": "digits", "flow": "main", "node": "menu", "value": "2"}],
              wait_seconds=9, repeat_calls=2)
    expect(page.locator("#pop-caller")).to_have_text("13912345678", timeout=1000)
    # the figure, printed (speed is shown, never asserted on a shared machine); the expect above
    # already failed the test past 1 s
    print(f"\nscreen pop {1000 * (time.monotonic() - started):.0f} ms after the ring event")
    expect(page.locator("#phase")).to_have_text("来电振铃")
    expect(page.locator("#pop-line")).to_have_text("12345 / main")
    expect(page.locator("#pop-ivr")).to_have_text("lang=zh › menu=2")
    expect(page.locator("#pop-wait")).to_have_text("9 秒")
    expect(page.locator("#pop-repeat")).to_contain_text("2 次")
    expect(page.locator("#live")).to_contain_text("13912345678")
    expect(page.locator("[data-op=consult]")).to_be_disabled()  # ringing: nothing to do yet
    shot(page, "ringing")

    server.do(answer, world, "1001")
    expect(page.locator("#phase")).to_have_text("通话中")
    expect(page.locator("#pop-talk")).to_have_text(re.compile(r"^0:0\d$"))
    expect(page.locator("[data-op=join]")).to_be_disabled()
    expect(page.locator("[data-op=consult]")).to_be_disabled()  # no agency picked yet
    expect(page.locator("#ops-hint")).to_have_text("请先选择一个部门")

    page.fill("#agency-q", "供水")
    expect(page.locator("#agency-items label")).to_have_count(1)
    page.locator("#agency-items label", has_text="市供水集团").click()
    expect(page.locator("#agency-number")).to_be_enabled()
    page.click("[data-op=consult]")
    expect(page.locator("#phase")).to_contain_text("与部门咨询中")
    expect(page.locator("#three-state")).to_contain_text("市供水集团")
    expect(page.locator("[data-op=join]")).to_be_enabled()
    expect(page.locator("[data-op=consult]")).to_be_disabled()
    expect(page.locator("[data-op=leave]")).to_be_disabled()
    shot(page, "consulting")

    page.click("[data-op=join]")
    expect(page.locator("#phase")).to_have_text("三方通话中")
    expect(page.locator("[data-op=leave]")).to_be_enabled()
    expect(page.locator("[data-op=hangup-agency]")).to_be_enabled()
    shot(page, "three-party")

    with page.expect_response(lambda r: "/call/leave" in r.url) as left:
        page.click("[data-op=leave]")
    assert left.value.status == 200
    server.do(hang_up, world, "1001")  # the controller ends the agent's part: wrap-up
    expect(page.locator("#phase")).to_have_text("话后处理")
    expect(page.locator("#wrap-countdown")).to_have_text(re.compile(r"^0:(2\d|30)$"))
    expect(page.locator("#h-call")).to_have_text("上一通来电")
    expect(page.locator("#pop-caller")).to_have_text("13912345678")  # kept for the work order
    first = page.locator("#wrap-countdown").text_content()
    expect(page.locator("#wrap-countdown")).not_to_have_text(first, timeout=1500)  # it counts down
    shot(page, "wrap-up")
    ops = [(a[0], a[3]) for a in world.calls.asked]
    assert ops == [("consult", ("water", ("053186060001", "053186060099"))), ("join", ()), ("leave", ())]

    page.click("#lang")
    expect(page.locator("#phase")).to_have_text("Wrap-up")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#btn-ready-now")).to_contain_text("Ready now")
    shot(page, "wrap-up-en")
    page.click("#btn-ready-now")  # ends no wrap-up early (the API has no such step): says when
    expect(page.locator("#wrap-note")).to_contain_text("You will be ready when the wrap-up ends")

    server.do(wrap_up_done, world, "1001")
    expect(page.locator("#state-badge")).to_have_text("Ready")
    page.reload()  # the language and the session survive a reload
    expect(page.locator("#state-badge")).to_have_text("Ready")
    expect(page.locator("#sign-out")).to_have_text("Sign out")

    page.select_option("#pause-reason", "meal")
    page.click("#btn-pause")
    expect(page.locator("#state-badge")).to_have_text("Paused")
    expect(page.locator("#state-detail")).to_contain_text("Paused: Meal")
    assert ("pause", "1001", ("meal",)) in world.agents.asked
    shot(page, "paused")

    page.click("#btn-logout")
    expect(page.locator("#state-badge")).to_have_text("Logged out")
    page.click("#sign-out")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#login-note")).to_have_text("Signed out.")
    assert page.evaluate("fetch('/api/v1/me').then(r => r.status)") == 401  # the session is gone


def test_a_busy_agency_and_a_closed_one_are_told(serve, new_page) -> None:
    server = serve(desk_world(local_now=MONDAY_22))
    world = server.world
    page = new_page()
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    server.do(ring, world, "1001", "1700000000.6", "13800000002")
    server.do(answer, world, "1001")
    expect(page.locator("#phase")).to_have_text("通话中")

    page.fill("#agency-q", "物业纠纷")  # housing_construction: office hours only, and it is 22:00
    expect(page.locator("#agency-items label")).to_have_count(1)
    page.locator("#agency-items label", has_text="市住房和城乡建设局").click()
    expect(page.locator("#agency-items .tag")).to_have_text("现在不在工作时间")
    page.click("[data-op=conference]")
    expect(page.locator("#alert")).to_contain_text("该部门现在不在工作时间")

    page.fill("#agency-q", "供水")
    expect(page.locator("#agency-items label")).to_have_count(1)
    expect(page.locator("#agency-items .tag")).to_have_text("仅值班电话")  # its 24x7 line answers
    page.locator("#agency-items label", has_text="市供水集团").click()
    page.click("[data-op=consult]")
    expect(page.locator("#phase")).to_contain_text("咨询")
    server.do(world.events.push, "1001", {"kind": "three_party_notice", "call_id": "1700000000.6",
                                          "reason": "busy", "next_number": "053186060099"})
    expect(page.locator("#notice")).to_have_text(re.compile("市供水集团占线，正在尝试下一个号码 053186060099"))
    shot(page, "agency-busy")
    page.click("#notice-close")
    expect(page.locator("#notice")).to_be_hidden()


def replied_case_put_through(world: World, number: str, caller: str) -> None:
    """A case transferred to the water company and replied to, whose automated follow-up
    call (回访) the citizen left for a call taker (the dialler's try, recorded as such)."""
    import asyncio
    import concurrent.futures
    import dataclasses

    from cases.lifecycle import Accept, Reply
    from tests.fakes_api import DIRECTORY
    from workorders.config import load_work_order_config
    from workorders.model import WorkOrder, validate

    config = load_work_order_config(DIRECTORY)
    now = world.clock()
    draft: dict[str, Any] = {"call_id": "call-fu", "caller": caller, "agent_id": "1002",
                             "now": datetime.fromtimestamp(now, config.calendar.tz), "category": "04.01.01",
                             "request": "经十路123号停水两天", "district": "lixia", "handling": "transferred",
                             "agency_id": "water"}
    order = validate(draft, config.taxonomy, DIRECTORY, config.districts, config.calendar)
    assert isinstance(order, WorkOrder), order

    async def steps() -> None:
        await world.cases.open_case_for(dataclasses.replace(order, case_number=number))
        await world.cases.act(number, Accept(), now, "water-desk", agency_id="water")
        await world.cases.act(number, Reply("阀门已更换，已恢复供水"), now, "water-desk", agency_id="water")
        await world.cases.record_attempt(number, "answered", now, to_agent=True)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the browser's loop runs in this thread
        pool.submit(asyncio.run, steps()).result(10)


def test_a_follow_up_call_put_through_shows_its_case_and_the_answer_is_recorded(serve, new_page) -> None:
    """The citizen pressed 0 in the automated follow-up call: the call taker sees the case on
    the screen pop and records the citizen's answer there; the case closes (satisfied)."""
    import asyncio

    number = "20261130-0042"
    world = desk_world()
    replied_case_put_through(world, number, "13800000002")
    server = serve(world)
    page = new_page()
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    expect(page.locator("#follow-up-box")).to_be_hidden()
    server.do(ring, world, "1001", "fu1800000000000-1-" + number, "13800000002", follow_up_case=number)
    server.do(world.calls.calls["1001"].update, {"follow_up_case": number})
    server.do(answer, world, "1001")
    expect(page.locator("#phase")).to_have_text("通话中")
    expect(page.locator("#follow-up-text")).to_contain_text(f"回访转人工：案件 {number}")
    shot(page, "follow-up")
    page.check("#fu-solved")
    page.click("#fu-satisfied")
    expect(page.locator("#follow-up-status")).to_have_text(f"回访结果已记录（案件 {number}）")
    expect(page.locator("#fu-unsatisfied")).to_be_disabled()
    [follow_up] = asyncio.run_coroutine_threadsafe(world.cases.follow_ups(number), server.loop).result(5)
    assert (follow_up.state, follow_up.result, follow_up.solved) == ("done", "satisfied", True)
    case = asyncio.run_coroutine_threadsafe(world.cases.get(number), server.loop).result(5)
    assert case is not None and case.state.value == "closed"


def test_an_agents_page_never_shows_another_agents_call(serve, new_page) -> None:
    server = serve()
    world = server.world
    page = new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    server.do(queue_login, world, "1002")
    server.do(ring, world, "1002", "1700000000.9", "13700000009", dnis="12345")
    server.do(world.events.push, "1001", {"kind": "call", "call_id": "1700000000.9", "caller": "13700000009"})
    page.wait_for_timeout(1000)
    expect(page.locator("#no-call")).to_be_visible()
    expect(page.locator("#pop")).to_be_hidden()
    assert "13700000009" not in page.locator("body").inner_text()
    agent_urls = [u for u in asked if "/api/v1/agents/" in u]
    assert agent_urls and all("/api/v1/agents/1001" in u for u in agent_urls)

    server.do(ring, world, "1001", "1700000000.10", "13600000010")  # alice's own call shows
    expect(page.locator("#pop-caller")).to_have_text("13600000010")


def test_without_the_event_stream_the_page_polls(serve, new_page) -> None:
    server = serve()
    world = server.world
    page = new_page()
    page.route("**/api/v1/agents/*/events", lambda route: route.abort())  # a proxy that drops streams
    log_in(page, server, live=False)
    expect(page.locator("#stream")).to_have_class(re.compile(r"\bdown\b"))
    expect(page.locator("#stream")).to_contain_text("实时连接中断")
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    server.do(ring, world, "1001", "1700000000.11", "13600000011", True)  # no event at all
    expect(page.locator("#pop-caller")).to_have_text("13600000011", timeout=4000)
    expect(page.locator("#phase")).to_have_text("来电振铃")


def test_ready_and_pause_with_the_keyboard_only(serve, new_page) -> None:
    server = serve()
    world = server.world
    page = new_page()
    page.goto(f"{server.url}/desk")
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#btn-login")).to_be_focused()  # the first thing to do
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "focus must be visible"
    page.keyboard.press("Enter")
    expect(page.locator("#state-badge")).to_have_text("就绪")

    expect(page.locator("#btn-pause")).to_be_focused()  # Log in is done: the next thing is Pause
    expect(page.locator("#btn-pause")).to_contain_text("Alt+P")
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#pause-reason")).to_be_focused()
    page.keyboard.press("ArrowDown")  # break -> meal
    page.keyboard.press("Tab")
    expect(page.locator("#btn-pause")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#state-badge")).to_have_text("暂停")
    assert ("pause", "1001", ("meal",)) in world.agents.asked

    page.keyboard.press("Alt+R")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    page.keyboard.press("Alt+P")
    expect(page.locator("#state-badge")).to_have_text("暂停")
    page.keyboard.press("Alt+R")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    assert [a[0] for a in world.agents.asked if a[0] != "state"] == ["log_in", "pause", "ready", "pause", "ready"]
    expect(page.locator("#btn-ready")).to_have_attribute("aria-keyshortcuts", "Alt+R")
    expect(page.locator("[data-op=hangup-agency]")).to_contain_text("Alt+H")


def test_no_horizontal_scrolling_at_1366x768_in_either_language(serve, new_page) -> None:
    server = serve()
    world = server.world
    page = new_page(1366, 768)
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    long_path = [{"kind": "digits", "flow": "main", "node": f"menu{i}", "value": str(i)} for i in range(30)]
    server.do(ring, world, "1001", "1700000000.7", "008613912345678901234", dnis="12345", ivr_path=long_path)
    server.do(answer, world, "1001")
    page.locator("#agency-items label").first.click()
    expect(page.locator("#phase")).to_have_text("通话中")
    expect(page.locator("#pop-ivr")).to_contain_text("menu29=29")
    assert_fits_in_either_language(page, ".card", shot)


def test_a_supervisor_is_told_their_pages_are_elsewhere(serve, new_page) -> None:
    server = serve()
    page = new_page()
    log_in(page, server, "sam")
    expect(page.locator("#view-other")).to_be_visible()
    expect(page.locator("#other-text")).to_contain_text("班长")
    expect(page.locator("#view-desk")).to_be_hidden()
    page.click("#sign-out")
    expect(page.locator("#login-form")).to_be_visible()


# -- the work-order, history and knowledge panels ---------------------------------------------------

def test_the_panels_say_not_available_on_a_server_without_their_routes(serve, new_page) -> None:
    server = serve(without=r"^/api/v1/(taxonomy|calls/|knowledge)")
    world = server.world
    page = new_page()
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    server.do(ring, world, "1001", "1700000000.4", "13500000004")
    server.do(answer, world, "1001")
    expect(page.locator("#pop-caller")).to_have_text("13500000004")
    expect(page.locator("#wo-status")).to_have_text("工单功能暂不可用")
    expect(page.locator("#wo-form")).to_be_hidden()
    expect(page.locator("#history-status")).to_have_text("历史记录暂不可用")
    expect(page.locator("#kb-status")).to_have_text("知识库暂不可用")
    expect(page.locator("#kb-form")).to_be_hidden()
    expect(page.locator("#alert")).to_be_hidden()  # a missing feature is not an error
    expect(page.locator("[data-op=conference]")).to_be_disabled()  # the call itself works as ever
    page.locator("#agency-items label").first.click()
    expect(page.locator("[data-op=conference]")).to_be_enabled()


def test_the_work_order_history_and_knowledge_panels(serve, new_page) -> None:
    server = serve()
    world = server.world
    work_orders = server.deps.work_orders
    caller = "13500000008"
    earlier = time.time() - 2 * 86400
    work_orders.add_call(StoredCall("1700000000.3", caller, "1002", datetime.fromtimestamp(earlier, timezone.utc),
                                    False, None))
    server.run(work_orders.save("1700000000.3", {"category": "04.01.01", "request": "停水三天", "district": "lixia",
                                                 "handling": "transferred", "agency_id": "water"},
                                caller=caller, agent_id="1002", live_agency_leg=False, now=earlier))
    page = new_page()
    log_in(page, server)
    page.click("#btn-login")
    expect(page.locator("#state-badge")).to_have_text("就绪")
    expect(page.locator("#wo-status")).to_have_text("有来电时可填写工单")
    server.do(ring, world, "1001", "1700000000.8", caller)
    server.do(answer, world, "1001")
    expect(page.locator("#wo-form")).to_be_visible()
    expect(page.locator("#history-list li")).to_have_count(1)
    expect(page.locator("#history-list")).to_contain_text("停水三天")
    expect(page.locator("#history-list")).to_contain_text("供水排水")
    expect(page.locator("#pop-repeat")).to_contain_text("1 次")  # from the history

    page.click("#wo-save")  # nothing filled in: the page says what is missing, sends nothing
    expect(page.locator("#wo-result")).to_contain_text("请填写")
    expect(page.locator("#wo-category")).to_have_attribute("aria-invalid", "true")
    page.fill("#wo-category-filter", "燃气泄漏")
    expect(page.locator("#wo-category option")).to_have_count(2)  # (none) + the match
    page.select_option("#wo-category", "04.03.01")
    expect(page.locator("#wo-urgency")).to_have_value("emergency")  # an emergency item
    expect(page.locator("#wo-agency")).to_have_value("gas")  # the agency that usually handles it
    page.fill("#wo-request", "楼道燃气味")
    page.select_option("#wo-district", "lixia")
    page.check("input[name=wo-handling][value=transferred]")
    page.click("#wo-save")
    expect(page.locator("#wo-result")).to_contain_text(re.compile(r"工单号 \d{8}-\d{4}"))
    order = server.run(work_orders.get("1700000000.8"))
    assert (order.category, order.request, order.district, order.urgency, order.handling, order.agency_id,
            order.agent_id) == ("04.03.01", "楼道燃气味", "lixia", "emergency", "transferred", "gas", "1001")

    page.fill("#kb-q", "爆管")
    page.click("#kb-form button[type=submit]")
    page.locator("#kb-results button", has_text="水管破裂抢修").click()
    expect(page.locator("#kb-article-title")).to_have_text("水管破裂抢修")
    expect(page.locator("#kb-article")).to_be_focused()
    expect(page.locator("#kb-article-body h4").first).to_have_text("答复口径")  # its Markdown, as elements
    expect(page.locator("#kb-article-body strong").first).to_have_text("户内水管破裂")
    expect(page.locator("#kb-article-body")).to_contain_text("相关部门: 市供水集团")
    shot(page, "work-order")
    page.click("#kb-back")
    expect(page.locator("#kb-results")).to_be_visible()

    # the order is there again after a reload (in wrap-up, the call still the agent's)
    server.do(hang_up, world, "1001")
    page.reload()
    expect(page.locator("#phase")).to_have_text("话后处理")
    expect(page.locator("#wo-request")).to_have_value("楼道燃气味")
    expect(page.locator("#wo-result")).to_contain_text(order.case_number)
