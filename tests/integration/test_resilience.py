"""The hotline keeps serving citizens when the controller or Asterisk goes away."""
from __future__ import annotations

import pytest

from hotline import asterisk_process
from tests.integration.harness import AGENTS, Hotline

pytestmark = pytest.mark.asterisk


def test_fallback_queue_serves_calls_while_controller_is_down(fresh: Hotline) -> None:
    for agent in AGENTS:
        fresh.agent_phone(agent["id"])
    fresh.stop_controller()
    try:
        caller = fresh.call("13800000010", digits="", hold_ms=5000)
        assert caller.wait(timeout=90) == 0, caller.errors() + caller.output()
    finally:
        fresh.start_controller()
    rec = fresh.record("13800000010", timeout=30)
    assert rec["source"] == "fallback"
    assert rec["outcome"] == "answered"
    assert rec["agent_id"] in {a["id"] for a in AGENTS}
    assert rec["dnis"] == "12345"
    assert rec["wait_seconds"] is not None and rec["wait_seconds"] < 15


def test_controller_logs_in_again_after_asterisk_restart(fresh: Hotline) -> None:
    logins_before = fresh.controller_log().count("AMI logged in")
    asterisk_process.stop(fresh.settings)
    asterisk_process.start(fresh.settings)
    fresh.wait_for(lambda: fresh.controller_log().count("AMI logged in") > logins_before, 30,
                   "controller did not log in to AMI again:\n" + fresh.controller_log())
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    caller = fresh.call("13800000011", digits="1", hold_ms=3000)
    assert caller.wait(timeout=60) == 0, caller.errors() + caller.output()
    rec = fresh.record("13800000011")
    assert (rec["outcome"], rec["agent_id"], rec["source"]) == ("answered", "2002", "controller")
