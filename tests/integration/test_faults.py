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
    rung = (invites(first), invites(second))
    assert rung == (1, 0), f"the citizen was connected to a second agent: INVITEs {rung}"
    fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 30,
                   "2001 stuck: " + str(fresh.agent_state("2001")) + fresh.controller_log())
    freed_at = time.monotonic()
    talked = fresh.record("13700000001", timeout=30)  # written by the restarted controller, from the saved state
    assert (talked["outcome"], talked["agent_id"], talked["source"]) == ("answered", "2001", "controller"), talked
    assert talked["attrs"].get("recovered_by"), talked["attrs"]
    assert 5 <= talked["talk_seconds"] <= 20, talked  # the agent talked 8 s; the end is seen one sweep late at most
    fresh.desk("log_out", "2002")
    after = fresh.call("13700000002", digits="1", hold_ms=3000)
    assert after.wait(timeout=60) == 0, after.errors()
    rec = fresh.record("13700000002")
    assert (rec["source"], rec["outcome"], rec["agent_id"]) == ("controller", "answered", "2001"), rec
    print(f"\nkill -9 mid-talk: controller back {back_at - killed_at:.1f} s after the kill; agent free "
          f"{freed_at - killed_at:.1f} s after it; INVITEs for that call: first agent {rung[0]}, second {rung[1]}; "
          f"the call's record: recovered, talk {talked['talk_seconds']:.1f} s (8 s talked)")


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


