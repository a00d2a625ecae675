"""Real softphones (issue 15, point 4): baresip registers as agent 2009 with that agent's own
password (set as an operator sets it: ``hotline agent sip-password``), is rung at its
registered contact and answers a citizen with audio that reaches the recording; a wrong
password is refused; a phone that goes away makes its agent unavailable within the probe
period, with a reason the desk shows; its return makes them available again."""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Iterator

import httpx
import pytest

from hotline.ops import daemons as services
from hotline.settings import PROJECT_ROOT
from tests.integration.audio import tone_levels
from tests.integration.harness import BASE, SOFTPHONE_SEAT, Hotline
from tests.integration.softphone import Baresip

pytestmark = pytest.mark.asterisk

SEAT = SOFTPHONE_SEAT["id"]
PHONE_HZ = 700.0
PHONE_PORT = BASE + 1700


def hotline_cli(h: Hotline, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``hotline`` command as an operator types it, on the test instance."""
    return subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "hotline"), *argv], capture_output=True, text=True,
                          env={**os.environ, **services.settings_env(h.settings), **env}, timeout=120)


def post(h: Hotline, token: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{h.api}{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=15)


@pytest.fixture
def password(fresh: Hotline) -> Iterator[str]:
    done = hotline_cli(fresh, "agent", "sip-password", SEAT, HOTLINE_NEW_PASSWORD="s0ftphone-2009")
    assert done.returncode == 0, done.stderr
    assert "SIP password set" in done.stdout and "s0ftphone-2009" not in done.stdout
    yield "s0ftphone-2009"
    fresh.desk("force_log_out", SEAT, "softphone test over")


def log_since(h: Hotline, marker: int) -> str:
    return h.controller_log(tail=10**9)[marker:]


def started(h: Hotline, password: str, port: int, **kw: Any) -> Baresip:
    marker = len(h.controller_log(tail=10**9))
    phone = Baresip(SEAT, password, h.settings.sip_port, port, **kw)
    phone.marker = marker  # type: ignore[attr-defined]
    return phone


def registered(h: Hotline, phone: Baresip, timeout: float = 15) -> None:
    h.wait_for(lambda: f"agent {SEAT}: phone reachable" in log_since(h, phone.marker), timeout,  # type: ignore[attr-defined]
               "the softphone never registered: " + h.controller_log(tail=3000) + "\nBARESIP:\n"
               + phone.output()[-3000:])


def test_baresip_registers_with_its_own_password_and_takes_a_call_with_audio(fresh: Hotline, password: str) -> None:
    phone = started(fresh, password, PHONE_PORT, tone_hz=PHONE_HZ)
    try:
        registered(fresh, phone)
        token = fresh.api_token("soft2009", agent_id=SEAT)
        reply = post(fresh, token, f"/agents/{SEAT}/login")
        assert reply.status_code == 200 and reply.json()["state"] == "available", reply.text + log_since(fresh, phone.marker)  # type: ignore[attr-defined]
        citizen = fresh.call("13700000501", digits="1", hold_ms=9000)
        assert citizen.wait(timeout=60) == 0, citizen.errors()
        rec = fresh.record("13700000501", timeout=30)
        assert (rec["outcome"], rec["agent_id"]) == ("answered", SEAT), rec
        fresh.assert_recorded(rec, seconds=2)
        path = fresh.settings.asterisk_root / rec["recording"].lstrip("/")
        levels = tone_levels(path, 0.5, -0.5, (PHONE_HZ,))
        assert levels[PHONE_HZ] > 0.2, levels  # the call taker's voice, from the softphone
        print(f"\nbaresip answered; its tone is {levels[PHONE_HZ]:.2f} of the recording's energy")
    finally:
        phone.stop()


def test_a_wrong_password_is_refused_and_the_seat_logs_in_paused(fresh: Hotline, password: str) -> None:
    marker = len(fresh.controller_log(tail=10**9))
    phone = Baresip(SEAT, "not-the-password", fresh.settings.sip_port, PHONE_PORT + 10)
    try:
        assert phone.wait_output("401", 15) or phone.wait_output("403", 5), phone.output()[-2000:]
        time.sleep(2)
        assert f"agent {SEAT}: phone reachable" not in log_since(fresh, marker)
        token = fresh.api_token("soft2009", agent_id=SEAT)
        reply = post(fresh, token, f"/agents/{SEAT}/login")
        assert reply.status_code == 200, reply.text
        assert (reply.json()["state"], reply.json()["pause_reason"]) == ("paused", "phone_unregistered"), reply.text
        refused = post(fresh, token, f"/agents/{SEAT}/ready")
        assert refused.status_code == 409 and refused.json()["error"] == "phone_unregistered", refused.text
    finally:
        phone.stop()


def test_a_phone_that_goes_away_makes_its_agent_unavailable_then_available_again(fresh: Hotline,
                                                                                password: str) -> None:
    phone = started(fresh, password, PHONE_PORT + 20)
    try:
        registered(fresh, phone)
        token = fresh.api_token("soft2009", agent_id=SEAT)
        assert post(fresh, token, f"/agents/{SEAT}/login").json()["state"] == "available"
        phone.kill()  # no un-REGISTER: only the probes can tell
        gone = time.monotonic()
        fresh.wait_for(lambda: fresh.agent_state(SEAT).get("pause_reason") == "phone_unreachable", 20,
                       "the agent of a dead phone stayed available: " + str(fresh.agent_state(SEAT)))
        noticed = time.monotonic() - gone
        assert fresh.agent_state(SEAT)["state"] == "paused"
        view = httpx.get(f"{fresh.api}/agents/{SEAT}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert view.json()["pause_reason"] == "phone_unreachable", view.text  # what the desk shows
        back = Baresip(SEAT, password, fresh.settings.sip_port, PHONE_PORT + 30)
        try:
            fresh.wait_for(lambda: fresh.agent_state(SEAT).get("state") == "available", 20,
                           "the agent stayed paused after the phone came back: " + str(fresh.agent_state(SEAT)))
        finally:
            back.stop()
        print(f"\nphone gone: agent paused {noticed:.1f} s later (probe every "
              f"{fresh.settings.phone_qualify:.0f} s, 3 s timeout)")
    finally:
        phone.stop()
