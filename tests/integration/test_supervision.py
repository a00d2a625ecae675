"""A supervisor steps into a call (issue 16, point 4) on real calls: three baresip phones (a
citizen calling the no-menu number 12349, the call taker 2009, the supervisor's phone 9001),
each sending a tone of its own and writing what it receives. Listen: the supervisor hears
both and nobody hears the supervisor; whisper: the call taker alone hears the supervisor;
barge: both do. Every session has its audit row."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from recordings.store import SupervisorSessionStore
from tests.integration.audio import tone_levels
from tests.integration.harness import BASE, SOFTPHONE_SEAT, SUPERVISOR_PHONE, Hotline
from tests.integration.softphone import Baresip
from tests.integration.test_softphones import hotline_cli, registered, started

pytestmark = pytest.mark.asterisk

SEAT, PHONE = SOFTPHONE_SEAT["id"], SUPERVISOR_PHONE["id"]
CITIZEN_HZ, TAKER_HZ, SUPERVISOR_HZ = 425.0, 1000.0, 700.0
HEARD = 0.02  # a tone's share of what a phone received, above which it was heard


def heard(files: list[Path], hz: float) -> float:
    """The tone's share of the energy a phone received in its last call (the middle of it)."""
    assert files, "the phone wrote no received audio"
    return tone_levels(files[-1], 1.0, -1.0, (hz,))[hz]


def ended(h: Hotline) -> list[Any]:
    now = datetime.now(timezone.utc)
    return SupervisorSessionStore(h.store.engine).between(now - timedelta(minutes=5), now + timedelta(minutes=1))


def supervise(h: Hotline, token: str, mode: str) -> dict[str, Any]:
    reply = httpx.post(f"{h.api}/agents/{SEAT}/supervise", json={"mode": mode, "phone": PHONE},
                       headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
def test_listen_whisper_and_barge_reach_exactly_who_they_should(fresh: Hotline, mode: str) -> None:
    for seat, password in ((SEAT, "s0ftphone-2009"), (PHONE, "superv1sor-9001")):
        done = hotline_cli(fresh, "agent", "sip-password", seat, HOTLINE_NEW_PASSWORD=password)
        assert done.returncode == 0, done.stderr
    taker = started(fresh, "s0ftphone-2009", BASE + 1740, tone_hz=TAKER_HZ)
    supervisor = Baresip(PHONE, "superv1sor-9001", fresh.settings.sip_port, BASE + 1760, tone_hz=SUPERVISOR_HZ)
    citizen: Baresip | None = None
    try:
        registered(fresh, taker)
        time.sleep(1.0)  # the supervisor's phone registers too
        fresh.desk("log_in", SEAT)
        citizen = Baresip("13700000801", "", fresh.settings.sip_port, BASE + 1780, tone_hz=CITIZEN_HZ,
                          host="127.0.0.1", dial=f"sip:12349@127.0.0.1:{fresh.settings.sip_port}")
        fresh.wait_for(lambda: fresh.agent_state(SEAT).get("state") == "on_call", 30,
                       "the call taker never answered: " + citizen.output()[-1500:])
        token = fresh.api_token("sup9001", role="supervisor")
        session = supervise(fresh, token, mode)
        time.sleep(6)  # everyone talks a while
        stopped = httpx.delete(f"{fresh.api}/supervision/{session['session_id']}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert stopped.status_code == 204, stopped.text
        time.sleep(1)
        citizen.terminate()
        fresh.wait_for(lambda: fresh.agent_state(SEAT).get("state") != "on_call", 20, "the call did not end")
        taker.terminate()
        supervisor.terminate()

        got = {"supervisor": supervisor.received(), "taker": taker.received(), "citizen": citizen.received()}
        sup_citizen, sup_taker = heard(got["supervisor"], CITIZEN_HZ), heard(got["supervisor"], TAKER_HZ)
        taker_hears_sup, citizen_hears_sup = heard(got["taker"], SUPERVISOR_HZ), heard(got["citizen"], SUPERVISOR_HZ)
        print(f"\n{mode}: the supervisor hears citizen {sup_citizen:.2f}, call taker {sup_taker:.2f}; "
              f"the supervisor is heard by the call taker {taker_hears_sup:.3f}, by the citizen {citizen_hears_sup:.3f}")
        assert sup_citizen > HEARD and sup_taker > HEARD  # every mode hears both sides
        assert (taker_hears_sup > HEARD) == (mode in ("whisper", "barge"))
        assert (citizen_hears_sup > HEARD) == (mode == "barge")
        (row,) = [r for r in SupervisorSessionStore(fresh.store.engine).open_sessions() + ended(fresh)
                  if r.id == session["session_id"]]
        assert (row.supervisor, row.supervisor_phone, row.agent_id, row.mode) == ("sup9001", PHONE, SEAT, mode)
        assert row.ended_at is not None and row.channel.startswith(f"PJSIP/{SEAT}-")
    finally:
        for phone in (taker, supervisor, citizen):
            if phone is not None:
                phone.stop()
        fresh.desk("force_log_out", SEAT, "supervision test over")
