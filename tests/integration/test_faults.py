"""Faults in the middle of real calls (issue 13): asserted on the SIP peers' own logs and
the database, never on the controller's view of itself. Each prints its figures."""
from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from hotline.ops import daemons
from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk


def invites(peer: object) -> int:
    return peer.messages().count("INVITE sip:")  # type: ignore[attr-defined]


def kill_controller(h: Hotline) -> None:
    """kill -9: no clean-up of any kind."""
    pid = int(daemons.pid_file(h.settings, "controller").read_text())
    os.kill(pid, signal.SIGKILL)
    h.wait_for(lambda: not daemons.process_alive(pid), 10, "controller survived SIGKILL")


def test_a_controller_killed_mid_talk_serves_nobody_twice_and_frees_the_agent(fresh: Hotline) -> None:
    first = fresh.agent_phone("2001", hangup_after_ms=8000)  # this agent ends the talk 8 s in
    second = fresh.agent_phone("2002")
    fresh.desk("log_in", "2001")
    caller = fresh.call("13700000001", digits="1", hold_ms=25000, speak=True)
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") == "on_call", 30, "2001 never answered")
    fresh.desk("log_in", "2002")  # free for the fallback queue to take, if it were wrongly used
    killed_at = time.monotonic()
    kill_controller(fresh)
    time.sleep(2)
    fresh.start_controller()
    back_at = time.monotonic()
    assert caller.wait(timeout=60) == 0, caller.errors()
    assert invites(first) == 1 and invites(second) == 0, "the citizen was connected to a second agent"
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 30,
                   "2001 stuck: " + str(fresh.agent_state("2001")) + fresh.controller_log())
    freed_at = time.monotonic()
    fresh.desk("log_out", "2002")
    after = fresh.call("13700000002", digits="1", hold_ms=3000)
    assert after.wait(timeout=60) == 0, after.errors()
    rec = fresh.record("13700000002")
    assert (rec["source"], rec["outcome"], rec["agent_id"]) == ("controller", "answered", "2001"), rec
    print(f"\nkill -9 mid-talk: controller back {back_at - killed_at:.1f} s after the kill; agent free "
          f"{freed_at - killed_at:.1f} s after it; INVITEs: first agent {invites(first)}, second {invites(second)}")


def test_a_process_posing_as_asterisk_gets_no_session(fresh: Hotline) -> None:
    """Any local process can reach the FastAGI port; without the instance's secret (in the
    URL only the rendered dialplan knows) it is closed before a single command."""
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    headers = ("agi_network: yes\nagi_network_script: call\nagi_request: agi://127.0.0.1/call\n"
               "agi_channel: PJSIP/trunk-00000099\nagi_uniqueid: 1799999999.1\nagi_callerid: 13911112222\n"
               "agi_arg_1: 12349\n\n")
    with socket.create_connection(("127.0.0.1", fresh.settings.agi_port), timeout=10) as sock:
        sock.sendall(headers.encode())
        sock.settimeout(10)
        assert sock.recv(4096) == b""  # closed, nothing sent: no ANSWER, no Dial
    time.sleep(1)
    assert not [r for r in fresh.store.recent(20) if r["caller"] == "13911112222"]
    assert fresh.agent_state("2002")["state"] == "available" and fresh.agent_state("2002")["calls_taken"] == "0"
