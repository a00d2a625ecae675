"""A supervisor reviews a real call's recording in a real headless Chromium against the real
controller, Asterisk, Redis and database (issue 16, point 5, "reviews any call's recording"):
a SIPp citizen who speaks (a PCMU tone) is answered by a SIPp call taker; Asterisk records the
conversation; the controller's own recordings janitor indexes the WAV with the call and
compresses it (Opus/OGG, or MP3) at its next pass once the file has settled; the supervisor
signs in to /review, finds the call in the day's list (the caller masked), plays it in the
page's <audio> element (its length within 1 s of what was recorded, and the playback
advances), and files a quality check on the form; the check is stored, and the admin's access
log has the supervisor's plays. Screenshots go to var/screenshots."""
from __future__ import annotations

import time
import wave
from datetime import timezone
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from recordings.store import RecordingStore
from tests.integration.browser import browser, page, shot  # noqa: F401 (fixtures)
from tests.integration.harness import Hotline
from tests.integration.test_softphones import hotline_cli

pytestmark = pytest.mark.asterisk

CITIZEN = "13700001616"
JANITOR_WAIT = 200  # the janitor's pass is every 60 s, and it leaves a file changed in the last 60 s for the next


def wav_seconds(path: Path) -> float:
    """The WAV's length from its header (8 kHz, 16-bit mono: from its size when the header says nothing)."""
    with wave.open(str(path), "rb") as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
    return frames / rate if frames and rate else (path.stat().st_size - 44) / 16_000


def test_a_supervisor_plays_a_real_calls_recording_and_files_a_quality_check(fresh: Hotline, page: Page) -> None:
    supervisor = fresh.api_token("review-sup", role="supervisor")  # the accounts, as `hotline user add` makes them
    admin = fresh.api_token("review-admin", role="admin")
    phone = fresh.agent_phone("2002")
    done = hotline_cli(fresh, "agent", "login", "2002")  # the operator's command (the test's loop is Playwright's)
    assert done.returncode == 0, done.stderr
    citizen = fresh.call(CITIZEN, digits="1", hold_ms=12000, speak=True)
    assert citizen.wait(timeout=60) == 0, citizen.errors() + citizen.output()
    rec = fresh.record(CITIZEN, timeout=30)
    assert (rec["outcome"], rec["agent_id"]) == ("answered", "2002"), rec
    fresh.assert_recorded(rec, seconds=4)
    call_id = rec["call_id"]
    recorded = wav_seconds(fresh.settings.asterisk_root / rec["recording"].lstrip("/"))
    assert "INVITE" in phone.messages()

    # the controller's janitor indexes the call's WAV and compresses it (nothing here runs it)
    store = RecordingStore(fresh.store.engine)
    started = time.monotonic()
    part = None
    while time.monotonic() - started < JANITOR_WAIT:
        part = store.part(call_id, "call")
        if part is not None and part.compressed_at is not None:
            break
        time.sleep(1)
    assert part is not None and part.compressed_at is not None, (part, fresh.controller_log())
    assert part.format in ("opus", "mp3") and Path(part.path).exists(), part
    assert part.seconds is not None and abs(part.seconds - recorded) <= 0.5, (part.seconds, recorded)
    indexed_after = time.monotonic() - started

    day = rec["arrived_at"].replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d")  # the browser's zone
    page.goto(f"http://127.0.0.1:{fresh.settings.http_port}/review?day={day}")
    page.fill("#username", "review-sup")
    page.fill("#password", "pass-review-sup")
    page.click("#login-submit")
    expect(page.locator("#view-review")).to_be_visible()
    row = page.locator(f"#calls-body tr[data-call='{call_id}']")
    expect(row).to_be_visible()
    expect(row.locator(".caller")).to_have_text("*******1616")
    expect(row).to_contain_text("2002")
    expect(row.locator(".badge")).to_have_text("未质检")
    row.locator("button.open").click()
    expect(page.locator("#d-facts")).to_contain_text(call_id)
    page.wait_for_function("""() => { const a = document.querySelector('#d-parts audio[data-part=call]');
                                       return a && a.readyState >= 1 && Number.isFinite(a.duration); }""",
                           timeout=15000)
    duration = page.evaluate("document.querySelector('#d-parts audio[data-part=call]').duration")
    assert abs(duration - recorded) <= 1.0, (duration, recorded)
    assert page.evaluate("document.querySelector('#d-parts audio[data-part=call]').play().then(() => true)")
    page.wait_for_function("() => document.querySelector('#d-parts audio[data-part=call]').currentTime > 1",
                           timeout=15000)
    page.evaluate("document.querySelector('#d-parts audio[data-part=call]').pause()")
    shot(page, "review-real-playing")

    page.fill("#qc-closing", "4")
    page.fill("#qc-remarks", "结束语未引导满意度评价。")
    expect(page.locator("#qc-total")).to_have_text("总分 99 / 100 · 合格（合格线 80）")
    page.click("#qc-submit")
    expect(page.locator("#qc-saved")).to_have_text("已提交：99 分，合格")
    expect(page.locator("#d-checks li[data-check]")).to_contain_text("review-sup · 99 分 · 合格")
    expect(row.locator(".badge")).to_have_text("99 分")
    shot(page, "review-real-checked")

    api = fresh.api
    checks = httpx.get(f"{api}/calls/{call_id}/quality-checks", headers={"Authorization": f"Bearer {supervisor}"},
                       timeout=10)
    assert checks.status_code == 200, checks.text
    (check,) = checks.json()
    assert (check["reviewer"], check["agent_id"], check["score"], check["passed"], check["remarks"]) == (
        "review-sup", "2002", 99, True, "结束语未引导满意度评价。")
    log = httpx.get(f"{api}/recordings/access-log", params={"call_id": call_id},
                    headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert log.status_code == 200, log.text
    plays = [e for e in log.json() if e["username"] == "review-sup"]
    assert plays and all((e["part"], e["role"], e["action"], e["allowed"]) == ("call", "supervisor", "play", True)
                         for e in plays), log.json()
    print(f"\nreview: recorded {recorded:.2f} s, indexed and compressed ({part.format}) {indexed_after:.0f} s after "
          f"the record, played {duration:.2f} s in Chromium, {len(plays)} logged fetch(es)")
