"""Replay recorded AMI transcripts through the controller's own parsing, without Asterisk.

The idea of panoramisk's testing.py: what the real Asterisk wrote, kept as text
(tests/contract/transcripts/*.ami, recorded by tests.contract.capture_ami), is fed to the
same code the live session uses. Each block becomes a panoramisk ``Message`` by
``Message.from_line``, the function panoramisk's AMI protocol calls on every block it
reads (case-insensitive keys, a header sent twice becomes a list), and then goes through
``hotline.asterisk.ami_events.parse_event``, as ``AmiClient._dispatch`` does.

A transcript file holds the blocks as on the wire, each ended by a blank line; its line
ends may be LF (as stored) or CRLF (as sent).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from panoramisk import utils
from panoramisk.message import Message

from hotline.asterisk.ami_events import AmiEvent, parse_event

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def transcript(name: str) -> Path:
    """The path of a recorded transcript, e.g. transcript("answered")."""
    return TRANSCRIPTS / f"{name}.ami"


def split_blocks(text: str) -> list[str]:
    """The raw blocks of a transcript, in order, each with its lines joined by the EOL
    panoramisk splits on (read when called: panoramisk.testing changes it)."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [utils.EOL.join(b.strip("\n").split("\n")) for b in blocks if b.strip()]


def read_messages(path: Path) -> list[Message]:
    """Every message of a transcript, parsed as panoramisk parses a block off the wire.
    A block panoramisk would drop (neither Event nor Response) is an error here: a
    fixture holds only what Asterisk sent."""
    messages = []
    for block in split_blocks(path.read_text(encoding="utf-8")):
        message = Message.from_line(block)
        if message is None:
            raise ValueError(f"{path.name}: not an AMI message: {block[:80]!r}")
        messages.append(message)
    return messages


@dataclass(frozen=True)
class Replayed:
    """One recorded message and what parse_event made of it (None: not one we use)."""

    message: Message
    event: AmiEvent | None

    @property
    def name(self) -> str:
        return str(self.message.get("Event", ""))


def replay(path: Path) -> Iterator[Replayed]:
    """Feed a transcript through parse_event, message by message."""
    for message in read_messages(path):
        yield Replayed(message, parse_event(message))


def typed_events(path: Path) -> list[AmiEvent]:
    """The typed events a transcript yields, in order (what the controller would see)."""
    return [r.event for r in replay(path) if r.event is not None]
