"""Starts, checks and stops one Asterisk instance inside the project's Asterisk root.

The root (Debian sid, built by scripts/install-asterisk.sh) shares the host's network, so
Asterisk inside listens on loopback and reaches the controller's FastAGI port directly.
Each hotline instance (the demo, a test run) has its own config and run folders under
``/srv/hotline/<instance>`` inside the root, so several can coexist on other ports.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable

from agents.roster import RosterAgent
from asterisk_conf.render import render_all, write_config
from hotline.settings import Settings

log = logging.getLogger(__name__)


class AsteriskError(RuntimeError):
    """Asterisk could not be installed, configured or started."""


def asterisk_binary(settings: Settings) -> Path:
    path = settings.asterisk_root / "usr/sbin/asterisk"
    if not path.exists():
        raise AsteriskError(f"no Asterisk in {settings.asterisk_root}: run scripts/install-asterisk.sh (make up does)")
    return path


def configure(settings: Settings, agents: Iterable[RosterAgent], numbers: Iterable[str]) -> str:
    """Render and write this instance's configuration; return asterisk.conf's in-root path."""
    asterisk_binary(settings)
    return str(write_config(settings, render_all(settings, agents, numbers)))


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


def start(settings: Settings, log_path: Path | None = None, wait: float = 30.0) -> subprocess.Popen:
    """Start Asterisk in the foreground as a child process we own and wait until fully booted."""
    log_file = open(log_path or settings.var_dir / f"asterisk-{settings.instance}.log", "ab")
    proc = subprocess.Popen(
        _command(settings, "-f", "-n", "-q"),
        stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    wait_fully_booted(settings, proc, wait)
    return proc


def wait_fully_booted(settings: Settings, proc: subprocess.Popen | None, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AsteriskError(f"Asterisk exited with {proc.returncode}; see var/asterisk-{settings.instance}.log")
        try:
            cli(settings, "core waitfullybooted", timeout=5)
            return
        except (AsteriskError, subprocess.TimeoutExpired):
            time.sleep(0.2)
    raise AsteriskError(f"Asterisk did not boot within {wait:.0f} s")


def stop(settings: Settings, proc: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    """Stop the instance: ask politely over the CLI, then signal the process group."""
    try:
        cli(settings, "core stop now", timeout=timeout)
    except (AsteriskError, subprocess.TimeoutExpired):
        pass
    if proc is None:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
