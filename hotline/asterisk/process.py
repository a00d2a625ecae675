"""Starts, checks and stops one Asterisk instance inside the project's Asterisk root.

The root (Debian sid, built by scripts/install-asterisk.sh) shares the host's network, so
Asterisk inside listens on loopback and reaches the controller's FastAGI port directly.
Each hotline instance (the demo, a test run) has its own config and run folders under
``/srv/hotline/<instance>`` inside the root, so several can coexist on other ports.
"""
from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable

from agents.roster import RosterAgent
from asterisk_conf.render import render_all, write_config
from hotline.ops.daemons import process_alive, start_daemon, stop_daemon
from hotline.settings import Settings

log = logging.getLogger(__name__)


class AsteriskError(RuntimeError):
    """Asterisk could not be installed, configured or started."""


def asterisk_binary(settings: Settings) -> Path:
    path = settings.asterisk_root / "usr/sbin/asterisk"
    if not path.exists():
        raise AsteriskError(f"no Asterisk in {settings.asterisk_root}: run scripts/install-asterisk.sh (make up does)")
    return path


def configure(settings: Settings, agents: Iterable[RosterAgent], numbers: Iterable[str],
              agency_numbers: Iterable[str] = (), supervisor_phones: Iterable[Any] = ()) -> str:
    """Render and write this instance's configuration; return asterisk.conf's in-root path."""
    asterisk_binary(settings)
    _ensure_hosts(settings.asterisk_root)
    return str(write_config(settings, render_all(settings, agents, numbers, agency_numbers, supervisor_phones)))


def _ensure_hosts(root: Path) -> None:
    """Asterisk looks up the machine's own name; without an entry in the root's /etc/hosts
    each lookup waits on a DNS server this closed network does not have."""
    hosts = root / "etc" / "hosts"
    name = socket.gethostname()
    text = hosts.read_text() if hosts.exists() else ""
    if not any(name in line.split()[1:] for line in text.splitlines() if line.strip() and not line.startswith("#")):
        hosts.write_text(text + f"127.0.0.1 localhost\n127.0.1.1 {name}\n")


def _command(settings: Settings, *args: str) -> list[str]:
    conf = f"{settings.instance_dir_in_root}/etc/asterisk.conf"
    return ["chroot", str(settings.asterisk_root), "/usr/sbin/asterisk", "-C", conf, *args]


def cli(settings: Settings, command: str, timeout: float = 10.0) -> str:
    """Run one Asterisk CLI command against the running instance and return its output."""
    done = subprocess.run(_command(settings, "-rx", command), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AsteriskError(f"asterisk -rx {command!r} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def is_running(settings: Settings) -> bool:
    try:
        return "Asterisk" in cli(settings, "core show version", timeout=5)
    except (AsteriskError, subprocess.TimeoutExpired):
        return False


def start(settings: Settings, wait: float = 30.0) -> int:
    """Start Asterisk in the foreground as a detached daemon (pid file under var/run) and
    wait until it is fully booted; return its pid."""
    pid = start_daemon(settings, "asterisk", _command(settings, "-f", "-n", "-q"))
    wait_fully_booted(settings, pid, wait)
    return pid


def wait_fully_booted(settings: Settings, pid: int | None, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if pid is not None and not process_alive(pid):
            raise AsteriskError(f"Asterisk exited at start; see {settings.var_dir}/{settings.instance}-asterisk.log")
        try:
            cli(settings, "core waitfullybooted", timeout=5)
            return
        except (AsteriskError, subprocess.TimeoutExpired):
            time.sleep(0.2)
    raise AsteriskError(f"Asterisk did not boot within {wait:.0f} s")


def stop(settings: Settings, timeout: float = 15.0) -> None:
    """Stop the instance: ask politely over the CLI, then signal the daemon."""
    try:
        cli(settings, "core stop now", timeout=timeout)
    except (AsteriskError, subprocess.TimeoutExpired):
        pass
    stop_daemon(settings, "asterisk", timeout=timeout)
