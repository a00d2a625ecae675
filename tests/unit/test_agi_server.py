"""hotline.asterisk.agi_server over real TCP: the test plays Asterisk with asyncio streams."""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import AsyncIterator, Awaitable, Callable

import pytest

from hotline.asterisk.agi_protocol import AgiResult
from hotline.asterisk.agi_server import (
    AgiChannel,
    ChannelGone,
    FastAgiServer,
    LogThrottle,
)

HEADERS = (
    "agi_network: yes\n"
    "agi_network_script: {script}\n"
    "agi_request: agi://127.0.0.1/{script}\n"
    "agi_channel: PJSIP/trunk-00000007\n"
    "agi_language: en\n"
    "agi_type: PJSIP\n"
    "agi_uniqueid: 1700000000.7\n"
    "agi_version: 22.0.0\n"
    "agi_callerid: 13800000001\n"
    "agi_dnid: 12345\n"
    "agi_context: hotline-entry\n"
    "agi_extension: s\n"
    "agi_priority: 3\n"
    "agi_accountcode: \n"
    "agi_arg_1: first\n"
    "\n"
)
STEP = 5.0  # generous upper bound for one exchange on loopback


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Route:
    """A FastAGI route that runs a script of commands and records what happened."""

    def __init__(self, body: Callable[[AgiChannel], Awaitable[list[AgiResult]]]) -> None:
        self.body = body
        self.done = asyncio.Event()
        self.results: list[AgiResult] = []
        self.error: BaseException | None = None
        self.channel: AgiChannel | None = None

    async def __call__(self, channel: AgiChannel) -> None:
        self.channel = channel
        try:
            self.results = await self.body(channel)
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.done.set()


@pytest.fixture
async def server() -> AsyncIterator[tuple[FastAgiServer, int]]:
    srv = FastAgiServer()
    srv.header_timeout = 30.0  # far above STEP: a prompt return is not the timeout firing
    port = free_port()
    await srv.start("127.0.0.1", port)
    try:
        yield srv, port
    finally:
        await srv.close()


async def fake_asterisk(port: int, script: str = "call") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADERS.format(script=script).encode())
    await writer.drain()
    return reader, writer


async def expect(reader: asyncio.StreamReader, line: str) -> None:
    got = await asyncio.wait_for(reader.readline(), STEP)
    assert got == (line + "\n").encode()


async def expect_eof(reader: asyncio.StreamReader) -> None:
    """The server closed the connection (it sends nothing more)."""
    assert await asyncio.wait_for(reader.read(), STEP) == b""


async def answer_then_get_x(channel: AgiChannel) -> list[AgiResult]:
    return [await channel.run("ANSWER"), await channel.run("GET VARIABLE", "X")]


