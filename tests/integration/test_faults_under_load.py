"""Faults under steady load (issue 13): ten agents, a citizen a second for 24 s, each staying
12 s, and one fault about 10 s in, when calls are talking, ringing and waiting at once.

Every test asserts on the database and on the SIP peers' own logs (tests/integration/load.py):
one record per citizen, none doubled, nobody served by two agents, a record says answered
exactly when an agent's phone answered, no agent stuck afterwards (a burst of ten citizens is
answered by the controller, each by a different agent). Each prints its figures; the table is
in the README's reliability section.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any, Iterator

import pytest
import redis as redis_sync

from hotline.asterisk import process as asterisk_process
from hotline.ops import daemons
from tests.integration import load
from tests.integration.harness import BASE, Hotline, _desk_action

pytestmark = pytest.mark.asterisk

FAULT_AT = 10.0  # seconds into the run


@pytest.fixture(scope="module")
def pooled(hotline: Hotline) -> Iterator[Hotline]:
    original = load.add_pool(hotline)
    try:
        yield hotline
    finally:
        load.restore_roster(hotline, original)


@pytest.fixture
def lh(pooled: Hotline, fresh: Hotline) -> Iterator[Hotline]:
    yield fresh
    for agent in load.POOL:  # logged out again, so other tests never see the pool
        fresh.desk("force_log_out", agent, "load test over")


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}: " + "; ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in figures.items()))


def first_answer_after(run: load.LoadRun, store: Any, moment: float) -> float:
    """Seconds from ``moment`` (wall clock) to the arrival of the first call after it that
    the controller answered."""
    arrivals = sorted(r["arrived_at"].timestamp() for r in run.records(store)
                      if r["source"] == "controller" and r["outcome"] == "answered"
                      and r["arrived_at"].timestamp() >= moment)
    return (arrivals[0] - moment) if arrivals else float("nan")


def kill_controller(h: Hotline, name: str = "controller") -> None:
    pid = int(daemons.pid_file(h.settings, name).read_text())
    os.kill(pid, signal.SIGKILL)
    h.wait_for(lambda: not daemons.process_alive(pid), 10, "controller survived SIGKILL")


def run_with_fault(h: Hotline, tag: str, fault: Any, redis: Any = None, log_in: Any = None,
                   rate: float = 1.0, seconds: float = 24) -> tuple[load.LoadRun, dict[str, Any]]:
    redis = redis or h.redis
    run = load.LoadRun(h, tag, rate=rate, calls=int(seconds * rate))
    run.start_pool(log_in or (lambda a: h.desk("log_in", a)))
    run.start()
    time.sleep(FAULT_AT)
    at_fault = load.census(h, redis)
    fault_wall = time.time()
    extra = fault() or {}
    assert run.wait() in (0, 1), run.peer.output() if run.peer else ""
    return run, {"at the fault": dict(at_fault), "fault_wall": fault_wall, **extra}


def finish(h: Hotline, run: load.LoadRun, figures: dict[str, Any], store: Any = None,
           redis: Any = None) -> dict[str, Any]:
    store = store or h.store
    checked = run.check(store)
    fault_wall = figures.pop("fault_wall")
    figures.update(checked)
    figures["controller answers again after"] = first_answer_after(run, store, fault_wall)
    figures["agents free after the run"] = load.all_usable(h, redis or h.redis)
    figures.update(load.burst(h, store, tag=run.tag[:1] + "9", redis=redis or h.redis))
    return figures


def test_controller_killed_under_load(lh: Hotline) -> None:
    """kill -9 while calls talk, ring and wait (1.5 calls a second: more than ten agents
    serve, so a line forms); restarted 3 s later."""
    def fault() -> dict[str, Any]:
        kill_controller(lh)
        time.sleep(3)
        lh.start_controller()
        return {}

    run, figures = run_with_fault(lh, "11", fault, rate=1.5)
    report("controller kill -9 under load", finish(lh, run, figures))


def test_asterisk_restarted_under_load(lh: Hotline) -> None:
    """Asterisk stopped and started: the calls it carried are cut (a citizen hears the line
    drop, as with any PBX restart), each still gets exactly one record, and the controller
    answers the next calls."""
    def fault() -> dict[str, Any]:
        began = time.monotonic()
        asterisk_process.stop(lh.settings)
        asterisk_process.start(lh.settings)
        return {"Asterisk down for": time.monotonic() - began}

    run, figures = run_with_fault(lh, "12", fault)
    report("Asterisk restarted under load", finish(lh, run, figures))


def test_second_controller_killed_under_load(lh: Hotline) -> None:
    """Two controllers; the leader (holding calls) killed: the other takes over."""
    lh.start_second_controller()
    try:
        def fault() -> dict[str, Any]:
            kill_controller(lh)
            return {}

        run, figures = run_with_fault(lh, "13", fault)
        report("leader of two controllers killed under load", finish(lh, run, figures))
    finally:
        lh.stop_second_controller()
        lh.start_controller()


@pytest.mark.parametrize("persistence", ["none", "aof"])
def test_redis_killed_under_load(lh: Hotline, persistence: str) -> None:
    """Redis killed; back 4 s later empty (no persistence) or with its data (append-only)."""
    port, data = BASE + 79, tempfile.mkdtemp(prefix="hl-redis-")
    url = f"redis://127.0.0.1:{port}/0"
    argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--dir", data, "--appendonly", "yes" if persistence == "aof" else "no"]
    procs: list[subprocess.Popen] = []

    def redis_up() -> None:
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        lh.wait_for(lambda: daemons.redis_answers(url), 10, "private redis did not start")

    redis_up()
    private = redis_sync.Redis.from_url(url, decode_responses=True)
    on_private = lh.settings.with_overrides(redis_url=url)
    lh.stop_controller()
    try:
        lh.start_controller(redis_url=url)
        lh.wait_for(lambda: private.get(lh.keys.leader), 10, "no leader on the private Redis")

        def fault() -> dict[str, Any]:
            procs[-1].kill()
            procs[-1].wait(timeout=10)
            time.sleep(4)
            redis_up()
            return {}

        run, figures = run_with_fault(lh, "14" if persistence == "none" else "15", fault, redis=private,
                                      log_in=lambda a: asyncio.run(_desk_action(on_private, "log_in", a)))
        figures = finish(lh, run, figures, redis=private)
        # the fallback queue served calls during the outage; its records are reconciled from the
        # queue_log by the controller on the shared Redis below, so only controller calls count here
        report(f"Redis killed, back {'empty' if persistence == 'none' else 'with its data'} under load", figures)
    finally:
        for agent in load.POOL:
            try:
                asyncio.run(_desk_action(on_private, "force_log_out", agent, "load test over"))
            except Exception:
                pass
        for proc in procs:
            proc.kill()
        lh.stop_controller()
        lh.start_controller()
        shutil.rmtree(data, ignore_errors=True)


def test_fake_fastagi_peers_under_load(lh: Hotline) -> None:
    """Local processes posing as Asterisk keep knocking during the load: none gets a session,
    no record is written for them, and the real calls are served as usual."""
    stop = threading.Event()
    knocks = [0]
    headers = ("agi_network: yes\nagi_request: agi://127.0.0.1/call\nagi_channel: PJSIP/trunk-00000999\n"
               "agi_uniqueid: 1799999999.9\nagi_callerid: 13999990000\nagi_arg_1: 12349\n\n").encode()

    def knock() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", lh.settings.agi_port), timeout=5) as sock:
                    sock.sendall(headers)
                    sock.settimeout(5)
                    assert sock.recv(4096) == b""
                    knocks[0] += 1
            except OSError:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=knock, daemon=True)

    def fault() -> dict[str, Any]:
        thread.start()
        return {}

    try:
        run, figures = run_with_fault(lh, "16", fault)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not [r for r in lh.store.recent(500) if r["caller"] == "13999990000"]
    figures["fake FastAGI connections refused"] = knocks[0]
    report("fake FastAGI peers under load", finish(lh, run, figures))


def test_database_down_30_s_under_load(lh: Hotline) -> None:
    """PostgreSQL (a server of the test's own) stopped 10 s into a 45 s run and started 30 s
    later: the records of the calls meanwhile wait in the spool and are written when it is
    back, in order, none twice; the calls themselves are served as usual."""
    from hotline.store.calls import CallStore, make_engine
    from tests.integration.test_faults import PrivatePostgres

    pg = PrivatePostgres(BASE + 91)
    pg.start()
    lh.stop_controller()
    store = CallStore(make_engine(pg.url))
    restarted = threading.Event()
    try:
        lh.start_controller(db_url=pg.url)
        marker = len(lh.controller_log(tail=10**9))

        def fault() -> dict[str, Any]:
            pg.stop()

            def later() -> None:
                time.sleep(30)
                pg.start()
                restarted.set()

            threading.Thread(target=later, daemon=True).start()
            return {}

        run, figures = run_with_fault(lh, "17", fault, seconds=45)
        assert restarted.wait(timeout=60), "PostgreSQL did not start again"
        spooled = lh.controller_log(tail=10**9)[marker:].count("spooled to")
        figures = finish(lh, run, figures, store=store)
        figures["records through the spool"] = spooled
        report("database down 30 s under load", figures)
        assert spooled >= 10  # the records of the calls during the outage went through the spool
    finally:
        lh.stop_controller()
        lh.start_controller()
        store.engine.dispose()
        pg.remove()
