"""The supervisors' recordings review page (``/review``) in a real browser: Debian's Chromium
driven by Playwright, against ``make_app`` over the in-process fakes and an
``InMemoryRecordings`` holding real WAV files of known lengths, served by uvicorn on a loopback
port in a background thread (``tests/unit/page_server.py``).

What a supervisor does, end to end: sign in; the day's recorded calls are listed newest first
with the callers masked; filter by unchecked only and by agent; open a call from the keyboard;
its recording plays in the page's <audio> element (fetched with the session cookie alone, its
length the file's, and the playback advances), every fetch in the access log; the quality form
built from GET /quality/form refuses points above a criterion's maximum, then files the check,
which shows in the call's checks and in the list. An admin reads but files nothing; an agent is
told the page is not theirs and the API refuses them the list and the audio (the refusal
logged). No horizontal scrolling at 1366x768 in either language; no script error or CSP
violation on any page. Screenshots go to ``var/screenshots/review-*.png``.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from calls.records import CallRecord
from hotline.api.app import make_app
from hotline.api.recordings_memory import InMemoryRecordings
from recordings.model import RecordingPart
from recordings.quality import QualityCheck, load_form
from tests.fakes_api import World
from tests.recording_files import make_wav
from tests.unit.page_server import (LiveServer, Page, WallClock, assert_fits_in_either_language, assert_not_found,
                                    assert_nothing_inline, assert_served, expect, fetch, screenshot, serve_fixture,
                                    sign_in_form)
from tests.unit.page_server import browser, new_page  # noqa: F401 (fixtures)

FORM = load_form()
FIRST, SECOND, THIRD, YESTERDAY = "1800000100.1", "1800000100.2", "1800000100.3", "1800000099.9"
LENGTHS = {FIRST: 7.0, SECOND: 4.0, THIRD: 5.0, YESTERDAY: 3.0}


def review_world() -> World:
    """alice (agent 1001), sam (supervisor), ada (admin)."""
    world = World(clock=WallClock())
    world.add_user("alice", "agent", agent_id="1001")
    world.add_user("sam", "supervisor")
    world.add_user("ada", "admin")
    return world


def today_at(hour: float) -> float:
    """Epoch seconds of ``hour`` o'clock today in this machine's zone (the browser's too)."""
    midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(hours=hour)).timestamp()


def stocked(folder: Path) -> InMemoryRecordings:
    """Three calls recorded today (one with a purged three-party room, one checked already) and
    one yesterday, each with a real WAV of its length."""
    recordings = InMemoryRecordings.shipped()
    calls = [(FIRST, 9.0, "1001", "main", "13800000001"), (SECOND, 9.5, "1002", "province", "13900000002"),
             (THIRD, 10.0, "1001", "main", "02088880003"), (YESTERDAY, -15.0, "1003", "main", "13700000004")]
    for call_id, hour, agent_id, line, caller in calls:
        arrived = today_at(hour)
        talk = LENGTHS[call_id]
        recordings.add_record(CallRecord(call_id=call_id, caller=caller, dnis="12345", arrived_at=arrived, queue=line,
                                         language="zh", queued_at=arrived + 6, answered_at=arrived + 9,
                                         ended_at=arrived + 9 + talk, agent_id=agent_id, outcome="answered"))
        wav = make_wav(folder / f"{call_id}.wav", talk)
        made = datetime.fromtimestamp(arrived + 9 + talk, timezone.utc)
        recordings.add_part(RecordingPart(call_id, "call", str(wav), "wav", wav.stat().st_size, talk, made))
    made = datetime.fromtimestamp(today_at(9.5) + 20, timezone.utc)
    recordings.add_part(RecordingPart(SECOND, "conference", str(folder / "gone.wav"), "wav", 100, 3.0, made,
                                      purged_at=made + timedelta(minutes=5)))
    recordings.quality.append(QualityCheck(THIRD, "1001", "sam", 85, {
        "form": FORM.form, "scores": {c.id: c.points for c in FORM.criteria}, "vetoes": [], "passed": True},
        "开场语不规范。", False, datetime.fromtimestamp(today_at(10.5), timezone.utc), 1))
    return recordings


class ReviewServer(LiveServer):
    """The live server over ``world``'s fakes with ``recordings`` as the API's recordings."""

    def __init__(self, world: World, recordings: InMemoryRecordings) -> None:
        super().__init__(world, recordings=recordings)
        self.recordings = recordings

    def accesses(self) -> list[tuple[str, str, str, str, bool]]:
        return self.do(lambda: [(a.call_id, a.part, a.username, a.action, a.allowed)
                                for a in self.recordings.accesses])


def shot(page: Page, name: str) -> None:
    screenshot(page, f"review-{name}")


def rows(page: Page) -> list[str]:
    return page.eval_on_selector_all("#calls-body tr", "rows => rows.map(r => r.dataset.call)")


