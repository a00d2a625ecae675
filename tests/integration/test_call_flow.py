"""The walking skeleton on real Asterisk: a citizen's call reaches a call taker."""
from __future__ import annotations

import pytest

from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk


def test_call_with_dtmf_reaches_agent_and_is_recorded(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    caller = fresh.call("13800000001", digits="1", hold_ms=4000)
    assert caller.wait(timeout=60) == 0, caller.errors() + caller.output()
    rec = fresh.record("13800000001")
    assert rec["outcome"] == "answered", rec
    assert rec["agent_id"] == "2002"
    assert rec["dnis"] == "12345"
    assert rec["wait_seconds"] is not None and 0 <= rec["wait_seconds"] < 15
    assert rec["answered_at"] is not None and rec["ended_at"] >= rec["answered_at"]
    assert any(step.get("kind") == "digits" and step.get("value") == "1" for step in rec["ivr_path"]), rec["ivr_path"]


def test_call_without_digit_reaches_agent(fresh: Hotline) -> None:
    fresh.agent_phone("2001")
    fresh.desk("log_in", "2001")
    caller = fresh.call("13800000002", digits="", hold_ms=14000)
    assert caller.wait(timeout=60) == 0, caller.errors() + caller.output()
    rec = fresh.record("13800000002")
    assert (rec["outcome"], rec["agent_id"], rec["language"]) == ("answered", "2001", "zh")
    state = fresh.agent_state("2001")
    assert state["state"] in ("wrap_up", "available") and state["calls_taken"] == "1", state
