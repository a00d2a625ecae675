"""FakeAgiChannel against the real AgiChannel on a socket, and the fake's own script rules."""
from __future__ import annotations

import asyncio
import re
import socket
from typing import Awaitable, Callable, Sequence

import pytest

from hotline.asterisk.agi_protocol import AgiProtocolError, AgiResult
from hotline.asterisk.agi_server import AgiChannel, ChannelGone
from tests.contract.fake_agi import (
    DEAD,
    HUNG_UP,
    OK,
    SOCKET_CLOSED,
    FakeAgiChannel,
    Reply,
    ScriptError,
    Step,
    dead_reply,
    pressed,
    reply_lines,
    variable,
)

Outcome = tuple[str, object, bool]
STREAM = ("STREAM FILE", "/prompts/zh/welcome", "0123456789*#")
# Reply lines as Asterisk writes them, and whether the command may run on a dead channel.
CASES: list[tuple[Reply, bool]] = [
    (OK, False),
    (pressed("1"), False),
    ("200 result=0 (timeout)", False),
    (variable("ANSWER"), False),
    ("200 result=-1 endpos=1600", False),
    ("200 result=-1", True),
    ("200 result=1 (hangup)", False),
    (HUNG_UP, False),
    (HUNG_UP, True),
    (("HANGUP", OK), False),
    (DEAD, False),
    (DEAD, True),
    ("510 Invalid or unknown command", False),
    (("100 result=0 Trying...", OK), False),
    (("520-Invalid command syntax.  Proper usage follows:", " Usage: STREAM FILE <filename> <escape_digits>",
      "520 End of proper usage."), False),
    ("520 Invalid command syntax.  Proper usage not available.", False),
    (("", OK), False),
    ("hello", False),
    (SOCKET_CLOSED, False),
]
FOLLOW_UP = "200 result=7"  # the next command's reply: both stay in step with the stream


async def outcome(channel: AgiChannel, call: Callable[[], Awaitable[AgiResult]]) -> Outcome:
    try:
        return ("result", await call(), channel.hung_up)
    except ChannelGone as exc:
        return ("ChannelGone", str(exc), channel.hung_up)
    except AgiProtocolError as exc:
        return ("AgiProtocolError", str(exc), channel.hung_up)


async def two_commands(channel: AgiChannel, allow_dead: bool, follow: bool) -> list[Outcome]:
    done = [await outcome(channel, lambda: channel.run(*STREAM, allow_dead=allow_dead))]
    if follow:
        done.append(await outcome(channel, lambda: channel.run("NOOP", allow_dead=True)))
    return done


