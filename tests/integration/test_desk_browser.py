"""The call taker's desk in a real headless Chromium (Debian's, driven by Playwright) against
the real controller, Asterisk, Redis and database (issue 15, point 5): sign in, go ready,
take a SIPp citizen's call on a real softphone (baresip), see the screen pop with the
repeat-call count, consult an agency (a SIPp phone behind the agency trunk) and join, leave,
file the work order, and find it stored. Screenshots of each state go to var/screenshots."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sql.schema import cases, work_orders
from tests.integration.browser import browser, page, shot  # noqa: F401 (fixtures)
from tests.integration.harness import SOFTPHONE_SEAT, Hotline
from tests.integration.test_softphones import PHONE_PORT, hotline_cli, registered, started

pytestmark = pytest.mark.asterisk

SEAT = SOFTPHONE_SEAT["id"]
CITIZEN = "13700000601"


def test_a_call_taker_takes_a_call_runs_a_three_party_call_and_files_the_work_order(fresh: Hotline,
                                                                                   page: Page) -> None:
    done = hotline_cli(fresh, "agent", "sip-password", SEAT, HOTLINE_NEW_PASSWORD="s0ftphone-2009")
    assert done.returncode == 0, done.stderr
    phone = started(fresh, "s0ftphone-2009", PHONE_PORT + 40)
    agency = fresh.agency_phone(speak=True)
    try:
        registered(fresh, phone)
        fresh.api_token("desk2009", agent_id=SEAT)  # the account, as `hotline user add` makes it
        base = f"http://127.0.0.1:{fresh.settings.http_port}"
        page.goto(f"{base}/desk")
        page.fill("#username", "desk2009")
        page.fill("#password", "pass-desk2009")
        page.click("#login-submit")
        expect(page.locator("#view-desk")).to_be_visible()
        page.click("#btn-login")
        expect(page.locator("#state-badge")).to_have_text("就绪")
        shot(page, "desk-real-ready")

        # the citizen called once before: the second call's screen pop says so
        first = fresh.call(CITIZEN, digits="1", hold_ms=4000)
        assert first.wait(timeout=60) == 0, first.errors()
        fresh.record(CITIZEN, timeout=30)
        fresh.wait_for(lambda: fresh.agent_state(SEAT).get("state") == "available", 20,
                       "the seat did not come back from wrap-up: " + str(fresh.agent_state(SEAT)))

        citizen = fresh.call(CITIZEN, digits="02", hold_ms=45000, speak=True)  # the service guide: traffic
        fresh.wait_for(lambda: fresh.agent_state(SEAT).get("state") in ("reserved", "ringing", "on_call"), 20,
                       "the seat was never offered the call")
        began = time.monotonic()  # the offer (baresip answers at once: ringing lasts a moment)
        expect(page.locator("#pop-caller")).to_have_text(CITIZEN, timeout=15000)
        popped = time.monotonic() - began
        expect(page.locator("#phase")).to_have_text("通话中", timeout=15000)
        expect(page.locator("#pop-repeat")).to_contain_text("1")
        expect(page.locator("#pop-line")).to_contain_text("12345")
        expect(page.locator("#pop-ivr")).not_to_have_text("—")
        expect(page.locator("#history-list")).to_contain_text(re.compile(r"\d"))  # the earlier call
        # the IVR tagged the call "traffic": the knowledge base's traffic articles are suggested at once
        expect(page.locator("#kb-suggest li")).not_to_have_count(0)
        shot(page, "desk-real-talking")

        page.fill("#agency-q", "交警")
        page.locator("#agency-items label", has_text="交通警察").first.click()
        page.click("[data-op=consult]")
        expect(page.locator("#phase")).to_contain_text("咨询", timeout=15000)
        shot(page, "desk-real-consulting")
        page.click("[data-op=join]")
        expect(page.locator("#phase")).to_have_text("三方通话中", timeout=15000)
        shot(page, "desk-real-three-party")
        page.click("[data-op=leave]")
        expect(page.locator("#phase")).to_have_text("话后处理", timeout=15000)

        page.fill("#wo-category-filter", "交通信号灯")
        page.select_option("#wo-category", "01.01.03")
        page.fill("#wo-request", "经十路与历山路路口信号灯不亮")
        page.select_option("#wo-district", "lixia")
        page.check("input[name=wo-handling][value=transferred]")
        page.select_option("#wo-agency", "traffic_police")
        page.click("#wo-save")
        expect(page.locator("#wo-result")).to_contain_text(re.compile(r"\d{8}-\d{4}"))
        case = re.search(r"\d{8}-\d{4}", page.locator("#wo-result").text_content() or "")
        assert case is not None
        shot(page, "desk-real-work-order")

        assert citizen.wait(timeout=90) == 0, citizen.errors()  # citizen and agency talked on
        rec = fresh.record(CITIZEN, timeout=30)
        with fresh.store.engine.connect() as conn:
            order = conn.execute(select(work_orders).where(work_orders.c.call_id == rec["call_id"])).mappings().one()
        assert (order["case_number"], order["category"], order["handling"], order["agency_id"]) == (
            case.group(0), "01.01.03", "transferred", "traffic_police"), dict(order)
        assert order["three_party"] and order["agent_id"] == SEAT
        with fresh.store.engine.connect() as conn:  # the case's life after the call began: with the agency
            opened = conn.execute(select(cases).where(cases.c.case_number == case.group(0))).mappings().one()
        assert (opened["state"], opened["agency_id"]) == ("transferred", "traffic_police"), dict(opened)
        assert rec["attrs"]["handling"] == "transferred" and rec["agent_id"] == SEAT
        print(f"\ndesk: screen pop {1000 * popped:.0f} ms after the seat was offered the call; case {case.group(0)}")
    finally:
        phone.stop()
        hotline_cli(fresh, "agent", "logout", SEAT, "--force", "--reason", "browser test over")
