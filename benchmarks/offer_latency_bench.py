"""Offer latency on real Asterisk: our controller against a plain app_queue, in the same run.

Run: ``HOTLINE_TEST_PORT_BASE=35000 python -m benchmarks.offer_latency_bench`` (about 10
minutes on 2 cores; the port base defaults to 35000 so a benchmark never collides with the
integration tests on 25000). It starts a whole test hotline with the integration harness
(tests/integration/harness.py: real Asterisk 22, Redis, the controller process, SIPp phones
for all four roster agents, ring 300 ms; test queue defaults: wrap-up 3 s) in a temporary
folder, measures, and stops everything (also on Ctrl-C or an error).

What is measured: the time from the moment a call could be offered to the moment the
agent's INVITE leaves Asterisk, with the same clock quality for both systems.

The end: the INVITE to the agent's phone on the wire. A thread reads the loopback
interface (AF_PACKET, outgoing copies, kernel timestamps; needs CAP_NET_RAW) and each
agent leg's AMI ``DialBegin`` (DestChannel ``PJSIP/<agent>-...``) is matched to the INVITE
to that agent nearest to it. Without capture rights the DialBegin's own Timestamp is used
instead: app_dial and app_queue publish it right after ``ast_call()``, but the manager
stamps an event when it formats it, after the stasis hand-off, which this machine puts
0.2-0.3 ms after the INVITE (printed under the table as a check).

The start: each system's own record of the moment, on the same machine clock. Ours: the
controller's time.time() in its events. app_queue: the time Asterisk created the stasis
message of the caller entering Queue() (the CEL ``APP_START`` of Queue, which carries the
message's creation time; the benchmark turns CEL on for this one event type, in both
halves of the run, written by cel_custom to a file). The AMI events that would otherwise
serve (``QueueCallerJoin``, ``QueueMemberPause``) are stamped late like every AMI event,
which would flatter app_queue by the manager's delay: scenario 1 is also printed from
QueueCallerJoin, below the table. The benchmark reads AMI itself (a plain socket in a
thread, events ``call,agent``). For app_queue the ``AgentCalled`` event is published next
to DialBegin; it is checked, not used.

1. **idle agent** -- a call is queued while an eligible agent is idle. The two systems take
   turns (``--rounds``, default 4: ours, app_queue, ours, ...; ``--calls`` per system, default
   100, split evenly), so that both meet the same spells of noise from the rest of the
   machine (this is a 2-core virtual machine: one system measured after the other read
   p99s that swapped places from one run to the next). The hypervisor's "steal" time during
   each system's rounds is printed below the table: the tail follows it.
   ours: the call's ``queued`` event in the database (CallSession writes it just before the
   call enters the shared queue; both systems record from the agent's answer, see recordings/). When the session's
   controller leads the router and the last routing step saw nobody waiting (the case
   here), the leader decides from its mirror of the live state (RouterService.fast_offer:
   acd.route's answer for a lone call of that shape, prepared after the last change) and
   the session sends its one AGI command (Dial) at once; the offer's bookkeeping and the
   Lua enqueue-and-claim wait for the agent's DialBegin (a claim that fails withdraws the
   ring). Otherwise: Redis enqueue, the router's step, the Lua claim,
   the hand-over to the owning session, Dial. The split of ours is printed below the table:
   the routing decision, the AGI command on the wire, and Asterisk's own share (that AGI
   command on the wire to the agent's INVITE on the wire).
   app_queue: the caller enters Queue() (see above). Calls dial 12345 and press 1
   (the IVR is skipped at once). A call is placed only when, by the benchmark's own AMI
   view (an agent is busy from DialBegin to its channel's Hangup plus the wrap-up plus
   0.5 s), there is an idle agent for it and for every earlier call not yet offered, and
   at least a random 0.9-2 s after the previous call, and each caller talks a random
   0.8-2.5 s (both systems get the same draws, from ``--seed``; with a fixed talk time
   close to a fixed gap, our offers all fell a few ms after the previous caller's
   hang-up and app_queue's all just before it, so only ours met the tear-down: the
   share of offers within 50 ms of another call's hang-up is printed for both as a
   check). The least gap keeps each call a lone arrival to an idle agent, the case this
   scenario measures (it dates from when the fallback queue had app_queue's default
   ``autofill = no``, under which a second caller arriving while the first one's agent still
   rang waited 2 s for its turn; queues.conf now sets ``autofill = yes``).
2. **agent logs in / is unpaused** -- every agent is unavailable, a call waits, one agent
   becomes available. ours: all agents logged out; the call is waiting once the AMI
   ``MusicOnHoldStart`` of the caller is seen (the session starts the music as it puts the
   call in the shared queue); then ``AgentDesk.log_in`` (the harness's desk action); the moment is the
   returned record's ``since`` (the clock reading the log-in was applied with, taken just
   before the Redis write). app_queue: every member paused (AMI QueuePause); after
   QueueCallerJoin one member is unpaused; the moment is the ``QueueMemberPause`` (Paused 0)
   event's Timestamp (stamped late like any AMI event, which flatters app_queue by a
   fraction of a millisecond against its 1 s re-check). The agent is freed 0.2-1.2 s after the call queued, stratified (one
   random delay in each 1/trials slice of that second, shuffled), so app_queue's
   once-a-second re-check (wait_our_turn: ast_waitfordigit(RECHECK * 1000)) is met at
   evenly spread phases and not at one fixed by the benchmark. Agents rotate; the freed
   agent is logged out / paused again once it answered; the next trial starts when the
   caller has hung up.
3. **wrap-up ends** -- four "chains" of calls (first calls 1.5 s apart): each chain places
   its next call a random 0-1.5 s after its previous caller hung up, so new calls queue while the agents are in
   wrap-up (the random gap keeps the chains from running in step and from locking the
   phase of app_queue's 1 s re-check or our router's 0.25 s tick to the benchmark). A
   sample is an offer (INVITE to agent X at T) whose call queued at least 50 ms before
   X's wrap-up ended (F); latency = T - F. ours: F = the agent's ``wrap_until`` in Redis
   (polled every 20 ms while the agent is in wrap-up; no event marks the end). Since commit
   bf8da1b the router sleeps exactly until the next wrap-up end (router_service.next_due);
   before, it noticed the end on its 0.25 s tick and this row read 90-150 ms. app_queue (queues.conf wrapuptime = 5): app_queue keeps
   the member's last call end in whole seconds (time(&member->lastcall)) and tests
   ``time(NULL) - wrapuptime < lastcall``, so the member really becomes available at
   floor(end) + 5 s; F is that effective moment, with ``end`` = the ``AgentComplete`` event
   (published immediately before that time() call). Offers straight to an idle agent
   (each chain's first call) are not samples. Wrap-ups of several agents often end in the
   same second (and app_queue's whole-second rounding makes them end at the same instant),
   so callers behind the head may wait for a later re-check:
   row "3b" keeps only the offers whose call was the oldest one waiting at F, i.e. the
   pure "one agent frees, the head caller gets it" figure.

All app_queue runs use the real fallback path: the controller process is stopped
(Hotline.stop_controller), the AGI() request fails and the dialplan sends the citizen to
the ``hotline-fallback`` queue (rrmemory, ringinuse = no, all four agents as static
members). The controller is restarted at the end (it imports the fallback calls) before
everything is stopped.

``--keep`` keeps the temporary folder (controller and Asterisk logs, the database) and
writes every AMI event the benchmark saw to ``ami-events.jsonl`` there, and the captured
INVITE and AGI Dial times to ``wire.json``.

Percentiles: median and p99 with linear interpolation between order statistics; with fewer
than 100 samples p99 lies between the two largest samples, so the max is printed as well.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

# The harness derives every port and the instance name from this at import time.
os.environ.setdefault("HOTLINE_TEST_PORT_BASE", "35000")

from benchmarks.stats import bootstrap_difference, median, p99, percentile  # noqa: E402
from hotline import asterisk_process  # noqa: E402
from hotline.sipp import SippPeer  # noqa: E402
from tests.integration.harness import AGENT_PORT, AGENTS, BASE, TEST_QUEUE_DEFAULTS, Hotline  # noqa: E402

AGENT_IDS = [a["id"] for a in AGENTS]
FALLBACK_QUEUE = "hotline-fallback"
FALLBACK_WRAPUP = 5.0  # asterisk_conf/templates/queues.conf.j2
OUR_WRAPUP = float(TEST_QUEUE_DEFAULTS["wrapup_seconds"])
DIGIT_DELAY_MS = 500
IDLE_TALK_MS = (800, 2500)  # scenario 1: each caller's talk time, drawn at random
IDLE_GAP = (0.9, 2.0)  # scenario 1: least time between two calls placed, drawn at random
Event = dict[str, str]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- AMI ---------------------------------------------------------------------------------
class AmiTap:
    """A plain AMI connection: a reader thread keeps every event; actions wait for replies.
    The thread reads what has queued every READ_EVERY seconds rather than waking for each
    event next to the offers it measures (every time it uses is Asterisk's own Timestamp)."""

    READ_EVERY = 0.02

    def __init__(self, port: int, user: str, secret: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(None)
        self.events: list[Event] = []
        self.replies: dict[str, Event] = {}
        self.cond = threading.Condition()
        self.closed = False
        self._wlock = threading.Lock()
        self._ids = 0
        self._buf = b""
        banner = self._read_block(first_line_only=True)
        if not banner.startswith("Asterisk Call Manager"):
            raise RuntimeError(f"not AMI: {banner!r}")
        self._thread = threading.Thread(target=self._reader, name="ami-tap", daemon=True)
        self._thread.start()
        reply = self.action({"Action": "Login", "Username": user, "Secret": secret, "Events": "call,agent"})
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login failed: {reply}")

    def _read_block(self, first_line_only: bool = False) -> str:
        sep = b"\r\n" if first_line_only else b"\r\n\r\n"
        while sep not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self._buf += chunk
        block, self._buf = self._buf.split(sep, 1)
        return block.decode("utf-8", "replace")

    def _reader(self) -> None:
        try:
            while True:
                if b"\r\n\r\n" not in self._buf:
                    time.sleep(self.READ_EVERY)
                block = self._read_block()
                msg: Event = {}
                for line in block.split("\r\n"):
                    key, sep, value = line.partition(":")
                    if sep and key not in msg:
                        msg[key] = value.strip()
                with self.cond:
                    if "Event" in msg:
                        self.events.append(msg)
                    elif "ActionID" in msg:
                        self.replies[msg["ActionID"]] = msg
                    self.cond.notify_all()
        except (OSError, ConnectionError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def action(self, fields: dict[str, str], timeout: float = 5.0) -> Event:
        with self._wlock:
            self._ids += 1
            action_id = f"bench-{self._ids}"
            data = "".join(f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": action_id}.items()) + "\r\n"
            self.sock.sendall(data.encode())
        with self.cond:
            if not self.cond.wait_for(lambda: action_id in self.replies or self.closed, timeout):
                raise TimeoutError(f"AMI {fields['Action']}: no reply in {timeout} s")
            if action_id not in self.replies:
                raise ConnectionError("AMI closed")
            return self.replies.pop(action_id)

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def find(self, pred: Callable[[Event], bool], start: int = 0) -> Event | None:
        with self.cond:
            return next((e for e in self.events[start:] if pred(e)), None)

    def wait(self, pred: Callable[[Event], bool], timeout: float, start: int = 0, what: str = "event") -> Event:
        deadline = time.monotonic() + timeout
        seen = start
        with self.cond:
            while True:
                for e in self.events[seen:]:
                    if pred(e):
                        return e
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise TimeoutError(f"no {what} within {timeout} s")
                self.cond.wait(left)

    def since(self, start: int) -> list[Event]:
        with self.cond:
            return list(self.events[start:])

    def close(self) -> None:
        try:
            self.action({"Action": "Logoff"}, timeout=2)
        except (OSError, TimeoutError, ConnectionError):
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        except OSError:
            pass


def steal_seconds() -> float:
    """CPU time the hypervisor gave to something else while this machine's vCPUs wanted to
    run (/proc/stat 'steal', all CPUs); 0.0 where the kernel does not report it."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def ts(e: Event) -> float:
    return float(e["Timestamp"])


def agent_of(channel: str) -> str:
    """'PJSIP/2001-0000002a' -> '2001' ('' for anything else)."""
    if not channel.startswith("PJSIP/"):
        return ""
    name = channel[len("PJSIP/"):].rsplit("-", 1)[0]
    return name if name in AGENT_IDS else ""


def is_agent_dial(e: Event, uniqueid: str | None = None) -> bool:
    return (e.get("Event") == "DialBegin" and bool(agent_of(e.get("DestChannel", "")))
            and (uniqueid is None or e.get("Uniqueid") == uniqueid))


class InviteSniffer:
    """Kernel timestamps of INVITEs sent to the agents' phones, seen on the loopback
    interface (AF_PACKET, outgoing copies only). Needs CAP_NET_RAW; ``start`` returns
    False without it. The INVITE on the wire is where every offer is measured to; the AGI
    Dial lines give Asterisk's own share of ours.

    The instrument keeps off the two cores it measures: a socket filter in the kernel
    passes only UDP to the agents' SIP ports and TCP from the FastAGI ports (no RTP, AMI or
    Redis traffic), and the thread reads what has queued every READ_EVERY seconds instead of
    waking for each packet; the kernel stamps each packet as it is sent, however late it is
    read. Reading every packet as it came woke a Python thread about once per millisecond
    of the offer path (a call's RTP alone is 400 loopback packets a second)."""

    SO_TIMESTAMPNS = 35
    SO_ATTACH_FILTER = 26
    SO_RCVBUFFORCE = 33
    READ_EVERY = 0.05

    def __init__(self, ports: dict[int, str], agi_ports: tuple[int, ...] = ()) -> None:
        self.ports = ports
        self.agi_ports = agi_ports
        self.seen: list[tuple[float, str]] = []
        self.agi_dials: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.stopped = threading.Event()

    def start(self) -> bool:
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
            self.sock.bind(("lo", 0))
            self.sock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMPNS, 1)
            self._attach_filter()
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, self.SO_RCVBUFFORCE, 8 << 20)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.sock.setblocking(False)
        except (OSError, AttributeError) as exc:
            log(f"no packet capture ({exc}); the DialBegin/INVITE check is skipped")
            self.sock = None
            return False
        threading.Thread(target=self._run, name="invite-sniffer", daemon=True).start()
        return True

    def _attach_filter(self) -> None:
        """Classic BPF, in the kernel: accept outgoing IPv4 UDP to an agent's port and TCP
        from a FastAGI port (the controller's commands); drop everything else before it is
        queued."""
        ld_pkttype, ldh_abs, ldb_abs, ldx_iphdr, ldh_ind, jeq, ret = 0x20, 0x28, 0x30, 0xB1, 0x48, 0x15, 0x06
        skf_ad_pkttype = 0xFFFFF004  # SKF_AD_OFF + SKF_AD_PKTTYPE
        ACCEPT, DROP, TCP, UDP = "accept", "drop", "tcp", "udp"
        prog: list[tuple[int, int, object, object] | str] = [
            (ld_pkttype, skf_ad_pkttype, 0, 0), (jeq, socket.PACKET_OUTGOING, 0, DROP),
            (ldh_abs, 12, 0, 0), (jeq, 0x0800, 0, DROP),  # IPv4
            (ldb_abs, 23, 0, 0), (jeq, 6, TCP, 0), (jeq, 17, UDP, DROP),  # protocol
            TCP, (ldx_iphdr, 14, 0, 0), (ldh_ind, 14, 0, 0),  # source port: the controller's side
            *[(jeq, port, ACCEPT, 0) for port in self.agi_ports], (ret, 0, 0, 0),
            UDP, (ldx_iphdr, 14, 0, 0), (ldh_ind, 16, 0, 0),  # destination port: the agent's phone
            *[(jeq, port, ACCEPT, 0) for port in self.ports], (ret, 0, 0, 0),
            ACCEPT, (ret, 0xFFFF, 0, 0),
            DROP, (ret, 0, 0, 0),
        ]
        labels: dict[str, int] = {}
        code: list[tuple[int, int, object, object]] = []
        for item in prog:
            if isinstance(item, str):
                labels[item] = len(code)
            else:
                code.append(item)

        def jump(at: int, to: object) -> int:
            return labels[to] - at - 1 if isinstance(to, str) else int(to)  # type: ignore[call-overload]
        packed = b"".join(struct.pack("HBBI", op, jump(i, jt), jump(i, jf), k) for i, (op, k, jt, jf) in enumerate(code))
        buf = ctypes.create_string_buffer(packed)
        assert self.sock is not None
        self.sock.setsockopt(socket.SOL_SOCKET, self.SO_ATTACH_FILTER,
                             struct.pack("HL", len(code), ctypes.addressof(buf)))

    def _run(self) -> None:
        assert self.sock is not None
        while not self.stopped.wait(self.READ_EVERY):
            while True:
                try:
                    data, anc, _, addr = self.sock.recvmsg(65535, 256)
                except BlockingIOError:
                    break
                except OSError:
                    return
                self._take(data, anc, addr)

    def _take(self, data: bytes, anc: list, addr: Any) -> None:
        if addr[2] != socket.PACKET_OUTGOING or len(data) < 50 or data[12:14] != b"\x08\x00":
            return
        ihl = (data[14] & 0x0F) * 4
        if data[23] == 6:  # TCP: the controller's AGI 'EXEC "Dial" "PJSIP/<agent>,..."' line
            tcp = 14 + ihl
            payload = data[tcp + (data[tcp + 12] >> 4) * 4:]
            if payload.startswith(b'EXEC "Dial" "PJSIP/'):
                agent = payload[19:].split(b",")[0].decode("ascii", "replace")
                with self.lock:
                    self.agi_dials.append((self._stamp(anc), agent))
            return
        if data[23] != 17:
            return
        udp = 14 + ihl
        port = int.from_bytes(data[udp + 2:udp + 4], "big")
        if port in self.ports and data[udp + 8:udp + 15] == b"INVITE ":
            at = self._stamp(anc)
            with self.lock:
                self.seen.append((at, self.ports[port]))

    def _stamp(self, anc: list) -> float:
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == self.SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:16], "little")
                return sec + nsec / 1e9
        return time.time()

    def agi_to_invite(self) -> list[float]:
        """For each AGI Dial command seen on the wire, the time until the INVITE to the
        same agent (the nearest one within 0.2 s after it): Asterisk's share of our path."""
        with self.lock:
            seen, dials = list(self.seen), list(self.agi_dials)
        out = []
        for t, agent in dials:
            after = [at - t for at, a in seen if a == agent and 0 <= at - t < 0.2]
            if after:
                out.append(min(after))
        return out

    def invite_of(self, dial: Event) -> float | None:
        """Wire time of the INVITE a DialBegin stands for: the one to the same agent
        nearest to the DialBegin's Timestamp, within 0.2 s; None if none was seen."""
        t, agent = ts(dial), agent_of(dial["DestChannel"])
        with self.lock:
            near = [at for at, a in self.seen if a == agent and abs(at - t) < 0.2]
        return min(near, key=lambda at: abs(at - t)) if near else None

    def agi_dial_before(self, dial: Event) -> float | None:
        """Wire time of the AGI Dial command behind a DialBegin: the last one to the same
        agent at most 50 ms before its INVITE."""
        at = self.invite_of(dial)
        if at is None:
            return None
        agent = agent_of(dial["DestChannel"])
        with self.lock:
            sent = [t for t, a in self.agi_dials if a == agent and 0 <= at - t < 0.05]
        return max(sent) if sent else None

    def offsets(self, dials: list[Event]) -> list[float]:
        """INVITE time minus DialBegin Timestamp, for each DialBegin with an INVITE to the
        same agent within 0.2 s (the nearest)."""
        return [at - ts(d) for d in dials if (at := self.invite_of(d)) is not None]

    def close(self) -> None:
        self.stopped.set()
        if self.sock is not None:
            time.sleep(0.6)  # let the reader see the flag (its recv times out every 0.5 s)
            self.sock.close()