async def through_real(replies: Sequence[Reply], allow_dead: bool) -> tuple[list[Outcome], list[str]]:
    """The real AgiChannel on one end of a socket pair; Asterisk played on the other."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    peer_reader, peer_writer = await asyncio.open_connection(sock=theirs)
    seen: list[str] = []

    async def asterisk() -> None:
        for reply in replies:
            seen.append((await peer_reader.readline()).decode().rstrip("\n"))
            if reply is SOCKET_CLOSED:
                peer_writer.close()
                return
            peer_writer.write("".join(line + "\n" for line in reply_lines(reply)).encode())
            await peer_writer.drain()

    peer = asyncio.create_task(asterisk())
    channel = AgiChannel({"agi_uniqueid": "1.1"}, reader, writer)
    done = await two_commands(channel, allow_dead, follow=len(replies) > 1)
    await asyncio.wait_for(peer, 5)
    writer.close()
    peer_writer.close()
    return done, seen


@pytest.mark.parametrize(("reply", "allow_dead"), CASES)
async def test_the_fake_answers_as_the_real_channel_on_a_socket(reply: Reply, allow_dead: bool) -> None:
    replies = [reply] if reply is SOCKET_CLOSED else [reply, FOLLOW_UP]
    real, seen = await through_real(replies, allow_dead)
    fake = FakeAgiChannel(list(zip(["STREAM FILE *", "NOOP"], replies)))
    assert await two_commands(fake, allow_dead, follow=len(replies) > 1) == real
    assert fake.sent == seen
    fake.assert_done()


async def test_commands_are_checked_in_order_by_glob_or_regex() -> None:
    fake = FakeAgiChannel([
        ("ANSWER", OK),
        ('STREAM FILE "*/welcome" "0123456789[*]#"', pressed("1")),
        (re.compile(r'EXEC "Dial" "PJSIP/2001,\d+,.*"'), OK),
        ('GET VARIABLE "DIALSTATUS"', variable("ANSWER")),
    ])
    await fake.run("ANSWER")
    assert (await fake.run(*STREAM)).digit == "1"
    await fake.run("EXEC", "Dial", "PJSIP/2001,5,mg")
    assert (await fake.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data == "ANSWER"
    assert fake.sent == ["ANSWER", 'STREAM FILE "/prompts/zh/welcome" "0123456789*#"', 'EXEC "Dial" "PJSIP/2001,5,mg"',
                         'GET VARIABLE "DIALSTATUS"']
    fake.assert_done()


async def test_an_unexpected_command_fails_even_when_the_session_swallows_it() -> None:
    fake = FakeAgiChannel([("ANSWER", OK)])
    with pytest.raises(ScriptError, match="does not match"):
        await fake.run("HANGUP")
    with pytest.raises(ScriptError, match="does not match"):
        fake.assert_done()


async def test_a_command_after_the_script_fails_while_the_caller_is_there() -> None:
    fake = FakeAgiChannel([("ANSWER", OK)])
    await fake.run("ANSWER")
    with pytest.raises(ScriptError, match="after the end of the script"):
        await fake.run("NOOP")


async def test_steps_never_sent_fail_assert_done() -> None:
    fake = FakeAgiChannel([("ANSWER", OK), ("NOOP", OK)])
    await fake.run("ANSWER")
    with pytest.raises(ScriptError, match="1 scripted command"):
        fake.assert_done()


async def test_a_reply_without_a_result_line_is_a_script_error() -> None:
    fake = FakeAgiChannel([("ANSWER", ("HANGUP",))])
    with pytest.raises(ScriptError, match="no result line"):
        await fake.run("ANSWER")


async def test_caller_hangs_up_at_command_n_and_later_commands_meet_a_dead_channel() -> None:
    happy_path = [("ANSWER", OK), ("STREAM FILE *", pressed("1")), ("SET MUSIC *", OK), ("EXEC *", OK)]
    fake = FakeAgiChannel(happy_path, hang_up_at=1)
    await fake.run("ANSWER")
    with pytest.raises(ChannelGone):
        await fake.run(*STREAM)
    assert fake.hung_up
    assert (await fake.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)).result == "1"
    assert (await fake.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).result == "0"
    with pytest.raises(ChannelGone):
        await fake.run("SET MUSIC", "on", "default")
    assert fake.sent[2:] == ['SET VARIABLE "HOTLINE_DONE" "1"', 'GET VARIABLE "DIALSTATUS"', 'SET MUSIC "on" "default"']
    fake.assert_done()  # the happy path's later steps no longer apply


def test_dead_channel_replies_follow_res_agis_table() -> None:
    assert dead_reply('SET VARIABLE "X" "1"') == "200 result=1"
    assert dead_reply('EXEC "Dial" "PJSIP/2001"') == "200 result=-1"
    assert dead_reply("NOOP") == OK
    assert dead_reply('STREAM FILE "x" ""') == dead_reply("CHANNEL STATUS") == DEAD


async def test_before_hook_runs_after_the_write_and_before_the_result() -> None:
    order: list[str] = []

    async def deliver() -> None:
        order.append(f"hook sees {fake.sent[-1]}")
        await asyncio.sleep(0)  # other tasks run while the command is in flight

    fake = FakeAgiChannel([Step('EXEC "Dial" *', OK, before=deliver)])
    result = await fake.run("EXEC", "Dial", "PJSIP/2001", after_write=lambda: order.append("after_write"))
    order.append(f"result {result.result}")
    assert order == ["after_write", 'hook sees EXEC "Dial" "PJSIP/2001"', "result 0"]


async def test_a_hook_can_hang_the_caller_up_during_its_command() -> None:
    async def caller_leaves() -> None:
        fake.hang_up()

    fake = FakeAgiChannel([("ANSWER", OK), Step("WAIT FOR DIGIT *", pressed("5"), before=caller_leaves),
                           ("NOOP", OK)])
    await fake.run("ANSWER")
    with pytest.raises(ChannelGone):
        await fake.run("WAIT FOR DIGIT", 5000)
    with pytest.raises(ChannelGone):
        await fake.run("CHANNEL STATUS")
    fake.assert_done()


async def test_hang_up_from_after_write_fails_that_command() -> None:
    fake = FakeAgiChannel([("EXEC *", OK)])
    with pytest.raises(ChannelGone):
        await fake.run("EXEC", "Dial", "PJSIP/2001", after_write=fake.hang_up)
    fake.assert_done()


async def test_hang_up_between_commands_fails_the_next_one() -> None:
    fake = FakeAgiChannel([("ANSWER", OK), ("SET MUSIC *", OK)])
    await fake.run("ANSWER")
    fake.hang_up()
    with pytest.raises(ChannelGone):
        await fake.run("SET MUSIC", "on", "default")


async def test_scripted_commands_after_a_scripted_hangup_still_match() -> None:
    fake = FakeAgiChannel([("EXEC *", HUNG_UP), ('GET VARIABLE "DIALSTATUS"', variable("CANCEL"))])
    assert (await fake.run("EXEC", "Dial", "PJSIP/2001", allow_dead=True)).channel_gone
    assert (await fake.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data == "CANCEL"
    fake.assert_done()


async def test_a_closed_socket_ends_every_later_command_and_no_step_may_follow() -> None:
    fake = FakeAgiChannel([("ANSWER", SOCKET_CLOSED)])
    for command in ("ANSWER", "NOOP"):
        with pytest.raises(ChannelGone, match="closed by Asterisk"):
            await fake.run(command)
    fake.assert_done()
    unreachable = FakeAgiChannel([("ANSWER", SOCKET_CLOSED), ("NOOP", OK)])
    with pytest.raises(ChannelGone):
        await unreachable.run("ANSWER")
    with pytest.raises(ScriptError, match="never sent"):
        unreachable.assert_done()


def test_headers_are_those_of_a_fastagi_request() -> None:
    fake = FakeAgiChannel([], uniqueid="hl-1.7", caller="13900000000", script_name="callback", args=["req-1"],
                          headers={"agi_channel": "PJSIP/2002-00000009"})
    assert isinstance(fake, AgiChannel)
    assert (fake.uniqueid, fake.channel, fake.arg(1), fake.arg(2, "none")) == (
        "hl-1.7", "PJSIP/2002-00000009", "req-1", "none")
    assert fake.headers["agi_callerid"] == "13900000000" and fake.headers["agi_network_script"] == "callback"
    assert fake.hung_up is False
