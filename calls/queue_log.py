"""Reconcile calls that app_queue served while the controller was away, from queue_log.

When the FastAGI request fails, the dialplan puts the citizen into the ``hotline-fallback``
app_queue. Asterisk writes each step to its queue_log file; this module folds those lines
(pure: text in, CallRecords out) so a restarted controller stores the calls it missed.
Line format: ``epoch|callid|queue|agent|EVENT|data1|data2|...``.

The file is read again on every reconciliation pass, so one line that cannot become a
storable record must never stop the fold (or the writes after it): a malformed line is
skipped, and each pass logs one warning that says how many lines it skipped and why.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from calls.records import CallRecord

log = logging.getLogger(__name__)

FALLBACK_QUEUE = "hotline-fallback"
# The dialplan's own line for a call an agent answered while its controller was gone (the
# ``served`` branch in extensions.conf): ``epoch|callid|hotline-served|<agent channel>|SERVED|
# <answered ms>|<dialled ms>``, written after Dial returned, before the channel hangs up.
SERVED_QUEUE = "hotline-served"
# Asterisk writes time(NULL) as a plain decimal; "nan", "inf", "1e309", "-1", full-width
# digits and the like all parse as float() yet are no time a call happened.
_EPOCH = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
# The last second a datetime (so the store's timestamp columns) can hold: 9999-12-31T23:59:59Z.
MAX_EPOCH = 253402300799
# Control characters (NUL: PostgreSQL refuses it in text) and lone surrogates (not UTF-8).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# The widths of the calls table's columns (sql/schema.py) that a fallback line fills in;
# PostgreSQL refuses a longer value, so such a line is skipped here instead.
FIELD_WIDTHS = {"call_id": 64, "dnis": 32, "caller": 64, "agent_id": 16}
_ANSWER_EVENTS = ("CONNECT", "COMPLETEAGENT", "COMPLETECALLER")
_EXIT_EVENTS = ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY")


class MalformedLine(ValueError):
    """A queue_log line that cannot become part of a record; the message says why."""


@dataclass(frozen=True)
class QueueLogLine:
    at: float
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def read_line(line: str) -> QueueLogLine | None:
    """One queue_log line; None if it is blank or not about a call (QUEUESTART, ...).
    Raise MalformedLine if it is about a call but cannot be read."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    parts = text.split("|")
    if len(parts) < 5:
        raise MalformedLine(f"{len(parts)} field(s), a queue_log line has at least 5")
    if parts[1] in ("", "NONE"):
        return None
    if not _EPOCH.fullmatch(parts[0]) or float(parts[0]) > MAX_EPOCH:
        raise MalformedLine(f"time {parts[0][:40]!r} is not an epoch in the range a record can hold")
    if _UNPRINTABLE.search(text):
        raise MalformedLine("control character in the line")
    return QueueLogLine(float(parts[0]), parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def parse_line(line: str) -> QueueLogLine | None:
    """One queue_log line, or None if it is malformed (logged, with the reason) or not
    about a call."""
    try:
        return read_line(line)
    except MalformedLine as exc:
        log.warning("queue_log line skipped: %s: %r", exc, line[:120])
        return None


def _field(line: QueueLogLine, index: int, default: str = "") -> str:
    return line.data[index] if len(line.data) > index else default


def _check_widths(**fields: str) -> None:
    for name, value in fields.items():
        if len(value) > FIELD_WIDTHS[name]:
            raise MalformedLine(f"{name} of {len(value)} characters, the store keeps {FIELD_WIDTHS[name]}")


def _step(records: dict[str, CallRecord], finished: set[str], line: QueueLogLine,
          recording_of: Callable[[str], str] | None) -> None:
    """Apply one line of the fallback queue to the records; raise MalformedLine if the
    record it would make could not be stored."""
    _check_widths(call_id=line.call_id)
    record = records.get(line.call_id)
    if line.event == "ENTERQUEUE":
        _check_widths(dnis=_field(line, 0), caller=_field(line, 1))
        records[line.call_id] = CallRecord(
            call_id=line.call_id, caller=_field(line, 1) or "unknown", dnis=_field(line, 0),
            arrived_at=line.at, queued_at=line.at, source="fallback", queue="main",
            outcome="in_progress")
        finished.discard(line.call_id)  # queued again (the dialplan looped): not over yet
        return
    if line.event == "RESUMED":  # taken back by a live controller: its session stores the call
        records.pop(line.call_id, None)
        finished.discard(line.call_id)
        return
    if record is None:
        return
    if line.event in _ANSWER_EVENTS:
        _check_widths(agent_id=line.agent)
    if line.event == "CONNECT":
        try:
            recording = recording_of(line.call_id) if recording_of else record.recording
        except ValueError as exc:
            raise MalformedLine(f"no recording path for this call id: {exc}") from exc
        records[line.call_id] = record.but(answered_at=line.at, agent_id=line.agent, outcome="answered",
                                           recording=recording)
    elif line.event in ("COMPLETEAGENT", "COMPLETECALLER"):
        records[line.call_id] = record.but(ended_at=line.at, outcome="answered",
                                           agent_id=record.agent_id or line.agent)
        finished.add(line.call_id)
    elif line.event in _EXIT_EVENTS:
        records[line.call_id] = record.but(ended_at=line.at, outcome="abandoned")
        finished.add(line.call_id)


def fold(lines: Iterable[str], queue: str = FALLBACK_QUEUE,
         recording_of: Callable[[str], str] | None = None,
         settled_before: float | None = None) -> dict[str, CallRecord]:
    """Build one record per finished fallback call; calls still in progress are left out,
    and so are calls whose last line is later than ``settled_before``: a caller taken back
    from the queue (``RESUMED``, written just after app_queue's own exit line) must not be
    stored as a fallback call in between.
    ``recording_of(call_id)`` names the file app_queue's MixMonitor wrote (queues.conf
    ``monitor-format``, started on the member's answer); it is set on the calls an agent answered.
    Malformed lines are skipped, and counted in one warning per fold."""
    records: dict[str, CallRecord] = {}
    finished: set[str] = set()
    skipped: list[str] = []
    for number, raw in enumerate(lines, start=1):
        try:
            line = read_line(raw)
            if line is not None and line.queue == queue:
                _step(records, finished, line, recording_of)
        except MalformedLine as exc:
            skipped.append(f"line {number}: {exc}")
    if skipped:
        log.warning("queue_log: %d malformed line(s) skipped, e.g. %s", len(skipped), "; ".join(skipped[:3]))
    return {cid: r for cid, r in records.items() if cid in finished
            and (settled_before is None or (r.ended_at or 0.0) <= settled_before)}


@dataclass(frozen=True)
class Served:
    """A call an agent answered while no controller held its session: when the talk ended,
    how long it lasted, and the agent's channel (from the dialplan's ``SERVED`` line)."""

    call_id: str
    ended_at: float
    talk_seconds: float
    agent_channel: str

    @property
    def answered_at(self) -> float:
        return self.ended_at - self.talk_seconds


def served(lines: Iterable[str]) -> dict[str, Served]:
    """The ``SERVED`` lines, by call id (the last one wins); malformed ones are skipped."""
    found: dict[str, Served] = {}
    for raw in lines:
        try:
            line = read_line(raw)
        except MalformedLine:
            continue
        if line is None or line.queue != SERVED_QUEUE or line.event != "SERVED":
            continue
        talk = _field(line, 0)
        if not _EPOCH.fullmatch(talk):
            continue
        found[line.call_id] = Served(line.call_id, line.at, float(talk) / 1000.0, line.agent)
    return found
