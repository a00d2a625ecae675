"""A whole hotline for integration tests: real Asterisk, Redis, controller and SIPp peers.

One instance ("itest") on its own ports and folders, so tests never collide with a
running demo. The controller runs as a real separate process, as in production; tests
observe it only through what a user would see: SIP, the database and live state in Redis.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from datetime import timezone
from pathlib import Path
from typing import Any, Callable

import redis
import yaml

from agents.state import AgentRecord, AgentState
from hotline.asterisk import process as asterisk_process
from hotline.live.keys import LiveKeys
from hotline.ops import daemons as services
from hotline.ops.cli import prepare
from hotline.ops.sipp import SippPeer, start_agent, start_caller
from hotline.settings import PROJECT_ROOT, Settings, from_env
from hotline.store.calls import CallStore, make_engine

AGENTS = [
    {"id": "2001", "name": "Pension Specialist", "languages": ["zh"], "skills": {"social_insurance": 5}},
    {"id": "2002", "name": "Generalist", "languages": ["zh"], "skills": {"traffic": 2}},
    {"id": "2003", "name": "English Seat", "languages": ["zh", "en"], "skills": {"education": 3}},
    {"id": "2004", "name": "Japanese Seat", "languages": ["zh", "ja", "ko"], "skills": {"business_env": 4}},
]
# A seat for a real softphone (baresip, tests/integration/softphone.py): no fixed contact, it
# registers with its own password. Not in AGENTS: tests that log in every SIPp seat leave it out.
SOFTPHONE_SEAT = {"id": "2009", "name": "Softphone Seat", "languages": ["zh"], "skills": {"traffic": 3}}
# The supervisor's phone (agents/supervisors.yaml): a baresip that registers, in tests.
SUPERVISOR_PHONE = {"id": "9001", "name": "Test supervisor"}
# Every port of the test instance sits above this base (default 25000), so a second run
# (e.g. CI beside a developer's run) can use another base.
BASE = int(os.environ.get("HOTLINE_TEST_PORT_BASE", "25000"))
AGENT_PORT = {a["id"]: BASE + 1000 + i + 1 for i, a in enumerate(AGENTS)}
INSTANCE = "itest" if BASE == 25000 else f"itest{BASE}"
# Faster than production so ring-no-answer tests take seconds: ring 5 s, pause after 2
# misses, 3 s wrap-up. The production values are in queues/queues.yaml.
TEST_QUEUE_DEFAULTS = {"ring_timeout": 5, "max_misses_before_pause": 2, "wrapup_seconds": 3}
# The province line (12346) announces every 3 s and offers a callback after 2 s; a callback
# rings the citizen 3 s and is tried twice, 2 s apart; so announcement and callback tests are
# short. Main keeps production timing.
TEST_PROVINCE = {"announce_interval": 3, "callback_offer_after": 2, "callback_ring_timeout": 3,
                 "callback_retry_after": 2, "callback_attempts": 2}
# The business line keeps a longer wrap-up than main, to show it is honoured across queues.
TEST_BUSINESS = {"wrapup_seconds": 8}
CITIZEN_PHONE_PORT = BASE + 1500  # where the outbound (callback) trunk points
AGENCY_PORT = BASE + 1600  # where the agency trunk points: the agencies' phones (SIPp)


def make_config_dir(base: Path) -> Path:
    """A config dir with the shipped queues and flows and a test roster (no auto-login)."""
    cfg = base / "config"
    (cfg / "agents").mkdir(parents=True, exist_ok=True)
    roster = [{**a, "contact": f"sip:{a['id']}@127.0.0.1:{AGENT_PORT[a['id']]}", "login": False} for a in AGENTS]
    roster.append({**SOFTPHONE_SEAT, "login": False})
    (cfg / "agents" / "roster.yaml").write_text(yaml.safe_dump({"agents": roster}))
    (cfg / "agents" / "supervisors.yaml").write_text(yaml.safe_dump({"phones": [SUPERVISOR_PHONE]}))
    (cfg / "queues").mkdir(exist_ok=True)
    queues = yaml.safe_load((PROJECT_ROOT / "queues" / "queues.yaml").read_text())
    queues["defaults"].update(TEST_QUEUE_DEFAULTS)
    for queue in queues["queues"].values():
        for key in TEST_QUEUE_DEFAULTS:
            queue.pop(key, None)
    queues["queues"]["province"].update(TEST_PROVINCE)
    queues["queues"]["business"].update(TEST_BUSINESS)
    (cfg / "queues" / "queues.yaml").write_text(yaml.safe_dump(queues, allow_unicode=True))
    shutil.copytree(PROJECT_ROOT / "outbound", cfg / "outbound", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(PROJECT_ROOT / "knowledge" / "articles", cfg / "knowledge" / "articles", dirs_exist_ok=True)
    (cfg / "ivr").mkdir(exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "ivr" / "flows", cfg / "ivr" / "flows", dirs_exist_ok=True)
    sounds = cfg / "ivr" / "sounds"
    if not sounds.exists():
        sounds.symlink_to(PROJECT_ROOT / "ivr" / "sounds")
    return cfg


class Hotline:
    def __init__(self, base: Path, db_url: str = "") -> None:
        var = base / "var"
        var.mkdir(parents=True, exist_ok=True)
        settings = from_env({"HOTLINE_VAR_DIR": str(var)}, instance=INSTANCE, sip_port=BASE + 60,
                            ami_port=BASE + 38, agi_port=BASE + 73, http_port=BASE + 80,
                            agi_peers=(f"127.0.0.1:{BASE + 73}", f"127.0.0.1:{BASE + 74}"),
                            rtp_start=BASE + 2000, rtp_end=BASE + 2999,
                            outbound_trunk=f"127.0.0.1:{CITIZEN_PHONE_PORT}",
                            agency_trunk=f"127.0.0.1:{AGENCY_PORT}", agency_ring=4, phone_qualify=5, follow_up_tick=1.0,
                            config_dir=make_config_dir(base), db_url=db_url)
        self.settings: Settings = settings.with_overrides(redis_url=services.ensure_redis(settings))
        self.redis = redis.Redis.from_url(self.settings.redis_url, decode_responses=True)
        self.keys = LiveKeys.for_instance(self.settings.instance)
        self.store = CallStore(make_engine(self.settings.database_url))
        self.peers: list[SippPeer] = []
        self._media = BASE + 3000
        self._placed: dict[str, float] = {}

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        asterisk_process.stop(self.settings)
        self.clear_live_state()
        self.settings.queue_log.unlink(missing_ok=True)  # fallback calls of an earlier run
        prepare(self.settings)
        asterisk_process.start(self.settings)
        self.start_controller()

    def stop(self) -> None:
        for peer in self.peers:
            peer.stop()
        services.stop_daemon(self.settings, "controller2")
        services.stop_daemon(self.settings, "controller")
        asterisk_process.stop(self.settings)

    def start_controller(self, **overrides: Any) -> None:
        """Start the controller process; ``overrides`` change its settings (e.g. db_url,
        redis_url) for this start only."""
        settings = self.settings.with_overrides(**overrides)
        services.start_daemon(settings, "controller", services.controller_argv(), env=services.settings_env(settings))
        assert services.wait_port(settings.agi_port, 30), self.controller_log()
        assert services.wait_port(settings.http_port, 30), self.controller_log()  # the API comes up last
        if "redis_url" not in overrides:
            self.wait_for(lambda: self.redis.get(self.keys.leader), 10, "controller never took the router lead")

    def stop_controller(self) -> None:
        services.stop_daemon(self.settings, "controller")
        self.redis.delete(self.keys.leader)

    def start_second_controller(self) -> None:
        """Another controller process on the second FastAGI port, sharing Redis and the DB."""
        env = {**services.settings_env(self.settings), "HOTLINE_AGI_PORT": str(BASE + 74),
               "HOTLINE_HTTP_PORT": str(BASE + 81)}
        services.start_daemon(self.settings, "controller2", services.controller_argv(), env=env)
        assert services.wait_port(BASE + 74, 30), self.controller_log("controller2")
        assert services.wait_port(BASE + 81, 30), self.controller_log("controller2")

    def stop_second_controller(self) -> None:
        services.stop_daemon(self.settings, "controller2")

    def reload(self) -> None:
        """What ``hotline reload`` does: validate and render, reload Asterisk, SIGHUP the controller."""
        import signal

        whole = 10**9  # the whole log: a count over a tail slides when other lines come in
        # a controller still starting has no SIGHUP handler yet: the signal would end it
        self.wait_for(lambda: " up: FastAGI" in self.controller_log(tail=whole), 30,
                      "controller never came up:\n" + self.controller_log())
        time.sleep(0.2)
        marker = self.controller_log(tail=whole).count("configuration reloaded")
        prepare(self.settings)
        asterisk_process.cli(self.settings, "core reload")
        os.kill(int(services.pid_file(self.settings, "controller").read_text()), signal.SIGHUP)
        self.wait_for(lambda: self.controller_log(tail=whole).count("configuration reloaded") > marker, 10,
                      "controller did not reload:\n" + self.controller_log())

    def controller_log(self, name: str = "controller", tail: int = 5000) -> str:
        path = self.settings.var_dir / f"{self.settings.instance}-{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else "(no controller log)"

    def clear_live_state(self) -> None:
        keys = list(self.redis.scan_iter(match=self.keys.pattern, count=1000))
        if keys:
            self.redis.delete(*keys)

    # -- agents ---------------------------------------------------------------------------
    def agent_phone(self, agent_id: str, answer: bool = True, ring_ms: int = 300,
                    hangup_after_ms: int = 0) -> SippPeer:
        self._media += 10
        peer = start_agent(AGENT_PORT[agent_id], self._media, answer=answer, ring_ms=ring_ms,
                           hangup_after_ms=hangup_after_ms)
        self.peers.append(peer)
        return peer

    def citizen_phone(self, hangup_after_ms: int = 2000, answer: bool = True, speak: bool | float = False,
                      digits: str = "", digit_delay_ms: int = 1500, inter_digit_ms: int = 1500) -> SippPeer:
        """The phone the outbound trunk reaches: a citizen being called back (or followed up:
        ``digits`` are the answers they press)."""
        self._media += 10
        peer = start_agent(CITIZEN_PHONE_PORT, self._media, answer=answer, ring_ms=300,
                           hangup_after_ms=hangup_after_ms, speak=speak, digits=digits,
                           digit_delay_ms=digit_delay_ms, inter_digit_ms=inter_digit_ms)
        self.peers.append(peer)
        return peer

    def agency_phone(self, answer: bool = True, ring_ms: int = 300, hangup_after_ms: int = 0,
                     speak: bool | float = False, busy: bool = False) -> SippPeer:
        """The phone every agency number reaches over the agency trunk."""
        self._media += 10
        peer = start_agent(AGENCY_PORT, self._media, answer=answer, ring_ms=ring_ms,
                           hangup_after_ms=hangup_after_ms, speak=speak, busy=busy)
        self.peers.append(peer)
        return peer

    def api_token(self, username: str, role: str = "agent", agent_id: str | None = None) -> str:
        """An account made as ``hotline user add`` makes it (in the instance's database), then
        logged in over HTTP: the bearer token."""
        import httpx

        from hotline.api.passwords import Passwords
        from hotline.api.users import UserStore

        users = UserStore(self.store.engine)
        if users.user(username) is None:
            users.add_user(username, role, Passwords().hash("pass-" + username), agent_id=agent_id,
                           roster={a["id"] for a in [*AGENTS, SOFTPHONE_SEAT]}, now=time.time())
        reply = httpx.post(f"{self.api}/session", json={"username": username, "password": "pass-" + username},
                           timeout=10)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}/api/v1"

    def desk(self, action: str, agent_id: str, *args: Any) -> Any:
        """Run an AgentService action against live state, as the agent desk/CLI would."""
        return asyncio.run(_desk_action(self.settings, action, agent_id, *args))

    def agent_state(self, agent_id: str) -> dict[str, str]:
        return self.redis.hgetall(self.keys.agent(agent_id))

    def end_calls(self, timeout: float = 15.0) -> None:
        """Hang up every call Asterisk still has and wait until none is left, so the
        controller's sessions end as after a real hang-up (records written, agents freed).

        A test's SIPp peer stopped without a BYE leaves its channel up for ever (no RTP
        timeout on the trunk); reset_agents() then emptied the calls' Redis state under a
        session still holding a citizen, who stayed ``waiting`` outside the waiting set and
        held a channel that later tests counted (the live load's drain) or met."""
        try:
            asterisk_process.cli(self.settings, "channel request hangup all", timeout=10)
        except (asterisk_process.AsteriskError, subprocess.TimeoutExpired, OSError):
            return  # Asterisk is not running (a test stopped it): no call to end

        def none_left() -> bool:
            out = asterisk_process.cli(self.settings, "core show channels count", timeout=10)
            return any(line.split()[0] == "0" for line in out.splitlines() if "active channel" in line)

        self.wait_for(none_left, timeout, "calls still up after hanging up all")

    def reset_agents(self) -> None:
        """Every agent logged out with a clean record, and no calls waiting."""
        for key in self.redis.scan_iter(match=self.keys.call("*")):
            self.redis.delete(key)
        self.redis.delete(self.keys.waiting)
        # the agents' state log too: a controller started on an empty Redis re-seeds agents from it
        from hotline.store.agent_states import AgentStateStore, StateChange

        AgentStateStore(self.store.engine).append(
            StateChange(a["id"], time.time(), "logged_out") for a in [*AGENTS, SOFTPHONE_SEAT])
        for a in AGENTS:  # written as the controller writes them: the record's own serialisation
            record = AgentRecord(agent_id=a["id"], state=AgentState.LOGGED_OUT, since=time.time())
            self.redis.delete(self.keys.agent(a["id"]))
            self.redis.hset(self.keys.agent(a["id"]), mapping=record.to_dict())
            self.redis.sadd(self.keys.agents, a["id"])

    # -- citizens -------------------------------------------------------------------------
    def call(self, caller: str, digits: str = "", dnis: str = "12345", hold_ms: int = 3000,
             digit_delay_ms: int = 1200, inter_digit_ms: int = 1500, speak: bool | float = False,
             source_ip: str = "127.0.0.1") -> SippPeer:
        """A citizen's call through the trunk (the carrier is 127.0.0.1; ``source_ip`` another
        loopback address plays a host that is not the carrier)."""
        self._media += 10
        peer = start_caller(self.settings.sip_port, caller, dnis=dnis, digits=digits, hold_ms=hold_ms,
                            digit_delay_ms=digit_delay_ms, inter_digit_ms=inter_digit_ms,
                            media_port=self._media, speak=speak, source_ip=source_ip)
        self.peers.append(peer)
        self._placed[caller] = time.time()
        return peer

    def record(self, caller: str, timeout: float = 20.0) -> dict[str, Any]:
        """The record of the latest call placed from ``caller`` (not of earlier ones)."""
        found: dict[str, Any] = {}
        placed = self._placed.get(caller, 0.0) - 2.0

        def ready() -> bool:
            rows = [r for r in self.store.recent(200)
                    if r["caller"] == caller and r["arrived_at"].replace(tzinfo=timezone.utc).timestamp() >= placed]
            if rows:
                found.update(rows[0])
            return bool(rows)

        self.wait_for(ready, timeout, f"no call record for {caller}\n{self.controller_log()}")
        return found

    def assert_recorded(self, rec: dict[str, Any], seconds: float) -> None:
        """The record names a WAV file that MixMonitor wrote with at least ``seconds`` of talk
        (8 kHz, 16-bit mono: 16,000 bytes a second after the header)."""
        assert rec["recording"].endswith(f"/recordings/{rec['call_id']}.wav"), rec["recording"]
        path = self.settings.asterisk_root / rec["recording"].lstrip("/")

        def compressed_seconds() -> float:
            """The controller's janitor may have compressed the WAV already (a pass a minute):
            its index then holds the recording's length."""
            from sqlalchemy import select

            from sql.schema import recordings
            with self.store.engine.connect() as conn:
                row = conn.execute(select(recordings.c.seconds, recordings.c.compressed_at).where(
                    recordings.c.call_id == rec["call_id"], recordings.c.part == "call")).first()
            return float(row.seconds or 0.0) if row is not None and row.compressed_at is not None else 0.0

        self.wait_for(lambda: (path.exists() and path.stat().st_size > 44 + 16_000 * seconds)
                      or compressed_seconds() >= seconds, 10, f"no recording of {seconds} s at {path}")

    @staticmethod
    def wait_for(check: Callable[[], Any], timeout: float, message: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(message)


async def _desk_action(settings: Settings, action: str, agent_id: str, *args: Any) -> Any:
    from redis.asyncio import Redis

    from hotline.live.agent_service import AgentService
    from hotline.live.redis_state import LiveState

    client = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        desk = AgentService(LiveState(client, LiveKeys.for_instance(settings.instance)), time.time)
        return await getattr(desk, action)(agent_id, *args)
    finally:
        await client.aclose()
