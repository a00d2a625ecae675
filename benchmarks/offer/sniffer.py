"""Kernel-timestamped capture of the agents' INVITEs (and our AGI Dial lines) on loopback.

The INVITE on the wire is where every offer is measured to: each agent leg's AMI
``DialBegin`` is matched to the INVITE to that agent nearest to it. The AGI Dial lines the
controller writes give Asterisk's own share of our offer (AGI Dial on the wire to INVITE
on the wire). The packet parsing, the BPF program and the matching are pure functions
below; ``InviteSniffer`` only adds the socket and its reader thread.
"""
from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time
from typing import Any, Iterable, Mapping, Sequence

from benchmarks.offer.ami_tap import Event, ts
from benchmarks.offer.report import log
from hotline.asterisk.agi_protocol import build
from hotline.asterisk.channels import agent_of

SO_TIMESTAMPNS = 35
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SKF_AD_PKTTYPE = 0xFFFFF004  # SKF_AD_OFF + SKF_AD_PKTTYPE: "load the packet type"
# Classic BPF opcodes used by the filter.
LD_PKTTYPE, LDH_ABS, LDB_ABS, LDX_IPHDR, LDH_IND, JEQ, RET = 0x20, 0x28, 0x30, 0xB1, 0x48, 0x15, 0x06
# The start of the controller's 'EXEC "Dial" "PJSIP/<agent>,..."' line, quoted as the
# product quotes it (hotline.asterisk.agi_protocol.build), without the closing quote.
AGI_DIAL = build("EXEC", "Dial", "PJSIP/")[:-1].encode()
MATCH_WINDOW = 0.2  # an INVITE belongs to a DialBegin / AGI Dial at most this far from it
AGI_LEAD = 0.05  # the AGI Dial behind an INVITE left at most this long before it
Instruction = tuple[int, int, int, int]  # (code, jt, jf, k), as struct sock_filter
Stamped = tuple[float, str]  # (kernel time, agent)


def bpf_program(agent_ports: Iterable[int], agi_ports: Iterable[int]) -> list[Instruction]:
    """Classic BPF, in the kernel: accept outgoing IPv4 UDP to an agent's port and TCP
    from a FastAGI port (the controller's commands); drop everything else before it is
    queued. Written with labels; the jumps are resolved to offsets here."""
    accept, drop, tcp, udp = "accept", "drop", "tcp", "udp"
    prog: list[tuple[int, int, int | str, int | str] | str] = [
        (LD_PKTTYPE, SKF_AD_PKTTYPE, 0, 0), (JEQ, socket.PACKET_OUTGOING, 0, drop),
        (LDH_ABS, 12, 0, 0), (JEQ, 0x0800, 0, drop),  # IPv4
        (LDB_ABS, 23, 0, 0), (JEQ, 6, tcp, 0), (JEQ, 17, udp, drop),  # protocol
        tcp, (LDX_IPHDR, 14, 0, 0), (LDH_IND, 14, 0, 0),  # source port: the controller's side
        *[(JEQ, port, accept, 0) for port in agi_ports], (RET, 0, 0, 0),
        udp, (LDX_IPHDR, 14, 0, 0), (LDH_IND, 16, 0, 0),  # destination port: the agent's phone
        *[(JEQ, port, accept, 0) for port in agent_ports], (RET, 0, 0, 0),
        accept, (RET, 0xFFFF, 0, 0),
        drop, (RET, 0, 0, 0),
    ]
    labels: dict[str, int] = {}
    code: list[tuple[int, int, int | str, int | str]] = []
    for item in prog:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)

    def jump(at: int, to: int | str) -> int:
        return labels[to] - at - 1 if isinstance(to, str) else to
    return [(op, jump(i, jt), jump(i, jf), k) for i, (op, k, jt, jf) in enumerate(code)]


def attach_filter(sock: socket.socket, code: Sequence[Instruction]) -> None:
    """Hand the program to the kernel (struct sock_fprog pointing at the instructions)."""
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(code), ctypes.addressof(buf)))


def parse_frame(data: bytes, pkttype: int, agent_ports: Mapping[int, str]) -> tuple[str, str] | None:
    """What an Ethernet frame on loopback is to the benchmark: ("invite", agent) for an
    INVITE sent to an agent's phone, ("agi", agent) for the controller's AGI Dial line to
    that agent, None for anything else."""
    if pkttype != socket.PACKET_OUTGOING or len(data) < 50 or data[12:14] != b"\x08\x00":
        return None
    ihl = (data[14] & 0x0F) * 4
    if data[23] == 6:  # TCP
        tcp = 14 + ihl
        payload = data[tcp + (data[tcp + 12] >> 4) * 4:]
        if payload.startswith(AGI_DIAL):
            return "agi", payload[len(AGI_DIAL):].split(b",")[0].decode("ascii", "replace")
        return None
    if data[23] != 17:
        return None
    udp = 14 + ihl
    port = int.from_bytes(data[udp + 2:udp + 4], "big")
    if port in agent_ports and data[udp + 8:udp + 15] == b"INVITE ":
        return "invite", agent_ports[port]
    return None