def audio_state(page: Page, part: str = "call") -> dict[str, float]:
    return page.evaluate(f"""(() => {{ const a = document.querySelector('#d-parts audio[data-part={part}]');
        return a ? {{readyState: a.readyState, duration: a.duration, currentTime: a.currentTime,
                     paused: a.paused}} : null; }})()""")


def sign_in(page: Page, server: ReviewServer, username: str = "sam", query: str = "") -> None:
    sign_in_form(page, f"{server.url}/review{query}", username)
    if username in ("sam", "ada"):
        expect(page.locator("#view-review")).to_be_visible()


serve = serve_fixture(lambda folder: ReviewServer(review_world(), stocked(folder)))


# -- the files ------------------------------------------------------------------------------------

def test_the_page_and_its_files_have_their_types_and_a_self_only_policy() -> None:
    types = {"/review": "text/html", "/review/": "text/html", "/review/review.js": "text/javascript",
             "/review/review-i18n.js": "text/javascript", "/review/page-shell.js": "text/javascript",
             "/review/review.css": "text/css", "/review/base.css": "text/css", "/review/api.js": "text/javascript",
             "/review/i18n.js": "text/javascript", "/review/views.js": "text/javascript",
             "/review/icon.svg": "image/svg+xml"}
    missing = ["/review/nothing.js", "/review/..%2Freview.html", "/api/v1/review"]
    got = fetch(make_app(review_world().deps()), [*types, *missing, "/api/v1/openapi.json"])
    assert_served(got, types)
    assert_not_found(got, missing)
    assert not [p for p in got["/api/v1/openapi.json"].json()["paths"] if p.startswith("/review")]  # not API
    assert_nothing_inline(got["/review"].text, "/review/review.js")
    assert "innerHTML" not in got["/review/review.js"].text  # every text from the API goes in as text


# -- in the browser -------------------------------------------------------------------------------

def test_a_supervisor_finds_a_call_plays_it_and_files_a_quality_check(serve, new_page, tmp_path: Path) -> None:
    server = serve(tmp_path)
    page = new_page()
    page.goto(f"{server.url}/review")
    expect(page.locator("#login-form")).to_be_visible()
    sign_in(page, server)
    expect(page.locator("#calls-body tr")).to_have_count(3)  # yesterday's call is not today's
    assert rows(page) == [THIRD, SECOND, FIRST]  # newest first
    first = page.locator(f"#calls-body tr[data-call='{FIRST}']")
    expect(first.locator(".caller")).to_have_text("*******0001")  # masked but the last 4 digits
    expect(first).to_contain_text("12345 市民热线")  # the line by its title (the wallboard's)
    expect(first.locator(".badge")).to_have_text("未质检")
    expect(page.locator(f"#calls-body tr[data-call='{THIRD}'] .badge")).to_have_text("85 分")
    expect(page.locator("#list-status")).to_have_text("共 3 通")
    assert "13800000001" not in page.content()
    shot(page, "list")

    page.check("#f-unchecked")  # unchecked only: the checked call goes
    expect(page.locator("#calls-body tr")).to_have_count(2)
    assert "unchecked=1" in page.url
    page.fill("#f-agent", "1001")
    page.press("#f-agent", "Enter")
    expect(page.locator("#calls-body tr")).to_have_count(1)
    assert rows(page) == [FIRST] and "agent=1001" in page.url
    page.select_option("#f-line", "province")
    expect(page.locator("#list-status")).to_have_text("没有符合条件的录音通话")
    page.select_option("#f-line", "")
    page.fill("#f-agent", "")
    page.uncheck("#f-unchecked")
    expect(page.locator("#calls-body tr")).to_have_count(3)

    # from the keyboard: the row's button opens the call and the focus goes to it
    first.locator("button.open").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#d-heading")).to_be_focused()
    expect(page.locator("#d-heading")).to_contain_text("来电")
    expect(page.locator("#d-facts")).to_contain_text(FIRST)
    expect(first).to_have_class(re.compile(r"\bselected\b"))
    page.wait_for_function("""() => { const a = document.querySelector('#d-parts audio[data-part=call]');
                                       return a && a.readyState >= 1 && Number.isFinite(a.duration); }""")
    state = audio_state(page)
    assert abs(state["duration"] - LENGTHS[FIRST]) < 0.05, state  # the file's own length
    # it plays (the page had the user's click: autoplay rules allow play()) and the time advances
    assert page.evaluate("document.querySelector('#d-parts audio').play().then(() => true)")
    page.wait_for_function("() => document.querySelector('#d-parts audio').currentTime > 0.5", timeout=5000)
    page.evaluate("document.querySelector('#d-parts audio').pause()")
    assert audio_state(page)["readyState"] >= 2
    played = [a for a in server.accesses() if a[0] == FIRST]
    assert played and set(played) == {(FIRST, "call", "sam", "play", True)}  # every fetch logged

    # the form: full marks to start from, the total follows the points
    expect(page.locator("#qc-criteria input")).to_have_count(len(FORM.criteria))
    expect(page.locator("#qc-total")).to_have_text("总分 100 / 100 · 合格（合格线 80）")
    page.fill("#qc-policy_accuracy", "12")
    expect(page.locator("#qc-total")).to_have_text("总分 92 / 100 · 合格（合格线 80）")
    page.fill("#qc-greeting", "9")  # above its 5 points: refused here, nothing sent
    page.click("#qc-submit")
    expect(page.locator("#qc-error")).to_have_text("“规范开场”的分数应为 0 至 5 的整数")
    expect(page.locator("#qc-greeting")).to_be_focused()
    expect(page.locator("#qc-greeting")).to_have_attribute("aria-invalid", "true")
    assert server.do(lambda: len(server.recordings.quality)) == 1
    page.fill("#qc-greeting", "5")
    page.fill("#qc-remarks", "政策口径有误：应答复为 5 个工作日。")
    shot(page, "form")
    page.click("#qc-submit")
    expect(page.locator("#qc-saved")).to_have_text("已提交：92 分，合格")
    check = page.locator("#d-checks li[data-check]")
    expect(check).to_have_count(1)
    expect(check).to_contain_text("sam · 92 分 · 合格")
    expect(check.locator(".remarks")).to_have_text("政策口径有误：应答复为 5 个工作日。")
    expect(first.locator(".badge")).to_have_text("92 分")
    expect(page.locator("#qc-total")).to_have_text("总分 100 / 100 · 合格（合格线 80）")  # a fresh form
    stored = server.do(lambda: server.recordings.quality[-1])
    assert (stored.call_id, stored.agent_id, stored.reviewer, stored.score) == (FIRST, "1001", "sam", 92)
    assert dict(stored.items)["scores"]["policy_accuracy"] == 12
    shot(page, "checked")

    # another call: its conversation plays, its purged room says so; the first one's player is gone
    page.click(f"#calls-body tr[data-call='{SECOND}'] td.caller")
    expect(page.locator("#d-facts")).to_contain_text(SECOND)
    expect(page.locator("#d-parts audio")).to_have_count(1)
    expect(page.locator("#d-parts [data-part=conference] .purged")).to_contain_text("已按保存期限删除")
    page.wait_for_function("""() => { const a = document.querySelector('#d-parts audio[data-part=call]');
                                       return a && Number.isFinite(a.duration); }""")
    assert abs(audio_state(page)["duration"] - LENGTHS[SECOND]) < 0.05
    expect(page.locator("#d-checks li.none")).to_have_text("尚未质检")

    page.fill("#qc-closing", "3")
    page.click("#lang")  # English: the list, the call and the form again, the draft kept
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#qc-closing")).to_have_value("3")
    expect(first.locator(".badge")).to_have_text("92 pts")
    expect(page.locator("#qc-total")).to_have_text("Total 98 / 100 · passed (pass mark 80)")
    expect(page.locator("#d-checks li.none")).to_have_text("Not checked yet")
    shot(page, "en")


