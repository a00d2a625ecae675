"""The test hotline the load runs on, and the switch between the two systems.

Built with the integration harness (tests/integration/harness.py: real Asterisk 22, the
controller process, the shipped queues and flows, a SQLite database) in a temporary folder,
with these changes for a load:

- the roster is a **pool** of ``agents`` generalists (Mandarin, skill traffic 1), every one's
  contact the one SIPp phone of ``peers.start_call_takers``, all logged in (the harness's four
  seats are left out: app_queue would ring phones nobody answers);
- the main line's wrap-up is 5 s, app_queue's ``wrapuptime`` in the fallback queue
  (asterisk_conf/templates/queues.conf.j2), so an agent is busy as long in both systems;
- the no-menu flow (12349: greeting, then the main line) has no satisfaction survey: the
  citizen's call ends when the call taker hangs up, as it does in app_queue;
- one controller (one FastAGI endpoint in the dialplan, not the harness's two: the
  dialplan would try a second that does not run every other call);
- a Redis of the run's own (``redis-server`` on BASE+79, AOF on as ``hotline up`` runs it),
  so its CPU and memory are the hotline's alone;
- an RTP port range wide enough for the calls at the highest rate (two channels a call,
  two ports a channel);
- an AMI account of the benchmark's own that reads only the ``agent`` class: app_queue's
  QueueCallerJoin / AgentConnect / QueueCallerAbandon (our controller raises none), the
  waiting times of the baseline.

``use("ours")`` runs the controller; ``use("app_queue")`` stops it, so the FastAGI request
fails and the dialplan puts every citizen into the ``hotline-fallback`` app_queue with every
pool agent as a static member (what benchmarks/offer does for its baseline).
"""
from __future__ import annotations

import math
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from benchmarks.live_load.peers import Peer
from benchmarks.live_load.step import log_in
from benchmarks.offer.ami_tap import AmiTap
from hotline.asterisk import process as asterisk_process
from hotline.ops import daemons as services
from hotline.settings import PROJECT_ROOT
from tests.integration.harness import BASE, Hotline

FALLBACK_WRAPUP = 5  # queues.conf.j2: wrapuptime of hotline-fallback
BENCH_AMI_USER = "loadbench"
REDIS_PORT = BASE + 79
POOL_PORT = BASE + 1200
TAKERS_MEDIA = BASE + 3800
CITIZENS_MEDIA = BASE + 3850
RTP_START = BASE + 4000


def pool_ids(n: int) -> list[str]:
    return [f"5{i:04d}" for i in range(1, n + 1)]


def greeting_seconds() -> float:
    """How long the no-menu flow's greeting plays (ivr/sounds/zh/welcome.wav)."""
    with wave.open(str(PROJECT_ROOT / "ivr" / "sounds" / "zh" / "welcome.wav")) as w:
        return w.getnframes() / w.getframerate()


def rtp_ports_for(calls_at_once: float) -> int:
    """Ports for that many calls in progress: 2 channels a call, RTP and RTCP each, with room."""
    return max(1000, int(math.ceil(calls_at_once * 4 * 1.5 / 100.0)) * 100)


def write_config(config_dir: Path, agents: list[str]) -> None:
    """The pool roster, the main line's wrap-up as app_queue's, no survey after the no-menu flow."""
    roster = [{"id": a, "name": f"Load {a}", "languages": ["zh"], "skills": {"traffic": 1},
               "contact": f"sip:{a}@127.0.0.1:{POOL_PORT}", "login": False} for a in agents]
    (config_dir / "agents" / "roster.yaml").write_text(yaml.safe_dump({"agents": roster}))
    path = config_dir / "queues" / "queues.yaml"
    queues = yaml.safe_load(path.read_text())
    queues["queues"]["main"]["wrapup_seconds"] = FALLBACK_WRAPUP
    path.write_text(yaml.safe_dump(queues, allow_unicode=True))
    flow = config_dir / "ivr" / "flows" / "compliant.yaml"
    data = yaml.safe_load(flow.read_text())
    data.pop("survey", None)
    flow.write_text(yaml.safe_dump(data, allow_unicode=True))