def kernel_stamp(anc: Iterable[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive time (SO_TIMESTAMPNS, struct timespec) in the ancillary data."""
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
            sec, nsec = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:16], "little")
            return sec + nsec / 1e9
    return None


def invite_near(invites: Iterable[Stamped], agent: str, t: float) -> float | None:
    """The INVITE to ``agent`` nearest to ``t``, within MATCH_WINDOW; None if none."""
    near = [at for at, a in invites if a == agent and abs(at - t) < MATCH_WINDOW]
    return min(near, key=lambda at: abs(at - t)) if near else None


def agi_to_invite(invites: Sequence[Stamped], agi_dials: Iterable[Stamped]) -> list[float]:
    """For each AGI Dial, the time until the next INVITE to the same agent within
    MATCH_WINDOW: Asterisk's share of our path."""
    out = []
    for t, agent in agi_dials:
        after = [at - t for at, a in invites if a == agent and 0 <= at - t < MATCH_WINDOW]
        if after:
            out.append(min(after))
    return out


def agi_dial_before(agi_dials: Iterable[Stamped], agent: str, invite_at: float) -> float | None:
    """The AGI Dial behind an INVITE: the last one to the same agent at most AGI_LEAD before it."""
    sent = [t for t, a in agi_dials if a == agent and 0 <= invite_at - t < AGI_LEAD]
    return max(sent) if sent else None


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

    READ_EVERY = 0.05

    def __init__(self, ports: dict[int, str], agi_ports: tuple[int, ...] = ()) -> None:
        self.ports = ports
        self.agi_ports = agi_ports
        self.seen: list[Stamped] = []
        self.agi_dials: list[Stamped] = []
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.stopped = threading.Event()

    def start(self) -> bool:
        """Open the filtered capture and start reading; False (and a log line) without rights."""
        try:
            self.sock = self._open()
        except (OSError, AttributeError) as exc:
            log(f"no packet capture ({exc}); the DialBegin/INVITE check is skipped")
            self.sock = None
            return False
        threading.Thread(target=self._run, name="invite-sniffer", daemon=True).start()
        return True

    def _open(self) -> socket.socket:
        """A raw loopback socket with kernel timestamps, the filter and a large buffer (the
        reader drains it only every READ_EVERY)."""
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        try:
            sock.bind(("lo", 0))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            attach_filter(sock, bpf_program(self.ports, self.agi_ports))
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.setblocking(False)
        except (OSError, AttributeError):
            sock.close()
            raise
        return sock

    def _run(self) -> None:
        """Drain the queue every READ_EVERY until closed."""
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

    def _take(self, data: bytes, anc: list[Any], addr: Any) -> None:
        """Keep an INVITE or AGI Dial with its kernel time (the reading time if none came)."""
        seen = parse_frame(data, addr[2], self.ports)
        if seen is None:
            return
        kind, agent = seen
        at = kernel_stamp(anc)
        if at is None:
            at = time.time()
        with self.lock:
            (self.seen if kind == "invite" else self.agi_dials).append((at, agent))

    def _copies(self) -> tuple[list[Stamped], list[Stamped]]:
        """(INVITEs, AGI Dials) so far, copied under the lock the reader writes under."""
        with self.lock:
            return list(self.seen), list(self.agi_dials)

    def agi_to_invite(self) -> list[float]:
        """For each AGI Dial command seen on the wire, the time until the INVITE to the
        same agent (the nearest one within 0.2 s after it): Asterisk's share of our path."""
        return agi_to_invite(*self._copies())

    def invite_of(self, dial: Event) -> float | None:
        """Wire time of the INVITE a DialBegin stands for: the one to the same agent
        nearest to the DialBegin's Timestamp, within 0.2 s; None if none was seen."""
        return invite_near(self._copies()[0], agent_of(dial["DestChannel"]), ts(dial))

    def agi_dial_before(self, dial: Event) -> float | None:
        """Wire time of the AGI Dial command behind a DialBegin: the last one to the same
        agent at most 50 ms before its INVITE."""
        at = self.invite_of(dial)
        if at is None:
            return None
        return agi_dial_before(self._copies()[1], agent_of(dial["DestChannel"]), at)

    def offsets(self, dials: list[Event]) -> list[float]:
        """INVITE time minus DialBegin Timestamp, for each DialBegin with an INVITE to the
        same agent within 0.2 s (the nearest)."""
        return [at - ts(d) for d in dials if (at := self.invite_of(d)) is not None]

    def close(self) -> None:
        """Stop the reader and close the socket."""
        self.stopped.set()
        if self.sock is not None:
            time.sleep(0.6)  # let the reader see the flag before its socket goes
            self.sock.close()