def test_an_admin_reads_the_checks_but_files_none(serve, new_page, tmp_path: Path) -> None:
    server = serve(tmp_path)
    page = new_page()
    sign_in(page, server, "ada")
    page.click(f"#calls-body tr[data-call='{THIRD}'] button.open")
    expect(page.locator("#d-checks li[data-check]")).to_contain_text("sam · 85 分 · 合格")
    expect(page.locator("#d-checks .remarks")).to_have_text("开场语不规范。")
    expect(page.locator("#qc-form")).to_be_hidden()
    expect(page.locator("#qc-note")).to_have_text("质检评分由班长填写；管理员只能查看。")
    page.wait_for_function("() => Number.isFinite(document.querySelector('#d-parts audio').duration)")
    assert (THIRD, "call", "ada", "play", True) in server.accesses()


def test_an_agent_is_told_the_page_is_not_theirs_and_gets_no_recording(serve, new_page, tmp_path: Path) -> None:
    server = serve(tmp_path)
    page = new_page()
    sign_in(page, server, "alice")
    expect(page.locator("#view-other")).to_be_visible()
    expect(page.locator("#other-text")).to_contain_text("话务员")
    expect(page.locator("#view-review")).to_be_hidden()
    assert page.evaluate("fetch('/api/v1/recordings').then(r => r.status)") == 403
    assert page.evaluate(f"fetch('/api/v1/calls/{FIRST}/recordings/call').then(r => r.status)") == 403
    assert server.accesses() == [(FIRST, "call", "alice", "play", False)]  # the refusal is logged
    page.click("#sign-out")
    expect(page.locator("#login-form")).to_be_visible()


def test_no_horizontal_scrolling_at_1366x768_in_either_language(serve, new_page, tmp_path: Path) -> None:
    server = serve(tmp_path)
    page = new_page(1366, 768)
    sign_in(page, server)
    page.click(f"#calls-body tr[data-call='{SECOND}'] button.open")
    expect(page.locator("#d-parts audio")).to_have_count(1)
    assert_fits_in_either_language(page, ".card, .criterion, .facts, .filters", shot)
