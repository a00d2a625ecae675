"""The agencies' page (``/agency``) in a real browser (Debian's Chromium driven by Playwright,
the same set-up as the desk page's tests): an agency user signs in, sees only its own
agency's cases, accepts one, replies with the result, and signs out; a hotline account is
told the page is for agencies. No script error or CSP violation on the way."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Callable

from tests.fakes_api import DIRECTORY, PASSWORD, World
from tests.unit.test_desk_page import (LiveServer, browser, desk_world, expect, new_page,  # noqa: F401 (fixtures)
                                       serve, shot)
from workorders.config import load_work_order_config
from workorders.model import WorkOrder, validate

CONFIG = load_work_order_config(DIRECTORY)


def order(number: str, agency_id: str, request: str) -> WorkOrder:
    now = datetime.now(CONFIG.calendar.tz)
    draft: dict[str, Any] = {"call_id": f"call-{number}", "caller": "13812345678", "agent_id": "1001", "now": now,
                             "category": "04.01.01", "request": request, "district": "lixia",
                             "handling": "transferred", "agency_id": agency_id}
    result = validate(draft, CONFIG.taxonomy, DIRECTORY, CONFIG.districts, CONFIG.calendar)
    assert isinstance(result, WorkOrder), result
    return dataclasses.replace(result, case_number=number)


def agency_world() -> World:
    world = desk_world()
    world.users.add_user("wendy", "agency", world.passwords.hash(PASSWORD), agent_id=None, roster=set(),
                         now=world.clock(), agency_id="water", agencies=DIRECTORY.ids)
    return world


def test_an_agency_accepts_and_replies_to_its_own_case(serve: Callable[..., LiveServer],
                                                       new_page: Callable[..., Any]) -> None:
    server = serve(agency_world())
    server.run(server.deps.cases.open_case_for(order("20261130-0001", "water", "经十路123号停水两天")))
    server.run(server.deps.cases.open_case_for(order("20261130-0002", "heating", "暖气不热")))
    page = new_page()
    page.goto(f"{server.url}/agency")
    page.fill("#username", "wendy")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#case-rows tr")
    assert page.locator("#who").inner_text().startswith(DIRECTORY.get("water").name_zh)  # type: ignore[union-attr]
    rows = page.locator("#case-rows tr")
    assert rows.count() == 1 and "20261130-0001" in rows.first.inner_text()  # never heating's case
    page.click("#case-rows button")
    page.wait_for_selector("#do-accept:not([hidden])")
    assert page.locator("#reply-form").is_hidden()
    page.click("#do-accept")
    page.wait_for_selector("#reply-form:not([hidden])")
    page.fill("#reply-result", "已更换阀门，恢复供水")
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#detail-title")).to_contain_text("已答复")
    shot(page, "agency-replied")
    case = server.run(server.deps.cases.get("20261130-0001"))
    assert (case.state.value, case.result) == ("replied", "已更换阀门，恢复供水")
    page.click("#sign-out")
    page.wait_for_selector("#login-form")
    assert page.locator("#view-login").is_visible()


def test_a_hotline_account_is_told_the_page_is_for_agencies(serve: Callable[..., LiveServer],
                                                            new_page: Callable[..., Any]) -> None:
    server = serve(agency_world())
    page = new_page()
    page.goto(f"{server.url}/agency")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#alert:not([hidden])")
    assert "agency accounts" in page.locator("#alert-text").inner_text()