class PrivatePostgres:
    """A PostgreSQL server of this test's own (Debian's binaries, a throw-away cluster), so
    it can be stopped and started without touching the machine's."""

    def __init__(self, port: int) -> None:
        import glob
        import tempfile

        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = tempfile.mkdtemp(prefix="hl-pg-")
        self.port = port
        os.chown(self.dir, *self._ids())
        self._as_postgres(f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres")

    @staticmethod
    def _ids() -> tuple[int, int]:
        import pwd

        entry = pwd.getpwnam("postgres")
        return entry.pw_uid, entry.pw_gid

    def _as_postgres(self, *argv: str) -> None:
        import subprocess

        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-w", "-l", f"{self.dir}/log",
                          "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        import shutil

        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def test_the_database_down_for_30_s_loses_no_record_and_writes_none_twice(fresh: Hotline) -> None:
    from tests.integration.harness import BASE
    from hotline.store.calls import CallStore, make_engine

    pg = PrivatePostgres(BASE + 90)
    pg.start()
    fresh.stop_controller()
    try:
        fresh.start_controller(db_url=pg.url)
        for agent in ("2001", "2002"):
            fresh.agent_phone(agent, hangup_after_ms=1500)
            fresh.desk("log_in", agent)
        callers = [f"1370000{n:04d}" for n in range(10)]

        def place(batch: list[str]) -> None:
            peers = [fresh.call(c, digits="1", hold_ms=6000) for c in batch]
            assert all(p.wait(timeout=90) == 0 for p in peers), [p.errors() for p in peers]

        place(callers[:2])
        pg.stop()
        down_at = time.monotonic()
        for i in range(2, 8, 2):  # 6 calls while the database is down (about 30 s)
            place(callers[i:i + 2])
        while time.monotonic() - down_at < 30:
            time.sleep(0.5)
        pg.start()
        place(callers[8:])
        store = CallStore(make_engine(pg.url))

        def stored() -> list[dict]:
            return [r for r in store.recent(100) if r["caller"] in callers]

        rows = fresh.wait_for(lambda: len(stored()) == 10 and stored(), 60,
                              "records missing after the database came back:\n" + fresh.controller_log())
        assert sorted(r["caller"] for r in rows) == callers  # each call once
        assert all(r["outcome"] == "answered" for r in rows), [r["outcome"] for r in rows]
        spooled = fresh.controller_log(tail=200_000).count("spooled to")
        store.engine.dispose()
        print(f"\ndatabase down {time.monotonic() - down_at:.0f} s: 10 calls, 10 records, none twice; "
              f"{spooled} record(s) went through the spool")
        assert spooled >= 6
    finally:
        fresh.stop_controller()
        fresh.start_controller()
        pg.remove()


@pytest.mark.parametrize("persistence", ["none", "aof"])
def test_redis_killed_and_back_serves_calls_from_the_controller_again(fresh: Hotline, persistence: str) -> None:
    """Redis killed under calls, back 3 s later empty (no persistence, as many run it) or with
    its data (append-only file): during the outage calls fall back to app_queue; afterwards
    the controller answers again, with the agents as they were (rebuilt when Redis lost them)."""
    import asyncio
    import shutil
    import subprocess
    import tempfile

    from tests.integration.harness import BASE, _desk_action

    port, data = BASE + 78, tempfile.mkdtemp(prefix="hl-redis-")
    url = f"redis://127.0.0.1:{port}/0"
    argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--dir", data, "--appendonly", "yes" if persistence == "aof" else "no"]

    def redis_up() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fresh.wait_for(lambda: daemons.redis_answers(url), 10, "private redis did not start")
        return proc

    server = redis_up()
    for agent in ("2001", "2002"):
        fresh.agent_phone(agent, hangup_after_ms=1500)
    fresh.stop_controller()
    try:
        fresh.start_controller(redis_url=url)
        on_private = fresh.settings.with_overrides(redis_url=url)
        for agent in ("2001", "2002"):
            asyncio.run(_desk_action(on_private, "log_in", agent))
        before = fresh.call("13700000101", digits="1", hold_ms=5000)
        assert before.wait(timeout=60) == 0, before.errors()
        server.terminate()
        server.wait(timeout=10)
        killed_at = time.monotonic()
        during = fresh.call("13700000102", digits="1", hold_ms=5000)
        assert during.wait(timeout=60) == 0, during.errors()
        server = redis_up()
        back_at = time.monotonic()
        time.sleep(2)
        after = fresh.call("13700000103", digits="1", hold_ms=5000)
        assert after.wait(timeout=60) == 0, after.errors()
        rec = fresh.record("13700000103", timeout=30)
        answered_again = time.monotonic()
        assert (rec["source"], rec["outcome"]) == ("controller", "answered"), (rec, fresh.controller_log(tail=4000))
        log = fresh.controller_log(tail=200_000)
        log = log[log.rindex("FastAGI listening"):]
        if persistence == "none":
            assert "Redis had no record of 5 agent(s)" in log and "2 logged in" in log, log[-3000:]  # 4 + the softphone seat
        else:
            assert "Redis had no record" not in log, log[-3000:]
    finally:
        server.kill()
        fresh.stop_controller()
        fresh.start_controller()  # back on the shared Redis: reconciles the fallback call
        shutil.rmtree(data, ignore_errors=True)
    fallback = fresh.record("13700000102", timeout=30)
    assert (fallback["source"], fallback["outcome"]) == ("fallback", "answered"), fallback
    assert fresh.record("13700000101")["source"] == "controller"
    print(f"\nRedis killed, back {'empty' if persistence == 'none' else 'with its data'} "
          f"{back_at - killed_at:.1f} s later: the call during the outage answered by the fallback queue, "
          f"the next call, placed 2 s after Redis was back, answered by the controller (record stored "
          f"{answered_again - back_at:.1f} s after Redis was back)")


def test_two_controllers_one_killed_mid_talk_the_survivor_finishes_its_call(fresh: Hotline) -> None:
    """The controller holding a talking call is killed; the other one takes the lead, frees
    the agent, writes the call's record from its saved state, and answers the next calls."""
    fresh.start_second_controller()
    killed_main = False
    try:
        first = fresh.agent_phone("2001", hangup_after_ms=8000)
        second = fresh.agent_phone("2002")
        fresh.desk("log_in", "2001")
        caller = fresh.call("13700000201", digits="1", hold_ms=25000)
        fresh.wait_for(lambda: fresh.agent_state("2001").get("state") == "on_call", 30, "2001 never answered")
        held = fresh.wait_for(lambda: [fresh.redis.hgetall(fresh.keys.call_state(c))
                                       for c in fresh.redis.smembers(fresh.keys.held)], 10, "no saved call state")
        owner = held[0]["owner"]
        killed_main = daemons.pid_file(fresh.settings, "controller").read_text().strip() == owner.rsplit("-", 1)[1]
        os.kill(int(owner.rsplit("-", 1)[1]), signal.SIGKILL)
        killed_at = time.monotonic()
        fresh.desk("log_in", "2002")
        assert caller.wait(timeout=60) == 0, caller.errors()
        rung = (invites(first), invites(second))
        assert rung == (1, 0), f"the citizen was connected to a second agent: INVITEs {rung}"
        talked = fresh.record("13700000201", timeout=40)
        recovered_at = time.monotonic()
        assert (talked["outcome"], talked["agent_id"]) == ("answered", "2001"), talked
        assert talked["attrs"].get("recovered_by") not in (None, owner), talked["attrs"]
        fresh.wait_for(lambda: fresh.agent_state("2001").get("state") in ("wrap_up", "available"), 30,
                       "2001 stuck: " + str(fresh.agent_state("2001")))
        fresh.desk("log_out", "2002")
        after = fresh.call("13700000202", digits="1", hold_ms=3000)
        assert after.wait(timeout=60) == 0, after.errors()
        rec = fresh.record("13700000202")
        assert (rec["source"], rec["outcome"]) == ("controller", "answered"), rec
        assert rec["attrs"]["controller"] != owner
        print(f"\ntwo controllers, the one holding a talking call killed: its record written by the survivor "
              f"{recovered_at - killed_at:.1f} s after the kill (the talk ended about 7 s after it); "
              f"INVITEs for that call: {rung}; the next call answered by the survivor")
    finally:
        fresh.stop_second_controller()
        if killed_main:
            fresh.start_controller()
