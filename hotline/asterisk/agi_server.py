"""FastAGI server: panoramisk's route table, with a hardened connection handler.

panoramisk 1.4's handler loops forever when a peer closes before the blank line that ends
the headers, and reads ``HANGUP`` notices as command results. This subclass keeps its
``add_route`` API but reads the headers with a size and time limit and hands each route an
``AgiChannel`` whose commands are parsed by hotline.asterisk.agi_protocol.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Awaitable, Callable

from panoramisk.fast_agi import Application

from hotline.asterisk.agi_protocol import (
    HANGUP_NOTICE,
    MAX_HEADER_BYTES,
    AgiProtocolError,
    AgiResult,
    build,
    parse_headers,
    parse_result,
    timeout_for,
)

log = logging.getLogger(__name__)


class ChannelGone(Exception):
    """The caller hung up or Asterisk closed the AGI socket; the session must wind up."""


class AgiChannel:
    """One FastAGI connection: send commands, get parsed results, notice hang-ups."""

    def __init__(self, headers: dict[str, str], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.headers = headers
        self._reader = reader
        self._writer = writer
        self.hung_up = False
        self._lock = asyncio.Lock()

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def channel(self) -> str:
        return self.headers.get("agi_channel", "")

    def arg(self, n: int, default: str = "") -> str:
        return self.headers.get(f"agi_arg_{n}", default)

    async def run(self, command: str, *args: object, allow_dead: bool = False,
                  after_write: Callable[[], None] | None = None) -> AgiResult:
        """Send one command and return its result; raise ChannelGone if the call is gone
        (unless ``allow_dead``: e.g. SET VARIABLE after the caller hung up).
        ``after_write`` runs once the line is handed to the socket, before the result is
        awaited: work that must happen now but must not delay the command (the offer's
        bookkeeping runs there, so the agent's INVITE is not kept waiting for it)."""
        line = build(command, *args)
        async with self._lock:
            try:
                self._writer.write((line + "\n").encode())
                if after_write is not None:
                    after_write()
                await self._writer.drain()
                result = await asyncio.wait_for(self._read_result(), timeout_for(command, *args))
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                raise ChannelGone(f"AGI socket closed during {command}") from exc
        if result.channel_gone:
            self.hung_up = True
            if not allow_dead:
                raise ChannelGone(f"channel hung up during {command}")
        return result

    async def _read_result(self) -> AgiResult:
        while True:
            raw = await self._reader.readline()
            if not raw:
                raise ChannelGone("AGI socket closed by Asterisk")
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text == HANGUP_NOTICE:
                self.hung_up = True
                continue
            if not text:
                continue
            result = parse_result(text)
            if result.code == 100:  # "100 Trying...": the real result follows
                continue
            if result.code == 520 and text.startswith("520-"):
                # usage error, multi-line form: the explanation ends with "520 End ...".
                # The one-line form ("520 Invalid command syntax.  Proper usage not
                # available.") has nothing to skip.
                await self._skip_usage()
            return result

    async def _skip_usage(self) -> None:
        while True:
            raw = await self._reader.readline()
            if not raw or raw.startswith(b"520 End"):
                return


Handler = Callable[[AgiChannel], Awaitable[None]]


class LogThrottle:
    """At most one log record per ``interval`` seconds for one kind of noise, counting the
    ones held back. Why: anything may connect to the FastAGI port (a port scan, a health
    check, a peer that gives up), and one WARNING per connection lets it flood the log."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self._quiet_until = float("-inf")
        self._held = 0

    def admit(self) -> int | None:
        """None: hold this record back (it is counted). Otherwise log it, saying how many
        were held back since the last one admitted (the number returned)."""
        now = self.clock()
        if now < self._quiet_until:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._quiet_until = now + self.interval
        return held


class FastAgiServer(Application):
    """Route FastAGI requests by script name to async handlers that take an AgiChannel."""

    header_timeout = 5.0

    def __init__(self, secret: str = "", refusals: LogThrottle | None = None) -> None:
        """``secret``: the first part of every script path the dialplan requests
        (``agi://host:port/<secret>/call``); a request without it is refused before any
        command is sent, so only our Asterisk can open a call session (an empty secret
        turns the check off, for tests of the protocol alone)."""
        super().__init__(loop=asyncio.get_running_loop())
        self._server: asyncio.AbstractServer | None = None
        self._secret = secret
        self.refusals = LogThrottle() if refusals is None else refusals

    def _refused(self, reason: str, *args: object) -> None:
        """Log a connection that was no FastAGI request: a WARNING now and then, DEBUG else."""
        held = self.refusals.admit()
        if held is None:
            log.debug(reason, *args)
        elif held:
            log.warning(reason + " (and %d more connection(s) refused since the last such warning)", *args, held)
        else:
            log.warning(reason, *args)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self.handler, host, port, reuse_address=True)
        log.info("FastAGI listening on %s:%d", host, port)

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except Exception:
            log.exception("FastAGI connection failed")
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\n\n"), self.header_timeout)
        except asyncio.LimitOverrunError:
            self._refused("FastAGI headers longer than the limit: connection dropped")
            return
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            self._refused("FastAGI peer closed or stalled before sending its headers")
            return
        if len(block) > MAX_HEADER_BYTES:
            self._refused("FastAGI headers too large (%d bytes): dropped", len(block))
            return
        try:
            headers = parse_headers(block)
        except AgiProtocolError as exc:
            self._refused("bad FastAGI request: %s", exc)
            return
        script = self._authorised(headers["agi_network_script"].split("?")[0].strip("/"))
        if script is None:
            self._refused("FastAGI request without this instance's secret (from %s): refused",
                          writer.get_extra_info("peername"))
            return
        route = self._route.get(script)
        if route is None:
            log.error("no FastAGI route for %r", script)
            return
        channel = AgiChannel(headers, reader, writer)
        try:
            await route(channel)
        except ChannelGone as exc:
            log.info("AGI %s on %s ended: %s", script, channel.uniqueid, exc)

    def _authorised(self, path: str) -> str | None:
        """The script name of a request that carries the secret, else None."""
        if not self._secret:
            return path
        given, _, script = path.partition("/")
        return script if hmac.compare_digest(given.encode(), self._secret.encode()) else None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
