"""A FastAGI channel that plays a scripted Asterisk: assert the exact commands a session
sends, in order, and script the caller's keys, hang-up and timing.

``FakeAgiChannel`` IS the real ``hotline.asterisk.agi_server.AgiChannel`` (a subclass), connected
to an in-memory peer instead of a socket: ``run`` writes the built command line, the peer
checks it against the script and answers with the step's reply lines, and the real
``AgiChannel`` reads them with the real parser (``hotline.asterisk.agi_protocol.parse_result``),
``HANGUP`` notices, ``100 Trying``, ``520-`` usage blocks and all. So ``ChannelGone`` is
raised exactly when the real channel raises it, by the same code
(tests/contract/test_fake_agi.py checks the pair against a real socket).

A script is a list of steps, one per command, in order::

    script = [
        ("ANSWER", OK),
        ('STREAM FILE "*welcome*"*', pressed("1")),          # the caller presses 1
        Step("EXEC*Dial*PJSIP/2001*", OK, before=deliver),  # deliver() runs mid-command
        ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")),
    ]

A pattern is a glob (``fnmatch``, case-sensitive) on the whole line as sent, or a compiled
regular expression that must match the whole line. A reply is one line, several lines
(e.g. ``HUNG_UP``: the ``HANGUP`` notice, then the command's ``result=-1``), or
``SOCKET_CLOSED`` (Asterisk closes the connection: this command and every later one raise
``ChannelGone``, and no step may follow it).

The caller hangs up at command N (``hang_up_at=N`` or ``fake.hang_up()`` from a step's
``before`` hook): that command gets ``HUNG_UP`` and every command after it is answered the
way Asterisk answers on a dead channel (``dead_reply``) and only recorded: once the caller
is gone the session takes another path, which the test asserts on ``fake.sent``.

A command that does not match its step, or comes after the script while the caller is
still there, raises ``ScriptError`` from ``run``; the session may catch it, so end every
test with ``fake.assert_done()``, which also fails when steps were left unsent.
"""
from __future__ import annotations

import asyncio
import fnmatch
import re
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Sequence, Union, cast

from hotline.asterisk.agi_protocol import HANGUP_NOTICE, AgiProtocolError, parse_result
from hotline.asterisk.agi_server import AgiChannel

Hook = Callable[[], Awaitable[None]]
Reply = Union[str, Sequence[str], None]

OK = "200 result=0"
SOCKET_CLOSED: Reply = None
HUNG_UP: Reply = (HANGUP_NOTICE, "200 result=-1")  # what STREAM FILE, WAIT FOR DIGIT, Dial... answer
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
# What res_agi answers on a dead channel: the commands its table marks dead-safe run (the
# value is what they answer with nothing to find or do), every other one gets DEAD.
DEAD_SAFE = (
    ("SET VARIABLE", "200 result=1"),
    ("GET VARIABLE", "200 result=0"),
    ("GET FULL VARIABLE", "200 result=0"),
    ("EXEC", "200 result=-1"),
    ("VERBOSE", "200 result=1"),
    ("NOOP", "200 result=0"),
    ("DATABASE GET", "200 result=0"),
    ("DATABASE PUT", "200 result=1"),
    ("DATABASE DEL", "200 result=1"),
    ("DATABASE DELTREE", "200 result=1"),
)


def pressed(key: str) -> str:
    """The reply of STREAM FILE / WAIT FOR DIGIT when the caller pressed ``key``."""
    return f"200 result={ord(key)}"


def variable(value: str) -> str:
    """The reply of GET VARIABLE for a variable that is set."""
    return f"200 result=1 ({value})"


def dead_reply(line: str) -> str:
    """What Asterisk answers to ``line`` once the caller has hung up."""
    words = line.upper()
    for command, reply in DEAD_SAFE:
        if words == command or words.startswith(command + " "):
            return reply
    return DEAD


class ScriptError(AssertionError):
    """The session sent a command the script did not expect (or the script is wrong)."""


@dataclass(frozen=True)
class Step:
    """One command the session must send and Asterisk's reply; ``before`` runs once the
    command is written, before the reply is read (an AMI event, an assignment...)."""

    expect: str | re.Pattern[str]
    reply: Reply = OK
    before: Hook | None = None

    def matches(self, line: str) -> bool:
        if isinstance(self.expect, str):
            return fnmatch.fnmatchcase(line, self.expect)
        return self.expect.fullmatch(line) is not None


ScriptItem = Union[Step, tuple[Union[str, re.Pattern[str]], Reply]]


def reply_lines(reply: Reply) -> list[str]:
    """The lines Asterisk writes for a reply (none for SOCKET_CLOSED)."""
    if reply is None:
        return []
    return [reply] if isinstance(reply, str) else list(reply)


def _tells_gone(lines: Sequence[str]) -> bool:
    """Whether these reply lines tell the channel the caller is gone (by the real parser)."""
    for line in lines:
        if line == HANGUP_NOTICE:
            return True
        try:
            if parse_result(line).channel_gone:
                return True
        except AgiProtocolError:
            continue
    return False


