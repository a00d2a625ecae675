"""Three-party calls with an agency (issue 14) through the HTTP API, on real calls: a SIPp
citizen, a SIPp call taker and a SIPp agency behind the agency trunk. Asserted on the SIP
peers' logs, the API's answers and the stored record."""
from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.audio import duration, tone_levels
from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk

DUTY_LINE = "053186010099"  # traffic_police's 24x7 number (outbound/agencies.yaml)
CITIZEN_HZ, AGENCY_HZ = 425.0, 1000.0  # the tones the test citizen and agency stream


def asterisk_log(h: Hotline) -> str:
    path = h.settings.var_dir / "log" / "messages"
    candidates = [path, *h.settings.var_dir.rglob("messages")]
    for p in candidates:
        if p.exists():
            return p.read_text(errors="replace")[-4000:]
    return "(no Asterisk log)"


def post(h: Hotline, token: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{h.api}{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def current(h: Hotline, token: str, agent: str) -> dict[str, Any]:
    reply = httpx.get(f"{h.api}/agents/{agent}/call", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def three_party_state(h: Hotline, token: str, agent: str) -> str:
    view = current(h, token, agent).get("three_party") or {}
    return str(view.get("state", ""))


def talking_call(h: Hotline, agent: str, caller: str, hold_ms: int = 40000) -> Any:
    peer = h.call(caller, digits="1", hold_ms=hold_ms, speak=True)
    h.wait_for(lambda: h.agent_state(agent).get("state") == "on_call", 30, f"{agent} never answered")
    return peer


def test_consult_join_leave_leaves_citizen_and_agency_together(fresh: Hotline) -> None:
    taker = fresh.agent_phone("2001")
    agency = fresh.agency_phone(speak=AGENCY_HZ)
    fresh.desk("log_in", "2001")
    token = fresh.api_token("taker2001", agent_id="2001")
    citizen = talking_call(fresh, "2001", "13700000301", hold_ms=30000)  # the citizen's tone: 425 Hz
    began = time.monotonic()
    reply = post(fresh, token, "/agents/2001/call/consult", {"agency_id": "traffic_police", "number": DUTY_LINE})
    assert reply.status_code == 200, reply.text
    fresh.wait_for(lambda: three_party_state(fresh, token, "2001") == "consulting", 20,
                   "the agency never answered the consult: " + str(current(fresh, token, "2001"))
                   + fresh.controller_log(tail=4000) + "\nAGENCY:\n" + agency.messages()[-2000:]
                   + "\nASTERISK:\n" + asterisk_log(fresh))
    consulted = time.monotonic()
    assert f"INVITE sip:{DUTY_LINE}@" in agency.messages()
    reply = post(fresh, token, "/agents/2001/call/join")
    assert reply.status_code == 200 and reply.json()["three_party"]["state"] == "conference", reply.text
    time.sleep(2)
    reply = post(fresh, token, "/agents/2001/call/leave")
    assert reply.status_code == 200, reply.text
    left = time.monotonic()
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 15,
                   "the call taker was not released: " + str(fresh.agent_state("2001")))
    freed = time.monotonic()
    assert "BYE sip:" in taker.messages()  # the call taker's phone was hung up, nobody else's
    assert citizen.wait(timeout=60) == 0, citizen.errors()  # the citizen stayed to the end of its 30 s
    rec = fresh.record("13700000301", timeout=30)
    assert (rec["outcome"], rec["agent_id"]) == ("answered", "2001"), rec
    assert rec["attrs"]["handling"] == "transferred" and rec["attrs"]["agencies"] == ["traffic_police"], rec["attrs"]
    legs = [e for e in fresh.store.events(rec["call_id"]) if e["kind"] == "agency_leg"]
    assert len(legs) == 1 and legs[0]["data"]["number"] == DUTY_LINE and legs[0]["data"]["answered_at"], legs
    rows = fresh.store.legs(rec["call_id"])
    assert [(r["agency_id"], r["number"], r["mode"]) for r in rows] == [("traffic_police", DUTY_LINE, "consult")], rows
    assert rows[0]["answered_at"] is not None and rows[0]["ended_at"] is not None, rows
    # After the call taker left, citizen and agency talk in the room: its recording holds both
    # voices (the citizen's 425 Hz and the agency's own tone) in its last seconds.
    fresh.assert_recorded(rec, seconds=1)
    room = fresh.settings.asterisk_root / rec["attrs"]["conference_recording"].lstrip("/")
    assert rec["attrs"]["conference_recording"].endswith(f"/recordings/{rec['call_id']}-3way.wav"), rec["attrs"]
    fresh.wait_for(lambda: room.exists() and duration(room) > 15, 10, f"no room recording at {room}")
    levels = tone_levels(room, -8, -2, (CITIZEN_HZ, AGENCY_HZ))
    assert levels[CITIZEN_HZ] > 0.05 and levels[AGENCY_HZ] > 0.05, levels
    print(f"\nconsult -> join -> leave: agency answered {consulted - began:.1f} s after the request; "
          f"call taker free {freed - left:.1f} s after leave; room recording {duration(room):.1f} s, "
          f"after the leave: citizen {levels[CITIZEN_HZ]:.2f}, agency {levels[AGENCY_HZ]:.2f} of its energy")


def consulting(h: Hotline, token: str, body: dict[str, Any], state: str = "consulting",
               path: str = "/agents/2001/call/consult") -> None:
    reply = post(h, token, path, body)
    assert reply.status_code == 200, reply.text
    h.wait_for(lambda: three_party_state(h, token, "2001") == state, 20,
               f"never {state}: " + str(current(h, token, "2001")) + h.controller_log(tail=3000))


def notices(h: Hotline, token: str, agent: str, seconds: float) -> list[str]:
    """The agent's event stream (SSE) for ``seconds``: the three-party notices' reasons."""
    found: list[str] = []
    try:
        with httpx.stream("GET", f"{h.api}/agents/{agent}/events", headers={"Authorization": f"Bearer {token}"},
                          timeout=httpx.Timeout(seconds, connect=5)) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and "three_party_notice" in line:
                    found.append(line)
    except httpx.ReadTimeout:
        pass
    return found


def setup_call(h: Hotline, caller: str, hold_ms: int = 30000, taker_hangs_up_ms: int = 0,
               **agency: Any) -> tuple[Any, Any, Any, str]:
    """Call taker 2001 (hanging up after ``taker_hangs_up_ms`` when set) logged in, the agency's
    phone up, an API token, and a citizen talking with 2001."""
    taker = h.agent_phone("2001", hangup_after_ms=taker_hangs_up_ms)
    agency_peer = h.agency_phone(**agency)
    h.desk("log_in", "2001")
    token = h.api_token("taker2001", agent_id="2001")
    citizen = talking_call(h, "2001", caller, hold_ms=hold_ms)
    return taker, agency_peer, citizen, token


def test_agency_busy_on_every_number_brings_the_citizen_back_and_says_why(fresh: Hotline) -> None:
    """Without a chosen number the agency's lines open now are tried in order (the office line
    is closed at night, the duty line not); each busy: the citizen is back with the call taker."""
    import threading

    taker, agency, citizen, token = setup_call(fresh, "13700000302", busy=True)
    heard: list[str] = []
    listener = threading.Thread(target=lambda: heard.extend(notices(fresh, token, "2001", 8)), daemon=True)
    listener.start()
    time.sleep(1)
    reply = post(fresh, token, "/agents/2001/call/consult", {"agency_id": "traffic_police"})
    assert reply.status_code == 200, reply.text
    fresh.wait_for(lambda: three_party_state(fresh, token, "2001") == "two_party", 20,
                   "the citizen was not brought back: " + str(current(fresh, token, "2001")))
    listener.join(timeout=15)
    assert any('"busy"' in n for n in heard), heard
    tried = agency.messages().count("INVITE sip:0531860100")
    assert tried >= 1
    assert citizen.wait(timeout=60) == 0, citizen.errors()  # never hung up on: it stayed its 30 s
    rec = fresh.record("13700000302", timeout=30)
    assert rec["outcome"] == "answered" and rec["attrs"]["handling"] == "direct", rec["attrs"]
    legs = [e["data"] for e in fresh.store.events(rec["call_id"]) if e["kind"] == "agency_leg"]
    assert legs and all(leg["end"] == "busy" for leg in legs), legs
    print(f"\nagency busy: {len(legs)} number(s) tried, the citizen back with the call taker; desk told: "
          f"{len(heard)} notice(s)")


def test_agency_no_answer_brings_the_citizen_back(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000303", answer=False)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE}, state="consult_dialing")
    fresh.wait_for(lambda: three_party_state(fresh, token, "2001") == "two_party", 20,
                   "no-answer did not bring the citizen back: " + str(current(fresh, token, "2001")))
    assert fresh.agent_state("2001")["state"] == "on_call"
    assert citizen.wait(timeout=60) == 0, citizen.errors()
    legs = [e["data"] for e in fresh.store.events(fresh.record("13700000303", 30)["call_id"])
            if e["kind"] == "agency_leg"]
    assert [leg["end"] for leg in legs] == ["no_answer"], legs


def test_cancel_of_a_consult_hangs_up_the_agency_only(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000304", hold_ms=20000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE})
    reply = post(fresh, token, "/agents/2001/call/cancel")
    assert reply.status_code == 200 and reply.json()["three_party"]["state"] == "two_party", reply.text
    fresh.wait_for(lambda: "BYE sip:" in agency.messages(), 10, "the agency leg was not hung up")
    assert fresh.agent_state("2001")["state"] == "on_call"
    assert citizen.wait(timeout=60) == 0, citizen.errors()
    rec = fresh.record("13700000304", 30)
    assert rec["attrs"]["handling"] == "consulted", rec["attrs"]


def test_citizen_hanging_up_during_a_consult_leaves_the_call_taker_with_the_agency(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000305", hold_ms=9000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE})
    assert citizen.wait(timeout=30) == 0, citizen.errors()  # the citizen hangs up while on hold
    time.sleep(1)
    assert three_party_state(fresh, token, "2001") == "consulting"
    assert "BYE sip:" not in taker.messages()  # the call taker still talks with the agency
    reply = post(fresh, token, "/agents/2001/call/leave")
    assert reply.status_code == 200, reply.text
    rec = fresh.record("13700000305", 30)
    assert rec["outcome"] == "answered" and rec["attrs"]["who_left_first"] == "citizen", rec["attrs"]
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 15,
                   "call taker stuck: " + str(fresh.agent_state("2001")))


def test_agency_hanging_up_in_the_conference_leaves_citizen_and_call_taker(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000306", hold_ms=20000, hangup_after_ms=4000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE}, state="conference",
               path="/agents/2001/call/conference")
    fresh.wait_for(lambda: three_party_state(fresh, token, "2001") == "two_party", 20,
                   "the agency's hang-up was not seen: " + str(current(fresh, token, "2001")))
    assert fresh.agent_state("2001")["state"] == "on_call"
    assert citizen.wait(timeout=60) == 0, citizen.errors()
    rec = fresh.record("13700000306", 30)
    assert rec["attrs"]["handling"] == "three_party" and rec["attrs"]["who_left_first"] == "agency", rec["attrs"]


def test_call_taker_hanging_up_in_the_conference_is_a_leave(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000307", hold_ms=20000, taker_hangs_up_ms=6000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE}, state="conference",
               path="/agents/2001/call/conference")
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 20,
                   "the call taker's hang-up was not a leave: " + str(fresh.agent_state("2001")))
    assert citizen.wait(timeout=60) == 0, citizen.errors()  # citizen and agency went on to the end
    rec = fresh.record("13700000307", 30)
    assert rec["attrs"]["handling"] == "transferred" and rec["attrs"]["who_left_first"] == "agent", rec["attrs"]


def test_blind_transfer_hands_the_citizen_to_the_agency(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000308", hold_ms=15000)
    reply = post(fresh, token, "/agents/2001/call/transfer",
                 {"agency_id": "traffic_police", "number": DUTY_LINE, "mode": "blind"})
    assert reply.status_code == 200, reply.text
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 20,
                   "the call taker was not released: " + str(fresh.agent_state("2001")))
    assert citizen.wait(timeout=60) == 0, citizen.errors()
    rec = fresh.record("13700000308", 30)
    assert rec["attrs"]["handling"] == "transferred", rec["attrs"]


def test_attended_transfer_consults_then_hands_the_citizen_over(fresh: Hotline) -> None:
    """Consult (the citizen on hold), then complete: the call taker is released, citizen and
    agency talk on (both heard in the room's recording), and the record says transferred."""
    taker = fresh.agent_phone("2001")
    agency = fresh.agency_phone(speak=AGENCY_HZ)
    fresh.desk("log_in", "2001")
    token = fresh.api_token("taker2001", agent_id="2001")
    citizen = talking_call(fresh, "2001", "13700000311", hold_ms=22000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE})
    time.sleep(1)  # the call taker briefs the agency
    reply = post(fresh, token, "/agents/2001/call/transfer/complete")
    assert reply.status_code == 200, reply.text
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 15,
                   "the call taker was not released: " + str(fresh.agent_state("2001")))
    assert "BYE sip:" in taker.messages() and "BYE sip:" not in agency.messages().split("ACK sip:")[0]
    assert citizen.wait(timeout=60) == 0, citizen.errors()  # handed over, never hung up on
    rec = fresh.record("13700000311", timeout=30)
    assert rec["attrs"]["handling"] == "transferred" and rec["attrs"]["who_left_first"] == "agent", rec["attrs"]
    assert [r["agency_id"] for r in fresh.store.legs(rec["call_id"])] == ["traffic_police"]
    room = fresh.settings.asterisk_root / rec["attrs"]["conference_recording"].lstrip("/")
    fresh.wait_for(lambda: room.exists() and duration(room) > 10, 10, f"no room recording at {room}")
    levels = tone_levels(room, -6, -1, (CITIZEN_HZ, AGENCY_HZ))
    assert levels[CITIZEN_HZ] > 0.05 and levels[AGENCY_HZ] > 0.05, levels


def test_a_number_outside_the_directory_is_refused_and_never_dialled(fresh: Hotline) -> None:
    taker, agency, citizen, token = setup_call(fresh, "13700000309", hold_ms=8000)
    for number in ("110", "13900000000", "sip:evil@10.0.0.1", "053186010099@evil", "*#06#"):
        reply = post(fresh, token, "/agents/2001/call/consult", {"agency_id": "traffic_police", "number": number})
        assert reply.status_code == 422, (number, reply.text)  # not a directory number, or not a number at all
        assert reply.json()["error"] in ("number_not_in_directory", "invalid_request"), (number, reply.text)
    assert "INVITE" not in agency.messages()
    assert citizen.wait(timeout=60) == 0, citizen.errors()


def test_controller_killed_during_a_three_party_call_the_call_goes_on_and_is_stored_once(fresh: Hotline) -> None:
    """kill -9 while citizen, call taker and agency talk: Asterisk keeps the room; the restarted
    controller finds the call from its saved state and writes its record once it ends."""
    import os
    import signal

    from hotline.ops import daemons

    taker, agency, citizen, token = setup_call(fresh, "13700000310", hold_ms=22000, taker_hangs_up_ms=30000)
    consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE}, state="conference",
               path="/agents/2001/call/conference")
    pid = int(daemons.pid_file(fresh.settings, "controller").read_text())
    os.kill(pid, signal.SIGKILL)
    fresh.wait_for(lambda: not daemons.process_alive(pid), 10, "controller survived SIGKILL")
    time.sleep(2)
    fresh.start_controller()
    assert citizen.wait(timeout=60) == 0, citizen.errors()  # the conversation went on to its end
    assert "BYE sip:" not in agency.messages().split("ACK sip:")[0]  # nobody hung up the agency early
    rec = fresh.record("13700000310", timeout=40)
    assert (rec["outcome"], rec["agent_id"]) == ("answered", "2001") and rec["attrs"].get("recovered_by"), rec
    # the room's value was saved beside the call's: the recovered record holds the legs too
    assert rec["attrs"]["handling"] == "three_party" and rec["attrs"]["agencies"] == ["traffic_police"], rec["attrs"]
    legs = fresh.store.legs(rec["call_id"])
    assert [(r["agency_id"], r["number"]) for r in legs] == [("traffic_police", DUTY_LINE)] and legs[0]["answered_at"]
    time.sleep(2)
    assert len([r for r in fresh.store.recent(50) if r["caller"] == "13700000310"]) == 1
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 40,
                   "the call taker stayed stuck: " + str(fresh.agent_state("2001")))


