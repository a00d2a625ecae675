"""Every branch of the shipped 12345 flow, driven by real SIPp callers sending RFC 4733 DTMF."""
from __future__ import annotations

import pytest

from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk


def kinds(rec: dict) -> list[str]:
    return [step["kind"] for step in rec["ivr_path"]]


def steps(rec: dict, kind: str) -> list[str]:
    return [step.get("value") for step in rec["ivr_path"] if step["kind"] == kind]


def answered_call(h: Hotline, caller: str, digits: str, agents: list[str], dnis: str = "12345",
                  hold_ms: int = 4000) -> dict:
    for agent in agents:
        h.agent_phone(agent)
        h.desk("log_in", agent)
    peer = h.call(caller, digits=digits, dnis=dnis, hold_ms=hold_ms)
    assert peer.wait(timeout=90) == 0, peer.errors() + peer.output()
    rec = h.record(caller)
    assert rec["outcome"] == "answered", rec
    return rec


def test_mandarin_caller_pressing_nothing_times_out_to_a_person(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000001", "", ["2002"], hold_ms=14000)
    assert (rec["language"], rec["queue"], rec["agent_id"]) == ("zh", "main", "2002")
    assert "timeout" in kinds(rec) and "digits" not in kinds(rec)


def test_nine_reaches_an_english_seat(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000002", "9", ["2002", "2003"])
    assert (rec["language"], rec["agent_id"]) == ("en", "2003")
    assert steps(rec, "language") == ["en"]


def test_eight_reaches_a_japanese_seat(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000003", "8", ["2002", "2004"])
    assert (rec["language"], rec["agent_id"]) == ("ja", "2004")


def test_other_languages_submenu_reaches_korean(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000004", "67", ["2002", "2004"])
    assert (rec["language"], rec["agent_id"]) == ("ko", "2004")
    nodes = [s.get("node") for s in rec["ivr_path"] if s["kind"] == "node"]
    assert "other_languages" in nodes


def test_service_guide_submenu_sets_the_domain_skill(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000005", "01", ["2002", "2001"])
    assert rec["skills"] == "social_insurance"
    assert rec["agent_id"] == "2001"  # the pension specialist, free, is preferred
    assert steps(rec, "digits")[:2] == ["0", "1"]


def test_two_invalid_digits_route_to_a_person(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000006", "55", ["2002"])
    assert steps(rec, "invalid") == ["5", "5"]
    assert (rec["queue"], rec["agent_id"]) == ("main", "2002")


def test_hangup_mid_menu_leaves_a_complete_path(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    peer = fresh.call("13900000007", digits="", hold_ms=2000)
    assert peer.wait(timeout=60) == 0, peer.errors()
    rec = fresh.record("13900000007")
    assert rec["outcome"] == "ivr_hangup"
    assert rec["queued_at"] is None and rec["agent_id"] == ""
    assert kinds(rec)[0] == "start" and kinds(rec)[-2:] == ["hangup", "end"]
    assert rec["ivr_path"][-1]["value"] == "CallerHungUp" and rec["ivr_path"][-2]["node"] == "greeting"
    assert fresh.agent_state("2002")["calls_taken"] == "0"


def test_emergency_notice_switched_on_without_restart(fresh: Hotline) -> None:
    fresh.redis.hset(fresh.keys.flags, "notice", "flood_warning")
    try:
        rec = answered_call(fresh, "13900000008", "", ["2002"], hold_ms=25000)
    finally:
        fresh.redis.hdel(fresh.keys.flags, "notice")
    assert rec["attrs"].get("notice") == "flood_warning"
    nodes = [s.get("node") for s in rec["ivr_path"] if s["kind"] == "node"]
    assert "emergency_notice" in nodes


def test_province_line_has_its_own_number_and_queue(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000009", "", ["2002"], dnis="12346", hold_ms=16000)
    assert (rec["dnis"], rec["queue"]) == ("12346", "province")


def test_repeat_caller_is_recognised_and_served_first(fresh: Hotline) -> None:
    import time as _time

    from calls.records import CallRecord

    for n in range(3):
        fresh.store.save(CallRecord(call_id=f"earlier-{n}-{_time.time()}", caller="13900000010", dnis="12345",
                                    arrived_at=_time.time() - 86400 * (n + 1), outcome="answered"))
    rec = answered_call(fresh, "13900000010", "1", ["2002"])
    assert rec["repeat_calls"] == 3
    assert rec["priority"] == 5  # the flow's rule for callers with 3+ calls in 30 days


def test_standard_compliant_profile_has_no_menu(fresh: Hotline) -> None:
    rec = answered_call(fresh, "13900000011", "", ["2002"], dnis="12349", hold_ms=10000)
    assert (rec["dnis"], rec["queue"], rec["agent_id"]) == ("12349", "main", "2002")
    assert kinds(rec).count("digits") == 0 and "timeout" not in kinds(rec)


def test_menus_change_by_editing_a_file_without_restart(fresh: Hotline) -> None:
    flow_file = fresh.settings.config_dir / "ivr" / "flows" / "main.yaml"
    original = flow_file.read_text()
    edited = original.replace('      "1": to_operator\n', '      "1": english\n', 1)
    assert edited != original
    flow_file.write_text(edited)
    try:
        fresh.reload()
        rec = answered_call(fresh, "13900000012", "1", ["2002", "2003"])
        assert (rec["language"], rec["agent_id"]) == ("en", "2003")
        flow_file.write_text(original.replace("fallback_queue: main", "fallback_queue: nowhere"))
        with pytest.raises(Exception):
            fresh.reload()  # an invalid edit is refused before anything changes
    finally:
        flow_file.write_text(original)
        fresh.reload()
    rec = answered_call(fresh, "13900000013", "1", ["2002"])
    assert (rec["language"], rec["agent_id"]) == ("zh", "2002")


ALIAS_FLOW = """
name: alias
description: a second number that greets, then hands the caller to the main menu (goto)
dnis: ["12348"]
language: zh
fallback_queue: main
start: hello
nodes:
  hello: {type: play, prompts: [alias_hello], next: to_main}
  to_main: {type: goto, flow: main}
prompts:
  alias_hello: {zh: "您好，这里是12348。"}
"""


def test_a_flow_that_hands_over_to_another_flow_with_goto_reaches_a_person(fresh: Hotline) -> None:
    """Every IVR run gets the other flows (a goto used to send every call to the fallback)."""
    flow_file = fresh.settings.config_dir / "ivr" / "flows" / "alias.yaml"
    flow_file.write_text(ALIAS_FLOW)
    try:
        fresh.reload()
        fresh.agent_phone("2002")
        fresh.desk("log_in", "2002")
        peer = fresh.call("13900000014", digits="1", dnis="12348", digit_delay_ms=4500, hold_ms=14000)
        assert peer.wait(timeout=90) == 0, peer.errors() + peer.output()
        rec = fresh.record("13900000014")
    finally:
        flow_file.unlink()
        fresh.reload()
    assert (rec["source"], rec["outcome"], rec["dnis"], rec["queue"], rec["agent_id"]) == (
        "controller", "answered", "12348", "main", "2002"), rec
    nodes = [s.get("node") for s in rec["ivr_path"] if s["kind"] == "node"]
    assert nodes[0] == "hello" and "greeting" in nodes  # alias's node, then main's menu
