"""Background services the hotline needs on one machine: Redis, Asterisk, the controller,
demo agents. Used by ``hotline up``/``down`` and by the integration tests.

Each daemon is a detached process with a pid file and a log file under ``var/``, so
``hotline down`` (or a test's teardown) can stop exactly what was started.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from hotline.settings import Settings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        time.sleep(0.1)
    return False


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis(settings: Settings) -> str:
    """Return a Redis URL that answers: REDIS_URL when given (it must answer), else the
    local default, starting our own redis-server there when nothing answers."""
    if settings.redis_url:
        if not redis_answers(settings.redis_url):
            raise RuntimeError(f"REDIS_URL={settings.redis_url} does not answer")
        return settings.redis_url
    if redis_answers(DEFAULT_REDIS_URL):
        return DEFAULT_REDIS_URL
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not installed: run scripts/install-system.sh")
    data = settings.var_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run([binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                    "--dir", str(data), "--save", "", "--appendonly", "yes",
                    "--pidfile", str(settings.var_dir / "redis.pid"),
                    "--logfile", str(settings.var_dir / "redis.log")], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(DEFAULT_REDIS_URL):
            return DEFAULT_REDIS_URL
        time.sleep(0.1)
    raise RuntimeError("started redis-server but it does not answer; see var/redis.log")


def _own_redis_pid(settings: Settings) -> int | None:
    """The pid of the redis-server ``ensure_redis`` started for this var folder, while it runs."""
    try:
        pid = int((settings.var_dir / "redis.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


def own_redis_running(settings: Settings) -> bool:
    return _own_redis_pid(settings) is not None


def stop_own_redis(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop the redis-server we started (it saves its append-only file on the way out);
    True if one ran. A Redis we did not start is never touched."""
    pid = _own_redis_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(pid):
        os.kill(pid, signal.SIGKILL)
    (settings.var_dir / "redis.pid").unlink(missing_ok=True)
    return True


def wait_leader(settings: Settings, timeout: float) -> bool:
    """Wait until a controller of this instance holds the router's lead in Redis (it then
    routes calls); False after ``timeout`` seconds."""
    import redis

    from hotline.live.keys import LiveKeys

    client = redis.Redis.from_url(settings.redis_url or DEFAULT_REDIS_URL, socket_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get(LiveKeys.for_instance(settings.instance).leader):
                return True
        except redis.RedisError:
            pass
        time.sleep(0.1)
    return False


def pid_file(settings: Settings, name: str) -> Path:
    return settings.var_dir / "run" / f"{settings.instance}-{name}.pid"


def start_daemon(settings: Settings, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> int:
    """Start ``argv`` detached, logging to var/<instance>-<name>.log; return its pid."""
    stop_daemon(settings, name)
    path = pid_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(settings.var_dir / f"{settings.instance}-{name}.log", "ab")
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **(env or {})})
    log.close()
    path.write_text(str(proc.pid))
    return proc.pid


def signal_daemon(settings: Settings, name: str, signum: int) -> bool:
    """Send ``signum`` to a running daemon (e.g. SIGHUP: reload); True if it ran."""
    if not daemon_alive(settings, name):
        return False
    os.kill(int(pid_file(settings, name).read_text()), signum)
    return True


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs. A zombie (exited, not yet reaped by its parent: we are the
    parent when we started it) counts as gone, and is reaped here."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:  # not our child: look at its state instead
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False


def daemon_alive(settings: Settings, name: str) -> bool:
    path = pid_file(settings, name)
    try:
        return path.exists() and process_alive(int(path.read_text()))
    except ValueError:
        return False


def stop_daemon(settings: Settings, name: str, timeout: float = 10.0) -> bool:
    """Stop a daemon started by start_daemon (SIGTERM, then SIGKILL); True if one ran."""
    path = pid_file(settings, name)
    if not path.exists():
        return False
    try:
        pid = int(path.read_text())
        os.killpg(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError, PermissionError):
        path.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid):
            break
        time.sleep(0.05)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    path.unlink(missing_ok=True)
    return True


def controller_argv() -> list[str]:
    return [sys.executable, "-m", "hotline.ops.cli", "controller"]


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process build the same Settings."""
    return {
        "HOTLINE_INSTANCE": settings.instance, "HOTLINE_VAR_DIR": str(settings.var_dir),
        "HOTLINE_ASTERISK_ROOT": str(settings.asterisk_root), "HOTLINE_SIP_PORT": str(settings.sip_port),
        "HOTLINE_RTP_START": str(settings.rtp_start), "HOTLINE_RTP_END": str(settings.rtp_end),
        "HOTLINE_AMI_PORT": str(settings.ami_port), "HOTLINE_AGI_PORT": str(settings.agi_port),
        "HOTLINE_HTTP_HOST": settings.http_host, "HOTLINE_SESSION_HOURS": repr(settings.session_hours),
        "HOTLINE_HTTP_PORT": str(settings.http_port), "HOTLINE_HTTP_ADVERTISE": settings.http_advertise, "HOTLINE_AMI_SECRET": settings.ami_secret,
        "HOTLINE_SIP_SECRET": settings.sip_secret, "HOTLINE_WEB_TOKEN": settings.web_token,
        "HOTLINE_AGI_SECRET": settings.agi_secret,
        "REDIS_URL": settings.redis_url, "HOTLINE_DB_URL": settings.db_url,
        "HOTLINE_CONFIG_DIR": str(settings.config_dir),
        "HOTLINE_AGI_PEERS": ",".join(settings.agi_peers),
        "HOTLINE_OUTBOUND_TRUNK": settings.outbound_trunk,
        "HOTLINE_AGENCY_TRUNK": settings.agency_trunk,
        "HOTLINE_ROUTER_TICK": repr(settings.router_tick),
        "HOTLINE_AGENCY_RING": repr(settings.agency_ring),
        "HOTLINE_FOLLOW_UP_TICK": repr(settings.follow_up_tick),
        "HOTLINE_PHONE_QUALIFY": repr(settings.phone_qualify),
    }
