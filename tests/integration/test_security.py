"""What an attacker or a hostile caller ID can do: nothing. Each test here failed before the
fix it guards (issue 11): the carrier impersonated by name, a citizen refused for having an
agent's number, callbacks dialling any caller ID, an AMI account that could rewrite the
dialplan. Assertions are on what the SIP peers saw and on the database."""
from __future__ import annotations

import socket
import time

import pytest

from tests.integration.harness import Hotline

pytestmark = pytest.mark.asterisk

INTRUDER = "127.0.0.2"  # a second loopback address: a host that is not the carrier (127.0.0.1)


def kinds(h: Hotline, rec: dict) -> list[str]:
    return [e["kind"] for e in h.store.events(rec["call_id"])]


def test_a_host_naming_the_trunk_is_challenged_and_reaches_nobody(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    intruder = fresh.call("trunk", digits="1", hold_ms=3000, source_ip=INTRUDER)
    assert intruder.wait(timeout=60) != 0, "a call from a host that is not the carrier was accepted"
    assert "401 Unauthorized" in intruder.messages(), intruder.messages()[-2000:]
    assert "200 OK" not in intruder.messages().split("INVITE sip:", 1)[-1].split("\n\n")[0]
    assert not [r for r in fresh.store.recent(50) if r["caller"] == "trunk"], "the intruder's call reached the IVR"
    assert fresh.agent_state("2002")["calls_taken"] == "0"


def test_a_citizen_whose_number_is_an_agent_id_is_still_a_citizen(fresh: Hotline) -> None:
    fresh.agent_phone("2002")
    fresh.desk("log_in", "2002")
    citizen = fresh.call("2001", digits="1", hold_ms=3000)  # 2001 is also an agent's login
    assert citizen.wait(timeout=60) == 0, citizen.errors() + citizen.messages()[-2000:]
    assert "401 Unauthorized" not in citizen.messages()
    rec = fresh.record("2001")
    assert (rec["outcome"], rec["agent_id"]) == ("answered", "2002"), rec


@pytest.mark.parametrize("caller_id", ["0044909879001", "0044909879002&PJSIP/0033909555"])
def test_a_hostile_caller_id_is_never_offered_a_callback_nor_dialled(fresh: Hotline, caller_id: str) -> None:
    """An international number, and one that would add a second Dial target: the waiting
    caller hears that a callback is not possible, pressing 1 books nothing, and the
    carrier's side (the citizen phone the outbound trunk reaches) never sees an INVITE."""
    phone = fresh.citizen_phone(hangup_after_ms=2000)
    fresh.agent_phone("2002")  # logged out: nobody answers the province line
    # province line: announcements every 3 s, callback offered after 2 s (tests' queues.yaml)
    caller = fresh.call(caller_id, dnis="12346", digits="1", digit_delay_ms=9000, hold_ms=14000)
    assert caller.wait(timeout=60) == 0, caller.errors()
    rec = fresh.record(caller_id)
    events = fresh.store.events(rec["call_id"])
    refused = [e for e in events if e["kind"] == "callback_refused"]
    assert refused, [e["kind"] for e in events]
    assert "callback_booked" not in kinds(fresh, rec)
    assert rec["outcome"] == "abandoned", rec
    assert refused[0]["data"]["rule"] == ("international" if caller_id.isdigit() else "not a number")
    fresh.desk("log_in", "2002")  # an agent free now: a booked callback would be placed at once
    time.sleep(3)
    assert "INVITE sip:" not in phone.messages(), phone.messages()[-2000:]
    assert not [r for r in fresh.store.recent(50) if r["attrs"].get("callback_of") == rec["call_id"]]


def _ami(port: int, *actions: dict[str, str]) -> list[str]:
    """Log in with the controller's account, send each action, return each reply's text."""
    replies = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("r", encoding="utf-8", newline="\r\n")
        reader.readline()  # banner
        for n, action in enumerate(actions):
            text = "".join(f"{k}: {v}\r\n" for k, v in {**action, "ActionID": str(n)}.items()) + "\r\n"
            sock.sendall(text.encode())
            while True:  # skip events until the reply to this action
                block = []
                while (line := reader.readline()) not in ("\r\n", ""):
                    block.append(line.strip())
                if any(b == f"ActionID: {n}" for b in block) and any(b.startswith("Response:") for b in block):
                    replies.append("\n".join(block))
                    break
    return replies


def test_the_controllers_ami_account_cannot_read_secrets_run_commands_or_edit_the_dialplan(fresh: Hotline) -> None:
    s = fresh.settings
    login, *refused, allowed = _ami(
        s.ami_port,
        {"Action": "Login", "Username": s.ami_user, "Secret": s.ami_secret, "Events": "off"},
        {"Action": "GetConfig", "Filename": "pjsip.conf"},
        {"Action": "UpdateConfig", "SrcFilename": "extensions.conf", "DstFilename": "extensions.conf",
         "Reload": "yes", "Action-000000": "NewCat", "Cat-000000": "evil"},
        {"Action": "Command", "Command": "core show version"},
        {"Action": "ModuleLoad", "Module": "res_pjsip.so", "LoadType": "reload"},
        {"Action": "Filter", "Operation": "Add", "MatchCriteria": "action(include),name(Newexten)"},
        {"Action": "Originate", "Channel": "Local/s@hotline-record", "Application": "System",
         "Data": "touch /tmp/pwned", "Async": "true"},
        {"Action": "CoreShowChannels"},
    )
    assert "Response: Success" in login, login
    for reply in refused:
        assert "Response: Error" in reply, reply
    assert "Response: Success" in allowed, allowed  # what the controller does need still works