async def test_commands_and_results_in_order(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, "ANSWER")
    writer.write(b"200 result=0\n")
    await expect(reader, 'GET VARIABLE "X"')
    writer.write(b"200 result=1 (the value)\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    await expect_eof(reader)
    writer.close()
    assert route.error is None
    assert [(r.code, r.result, r.data) for r in route.results] == [(200, "0", ""), (200, "1", "the value")]
    assert route.channel is not None
    assert route.channel.uniqueid == "1700000000.7"
    assert route.channel.channel == "PJSIP/trunk-00000007"
    assert route.channel.arg(1) == "first" and route.channel.arg(2, "none") == "none"
    assert route.channel.hung_up is False


async def test_route_query_string_and_slashes_are_ignored(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port, script="/call?lang=zh")
    await expect(reader, "ANSWER")
    writer.close()
    await asyncio.wait_for(route.done.wait(), STEP)
    assert isinstance(route.error, ChannelGone)


async def test_async_hangup_notice_before_result(server: tuple[FastAgiServer, int]) -> None:
    """Asterisk writes HANGUP as soon as the caller hangs up; the command's own result
    still follows and must be the one returned, keeping later commands in step."""
    srv, port = server

    async def body(channel: AgiChannel) -> list[AgiResult]:
        first = await channel.run("ANSWER")
        second = await channel.run("GET VARIABLE", "X")
        third = await channel.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
        return [first, second, third]

    route = Route(body)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, "ANSWER")
    writer.write(b"HANGUP\n200 result=0\n")
    await expect(reader, 'GET VARIABLE "X"')
    writer.write(b"200 result=1 (still here)\n")
    await expect(reader, 'SET VARIABLE "HOTLINE_DONE" "1"')
    writer.write(b"100 result=0 Trying...\n200 result=1\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    writer.close()
    assert route.error is None
    assert route.channel is not None and route.channel.hung_up is True
    assert [(r.code, r.result, r.data) for r in route.results] == [
        (200, "0", ""), (200, "1", "still here"), (200, "1", "")]


async def test_result_minus_one_raises_channel_gone(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, "ANSWER")
    writer.write(b"200 result=-1\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    await expect_eof(reader)  # the server ends the connection; GET VARIABLE was never sent
    writer.close()
    assert isinstance(route.error, ChannelGone)
    assert route.channel is not None and route.channel.hung_up is True


async def test_dead_channel_511_allowed_when_asked(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server

    async def body(channel: AgiChannel) -> list[AgiResult]:
        return [await channel.run("SET VARIABLE", "A", "1", allow_dead=True)]

    route = Route(body)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, 'SET VARIABLE "A" "1"')
    writer.write(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    writer.close()
    assert route.error is None
    assert route.results[0].code == 511
    assert route.channel is not None and route.channel.hung_up is True


async def test_usage_error_lines_are_skipped(server: tuple[FastAgiServer, int]) -> None:
    """Both forms of 520: multi-line (520-... usage ... 520 End) and Asterisk's one-line
    form for commands without usage text. Neither may eat the next command's result."""
    srv, port = server

    async def body(channel: AgiChannel) -> list[AgiResult]:
        return [await channel.run("STREAM FILE"), await channel.run("NOOP"), await channel.run("ANSWER")]

    route = Route(body)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, "STREAM FILE")
    writer.write(b"520-Invalid command syntax.  Proper usage follows:\n"
                 b" Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]\n"
                 b"520 End of proper usage.\n")
    await expect(reader, "NOOP")
    writer.write(b"520 Invalid command syntax.  Proper usage not available.\n")
    await expect(reader, "ANSWER")
    writer.write(b"200 result=0\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    writer.close()
    assert route.error is None
    assert [r.code for r in route.results] == [520, 520, 200]


async def test_socket_closed_mid_command_is_channel_gone(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port)
    await expect(reader, "ANSWER")
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(route.done.wait(), STEP)
    assert isinstance(route.error, ChannelGone)


async def test_peer_closing_before_blank_line_does_not_spin(server: tuple[FastAgiServer, int]) -> None:
    """panoramisk 1.4 loops forever on read() == b'' here; the server must give up at once."""
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\nagi_network_script: call\nagi_uniqueid: 1.1\n")  # no blank line
    await writer.drain()
    started = time.monotonic()
    writer.write_eof()
    await expect_eof(reader)  # the server closed its side: its handler has returned
    elapsed = time.monotonic() - started
    writer.close()
    assert elapsed < 2.0 < srv.header_timeout
    assert not route.done.is_set()


async def test_stalled_peer_times_out(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    srv.header_timeout = 0.3
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\n")
    await writer.drain()
    started = time.monotonic()
    await expect_eof(reader)
    assert 0.25 <= time.monotonic() - started < STEP
    writer.close()
    assert not route.done.is_set()


@pytest.mark.parametrize("block", [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\n\n",
    b"hello\n\n",
    b"\xff\xfe\xfd\n\n",
    b"agi_channel: PJSIP/x-1\nagi_uniqueid: 1.1\n\n",  # no agi_network_script
    b"agi_network_script: call\nagi_x: " + b"y" * 20000 + b"\n\n",  # over MAX_HEADER_BYTES
    b"agi_network_script: call\nagi_x: " + b"y" * 70000,  # over the stream limit, no end
])
async def test_garbage_headers_close_without_running_a_route(server: tuple[FastAgiServer, int], block: bytes) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(block)
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), STEP) == b""  # nothing sent, connection closed
    writer.close()
    assert not route.done.is_set()


async def test_unknown_route_closes_without_commands(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    reader, writer = await fake_asterisk(port, script="no-such-script")
    assert await asyncio.wait_for(reader.read(), STEP) == b""
    writer.close()
    assert not route.done.is_set()


async def test_server_keeps_serving_after_a_bad_connection(server: tuple[FastAgiServer, int]) -> None:
    srv, port = server
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    _, bad = await asyncio.open_connection("127.0.0.1", port)
    bad.write(b"agi_network_script: call\n")
    bad.close()
    reader, writer = await fake_asterisk(port)
    await expect(reader, "ANSWER")
    writer.write(b"200 result=0\n")
    await expect(reader, 'GET VARIABLE "X"')
    writer.write(b"200 result=0\n")
    await asyncio.wait_for(route.done.wait(), STEP)
    writer.close()
    assert route.error is None and len(route.results) == 2


# -- refused connections: a WARNING now and then, never one per connection ---------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_log_throttle_admits_one_per_interval_and_counts_the_rest() -> None:
    clock = FakeClock()
    throttle = LogThrottle(interval=60.0, clock=clock)
    assert throttle.admit() == 0                            # the first one: nothing held back
    assert [throttle.admit() for _ in range(3)] == [None] * 3
    clock.now += 59.9
    assert throttle.admit() is None
    clock.now += 0.1
    assert throttle.admit() == 4                            # 60 s on: logged, with the 4 held back
    assert throttle.admit() is None
    clock.now += 600
    assert throttle.admit() == 1
    clock.now += 60
    assert throttle.admit() == 0                            # a quiet minute: the count starts over


def test_log_throttle_with_no_interval_admits_everything() -> None:
    throttle = LogThrottle(interval=0.0, clock=FakeClock())
    assert [throttle.admit() for _ in range(3)] == [0, 0, 0]


async def test_refused_connections_do_not_flood_the_log(server: tuple[FastAgiServer, int],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Every connection that was no AGI request (a port scan, a health check) logged a
    WARNING of its own; now one per interval, with a count of the ones held back."""
    srv, port = server
    clock = FakeClock()
    srv.refusals = LogThrottle(interval=60.0, clock=clock)

    async def refused(block: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(block)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), STEP) == b""  # the server closed it: logged
        writer.close()

    with caplog.at_level(logging.DEBUG, logger="hotline.asterisk.agi_server"):
        for block in (b"GET / HTTP/1.1\r\n\r\n\n\n", b"hello\n\n", b"\xff\n\n", b"x\n\n"):
            await refused(block)
        clock.now += 60
        await refused(b"agi_uniqueid: 1.1\n\n")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith("bad FastAGI request: malformed AGI header line")
    assert "no agi_network_script" in warnings[1] and "3 more connection(s) refused" in warnings[1]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 3


async def test_a_request_without_the_instances_secret_gets_no_session() -> None:
    """Any local process can connect to the FastAGI port; only one that knows the secret
    Asterisk's dialplan carries (agi://host:port/<secret>/call) reaches a route."""
    srv = FastAgiServer(secret="s3cret", refusals=LogThrottle(interval=0))
    port = free_port()
    await srv.start("127.0.0.1", port)
    route = Route(answer_then_get_x)
    srv.add_route("call", route.__call__)
    try:
        for script in ("call", "wrong/call", "s3cre/call", "s3cretx/call"):
            reader, writer = await fake_asterisk(port, script)
            await expect_eof(reader)  # closed without a single command
            writer.close()
        assert route.channel is None
        reader, writer = await fake_asterisk(port, "s3cret/call")
        await expect(reader, "ANSWER")
        writer.close()
    finally:
        await srv.close()
