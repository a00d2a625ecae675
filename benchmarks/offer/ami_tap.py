"""A blocking AMI tap for the benchmark: every event, as Asterisk sent it, with its Timestamp.

Why not the product's client (hotline.asterisk.ami): that one is asyncio and panoramisk, hands on
only the controller's events as typed values without their Timestamp, and wakes for each
event. The benchmark needs every ``call,agent`` event, with the Timestamp Asterisk put on
it, in one list it can search from any thread, and must keep its own wake-ups away from
the offers it measures. Where a typed value fits (is this a DialBegin, to which agent), the
product's parser (hotline.asterisk.ami_events) and channel names (hotline.asterisk.channels) are used.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Collection

from hotline.asterisk.ami_events import DialBegin, parse_event
from hotline.asterisk.channels import agent_of

Event = dict[str, str]
BLOCK_END = b"\r\n\r\n"


def parse_message(block: str) -> Event:
    """One AMI message ('Key: Value' lines) as a dict; a key sent twice keeps its first value."""
    msg: Event = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key not in msg:
            msg[key] = value.strip()
    return msg


def frame_action(fields: dict[str, str], action_id: str) -> bytes:
    """An action with its ActionID, as AMI reads it (a blank line ends it)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": action_id}.items()) + "\r\n").encode()


def ts(e: Event) -> float:
    """The event's Timestamp: when the manager formatted it, in epoch seconds."""
    return float(e["Timestamp"])


def event_is(name: str, **fields: str) -> Callable[[Event], bool]:
    """A predicate for ``AmiTap.find``/``wait``: the event ``name`` with these field values."""
    wanted = tuple(fields.items())

    def match(e: Event) -> bool:
        return e.get("Event") == name and all(e.get(k) == v for k, v in wanted)
    return match


def agent_leg(channel: str, agents: Collection[str]) -> str:
    """The roster agent whose phone a channel is ('PJSIP/2001-0000002a' -> '2001'), '' for
    any other channel (a caller's, a trunk's), so callers' legs never count as agents."""
    if not channel.startswith("PJSIP/"):
        return ""
    agent = agent_of(channel)
    return agent if agent in agents else ""


def is_agent_dial(e: Event, agents: Collection[str], uniqueid: str | None = None) -> bool:
    """True for the DialBegin of an agent leg (of the call ``uniqueid`` when given). The
    name is compared first: this runs over every event the benchmark keeps."""
    if e.get("Event") != "DialBegin":
        return False
    dial = parse_event(e)
    return (isinstance(dial, DialBegin) and bool(agent_leg(dial.dest_channel, agents))
            and (uniqueid is None or dial.uniqueid == uniqueid))


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
        banner = self._read_block(b"\r\n")
        if not banner.startswith("Asterisk Call Manager"):
            raise RuntimeError(f"not AMI: {banner!r}")
        threading.Thread(target=self._reader, name="ami-tap", daemon=True).start()
        reply = self.action({"Action": "Login", "Username": user, "Secret": secret, "Events": "call,agent"})
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login failed: {reply}")

    def _read_block(self, sep: bytes = BLOCK_END) -> str:
        """The next block up to ``sep`` (the banner is one line, a message ends in a blank line)."""
        while sep not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self._buf += chunk
        block, self._buf = self._buf.split(sep, 1)
        return block.decode("utf-8", "replace")

    def _reader(self) -> None:
        """Sort messages into events and replies until the connection ends; sleep only when
        nothing complete is buffered, so a burst is read in one go."""
        try:
            while True:
                if BLOCK_END not in self._buf:
                    time.sleep(self.READ_EVERY)
                msg = parse_message(self._read_block())
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
        """Send an action and wait for its reply (matched by ActionID)."""
        with self._wlock:
            self._ids += 1
            action_id = f"bench-{self._ids}"
            self.sock.sendall(frame_action(fields, action_id))
        with self.cond:
            if not self.cond.wait_for(lambda: action_id in self.replies or self.closed, timeout):
                raise TimeoutError(f"AMI {fields['Action']}: no reply in {timeout} s")
            if action_id not in self.replies:
                raise ConnectionError("AMI closed")
            return self.replies.pop(action_id)

    def mark(self) -> int:
        """Where the events seen so far end: a start for ``find``/``wait``/``since``."""
        with self.cond:
            return len(self.events)

    def find(self, pred: Callable[[Event], bool], start: int = 0) -> Event | None:
        """The first event from ``start`` on that matches, if it came already."""
        with self.cond:
            return next((e for e in self.events[start:] if pred(e)), None)

    def wait(self, pred: Callable[[Event], bool], timeout: float, start: int = 0, what: str = "event") -> Event:
        """The first event from ``start`` on that matches, waiting for it up to ``timeout``."""
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
        """A copy of the events from ``start`` on."""
        with self.cond:
            return list(self.events[start:])

    def close(self) -> None:
        """Log off and close; quietly, since Asterisk may be gone already."""
        try:
            self.action({"Action": "Logoff"}, timeout=2)
        except (OSError, TimeoutError, ConnectionError):
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        except OSError:
            pass
