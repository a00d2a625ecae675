"""Records of simulated calls in the shape the live sessions store them.

What is written, field by field and event by event, follows the live shell:

* an inbound call (``hotline/sessions/call.py``): ``CallRecord`` with ``arrived_at`` (the
  call reached the controller), ``queued_at`` (the IVR put it in line; its place),
  ``answered_at``, ``ended_at`` (the conversation's end; for a booked callback the
  booking), ``agent_id`` (who answered, else empty) and the call machine's ``outcome``;
  events ``arrived`` {caller, dnis}, ``queued`` {queue, language, skills},
  ``relaxed`` {step, min_level, keep_line_skills} (stamped when the queue's policy put the
  step in force), ``offered`` {agent, relax_step, waited}, ``rona`` {agent, status},
  ``announced`` {position, minutes, callback_offered}, ``callback_booked`` {number}, then
  at the end ``answered`` {agent, at} (an answered call) and ``ended`` {outcome};
* a callback try (``hotline/sessions/callback.py``): its own record, ``source`` callback,
  ``dnis`` "callback", ``arrived_at`` when the agent answered the leg, ``queued_at`` the
  request's place, ``attrs.callback_of``; events ``callback_dialled``, ``callback_retry``
  and ``ended`` {outcome, dial_status};
* the agents' state log (``hotline/store/agent_states.py``): one row per change of state
  or pause reason, reservations and rings left out.

The JSON-lines file has the store's spool shape (``{"record": ..., "events": [...]}``), so
the store's own reader takes it back (``hotline.store.calls``), as the tests check.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from agents.state import AgentRecord, AgentState
from calls.records import CallEvent, CallRecord
from calls.state import Call, Outcome

CONTROLLER = "simulator"
UNLOGGED = frozenset({AgentState.RESERVED, AgentState.RINGING})  # offers, not shift states


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """A row of the agents' state log (the fields of the store's ``StateChange``)."""

    agent_id: str
    at: float
    state: str
    reason: str = ""
    call_id: str = ""

    @classmethod
    def of(cls, record: AgentRecord, at: float) -> AgentStateChange:
        reason = record.pause_reason or "" if record.state is AgentState.PAUSED else ""
        return cls(record.agent_id, at, record.state.value, reason[:64], (record.call_id or "")[:64])


def state_changed(before: AgentRecord | None, after: AgentRecord) -> bool:
    """Whether the live agent service would log ``after`` (``AgentService._changed_from``)."""
    if after.state in UNLOGGED:
        return False
    return before is None or (before.state, before.pause_reason) != (after.state, after.pause_reason)


def inbound_record(call: Call, caller: str, dnis: str, skills: str) -> CallRecord:
    """The record of an inbound call from its machine value, once the session is over."""
    booked = call.outcome is Outcome.CALLBACK_REQUESTED
    return CallRecord(
        call_id=call.call_id, caller=caller, dnis=dnis, arrived_at=call.arrived_at, queue=call.queue,
        language=call.language, skills=skills, priority=call.priority, queued_at=call.queued_at,
        answered_at=call.answered_at, ended_at=call.booked_at if booked else call.ended_at,
        agent_id=(call.answered_by or "") if call.answered_at is not None else "", outcome=call.outcome.value,
        attrs={"controller": CONTROLLER})


def closing_events(call: Call, at: float) -> list[CallEvent]:
    """What the live session appends when it winds up: ``answered`` (if so) and ``ended``."""
    events = []
    if call.answered_at is not None:
        events.append(CallEvent(call.call_id, at, "answered", {"agent": call.answered_by, "at": call.answered_at}))
    events.append(CallEvent(call.call_id, at, "ended", {"outcome": call.outcome.value}))
    return events


# -- JSON lines -----------------------------------------------------------------------------

def encode(record: CallRecord, events: Iterable[CallEvent]) -> str:
    """One line of the store's spool format."""
    payload = {"record": {**asdict(record), "ivr_path": list(record.ivr_path)},
               "events": [asdict(e) for e in events]}
    return json.dumps(payload, default=str, ensure_ascii=False)


def decode(line: str) -> tuple[CallRecord, list[CallEvent]]:
    payload = json.loads(line)
    fields: dict[str, Any] = payload["record"]
    fields["ivr_path"] = tuple(fields.get("ivr_path") or ())
    return CallRecord(**fields), [CallEvent(**e) for e in payload["events"]]


def read_jsonl(path: Path) -> Iterator[tuple[CallRecord, list[CallEvent]]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield decode(line)


class JsonLinesSink:
    """Writes each finished call as it comes (a day of 30,000 calls never sits in memory twice)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.written = 0

    def __call__(self, record: CallRecord, events: list[CallEvent]) -> None:
        self.handle.write(encode(record, events) + "\n")
        self.written += 1
