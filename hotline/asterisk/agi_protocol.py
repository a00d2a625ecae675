"""FastAGI wire format, sans I/O: request headers and command results in, typed values out.

Why not panoramisk's parser alone: it treats the asynchronous ``HANGUP`` line that Asterisk
writes on a FastAGI socket when the caller hangs up as if it were the command's result, which
leaves the real result unread and every later command one line out of step. Here a
``HANGUP`` line is a separate notice, and an empty read (socket closed) is an error, never a
busy loop.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEADER_BYTES = 16 * 1024
# ASCII digits only: \d (and str.isdigit) also take "٢٠٠" or "²", which int() reads as a
# code or refuses with a bare ValueError; Asterisk writes neither.
_RESULT = re.compile(r"^(?P<code>[0-9]{3})[ -](?P<rest>.*)$")
_KV = re.compile(r"(?P<key>\w+)=(?P<value>\S*)(?:\s+\((?P<data>[^)]*)\))?", re.ASCII)
_KEY_CODE = re.compile(r"[0-9]{1,9}")  # bounded: int() refuses over 4300 digits


class AgiProtocolError(ValueError):
    """Asterisk (or whatever connected) sent something that is not FastAGI."""


@dataclass(frozen=True)
class AgiResult:
    code: int
    result: str = ""
    data: str = ""
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def channel_gone(self) -> bool:
        """The command failed because the channel hung up (511, result=-1 or a (hangup) note)."""
        return self.code == 511 or (self.code == 200 and (self.result == "-1" or self.data == "hangup"))

    @property
    def digit(self) -> str:
        """For STREAM FILE / WAIT FOR DIGIT: the key pressed, '' when none (or when the
        result is not an ASCII decimal code)."""
        if self.code != 200 or not _KEY_CODE.fullmatch(self.result):
            return ""
        code = int(self.result)
        return chr(code) if 0 < code < 128 else ""


HANGUP_NOTICE = "HANGUP"


def parse_headers(block: bytes) -> dict[str, str]:
    """Parse the ``agi_key: value`` block that opens a FastAGI connection."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgiProtocolError(f"headers are not UTF-8: {exc}") from exc
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(": ")
        if not sep or not key.startswith("agi_"):
            raise AgiProtocolError(f"malformed AGI header line: {line[:80]!r}")
        headers[key] = value
    if "agi_network_script" not in headers:
        raise AgiProtocolError("no agi_network_script header: not a FastAGI request")
    return headers


def parse_result(line: str) -> AgiResult:
    """Parse one result line such as ``200 result=1 (timeout)`` or ``510 Invalid command``."""
    match = _RESULT.match(line.strip())
    if not match:
        raise AgiProtocolError(f"malformed AGI result line: {line[:80]!r}")
    code, rest = int(match["code"]), match["rest"]
    if code != 200:
        return AgiResult(code=code, text=rest)
    kv = _KV.search(rest)
    if not kv or kv["key"] != "result":
        raise AgiProtocolError(f"AGI 200 line without result=: {line[:80]!r}")
    return AgiResult(code=200, result=kv["value"], data=kv["data"] or "", text=rest)


def quote(arg: str) -> str:
    """Quote one AGI command argument (spaces, quotes and newlines are not allowed raw)."""
    cleaned = str(arg).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{cleaned}"'


def build(command: str, *args: object) -> str:
    """Build one command line, e.g. build("STREAM FILE", "/x/welcome", "0123456789*#")."""
    return " ".join([command, *(quote(str(a)) for a in args)])


# How long Asterisk may take to answer each command before the session gives up on the peer
# (a stalled or fake FastAGI peer must not hold a call, or an agent, for an hour). EXEC runs
# an application (Dial lasts the whole conversation): no limit; the caller's hang-up and the
# AMI Hangup event end it instead. Prompts may be long recorded messages.
COMMAND_TIMEOUTS = {"STREAM FILE": 300.0, "EXEC": None}
QUICK_COMMAND_TIMEOUT = 15.0  # ANSWER, SET/GET VARIABLE, SET MUSIC, CHANNEL STATUS, HANGUP...


def timeout_for(command: str, *args: object) -> float | None:
    """Seconds to wait for ``command``'s result (None: no limit). WAIT FOR DIGIT waits its
    own timeout (milliseconds, its first argument) plus a margin."""
    if command == "WAIT FOR DIGIT" and args and str(args[0]).lstrip("-").isdigit():
        return max(int(str(args[0])), 0) / 1000.0 + QUICK_COMMAND_TIMEOUT
    return COMMAND_TIMEOUTS.get(command, QUICK_COMMAND_TIMEOUT)
