"""``PhoneWatch``: agents follow their softphones (agents/phones.py has the rules).

Asterisk tells when a registered phone comes, goes or stops answering the OPTIONS probes
(ContactStatus events); the watch pauses the agent with the reason (``phone_unreachable``,
``phone_unregistered``) and unpauses them when the phone is back. At every AMI login it
reads every seat's device state (DeviceStateList: UNAVAILABLE when no contact is reachable),
so a phone that went while the controller was away is seen too. The desk's log-in and
ready ask ``gone`` first: an agent whose phone is gone logs in paused with that reason and
cannot go ready until it is back. Seats with a fixed contact are never watched.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Mapping

from agents.phones import PAUSE_REASON, Phone, PhoneAction, action, phone_of
from agents.roster import RosterAgent
from hotline.asterisk.ami_events import ContactChanged
from hotline.live.agent_service import AgentService
from hotline.ports import LiveStore
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)


class PhoneWatch:
    def __init__(self, agents: AgentService, live: LiveStore, roster: Callable[[], Mapping[str, RosterAgent]],
                 tasks: TaskOwner, device_states: Callable[[], Awaitable[dict[str, str]]]) -> None:
        self._agents = agents
        self._live = live
        self._roster = roster
        self._tasks = tasks
        self._device_states = device_states  # device ("PJSIP/2001") -> state ("UNAVAILABLE", ...)
        self.phones: dict[str, Phone] = {}
        self._contacts: dict[str, dict[str, Phone]] = {}  # agent -> contact URI -> what its last event said
        self.handlers = {ContactChanged: self._on_contact}

    def _watched(self, agent_id: str) -> bool:
        seat = self._roster().get(agent_id)
        return seat is not None and not seat.contact

    def gone(self, agent_id: str) -> str | None:
        """The pause reason when this agent's phone is known to be gone, else None."""
        if not self._watched(agent_id):
            return None
        return PAUSE_REASON.get(self.phones.get(agent_id, Phone.REACHABLE))

    def _on_contact(self, event: ContactChanged) -> None:
        said = phone_of(event.status)
        if said is None or not self._watched(event.aor):
            return
        # Per contact: a phone that registers anew replaces its old contact (remove_existing),
        # and the old one's "Removed" may come after the new one's "Created".
        contacts = self._contacts.setdefault(event.aor, {})
        if said is Phone.UNREGISTERED:
            contacts.pop(event.uri, None)
        else:
            contacts[event.uri] = said
        phone = (Phone.REACHABLE if Phone.REACHABLE in contacts.values()
                 else Phone.UNREACHABLE if contacts else Phone.UNREGISTERED)
        if self.phones.get(event.aor) is not phone:
            log.info("agent %s: phone %s (%s %s)", event.aor, phone.value, event.status, event.uri)
        self.phones[event.aor] = phone
        self._tasks.spawn(self.apply(event.aor, phone), f"phone-{event.aor}")

    async def apply(self, agent_id: str, phone: Phone) -> None:
        """Pause or unpause the agent for their phone (agents/phones.py decides)."""
        record = await self._live.agent(agent_id)
        if record is None:
            return
        todo = action(record, phone)
        if todo is PhoneAction.PAUSE:
            log.warning("agent %s paused: %s", agent_id, PAUSE_REASON[phone])
            await self._agents.pause(agent_id, PAUSE_REASON[phone])
        elif todo is PhoneAction.UNPAUSE:
            log.info("agent %s: phone back, unpaused", agent_id)
            await self._agents.unpause(agent_id)

    async def resync(self) -> None:
        """After an AMI login: every watched seat's phone from its device state."""
        try:
            states = await self._device_states()
        except Exception as exc:
            log.warning("phones not checked after the AMI login (%s)", exc)
            return
        for agent_id in [a for a in self._roster() if self._watched(a)]:
            state = states.get(f"PJSIP/{agent_id}")
            if state is None:
                continue
            phone = Phone.UNREGISTERED if state == "UNAVAILABLE" else Phone.REACHABLE
            if self.phones.get(agent_id) is Phone.UNREACHABLE and phone is Phone.UNREGISTERED:
                phone = Phone.UNREACHABLE  # a registered phone that stopped answering: keep the finer reason
            self.phones[agent_id] = phone
            await self.apply(agent_id, phone)
