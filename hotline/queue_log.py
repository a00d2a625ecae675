"""Reconcile calls that app_queue served while the controller was away, from queue_log.

When the FastAGI request fails, the dialplan puts the citizen into the ``hotline-fallback``
app_queue. Asterisk writes each step to its queue_log file; this module folds those lines
(pure: text in, CallRecords out) so a restarted controller stores the calls it missed.
Line format: ``epoch|callid|queue|agent|EVENT|data1|data2|...``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from hotline.records import CallRecord

FALLBACK_QUEUE = "hotline-fallback"


@dataclass(frozen=True)
class QueueLogLine:
    at: float
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(line: str) -> QueueLogLine | None:
    """One queue_log line, or None if it is malformed or not about a call."""
    parts = line.rstrip("\n").split("|")
    if len(parts) < 5 or parts[1] in ("", "NONE"):
        return None
    try:
        at = float(parts[0])
    except ValueError:
        return None
    return QueueLogLine(at, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def _field(line: QueueLogLine, index: int, default: str = "") -> str:
    return line.data[index] if len(line.data) > index else default


def fold(lines: Iterable[str], queue: str = FALLBACK_QUEUE,
         recording_of: Callable[[str], str] | None = None) -> dict[str, CallRecord]:
    """Build one record per finished fallback call; calls still in progress are left out.
    ``recording_of(call_id)`` names the file app_queue's MixMonitor wrote (queues.conf
    ``monitor-format``, started on the member's answer); it is set on the calls an agent answered."""
    records: dict[str, CallRecord] = {}
    finished: set[str] = set()
    for raw in lines:
        line = parse_line(raw)
        if line is None or line.queue != queue:
            continue
        record = records.get(line.call_id)
        if line.event == "ENTERQUEUE":
            records[line.call_id] = CallRecord(
                call_id=line.call_id, caller=_field(line, 1) or "unknown", dnis=_field(line, 0),
                arrived_at=line.at, queued_at=line.at, source="fallback", queue="main",
                outcome="in_progress")
            continue
        if record is None:
            continue
        if line.event == "CONNECT":
            recording = recording_of(line.call_id) if recording_of else record.recording
            records[line.call_id] = record.but(answered_at=line.at, agent_id=line.agent, outcome="answered",
                                               recording=recording)
        elif line.event in ("COMPLETEAGENT", "COMPLETECALLER"):
            records[line.call_id] = record.but(ended_at=line.at, outcome="answered",
                                               agent_id=record.agent_id or line.agent)
            finished.add(line.call_id)
        elif line.event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"):
            records[line.call_id] = record.but(ended_at=line.at, outcome="abandoned")
            finished.add(line.call_id)
    return {cid: r for cid, r in records.items() if cid in finished}