# -- the bench -----------------------------------------------------------------------------
@dataclass
class Placed:
    caller: str
    peer: SippPeer
    uniqueid: str = ""


@dataclass
class Results:
    rows: list[tuple[str, str, list[float]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    on_wire: bool = False  # offers end at the INVITE captured on the wire (else DialBegin)

    def add(self, scenario: str, system: str, seconds: list[float]) -> None:
        self.rows.append((scenario, system, [s * 1000.0 for s in seconds]))
        if seconds:
            log(f"{scenario} / {system}: n={len(seconds)} median={statistics.median(seconds) * 1000:.1f} ms")


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


class Bench:
    def __init__(self, hotline: Hotline, ami: AmiTap, rng: random.Random) -> None:
        self.h = hotline
        self.ami = ami
        self.rng = rng
        self.n_calls = 0
        self.routing_part: list[float] = []
        self.head_part: list[float] = []
        self.join_part: list[float] = []
        self.agi_part: list[float] = []
        self.sniffer: InviteSniffer | None = None  # set when packets can be captured
        self.cel_file: Path | None = None  # set when CEL could be turned on
        self.queue_started: dict[str, float] = {}  # app_queue: uniqueid -> Queue() start (CEL)
        self.near_hangup: dict[str, tuple[int, int]] = {}  # scenario 1: offers just after a hang-up, of all

    # -- helpers ------------------------------------------------------------------------
    def offer_moment(self, dial: Event) -> float:
        """When the agent's INVITE left Asterisk: its packet on the wire when captured,
        else the DialBegin's Timestamp (which the manager stamps about 0.25 ms later)."""
        at = self.sniffer.invite_of(dial) if self.sniffer is not None else None
        return ts(dial) if at is None else at

    def place(self, hold_ms: int) -> Placed:
        self.n_calls += 1
        caller = f"139{BASE % 100:02d}{self.n_calls:06d}"
        peer = self.h.call(caller, digits="1", hold_ms=hold_ms, digit_delay_ms=DIGIT_DELAY_MS)
        return Placed(caller, peer)

    def uniqueid(self, call: Placed, timeout: float = 5.0) -> str:
        if not call.uniqueid:
            e = self.ami.wait(lambda e: e.get("Event") == "Newchannel" and e.get("CallerIDNum") == call.caller,
                              timeout, what=f"Newchannel for {call.caller}")
            call.uniqueid = e["Uniqueid"]
        return call.uniqueid

    def finish(self, calls: list[Placed], timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        for c in calls:
            try:
                c.peer.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                log(f"caller {c.caller} still running at the deadline; stopped")
                c.peer.stop()
        for c in calls:
            if c.peer.proc.returncode not in (0, None):
                log(f"caller {c.caller} exited {c.peer.proc.returncode}: {c.peer.errors()[-300:]}")

    def queued_at(self, call: Placed, timeout: float = 20.0) -> tuple[float, float | None] | None:
        """(queued, offered) epoch seconds from our database, once the record is written."""
        deadline = time.monotonic() + timeout
        uid = self.uniqueid(call)
        while time.monotonic() < deadline:
            if self.h.store.get(uid):
                evs = self.h.store.events(uid)
                q = [epoch(e["at"]) for e in evs if e["kind"] == "queued"]
                o = [epoch(e["at"]) for e in evs if e["kind"] == "offered"]
                return (q[0], o[0] if o else None) if q else None
            time.sleep(0.1)
        return None

    def set_all_paused(self, paused: bool) -> None:
        for a in AGENT_IDS:
            self.ami.action({"Action": "QueuePause", "Interface": f"PJSIP/{a}", "Queue": FALLBACK_QUEUE,
                             "Paused": "true" if paused else "false", "Reason": "bench"})

    # -- scenario 1: idle agent ----------------------------------------------------------------
    def idle_agent(self, system: str, n: int, seed: int) -> list[float]:
        # Talk times and gaps are drawn at random, the same draws for both systems: with a
        # fixed talk time close to the fixed gap, one system's offers fell a few ms after
        # the previous caller's hang-up every time (its tear-down on the other core) and the
        # other's never, which decided the p99 (seen while writing this benchmark).
        pace = random.Random(seed)
        wrap = OUR_WRAPUP if system == "ours" else FALLBACK_WRAPUP
        start = self.ami.mark()
        calls: list[Placed] = []
        busy_until = {a: 0.0 for a in AGENT_IDS}
        in_call: set[str] = set()
        seen = start
        last = 0.0
        gap = IDLE_GAP[0]
        deadline = time.monotonic() + n * 8 + 30
        while len(calls) < n and time.monotonic() < deadline:
            for e in self.ami.since(seen):
                seen += 1
                if is_agent_dial(e):
                    in_call.add(agent_of(e["DestChannel"]))
                elif e.get("Event") == "Hangup" and agent_of(e.get("Channel", "")):
                    a = agent_of(e["Channel"])
                    in_call.discard(a)
                    busy_until[a] = ts(e) + wrap + 0.5
            now = time.time()
            idle = sum(1 for a in AGENT_IDS if a not in in_call and busy_until[a] < now)
            offered = {e["Uniqueid"] for e in self.ami.since(start) if is_agent_dial(e)}
            pending = sum(1 for c in calls if not c.uniqueid or c.uniqueid not in offered)
            for c in calls:
                if not c.uniqueid:
                    e = self.ami.find(lambda e: e.get("Event") == "Newchannel" and e.get("CallerIDNum") == c.caller, start)
                    if e:
                        c.uniqueid = e["Uniqueid"]
            if idle - pending >= 1 and time.monotonic() - last >= gap:
                calls.append(self.place(pace.randint(*IDLE_TALK_MS)))
                last = time.monotonic()
                gap = pace.uniform(*IDLE_GAP)
            time.sleep(0.02)
        self.finish(calls)
        if system != "ours" and self.cel_file is not None:
            self.queue_started = read_cel(self.cel_file)
        out: list[float] = []
        routing: list[float] = []
        joined: list[float] = []
        to_agi: list[float] = []
        offers: list[float] = []
        for c in calls:
            try:
                uid = self.uniqueid(c, 1.0)
            except TimeoutError:
                continue
            dial = self.ami.find(lambda e: is_agent_dial(e, uid), start)
            if dial is None:
                log(f"{system}: call {c.caller} was never offered")
                continue
            if system == "ours":
                got = self.queued_at(c)
                if got is None:
                    log(f"ours: no queued event for {c.caller}")
                    continue
                queued, offered = got
                if offered is not None:
                    routing.append(offered - queued)
                sent = self.sniffer.agi_dial_before(dial) if self.sniffer is not None else None
                if sent is not None:
                    to_agi.append(sent - queued)
            else:
                join = self.ami.find(lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == uid, start)
                if join is None:
                    log(f"app_queue: no QueueCallerJoin for {c.caller}")
                    continue
                queued = self.queue_started.get(uid, ts(join))
                if uid not in self.queue_started:
                    log(f"app_queue: no CEL Queue() start for {c.caller}; measured from QueueCallerJoin")
                joined.append(self.offer_moment(dial) - ts(join))
                called = self.ami.find(lambda e: e.get("Event") == "AgentCalled" and e.get("Uniqueid") == uid, start)
                if called is not None and abs(ts(called) - ts(dial)) > 0.005:
                    log(f"app_queue: AgentCalled and DialBegin {1000 * (ts(called) - ts(dial)):.1f} ms apart")
            offered_at = self.offer_moment(dial)
            out.append(offered_at - queued)
            offers.append(offered_at)
        hangups = [ts(e) for e in self.ami.since(start) if e.get("Event") == "Hangup"]
        near, total = self.near_hangup.get(system, (0, 0))
        self.near_hangup[system] = (near + sum(1 for t in offers if any(0 <= t - h <= 0.05 for h in hangups)),
                                    total + len(offers))
        self.routing_part += routing
        self.agi_part += to_agi
        self.join_part += joined
        return out

    # -- scenario 2: an agent is freed while the call waits ------------------------------------
    def agent_freed(self, system: str, trials: int) -> list[float]:
        # app_queue may re-check up to ~1.15 s after the unpause: its callers hold longer.
        hold_ms = 2000 if system == "ours" else 2600
        out: list[float] = []
        # The agent is freed 0.2-1.2 s after the call queued, stratified over that second
        # (one delay per 1/trials slice, shuffled) so app_queue's 1 s re-check is met at
        # evenly spread phases even with few trials.
        delays = [0.2 + (k + self.rng.random()) / trials for k in range(trials)]
        self.rng.shuffle(delays)
        for k in range(trials):
            agent = AGENT_IDS[k % len(AGENT_IDS)]
            start = self.ami.mark()
            call = self.place(hold_ms)
            try:
                uid = self.uniqueid(call)
                if system == "ours":
                    self.ami.wait(lambda e: e.get("Event") == "MusicOnHoldStart" and e.get("Uniqueid") == uid,
                                  10, start, "MusicOnHoldStart (call queued)")
                else:
                    self.ami.wait(lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == uid,
                                  10, start, "QueueCallerJoin")
                time.sleep(delays[k])
                if system == "ours":
                    before = time.time()
                    record = self.h.desk("log_in", agent)
                    freed = record.since
                    if str(record.state) != "available" or not before <= freed <= time.time():
                        raise TimeoutError(f"log_in of {agent} did not take effect: {record}")
                else:
                    mark = self.ami.mark()
                    self.ami.action({"Action": "QueuePause", "Interface": f"PJSIP/{agent}", "Queue": FALLBACK_QUEUE,
                                     "Paused": "false"})
                    freed = ts(self.ami.wait(lambda e: e.get("Event") == "QueueMemberPause"
                                             and e.get("Interface") == f"PJSIP/{agent}" and e.get("Paused") == "0",
                                             5, mark, "QueueMemberPause"))
                dial = self.ami.wait(lambda e: is_agent_dial(e, uid), 10, start, "DialBegin")
                got = agent_of(dial["DestChannel"])
                if got != agent:
                    log(f"{system}: trial {k}: offered to {got}, expected {agent}; sample dropped")
                else:
                    out.append(self.offer_moment(dial) - freed)
                self.ami.wait(lambda e: e.get("Event") == "DialEnd" and e.get("Uniqueid") == uid, 10, start, "DialEnd")
                if system != "ours":
                    self.ami.action({"Action": "QueuePause", "Interface": f"PJSIP/{agent}", "Queue": FALLBACK_QUEUE,
                                     "Paused": "true", "Reason": "bench"})
            except TimeoutError as exc:
                log(f"{system}: trial {k}: {exc}")
            self.finish([call], timeout=20)
            if system == "ours":
                self.h.wait_for(lambda: self.h.agent_state(agent).get("state") in ("wrap_up", "available", "logged_out"),
                                10, f"agent {agent} never left the call")
                self.h.desk("log_out", agent)
                state = self.h.agent_state(agent).get("state")
                if state != "logged_out":
                    log(f"ours: agent {agent} still {state} after log_out")
        return out

    # -- scenario 3: wrap-up ends while calls wait ---------------------------------------------
    def wrapup_end(self, system: str, seconds: float, hold_ms: int) -> list[float]:
        start = self.ami.mark()
        chains: list[Placed | None] = [None] * len(AGENT_IDS)
        # Each chain's next call goes out a random 0-1.5 s after its previous caller hung
        # up (first calls too): without it the chains stay in step and the calls queue at
        # a fixed offset from the wrap-up ends, locking the phase of app_queue's 1 s re-check
        # and of our router's 0.25 s tick to the benchmark's timing.
        # The chains' first calls are staggered 1.5 s apart: started together they are
        # answered together and the agents' wrap-ups end together, for the whole run.
        next_at = [time.monotonic() + 1.5 * i + self.rng.uniform(0, 0.5) for i in range(len(AGENT_IDS))]
        calls: list[Placed] = []
        wrap_ends: dict[str, set[float]] = {a: set() for a in AGENT_IDS}
        deadline = time.monotonic() + seconds
        hard_deadline = deadline + hold_ms / 1000 + 30
        while time.monotonic() < hard_deadline:
            running = False
            now = time.monotonic()
            for i, c in enumerate(chains):
                if c is not None and c.peer.proc.poll() is None:
                    running = True
                    continue
                if c is not None:  # just finished: schedule the chain's next call
                    chains[i] = None
                    next_at[i] = now + self.rng.uniform(0, 1.5)
                if now < deadline:
                    running = True
                    if now >= next_at[i]:
                        chains[i] = self.place(hold_ms)
                        calls.append(chains[i])
            if system == "ours":
                for a in AGENT_IDS:
                    st = self.h.redis.hmget(f"{self.h.prefix}agent:{a}", "state", "wrap_until")
                    if st[0] == "wrap_up" and st[1]:
                        wrap_ends[a].add(float(st[1]))
            if not running:
                break
            time.sleep(0.02)
        self.finish(calls, timeout=20)
        if system != "ours":
            for e in self.ami.since(start):
                if e.get("Event") == "AgentComplete" and e.get("MemberName") in wrap_ends:
                    wrap_ends[e["MemberName"]].add(math.floor(ts(e)) + FALLBACK_WRAPUP)
        # Per call: (queued, offered or None, left the queue unanswered or None, agent).
        seen: list[tuple[float, float | None, float | None, str]] = []
        for c in calls:
            try:
                uid = self.uniqueid(c, 1.0)
            except TimeoutError:
                continue
            dial = self.ami.find(lambda e: is_agent_dial(e, uid), start)
            if system == "ours":
                got = self.queued_at(c)
                if got is None:
                    continue
                queued = got[0]
                rec = self.h.store.get(uid) or {}
                left = epoch(rec["ended_at"]) if rec.get("ended_at") is not None else None
            else:
                join = self.ami.find(lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == uid, start)
                leave = self.ami.find(lambda e: e.get("Event") == "QueueCallerLeave" and e.get("Uniqueid") == uid, start)
                if join is None:
                    continue
                queued, left = ts(join), (ts(leave) if leave else None)
            if dial is None:
                seen.append((queued, None, left, ""))
            else:
                seen.append((queued, self.offer_moment(dial), None, agent_of(dial["DestChannel"])))
        every: list[float] = []
        head: list[float] = []
        for queued, t, _, agent in seen:
            if t is None:
                continue
            ends = [f for f in wrap_ends[agent] if t - 15 < f <= t + 0.002]
            if not ends or queued >= max(ends) - 0.05:
                continue  # offered to an idle agent: not this scenario
            f = max(ends)
            every.append(t - f)
            # Head of the queue at F: no call that queued earlier was still waiting then.
            if not any(q2 < queued and (t2 if t2 is not None else (l2 or 0.0)) > f for q2, t2, l2, _ in seen):
                head.append(t - f)
        log(f"{system}: wrap-up scenario: {len(calls)} calls, {len(every)} samples ({len(head)} head of queue), "
            f"{sum(1 for x in seen if x[1] is None)} never offered")
        self.head_part = head
        return every


def add_bench_ami_user(h: Hotline) -> tuple[str, str]:
    """An AMI account of the benchmark's own, on its own instance only: the controller's
    account has just the rights the controller needs (no agent, system or command class),
    and the benchmark pauses app_queue members, loads CEL modules and reads every call
    event. Returns (user, secret)."""
    secret = secrets.token_urlsafe(18)
    conf = h.settings.instance_dir / "etc" / "manager.conf"
    conf.write_text(conf.read_text() + f"""
[bench]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,agent,system
write = call,agent,system,command
""")
    asterisk_process.cli(h.settings, "manager reload")
    return "bench", secret


def enable_cel(h: Hotline, ami: AmiTap) -> Path:
    """Turn on Asterisk's CEL for this instance, APP_START of Queue() only, written by
    cel_custom to a CSV file (returned). A CEL record carries the time its stasis message
    was created, i.e. the moment Queue() began, while an AMI event's Timestamp is taken
    later, when the manager formats the event."""
    etc = h.settings.instance_dir / "etc"
    out = h.settings.instance_dir / "log" / "cel-custom"
    out.mkdir(parents=True, exist_ok=True)
    (etc / "cel.conf").write_text("[general]\nenable = yes\napps = queue\nevents = APP_START\n")
    (etc / "cel_custom.conf").write_text("[mappings]\nqueue-start.csv => ${eventtime},${CHANNEL(uniqueid)}\n")
    for action in ({"Action": "Command", "Command": "module reload cel"},
                   {"Action": "ModuleLoad", "Module": "res_cdrel_custom.so", "LoadType": "load"},
                   {"Action": "ModuleLoad", "Module": "cel_custom.so", "LoadType": "load"}):
        reply = ami.action(action)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"CEL set-up failed: {action} -> {reply}")
    return out / "queue-start.csv"


def read_cel(path: Path) -> dict[str, float]:
    """{uniqueid: Queue() start} from the CEL file."""
    out: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            at, _, uid = line.strip().strip('"').partition(",")
            try:
                out.setdefault(uid.strip('"'), float(at.strip('"')))
            except ValueError:
                continue
    return out


def print_table(res: Results, args: argparse.Namespace) -> None:
    print(f"\nOffer latency on real Asterisk ({platform.machine()}, {os.cpu_count()} cores, port base {BASE}); "
          f"moment the call could be offered -> agent's INVITE out"
          + (" (on the wire)" if res.on_wire else " (its DialBegin)"))
    print(f"{'scenario':<30}{'system':<11}{'n':>4}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
    by = {(s, sy): xs for s, sy, xs in res.rows}
    scenarios = list(dict.fromkeys(s for s, _, _ in res.rows))
    if all(by.get(("3b same, head caller only", sy)) == by.get(("3 wrap-up ends -> INVITE", sy))
           for sy in ("ours", "app_queue")):
        scenarios = [s for s in scenarios if not s.startswith("3b")]
        res.notes.append("scenario 3: every sample's call was the head caller when the wrap-up ended (row 3b = row 3)")
    for s in scenarios:
        for sy in ("ours", "app_queue"):
            xs = by.get((s, sy), [])
            if xs:
                print(f"{s:<30}{sy:<11}{len(xs):>4}{statistics.median(xs):>11.1f}{percentile(xs, 99):>9.1f}{max(xs):>9.1f}")
            else:
                print(f"{s:<30}{sy:<11}{0:>4}{'-':>11}{'-':>9}{'-':>9}")
        ours, theirs = by.get((s, "ours"), []), by.get((s, "app_queue"), [])
        if ours and theirs:
            print(f"{'':<30}{'ratio app_queue/ours':<26}{statistics.median(theirs) / statistics.median(ours):>9.1f}x"
                  f"{percentile(theirs, 99) / percentile(ours, 99):>8.1f}x")
            if min(len(ours), len(theirs)) >= 20:
                res.notes.append(f"scenario {s.split()[0]}, ours minus app_queue with its 95 % bootstrap interval: "
                                 f"median {signed_interval(ours, theirs, median)}, p99 {signed_interval(ours, theirs, p99)} "
                                 f"(an interval that contains 0 does not tell which is faster)")
    for note in res.notes:
        print(note)


def signed_interval(ours: list[float], theirs: list[float], stat: Callable[[Sequence[float]], float]) -> str:
    diff, lo, hi = bootstrap_difference(ours, theirs, stat)
    return f"{diff:+.2f} ms [{lo:+.2f}, {hi:+.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=100, help="calls in the idle-agent scenario, per system")
    ap.add_argument("--rounds", type=int, default=4,
                    help="the idle-agent scenario alternates the systems in this many rounds")
    ap.add_argument("--trials", type=int, default=10, help="trials in the agent-freed scenario, per system")
    ap.add_argument("--wrapup-seconds", type=float, default=25.0,
                    help="how long the wrap-up scenario places calls, per system (0 = skip)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = ap.parse_args()

    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f"offer-bench-{BASE}-"))
    h = Hotline(tmp)
    ami: AmiTap | None = None
    sniffer: InviteSniffer | None = None
    res = Results()
    ok = False
    try:
        log(f"starting hotline instance {h.settings.instance} (SIP {h.settings.sip_port}, AMI {h.settings.ami_port}) in {tmp}")
        h.start()
        for a in AGENT_IDS:
            h.agent_phone(a, ring_ms=300)
        ami = AmiTap(h.settings.ami_port, *add_bench_ami_user(h))
        bench = Bench(h, ami, random.Random(args.seed))
        sniffer = InviteSniffer({port: agent for agent, port in AGENT_PORT.items()},
                                agi_ports=(h.settings.agi_port, BASE + 74))
        capturing = sniffer.start()
        bench.sniffer = sniffer if capturing else None
        res.on_wire = capturing
        try:
            bench.cel_file = enable_cel(h, ami)
        except RuntimeError as exc:
            log(f"{exc}: app_queue's scenario 1 is measured from QueueCallerJoin instead")
        for a in AGENT_IDS:
            h.desk("log_in", a)
            time.sleep(0.05)

        # ---- scenario 1, in rounds: ours, app_queue (controller stopped: the dialplan's
        # fallback), ours, ... so that both systems meet the same spells of machine noise ----
        spans: dict[str, list[tuple[int, int]]] = {"ours": [], "app_queue": []}
        idle: dict[str, list[float]] = {"ours": [], "app_queue": []}
        steal = {"ours": 0.0, "app_queue": 0.0}  # hypervisor steal time during each system's rounds
        spent = {"ours": 0.0, "app_queue": 0.0}
        per_round = math.ceil(args.calls / args.rounds)
        for r in range(args.rounds):
            for system in ("ours", "app_queue"):
                n = min(per_round, args.calls - len(idle[system]))
                if n <= 0:
                    continue
                if system == "ours" and r > 0:
                    h.start_controller()
                    time.sleep(OUR_WRAPUP + 0.5)
                log(f"{system}: idle agent, round {r + 1}/{args.rounds}")
                begin, stolen, began_round = ami.mark(), steal_seconds(), time.monotonic()
                idle[system] += bench.idle_agent(system, n, args.seed + r)
                spans[system].append((begin, ami.mark()))
                steal[system] += steal_seconds() - stolen
                spent[system] += time.monotonic() - began_round
                if system == "ours":
                    log("app_queue: stopping the controller")
                    h.stop_controller()
                    time.sleep(FALLBACK_WRAPUP + 1)
        for system in ("ours", "app_queue"):
            res.add("1 idle agent -> INVITE", system, idle[system])
        routing = bench.routing_part

        # ---- ours: scenarios 3 and 2 ----
        h.start_controller()
        if args.wrapup_seconds > 0:
            log("ours: wrap-up ends")
            time.sleep(OUR_WRAPUP + 0.5)
            res.add("3 wrap-up ends -> INVITE", "ours", bench.wrapup_end("ours", args.wrapup_seconds, hold_ms=3500))
            res.add("3b same, head caller only", "ours", bench.head_part)
        log("ours: agent logs in")
        time.sleep(OUR_WRAPUP + 0.5)
        for a in AGENT_IDS:
            h.desk("log_out", a)
        res.add("2 agent logs in -> INVITE", "ours", bench.agent_freed("ours", args.trials))

        # ---- app_queue: scenarios 3 and 2 ----
        log("app_queue: stopping the controller")
        h.stop_controller()
        if args.wrapup_seconds > 0:
            log("app_queue: wrap-up ends")
            time.sleep(FALLBACK_WRAPUP + 1)
            res.add("3 wrap-up ends -> INVITE", "app_queue",
                    bench.wrapup_end("app_queue", args.wrapup_seconds, hold_ms=6500))
            res.add("3b same, head caller only", "app_queue", bench.head_part)
        log("app_queue: member unpaused")
        bench.set_all_paused(True)
        time.sleep(FALLBACK_WRAPUP + 1)
        res.add("2 agent logs in -> INVITE", "app_queue", bench.agent_freed("app_queue", args.trials))
        bench.set_all_paused(False)
        res.rows.sort(key=lambda r: r[0])  # scenario 1, 2, 3
        if routing:
            agi_part = (f"; queued -> its AGI Dial on the wire {statistics.median(bench.agi_part) * 1000:.2f} ms"
                        f" (p99 {percentile([x * 1000 for x in bench.agi_part], 99):.2f})" if bench.agi_part else "")
            res.notes.append(f"ours, scenario 1 split: queued -> 'offered' (the routing decision) median "
                             f"{statistics.median(routing) * 1000:.2f} ms{agi_part}; the rest is Asterisk's")
        if capturing:
            everything = ami.since(0)
            for system, system_spans in spans.items():
                dials = [e for begin, end in system_spans for e in everything[begin:end] if is_agent_dial(e)]
                off = [x * 1000 for x in sniffer.offsets(dials)]
                if off:
                    res.notes.append(f"check, {system}: agent INVITE on the wire (lo capture) minus DialBegin, "
                                     f"{len(off)}/{len(dials)} matched: median {statistics.median(off):+.2f} ms, "
                                     f"min {min(off):+.2f}, max {max(off):+.2f}")
        if spent["ours"] and spent["app_queue"]:
            res.notes.append("scenario 1, CPU time the hypervisor took from this machine's vCPUs (/proc/stat steal) "
                             "during each system's rounds: " + ", ".join(
                                 f"{system} {steal[system] * 1000:.0f} ms in {spent[system]:.0f} s" for system in spent))
        if bench.near_hangup:
            res.notes.append("scenario 1, offers within 50 ms after another call's hang-up (its tear-down runs "
                             "alongside): " + ", ".join(f"{system} {k}/{n}" for system, (k, n) in bench.near_hangup.items()))
        if bench.join_part:
            xs = [x * 1000 for x in bench.join_part]
            res.notes.append(f"app_queue, scenario 1 from QueueCallerJoin's AMI Timestamp instead of Queue()'s start: "
                             f"median {statistics.median(xs):.2f} ms, p99 {percentile(xs, 99):.2f} (the manager stamps an "
                             f"event when it formats it, after the stasis hand-off: the join is earlier than that)")
        if capturing:
            agi = [x * 1000 for x in sniffer.agi_to_invite()]
            if agi:
                res.notes.append(f"ours: AGI 'EXEC Dial' on the wire -> agent INVITE on the wire (Asterisk's share), "
                                 f"n={len(agi)}: median {statistics.median(agi):.2f} ms, p99 {percentile(agi, 99):.2f}, "
                                 f"min {min(agi):.2f}, max {max(agi):.2f}")
        res.notes.append("scenario 2: ours = AgentDesk.log_in, app_queue = AMI QueuePause Paused=false; "
                         "scenario 3: app_queue measured from its effective wrap-up end floor(end)+5 s")
        log("restarting the controller")
        h.start_controller()
        ok = True
    finally:
        if sniffer is not None:
            sniffer.close()
            if args.keep:
                (tmp / "wire.json").write_text(json.dumps({"invites": sniffer.seen, "agi_dials": sniffer.agi_dials}))
        if ami is not None:
            ami.close()
            if args.keep:
                with open(tmp / "ami-events.jsonl", "w") as f:
                    for e in ami.since(0):
                        f.write(json.dumps(e) + "\n")
        h.stop()
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp}")
    print_table(res, args)
    print(f"total run time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