def test_latency_from_the_api_request_to_the_asterisk_event_that_shows_it_done(fresh: Hotline) -> None:
    """join: request to the citizen's ConfbridgeJoin; leave and blind transfer: request to the
    call taker's Hangup (the controller logs each "done in"); median and p99 printed."""
    import re
    import statistics

    fresh.agent_phone("2001")
    agency = fresh.agency_phone()
    fresh.desk("log_in", "2001")
    token = fresh.api_token("taker2001", agent_id="2001")
    marker = len(fresh.controller_log(tail=10**9))
    for n in range(8):
        citizen = talking_call(fresh, "2001", f"137000004{n:02d}", hold_ms=9000)
        if n < 5:
            consulting(fresh, token, {"agency_id": "traffic_police", "number": DUTY_LINE})
            assert post(fresh, token, "/agents/2001/call/join").status_code == 200
            time.sleep(1)  # three talk a moment
            assert post(fresh, token, "/agents/2001/call/leave").status_code == 200
        else:
            assert post(fresh, token, "/agents/2001/call/transfer",
                        {"agency_id": "traffic_police", "number": DUTY_LINE, "mode": "blind"}).status_code == 200
        assert citizen.wait(timeout=60) == 0, citizen.errors()
        fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("available", "wrap_up"), 30,
                       "call taker not back")
        time.sleep(3.5)  # the test queues' wrap-up
    log = fresh.controller_log(tail=10**9)[marker:]
    figures: dict[str, list[float]] = {}
    for op, ms in re.findall(r": (\w+) done in ([0-9.]+) ms", log):
        figures.setdefault(op, []).append(float(ms))
    assert set(figures) >= {"join", "leave", "blind_transfer"}, figures
    for op, values in sorted(figures.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
        print(f"\n{op}: {len(values)} calls, median {statistics.median(values):.1f} ms, p99 {p99:.1f} ms "
              f"(API request to the Asterisk event)")


AGENCY_LINE = """
name: agency_line
description: a number that hands the citizen straight to the traffic police's duty line
dnis: ["12350"]
language: zh
line: main
fallback_queue: main
start: announce
nodes:
  announce: {type: play, prompts: [to_traffic_police_now], next: to_traffic_police}
  to_traffic_police: {type: transfer, agency: traffic_police}
prompts:
  to_traffic_police_now:
    zh: 正在为您转接交警部门，请稍候。
"""


@pytest.fixture
def agency_line(fresh: Hotline) -> Any:
    flow = fresh.settings.config_dir / "ivr" / "flows" / "agency_line.yaml"
    flow.write_text(AGENCY_LINE)
    fresh.reload()
    yield fresh
    flow.unlink()
    fresh.reload()


@pytest.mark.parametrize("agency_answers", [True, False])
def test_an_ivr_transfer_reaches_the_agency_or_else_a_person(agency_line: Hotline, agency_answers: bool) -> None:
    """A ``transfer`` node dials the agency's numbers open now, through the directory only;
    when none answers the citizen is never hung up on: a call taker takes the call."""
    h = agency_line
    agency = h.agency_phone(busy=not agency_answers)  # busy on every number, or it answers
    h.agent_phone("2001")
    h.desk("log_in", "2001")
    caller = "13700000451" if agency_answers else "13700000452"
    citizen = h.call(caller, dnis="12350", hold_ms=15000)
    assert citizen.wait(timeout=60) == 0, citizen.errors()
    rec = h.record(caller, timeout=30)
    legs = h.store.legs(rec["call_id"])
    assert legs and all(leg["agency_id"] == "traffic_police" and leg["mode"] == "ivr_transfer" for leg in legs), (
        rec, [e["kind"] for e in h.store.events(rec["call_id"])], h.controller_log(tail=2500))
    h.wait_for(lambda: "INVITE sip:0531860100" in agency.messages(), 10,  # a traffic police number, and only that
               "the agency's phone saw no INVITE: " + str(legs) + agency.output()[-800:])
    if agency_answers:
        assert (rec["outcome"], rec["agent_id"]) == ("transferred", ""), rec
        assert rec["attrs"]["handling"] == "transferred" and legs[-1]["answered_at"] is not None
    else:
        assert (rec["outcome"], rec["agent_id"]) == ("answered", "2001"), rec  # a person took it
        assert all(leg["answered_at"] is None for leg in legs)


def test_an_operation_sent_to_the_other_controller_is_forwarded_to_the_one_holding_the_call(fresh: Hotline) -> None:
    """Two controllers share the calls; the call taker's desk talks to whichever API it was
    given. Consult, join and leave sent to the controller that does NOT hold the call are
    carried out by the one that does (hotline/api/forwarding.py), not refused 409 not_here."""
    fresh.agent_phone("2001")
    agency = fresh.agency_phone()
    fresh.desk("log_in", "2001")
    token = fresh.api_token("taker2001fw", agent_id="2001")
    fresh.start_second_controller()
    try:
        citizen = talking_call(fresh, "2001", "13700000391", hold_ms=25000)
        call_id = fresh.agent_state("2001")["call_id"]
        owner = fresh.redis.hget(fresh.keys.call_state(call_id), "owner")
        holder = fresh.redis.get(fresh.keys.alive(owner))
        apis = {f"http://127.0.0.1:{fresh.settings.http_port}", f"http://127.0.0.1:{fresh.settings.http_port + 1}"}
        assert holder in apis, (holder, apis)
        [other] = apis - {holder}
        auth = {"Authorization": f"Bearer {token}"}
        reply = httpx.post(f"{other}/api/v1/agents/2001/call/consult", headers=auth, timeout=20,
                           json={"agency_id": "traffic_police", "number": DUTY_LINE})
        assert reply.status_code == 200, reply.text
        fresh.wait_for(lambda: (httpx.get(f"{other}/api/v1/agents/2001/call", headers=auth, timeout=10).json()
                                .get("three_party") or {}).get("state") == "consulting", 20,
                       "never consulting through the other controller")
        assert f"INVITE sip:{DUTY_LINE}@" in agency.messages()
        for step, state in (("join", "conference"), ("leave", None)):
            reply = httpx.post(f"{other}/api/v1/agents/2001/call/{step}", headers=auth, timeout=20)
            assert reply.status_code == 200, reply.text
            if state:
                assert reply.json()["three_party"]["state"] == state, reply.text
        fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 15,
                       "the call taker was not released")
        assert citizen.wait(timeout=60) == 0, citizen.errors()
        other_log = fresh.controller_log("controller2") + fresh.controller_log()
        assert "forwarded to its controller" in other_log
    finally:
        fresh.stop_second_controller()
