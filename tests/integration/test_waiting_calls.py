"""While waiting and after the call: announcements, callbacks that keep their place, surveys."""
from __future__ import annotations

import pytest

from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk


def kinds(h: Hotline, rec: dict) -> list[str]:
    return [e["kind"] for e in h.store.events(rec["call_id"])]


def test_survey_after_the_agent_hangs_up_stores_satisfaction(fresh: Hotline) -> None:
    fresh.agent_phone("2002", hangup_after_ms=2000)
    fresh.desk("log_in", "2002")
    # "1" in the greeting; the second "1" answers the survey question after the agent hangs up.
    peer = fresh.call("13600000001", digits="11", hold_ms=30000, digit_delay_ms=1200, inter_digit_ms=6000)
    assert peer.wait(timeout=90) == 0, peer.errors()
    rec = fresh.record("13600000001")
    assert (rec["outcome"], rec["agent_id"]) == ("answered", "2002")
    assert rec["attrs"].get("satisfaction") == "satisfied", rec["attrs"]
    assert 1.5 <= rec["talk_seconds"] <= 4, rec["talk_seconds"]  # the survey is not talk time
    assert "survey" in kinds(fresh, rec)


def test_waiting_caller_hears_position_and_gets_a_callback_keeping_their_place(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    fresh.citizen_phone(hangup_after_ms=2000, speak=True)
    busy = fresh.call("13600000002", digits="1", hold_ms=30000)  # keeps 2002 busy for 30 s
    fresh.wait_for(lambda: fresh.agent_state("2002")["state"] == "on_call", 30, "2002 never answered")
    waiting = fresh.call("13600000003", dnis="12346", digits="1", digit_delay_ms=17000, hold_ms=40000)
    assert waiting.wait(timeout=90) == 0, waiting.errors()
    rec = fresh.record("13600000003")
    assert rec["outcome"] == "callback_requested", rec
    assert "announced" in kinds(fresh, rec) and "callback_booked" in kinds(fresh, rec)
    assert busy.wait(timeout=60) == 0
    back = fresh.wait_for(
        lambda: next((r for r in fresh.store.recent(50) if r["attrs"].get("callback_of") == rec["call_id"]), None),
        60, "callback never placed:\n" + fresh.controller_log())
    assert (back["source"], back["outcome"], back["agent_id"], back["caller"]) == (
        "callback", "answered", "2002", "13600000003")
    assert back["queue"] == "province"
    fresh.assert_recorded(back, seconds=1)  # the callback's talk, recorded from the citizen's answer


def _book_callback(h: Hotline, caller: str) -> dict:
    """A province caller with nobody on shift hears the callback offer and presses 1."""
    waiting = h.call(caller, dnis="12346", digits="1", digit_delay_ms=17000, hold_ms=40000)
    assert waiting.wait(timeout=90) == 0, waiting.errors()
    rec = h.record(caller)
    assert rec["outcome"] == "callback_requested", rec
    return rec


def _attempts(h: Hotline, original: dict, n: int) -> list[dict]:
    """The first n callback records of the original call, oldest first."""
    def found() -> list[dict] | None:
        rows = [r for r in h.store.recent(50) if r["attrs"].get("callback_of") == original["call_id"]]
        return sorted(rows, key=lambda r: r["attrs"]["attempt"]) if len(rows) >= n else None
    return h.wait_for(found, 90, f"fewer than {n} callback tries:\n" + h.controller_log())


def test_a_callback_the_citizen_does_not_answer_is_tried_again_and_reaches_them(fresh: Hotline) -> None:
    rec = _book_callback(fresh, "13600000004")
    no_answer = fresh.citizen_phone(answer=False)
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    (first,) = _attempts(fresh, rec, 1)
    assert (first["outcome"], first["agent_id"], first["attrs"]["dial_status"]) == (
        "callback_retry", "2002", "NOANSWER"), first
    no_answer.stop()
    fresh.citizen_phone(hangup_after_ms=1500)  # the citizen is back and picks up
    first, second = _attempts(fresh, rec, 2)
    assert (second["outcome"], second["agent_id"], second["caller"]) == ("answered", "2002", "13600000004")
    assert second["attrs"]["attempt"] == 2 and second["queued_at"] == rec["queued_at"]  # kept its place
    assert (second["arrived_at"] - first["ended_at"]).total_seconds() >= 2.0  # callback_retry_after
    assert "callback_retry" in kinds(fresh, first)


def test_a_callback_is_given_up_after_the_allowed_tries(fresh: Hotline) -> None:
    rec = _book_callback(fresh, "13600000005")
    fresh.citizen_phone(answer=False)
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    first, second = _attempts(fresh, rec, 2)
    assert [first["outcome"], second["outcome"]] == ["callback_retry", "callback_failed"]
    assert second["attrs"]["attempts_allowed"] == 2
    assert fresh.redis.smembers(fresh.keys.waiting) == set()  # no third try queued
    fresh.wait_for(lambda: fresh.agent_state("2002")["state"] in ("available", "wrap_up"), 10, "2002 stuck")
