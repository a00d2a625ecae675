"""The fallback queue's members follow the agents' shifts.

Why: when no controller answers, the dialplan puts citizens into app_queue's
``hotline-fallback``, whose members are every seat of the roster (static, rendered into
queues.conf). Without this, app_queue rang logged-out seats during an outage too (a phone on
an empty desk, or the citizen waiting through ring timeouts). Each shift change is mirrored
as the member's pause (logged out or paused: paused in app_queue; on shift: not) by the
leader's routing step, so a controller that dies leaves app_queue knowing who is at a desk;
after every AMI login (an Asterisk restart resets static members) every seat is set again.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Iterable

from agents.state import AgentRecord, AgentState
from hotline.asterisk.ami import AmiError
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
QUEUE = "hotline-fallback"
OFF_SHIFT = (AgentState.LOGGED_OUT, AgentState.PAUSED)


def paused_in_fallback(record: AgentRecord) -> bool:
    """Whether app_queue should leave this seat alone."""
    return record.state in OFF_SHIFT


class FallbackMembers:
    """Mirrors the agents' shifts into app_queue's member pauses. ``sync`` is given the
    agents as the leader's routing step reads them (every change, whoever made it: the
    desk, the CLI, a call, a re-seed), and tells app_queue only what differs from what it
    was last told; ``forget`` (after an AMI login) makes the next ``sync`` set every seat."""

    def __init__(self, action: Callable[[dict[str, str]], Awaitable[Any]], tasks: TaskOwner) -> None:
        self._action = action    # AmiClient.action
        self._tasks = tasks
        self._told: dict[str, bool] = {}   # what app_queue was last told, per seat
        self._pending: set[str] = set()    # seats with an action under way
        self._away = False                 # an action failed: wait for the next AMI login

    def sync(self, records: Iterable[AgentRecord]) -> None:
        if self._away:
            return  # Asterisk does not answer: everything is set again after the next AMI login
        for record in records:
            paused = paused_in_fallback(record)
            if self._told.get(record.agent_id) is paused or record.agent_id in self._pending:
                continue
            self._pending.add(record.agent_id)
            self._tasks.spawn(self._tell(record.agent_id, paused, record.pause_reason or record.state.value),
                              f"fallback-member-{record.agent_id}")

    def forget(self) -> None:
        """Asterisk (re)started or reconnected: static members are back to unpaused."""
        self._told.clear()
        self._away = False

    async def _tell(self, agent_id: str, paused: bool, reason: str) -> None:
        try:
            await self._action({"Action": "QueuePause", "Queue": QUEUE, "Interface": f"PJSIP/{agent_id}",
                                "Paused": "true" if paused else "false", "Reason": reason[:60]})
            self._told[agent_id] = paused
        except AmiError as exc:  # Asterisk answered "no" for this seat alone (not a member: a seat
            # in the live state but not in queues.conf): told, so it is not asked again each step,
            # and the other seats go on being set
            self._told[agent_id] = paused
            log.warning("fallback queue member %s not %s: %s", agent_id, "paused" if paused else "unpaused", exc)
        except Exception as exc:  # Asterisk away: the next sync after the AMI login sets it
            self._told.pop(agent_id, None)
            if not self._away:
                log.warning("fallback queue members not set until the next AMI login (%s %s: %s)",
                            agent_id, "paused" if paused else "unpaused", exc)
            self._away = True
        finally:
            self._pending.discard(agent_id)