class _ScriptedAsterisk:
    """The far end of a FakeAgiChannel: both its reader and its writer."""

    def __init__(self, steps: Sequence[Step], hang_up_at: int | None) -> None:
        self.steps = list(steps)
        self.hang_up_at = hang_up_at
        self.sent: list[str] = []
        self.failures: list[ScriptError] = []
        self.gone = False  # a reply told the channel the caller hung up
        self.closed_at: int | None = None  # Asterisk closed the socket at this command: reads are EOF
        self._pending: int | None = None  # the command written, its reply not yet queued
        self._in_flight: int | None = None  # the command whose ``before`` hook runs
        self._replies: deque[bytes] = deque()

    def _hangs_up(self, index: int) -> bool:
        return self.hang_up_at is not None and index >= self.hang_up_at

    # -- writer side (AgiChannel.run: write, after_write, drain) ---------------------------
    def write(self, data: bytes) -> None:
        for line in data.decode().splitlines():
            self._command(line)

    def _command(self, line: str) -> None:
        index = len(self.sent)
        self.sent.append(line)
        unscripted = index >= len(self.steps)
        # once the socket closed, or past the script once the caller is gone, a command is
        # only recorded (and answered with EOF or as on a dead channel)
        recorded_only = self.closed_at is not None or unscripted and (self.gone or self._hangs_up(index))
        if not recorded_only:
            if unscripted:
                self._fail(f"command {index} {line!r} after the end of the script")
            if not self.steps[index].matches(line):
                self._fail(f"command {index} {line!r} does not match the script's {self.steps[index].expect!r}")
        self._pending = index

    def _fail(self, message: str) -> None:
        error = ScriptError(message)
        self.failures.append(error)
        raise error

    async def drain(self) -> None:
        index, self._pending = self._pending, None
        if index is None or self.closed_at is not None:
            return
        step = self.steps[index] if index < len(self.steps) else None
        if step is not None and step.before is not None:
            self._in_flight = index
            try:
                await step.before()
            finally:
                self._in_flight = None
        if self._hangs_up(index) and not self.gone:
            del self.steps[index + 1:]  # the caller is gone: the session takes another path
            self._answer(reply_lines(HUNG_UP))
        elif step is None:
            self._answer([dead_reply(self.sent[index])])
        elif step.reply is SOCKET_CLOSED:
            self.closed_at = index
        else:
            self._answer(reply_lines(step.reply))

    def _answer(self, lines: list[str]) -> None:
        self.gone = self.gone or _tells_gone(lines)
        self._replies.extend((line + "\n").encode() for line in lines)

    def hang_up(self) -> None:
        """The caller hangs up now: during the command awaiting its reply (called from its
        ``before`` hook or an ``after_write``), else during the next command."""
        current = self._pending if self._in_flight is None else self._in_flight
        self.hang_up_at = len(self.sent) if current is None else current

    # -- reader side (AgiChannel._read_result) --------------------------------------------
    async def readline(self) -> bytes:
        if self._replies:
            return self._replies.popleft()
        if self.closed_at is not None:
            return b""
        error = ScriptError(f"the reply to command {len(self.sent) - 1} has no result line")
        self.failures.append(error)
        raise error

    def assert_done(self) -> None:
        if self.failures:
            raise self.failures[0]
        reached = len(self.sent) if self.closed_at is None else self.closed_at + 1
        left = self.steps[reached:]
        if left:
            raise ScriptError(f"{len(left)} scripted command(s) never sent, the first {left[0].expect!r}; "
                              f"sent: {self.sent}")


def _headers(uniqueid: str, caller: str, dnis: str, script: str, args: Sequence[str]) -> dict[str, str]:
    """The request headers Asterisk 22 sends (tests/unit/test_agi_server.py has the set)."""
    headers = {
        "agi_network": "yes", "agi_network_script": script, "agi_request": f"agi://127.0.0.1/{script}",
        "agi_channel": "PJSIP/trunk-00000001", "agi_language": "en", "agi_type": "PJSIP",
        "agi_uniqueid": uniqueid, "agi_version": "22.0.0", "agi_callerid": caller,
        "agi_calleridname": caller, "agi_dnid": dnis, "agi_context": "hotline-entry",
        "agi_extension": dnis, "agi_priority": "1", "agi_accountcode": "", "agi_threadid": "1",
    }
    headers.update({f"agi_arg_{n}": value for n, value in enumerate(args, start=1)})
    return headers


class FakeAgiChannel(AgiChannel):
    """The real AgiChannel over a scripted Asterisk (see the module docstring)."""

    def __init__(self, script: Sequence[ScriptItem], *, hang_up_at: int | None = None,
                 uniqueid: str = "1700000000.1", caller: str = "13800000001", dnis: str = "12345",
                 script_name: str = "call", args: Sequence[str] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        steps = [item if isinstance(item, Step) else Step(*item) for item in script]
        self.asterisk = _ScriptedAsterisk(steps, hang_up_at)
        all_headers = {**_headers(uniqueid, caller, dnis, script_name, args), **(headers or {})}
        peer = cast(asyncio.StreamReader, self.asterisk)
        super().__init__(all_headers, peer, cast(asyncio.StreamWriter, self.asterisk))

    @property
    def sent(self) -> list[str]:
        """Every command line the session sent, in order (without the newline)."""
        return list(self.asterisk.sent)

    def hang_up(self) -> None:
        """The caller hangs up now (from a ``before`` hook or an ``after_write``: during
        that command; else during the next one)."""
        self.asterisk.hang_up()

    def assert_done(self) -> None:
        """Raise the first ScriptError met, or one for steps never sent."""
        self.asterisk.assert_done()