def remove_recordings_since(folder: Path, began: float) -> int:
    """Delete the recordings (and their compressed copies) written since ``began``."""
    removed = 0
    for path in folder.glob("*") if folder.exists() else ():
        try:
            if path.is_file() and path.stat().st_mtime >= began:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def bench_account(secret: str) -> str:
    """manager.conf section of the benchmark's AMI account: loopback, agent events only."""
    return (f"\n[{BENCH_AMI_USER}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            f"permit = 127.0.0.1/255.255.255.255\nread = agent\nwrite = system\n")


@dataclass
class LoadRig:
    """What a run starts and must stop: the private Redis, the hotline, the AMI tap."""

    agents: int
    rtp_ports: int = 1000
    keep: bool = False
    redis_max_connections: int = 0  # 0: the client's default, as the controller ships
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=f"load-bench-{BASE}-")))
    hotline: Hotline | None = None
    ami: AmiTap | None = None
    system: str = ""
    redis_proc: subprocess.Popen | None = None
    peers: list[Peer] = field(default_factory=list)
    began: float = field(default_factory=time.time)

    @property
    def h(self) -> Hotline:
        assert self.hotline is not None
        return self.hotline

    @property
    def pool(self) -> list[str]:
        return pool_ids(self.agents)

    # -- start and stop -------------------------------------------------------------------
    def start(self, log: Callable[[str], None] = print) -> None:
        self._start_redis()
        url = f"redis://127.0.0.1:{REDIS_PORT}/0"
        if self.redis_max_connections:  # redis-py reads the pool's size from the URL
            url += f"?max_connections={self.redis_max_connections}"
        # The harness takes the machine's shared Redis (and starts one on 6379 where none
        # answers, which would outlive the run): this run's own is handed to it instead.
        shared = services.ensure_redis
        services.ensure_redis = lambda settings: url
        try:
            h = Hotline(self.tmp)
        finally:
            services.ensure_redis = shared
        h.settings = h.settings.with_overrides(agi_peers=(), rtp_start=RTP_START,
                                               rtp_end=RTP_START + self.rtp_ports - 1)
        self.hotline = h
        write_config(h.settings.config_dir, self.pool)
        log(f"starting hotline instance {h.settings.instance} (SIP {h.settings.sip_port}, {self.agents} agents, "
            f"RTP {h.settings.rtp_start}-{h.settings.rtp_end}) in {self.tmp}")
        h.start()
        self.system = "ours"
        secret = secrets.token_urlsafe(18)
        conf = h.settings.instance_dir / "etc" / "manager.conf"
        conf.write_text(conf.read_text() + bench_account(secret))
        asterisk_process.cli(h.settings, "manager reload")
        self.ami = AmiTap(h.settings.ami_port, BENCH_AMI_USER, secret)
        log(f"logging in {self.agents} agents")
        log_in(h, self.pool)

    def _start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not installed: run scripts/install-system.sh")
        data = self.tmp / "redis"
        data.mkdir(parents=True, exist_ok=True)
        self.redis_proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--dir", str(data), "--save", "",
             "--appendonly", "yes", "--logfile", str(data / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not services.redis_answers(f"redis://127.0.0.1:{REDIS_PORT}/0"):
            if time.monotonic() > deadline or self.redis_proc.poll() is not None:
                raise RuntimeError(f"the run's redis-server on {REDIS_PORT} did not answer; see {data}/redis.log")
            time.sleep(0.1)

    def close(self, ok: bool) -> None:
        """Stop everything this rig started; keep the folder when asked or on failure. The
        run's recordings (in the instance's folder of the Asterisk root, hundreds of MB at
        the higher rates) go with the folder."""
        for peer in self.peers:
            if self.keep or not ok:
                peer.stop()
            else:
                peer.close()
        if self.ami is not None:
            self.ami.close()
        if self.hotline is not None:
            self.hotline.stop()
            self.hotline.redis.close()
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            try:
                self.redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis_proc.kill()
                self.redis_proc.wait()
        if ok and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self.hotline is not None:
                remove_recordings_since(self.hotline.settings.recordings_dir, self.began)

    # -- the two systems ------------------------------------------------------------------
    def use(self, system: str, settle: float = 3.0) -> None:
        """Run the calls through ``system`` from now on (ours: the controller; app_queue: the
        dialplan's fallback queue, the controller stopped)."""
        if system == self.system:
            return
        if system == "app_queue":
            self.h.stop_controller()
        else:
            self.h.start_controller()
            # the restarted controller stores the fallback calls from queue_log first
            self.h.wait_for(lambda: " up: FastAGI" in self.h.controller_log(tail=10**9), 30,
                            "controller never came up:\n" + self.h.controller_log())
        self.system = system
        time.sleep(settle)

    def forget_baseline(self, since: float) -> None:
        """After an app_queue step: empty queue_log and remove the recordings written since
        ``since``, so the restarted controller neither stores the baseline's calls nor lets
        its recordings janitor compress them during our steps (they are not ours: a deployed
        hotline sees a fallback call now and then, not hundreds a second)."""
        queue_log = self.h.settings.queue_log
        if queue_log.exists():
            os.truncate(queue_log, 0)  # Asterisk appends: its next line starts the file again
        remove_recordings_since(self.h.settings.recordings_dir, since)

    def pids(self) -> dict[str, int | None]:
        """The processes whose CPU and memory are measured: Asterisk, the controller (None
        while app_queue runs the calls), the run's Redis."""
        def pid_of(name: str) -> int | None:
            path = services.pid_file(self.h.settings, name)
            try:
                pid = int(path.read_text())
            except (OSError, ValueError):
                return None
            return pid if services.process_alive(pid) else None

        return {"controller": pid_of("controller") if self.system == "ours" else None,
                "asterisk": pid_of("asterisk"),
                "redis": self.redis_proc.pid if self.redis_proc is not None else None}
