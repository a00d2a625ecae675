"""The controller's AMI client against a small AMI server on loopback (the real TCP
protocol panoramisk speaks): an action the lost connection left unanswered fails at once
with AmiError, instead of waiting out its timeout, and is never sent again after the
next login (an Originate or Hangup of before an Asterisk restart must not act after it)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.asterisk.ami import AmiClient, AmiError
from hotline.settings import Settings
from hotline.tasks import TaskOwner


class AmiServer:
    """Answers Login; records every other action's name; on the first CoreShowChannels of a
    connection it drops that connection without answering (Asterisk stopping)."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.logins = 0
        self.logged_in = asyncio.Event()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                message = await _read_message(reader)
                if message is None:
                    return
                name = message.get("action", "").lower()
                reply = f"ActionID: {message.get('actionid', '')}\r\n"
                if name == "login":
                    writer.write(f"Response: Success\r\n{reply}Message: Authentication accepted\r\n\r\n".encode())
                    self.logins += 1
                    self.logged_in.set()
                    continue
                self.actions.append(name)
                if name == "coreshowchannels":
                    writer.close()  # gone without an answer
                    return
                writer.write(f"Response: Success\r\n{reply}\r\n".encode())
                await writer.drain()
        finally:
            writer.close()


async def _read_message(reader: asyncio.StreamReader) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode().strip()
        if not text:
            if fields:
                return fields
            continue
        key, _, value = text.partition(":")
        fields[key.strip().lower()] = value.strip()


async def _scenario() -> tuple[AmiServer, Any]:
    server = AmiServer()
    port = await server.start()
    client = AmiClient(Settings(ami_port=port, ami_user="hotline", ami_secret="s"), TaskOwner("test"))
    await client.start(on_event=lambda event: None, on_login=lambda: asyncio.sleep(0))
    await asyncio.wait_for(server.logged_in.wait(), 10)
    while not client.connected:
        await asyncio.sleep(0.01)
    with pytest.raises(AmiError) as failed:
        await client.action({"Action": "CoreShowChannels"}, timeout=30, as_list=True)
    server.logged_in.clear()
    await asyncio.wait_for(server.logged_in.wait(), 10)  # logged in again (back-off: 0.5 s first)
    await asyncio.sleep(0.5)  # time for a resend, had one been queued
    assert client.manager is not None
    client.manager.close()
    assert server.server is not None
    server.server.close()
    return server, failed.value


def test_an_action_left_unanswered_by_a_lost_connection_fails_at_once_and_is_not_sent_again() -> None:
    server, error = asyncio.run(_scenario())
    assert "connection lost before CoreShowChannels" in str(error)
    assert "timed out" not in str(error)  # not after the action's whole timeout
    assert server.logins == 2
    assert server.actions.count("coreshowchannels") == 1  # never resent after the new login
