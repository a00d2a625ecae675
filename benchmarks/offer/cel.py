"""app_queue's start, from Asterisk's CEL: the benchmark's AMI account, CEL on, the file read.

app_queue's scenario 1 starts at the CEL ``APP_START`` of Queue(): the record carries its
stasis message's creation time, the moment Queue() began, where any AMI event about the
caller joining is stamped later, by the manager. cel_custom writes ``eventtime,uniqueid``
lines to a CSV file; nothing but that one event type is turned on.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.offer.ami_tap import AmiTap
from hotline.asterisk import process as asterisk_process

if TYPE_CHECKING:  # the harness reads the port base when imported: only the run imports it
    from tests.integration.harness import Hotline

BENCH_USER = "bench"
CEL_CONF = "[general]\nenable = yes\napps = queue\nevents = APP_START\n"
CEL_FILE = "queue-start.csv"
CEL_CUSTOM_CONF = f"[mappings]\n{CEL_FILE} => ${{eventtime}},${{CHANNEL(uniqueid)}}\n"
CEL_ACTIONS = ({"Action": "Command", "Command": "module reload cel"},
               {"Action": "ModuleLoad", "Module": "res_cdrel_custom.so", "LoadType": "load"},
               {"Action": "ModuleLoad", "Module": "cel_custom.so", "LoadType": "load"})


def bench_account(secret: str) -> str:
    """manager.conf section of the benchmark's account: loopback only, and the classes it
    needs to pause members, load modules and read every call and agent event."""
    return f"""
[{BENCH_USER}]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,agent,system
write = call,agent,system,command
"""


def add_bench_ami_user(h: Hotline) -> tuple[str, str]:
    """An AMI account of the benchmark's own, on its own instance only: the controller's
    account has just the rights the controller needs (no agent, system or command class),
    and the benchmark pauses app_queue members, loads CEL modules and reads every call
    event. Returns (user, secret)."""
    secret = secrets.token_urlsafe(18)
    conf = h.settings.instance_dir / "etc" / "manager.conf"
    conf.write_text(conf.read_text() + bench_account(secret))
    asterisk_process.cli(h.settings, "manager reload")
    return BENCH_USER, secret


def enable_cel(h: Hotline, ami: AmiTap) -> Path:
    """Turn on Asterisk's CEL for this instance, APP_START of Queue() only, written by
    cel_custom to a CSV file (returned). A CEL record carries the time its stasis message
    was created, i.e. the moment Queue() began, while an AMI event's Timestamp is taken
    later, when the manager formats the event."""
    etc = h.settings.instance_dir / "etc"
    out = h.settings.instance_dir / "log" / "cel-custom"
    out.mkdir(parents=True, exist_ok=True)
    (etc / "cel.conf").write_text(CEL_CONF)
    (etc / "cel_custom.conf").write_text(CEL_CUSTOM_CONF)
    for action in CEL_ACTIONS:
        reply = ami.action(action)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"CEL set-up failed: {action} -> {reply}")
    return out / CEL_FILE


def parse_cel(text: str) -> dict[str, float]:
    """{uniqueid: Queue() start} from the CEL file's lines (quoted or not); the first line
    of a call wins and a line that is not ``time,uniqueid`` is skipped."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        at, _, uid = line.strip().strip('"').partition(",")
        try:
            out.setdefault(uid.strip('"'), float(at.strip('"')))
        except ValueError:
            continue
    return out


def read_cel(path: Path) -> dict[str, float]:
    """{uniqueid: Queue() start} from the CEL file; empty while Asterisk has written none."""
    return parse_cel(path.read_text()) if path.exists() else {}
