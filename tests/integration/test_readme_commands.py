"""The README's commands, run the way a person types them: ``make up``, ``make call``,
``make status``, ``make down`` and every ``hotline ...`` command, as subprocesses.

They run on an instance of their own (``readme<base>``: own ports, own var/ and config
folders, the shipped configuration with the demo phones moved to free ports), beside the
integration tests' instance, so a developer's running demo is never touched. Once the
README's first command failed on a fresh clone while every test passed: none ran it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from hotline.settings import PROJECT_ROOT
from tests.integration.harness import BASE

pytestmark = pytest.mark.asterisk

INSTANCE = f"readme{BASE}"
SIP, AMI, AGI, HTTP = BASE + 160, BASE + 138, BASE + 173, BASE + 180
PHONE_BASE = BASE + 1600  # demo phones' SIP ports (the shipped roster has 6001..)
HOTLINE = str(PROJECT_ROOT / ".venv" / "bin" / "hotline")


class Instance:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.var = base / "var"
        self.config = base / "config"
        self._copy_shipped_config()
        self.env = {**os.environ, "HOTLINE_INSTANCE": INSTANCE, "HOTLINE_VAR_DIR": str(self.var),
                    "HOTLINE_CONFIG_DIR": str(self.config), "HOTLINE_SIP_PORT": str(SIP),
                    "HOTLINE_AMI_PORT": str(AMI), "HOTLINE_AGI_PORT": str(AGI), "HOTLINE_HTTP_PORT": str(HTTP),
                    "HOTLINE_RTP_START": str(BASE + 6000), "HOTLINE_RTP_END": str(BASE + 6499)}
        for key in ("REDIS_URL", "HOTLINE_DB_URL", "HOTLINE_AGI_PEERS", "HOTLINE_OUTBOUND_TRUNK"):
            self.env.pop(key, None)

    def _copy_shipped_config(self) -> None:
        for folder in ("agents", "queues", "outbound", "knowledge"):
            shutil.copytree(PROJECT_ROOT / folder, self.config / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        (self.config / "ivr").mkdir()
        shutil.copytree(PROJECT_ROOT / "ivr" / "flows", self.config / "ivr" / "flows")
        (self.config / "ivr" / "sounds").symlink_to(PROJECT_ROOT / "ivr" / "sounds")
        roster = self.roster()
        for i, agent in enumerate(roster["agents"]):
            if agent.get("contact"):
                agent["contact"] = f"sip:{agent['id']}@127.0.0.1:{PHONE_BASE + i + 1}"
        self.write_roster(roster)

    def roster(self) -> dict:
        return yaml.safe_load((self.config / "agents" / "roster.yaml").read_text())

    def write_roster(self, data: dict) -> None:
        (self.config / "agents" / "roster.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))

    def run(self, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A command as typed in the project folder: ``make up``, ``.venv/bin/hotline status``."""
        return subprocess.run(list(argv), cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def hotline(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.run(HOTLINE, *args, timeout=timeout)

    def pids(self) -> dict[str, int]:
        """Every daemon this instance has a pid file for."""
        run = self.var / "run"
        return {p.stem: int(p.read_text()) for p in run.glob(f"{INSTANCE}-*.pid")} if run.exists() else {}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def clear_live_state() -> None:
    """This instance's keys in the shared Redis go: a new user's first ``make up`` finds none,
    and an earlier run that was cut short (a switch left on, agents mid-call) must not leak in."""
    import redis

    from hotline.live.keys import LiveKeys
    from hotline.ops.daemons import DEFAULT_REDIS_URL

    client = redis.Redis.from_url(DEFAULT_REDIS_URL)
    keys = list(client.scan_iter(match=LiveKeys.for_instance(INSTANCE).pattern, count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[Instance]:
    base = Path(tempfile.mkdtemp(prefix="hotline-readme-"))
    clear_live_state()
    inst = Instance(base)
    try:
        yield inst
    finally:
        inst.hotline("down", timeout=120)
        for pid in inst.pids().values():
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


def test_make_up_brings_the_hotline_up_with_demo_phones_and_make_call_is_answered(demo: Instance) -> None:
    out = ok(demo.run("make", "up", timeout=900))
    assert "hotline is up" in out and "demo SIPp phones for 1001, 1002, 1003, 1004" in out, out
    pids = demo.pids()
    assert {f"{INSTANCE}-{n}" for n in ("asterisk", "controller", "agent-1001", "agent-1004")} <= pids.keys()
    assert all(alive(pid) for pid in pids.values()), pids
    out = ok(demo.run("make", "call"))
    assert "answered by agent 100" in out, out


def test_make_up_twice_is_harmless(demo: Instance) -> None:
    before = demo.pids()
    out = ok(demo.run("make", "up", timeout=900))
    assert "hotline is up" in out
    assert demo.pids() == before, "a second `make up` restarted what was running"
    assert all(alive(pid) for pid in before.values())
    assert "answered by agent 100" in ok(demo.run("make", "call"))


def test_status_shows_processes_agents_and_the_latest_calls(demo: Instance) -> None:
    for out in (ok(demo.run("make", "status")), ok(demo.hotline("status"))):
        assert "asterisk:   running" in out and "controller: running" in out, out
        assert all(f"agent {a}:" in out for a in ("1001", "1002", "1003", "1004")), out
        assert "answered" in out, out


def test_call_with_options_prints_the_whole_record(demo: Instance) -> None:
    out = ok(demo.hotline("call", "--digits", "9", "--dnis", "12346", "--json"))
    record = json.loads(out[out.index("{"):])
    assert (record["dnis"], record["queue"], record["outcome"]) == ("12346", "province", "answered"), record
    assert record["language"] == "en" and record["agent_id"] == "1003", record  # 9 = English; 1003 speaks it


def test_agent_commands_change_the_agents_state(demo: Instance) -> None:
    assert "agent 1004: logged_out" in ok(demo.hotline("agent", "logout", "1004"))
    assert "agent 1004: paused (training)" in ok(demo.hotline("agent", "login", "1004", "--reason", "training"))
    assert "agent 1004: available" in ok(demo.hotline("agent", "unpause", "1004"))
    assert "agent 1004: paused (lunch)" in ok(demo.hotline("agent", "pause", "1004", "--reason", "lunch"))
    assert "agent 1004: available" in ok(demo.hotline("agent", "unpause", "1004"))
    refused = demo.hotline("agent", "unpause", "1004")  # not paused: refused, with a message
    assert refused.returncode == 1 and "not possible" in refused.stderr, refused.stdout + refused.stderr
    forced = ok(demo.hotline("agent", "logout", "1004", "--force", "--reason", "call gone after a crash"))
    assert "agent 1004: logged_out" in forced
    assert "agent 1004: available" in ok(demo.hotline("agent", "login", "1004"))


def test_the_daily_report_and_the_recordings_purge_run_as_typed(demo: Instance) -> None:
    """The supervisors' commands of the README, on the demo's own calls of today."""
    import datetime as dt

    today = dt.date.today().isoformat()
    out = ok(demo.hotline("report", "daily", "--date", today, "--format", "csv", "--out", "var/reports", "--charts"))
    reports = PROJECT_ROOT / "var" / "reports"  # typed in the project folder
    written = sorted(p.name for p in reports.iterdir()) if reports.exists() else []
    assert any(n.endswith(".csv") for n in written) and any(n.endswith(".png") for n in written), (out, written)
    text = ok(demo.hotline("report", "daily", "--date", today))
    assert "answered" in text.lower() or "接通" in text, text
    dry = ok(demo.hotline("recordings", "purge", "--dry-run"))
    assert "purge" in dry.lower() or "recording" in dry.lower(), dry


def test_the_emergency_notice_is_heard_by_new_calls_until_switched_off(demo: Instance) -> None:
    assert "flood_warning" in ok(demo.hotline("notice", "flood_warning"))
    try:
        out = ok(demo.hotline("call", "--digits", "1", "--hold", "25", "--json", timeout=240))
    finally:
        assert "off" in ok(demo.hotline("notice", "off"))
    record = json.loads(out[out.index("{"):])
    assert record["attrs"].get("notice") == "flood_warning", record["attrs"]
    out = ok(demo.hotline("call", "--digits", "1", "--json"))
    assert "notice" not in json.loads(out[out.index("{"):])["attrs"]


def test_reload_applies_a_valid_roster_and_refuses_an_invalid_one(demo: Instance) -> None:
    good = demo.roster()
    edited = {**good, "agents": [dict(a) for a in good["agents"]]}
    edited["agents"][0]["skills"] = {**edited["agents"][0]["skills"], "traffic": 2}
    demo.write_roster(edited)
    assert "configuration valid" in ok(demo.hotline("reload"))
    edited["agents"][0]["skils"] = edited["agents"][0].pop("skills")  # a typo
    demo.write_roster(edited)
    try:
        bad = demo.hotline("reload")
    finally:
        demo.write_roster(good)
    assert bad.returncode != 0
    assert "roster.yaml" in bad.stdout + bad.stderr and "1001" in bad.stdout + bad.stderr
    assert "answered by agent 100" in ok(demo.run("make", "call"))  # still serving


def test_prompts_and_render(demo: Instance) -> None:
    assert "prompts ready" in ok(demo.hotline("prompts"))
    assert "rendered into" in ok(demo.hotline("render"))


def test_make_down_leaves_nothing_of_ours_running(demo: Instance) -> None:
    pids = demo.pids()
    assert len(pids) >= 6
    out = ok(demo.run("make", "down"))
    assert "hotline is down" in out and "controller" in out and "asterisk" in out, out
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert not demo.pids()
    assert not port_open(AGI) and not port_open(AMI)
    out = ok(demo.run("make", "down"))  # twice: harmless
    assert "nothing" in out


def test_a_failed_up_stops_what_it_started_and_names_the_log(demo: Instance) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # demo phone 1002's SIP port taken
    blocker.bind(("127.0.0.1", PHONE_BASE + 2))
    try:
        failed = demo.hotline("up", timeout=300)
    finally:
        blocker.close()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "hotline up failed" in failed.stderr and f"{INSTANCE}-agent-1002.log" in failed.stderr, failed.stderr
    assert "stopped again" in failed.stderr
    assert not [name for name, pid in demo.pids().items() if alive(pid)], demo.pids()
    assert not port_open(AGI) and not port_open(AMI)
