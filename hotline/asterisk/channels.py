"""Asterisk channel names, read without I/O (shared by the controller and the benchmarks)."""
from __future__ import annotations


def agent_of(channel: str) -> str:
    """The agent id in an agent leg's channel name, e.g. PJSIP/2001-0000001a -> 2001."""
    return channel.split("/", 1)[-1].rsplit("-", 1)[0]
