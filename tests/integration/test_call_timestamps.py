"""Every timestamp of a stored call is the moment it happened (issue 16, point 0), checked
against the SIP peers' own message logs (SIPp stamps each message it sends or receives):
a caller abandoning in the queue or in the greeting, the agent's answer, the end of the talk
and the survey after it, and the agent's wrap-up ending in the live state on time."""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import NamedTuple

import pytest

from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk

CLOSE = 0.15  # seconds: a message's log stamp against the record (loopback, one host)
_BLOCK = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(UDP message (?:sent|received)).*?\n\n(.*?)\n",
                    re.M | re.S)


class Sip(NamedTuple):
    at: float
    way: str      # "sent" | "received"
    line: str     # the start line: "BYE sip:..." or "SIP/2.0 200 OK"
    cseq: str


def sip_log(messages: str) -> list[Sip]:
    """The messages of a SIPp peer's log (``-trace_msg``), with their local-time stamps."""
    found = []
    for match in _BLOCK.finditer(messages):
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").astimezone(timezone.utc).timestamp()
        block = messages[match.start(3):match.start(3) + 2000]
        cseq = re.search(r"^CSeq:\s*\d+\s+(\w+)", block, re.M | re.I)
        found.append(Sip(stamp, "sent" if "sent" in match.group(2) else "received", match.group(3).strip(),
                         cseq.group(1) if cseq else ""))
    return found


def first(log: list[Sip], way: str, start: str, cseq: str = "") -> float:
    for m in log:
        if m.way == way and m.line.startswith(start) and (not cseq or m.cseq == cseq):
            return m.at
    raise AssertionError(f"no {way} {start} {cseq} in {[(m.way, m.line[:30], m.cseq) for m in log]}")


def epoch(value: datetime) -> float:
    return value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp()


def test_a_caller_who_gives_up_is_stored_with_the_moment_they_hung_up(fresh: Hotline) -> None:
    """Nobody logged in: one caller waits in the queue and hangs up, one hangs up in the
    greeting. Before, the waiting one's end was noticed at the session's next 2 s check and
    the greeting one stored a wait."""
    waiting = fresh.call("13700000701", digits="1", hold_ms=7300)
    greeting = fresh.call("13700000702", hold_ms=1200)
    assert waiting.wait(timeout=60) == 0 and greeting.wait(timeout=60) == 0
    rec = fresh.record("13700000701")
    bye = first(sip_log(waiting.messages()), "sent", "BYE")
    assert rec["outcome"] == "abandoned" and rec["queued_at"] is not None, rec
    assert abs(epoch(rec["ended_at"]) - bye) < CLOSE, (epoch(rec["ended_at"]) - bye, rec)
    assert abs(rec["wait_seconds"] - (bye - epoch(rec["queued_at"]))) < CLOSE, rec
    early = fresh.record("13700000702")
    assert early["queued_at"] is None and early["wait_seconds"] is None, early  # never in line: no wait
    assert abs(epoch(early["ended_at"]) - first(sip_log(greeting.messages()), "sent", "BYE")) < CLOSE, early
    print(f"\nabandoned in the queue: stored end {epoch(rec['ended_at']) - bye:+.3f} s from the caller's BYE; "
          f"in the greeting: {epoch(early['ended_at']) - first(sip_log(greeting.messages()), 'sent', 'BYE'):+.3f} s")


def test_answer_talk_survey_and_wrap_up_are_stored_when_they_happened(fresh: Hotline) -> None:
    """The agent answers, talks 4 s and hangs up; the citizen stays for the survey. The
    answer, the talk's end and the call's end each match the phones' logs; the agent is
    available in the live state when the wrap-up (3 s in tests) is over."""
    agent = fresh.agent_phone("2001", hangup_after_ms=4000)
    fresh.desk("log_in", "2001")
    citizen = fresh.call("13700000703", digits="1", hold_ms=30000)
    fresh.wait_for(lambda: any(m.way == "sent" and m.line.startswith("BYE") for m in sip_log(agent.messages())),
                   40, "the agent never hung up")
    talk_end = first(sip_log(agent.messages()), "sent", "BYE")
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") == "available", 10,
                   "the agent stayed in wrap-up: " + str(fresh.agent_state("2001")))
    free_seen = time.time()
    assert citizen.wait(timeout=90) == 0, citizen.errors()
    rec = fresh.record("13700000703", timeout=30)
    agent_log, citizen_log = sip_log(agent.messages()), sip_log(citizen.messages())
    answer = first(agent_log, "sent", "SIP/2.0 200", "INVITE")
    assert abs(epoch(rec["answered_at"]) - answer) < CLOSE, (epoch(rec["answered_at"]) - answer)
    answered = [e for e in fresh.store.events(rec["call_id"]) if e["kind"] == "answered"]
    assert len(answered) == 1 and abs(epoch(answered[0]["at"]) - answer) < CLOSE, answered
    assert abs(rec["attrs"]["talk_ended_at"] - talk_end) < CLOSE, (rec["attrs"]["talk_ended_at"] - talk_end)
    assert abs(rec["talk_seconds"] - (talk_end - answer)) < CLOSE, rec["talk_seconds"]
    call_end = [m.at for m in citizen_log if m.line.startswith("BYE")][0]  # whoever sent it
    assert abs(epoch(rec["ended_at"]) - call_end) < CLOSE, (epoch(rec["ended_at"]) - call_end)
    survey = call_end - talk_end
    assert survey > 1.0, survey  # the survey is in the record: between the talk's end and the call's
    wrap_over = talk_end + 3.0  # the test queues' wrap-up
    assert free_seen - wrap_over < 1.0, free_seen - wrap_over
    print(f"\nanswer {epoch(rec['answered_at']) - answer:+.3f} s, talk end {rec['attrs']['talk_ended_at'] - talk_end:+.3f} s, "
          f"call end {epoch(rec['ended_at']) - call_end:+.3f} s from the phones' logs; survey {survey:.1f} s; "
          f"agent free {free_seen - wrap_over:.2f} s after the wrap-up's end")
