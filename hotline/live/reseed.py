"""Redis came back without the agents (no persistence, a failover to an empty replica):
rebuild their live records before routing goes on, from what is known elsewhere.

- an agent whose phone has a channel in Asterisk is on a call: ``on_call`` (the sweep sends
  them to wrap-up when that channel ends), unless this controller last saw them logged out:
  the fallback queue (app_queue) rings every seat during an outage, a logged-out one too, and
  a ringing phone does not put anyone on shift;
- an agent this controller last saw logged in, paused or logged out (the leader's last
  routing input, kept in memory) is put back so: logged in, paused with the same reason;
- else a seat marked ``login: true`` in the roster is logged in;
- every other seat is logged out (they log in again from the desk or the CLI).

The calls that were waiting are put back by their own sessions (``CallRegistry.resync``),
at their old place in line. What was rebuilt is logged. With persistence (AOF) Redis comes
back with its data and nothing is rebuilt.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable, Mapping

from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from hotline.asterisk.channels import agent_of
from hotline.live.agent_service import AgentService
from hotline.ports import LiveStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reseeded:
    on_call: tuple[str, ...] = ()
    logged_in: tuple[str, ...] = ()
    logged_out: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.on_call) + len(self.logged_in) + len(self.logged_out)


async def reseed_agents(live: LiveStore, roster: Iterable[RosterAgent], agents: AgentService,
                        channel_names: Callable[[], Awaitable[set[str]]], now: float,
                        last_seen: Mapping[str, AgentRecord] | None = None) -> Reseeded:
    """Create the live record of every roster agent Redis does not know (see the module)."""
    known = {r.agent_id for r in await live.agents()}
    missing = [seat for seat in roster if seat.agent_id not in known]
    if not missing:
        return Reseeded()
    try:
        phones = {agent_of(name) for name in await channel_names()}
    except Exception as exc:
        log.warning("re-seeding agents without Asterisk's channels (%s): nobody is taken to be on a call", exc)
        phones = set()
    on_call, logged_in, logged_out = [], [], []
    for seat in missing:
        seen = (last_seen or {}).get(seat.agent_id)
        off_shift = seen is not None and seen.state is AgentState.LOGGED_OUT
        if seat.agent_id in phones and not off_shift:
            await live.put_agent(AgentRecord(seat.agent_id, AgentState.ON_CALL, since=now, call_id="unknown"))
            on_call.append(seat.agent_id)
        elif _on_shift(seat, (last_seen or {}).get(seat.agent_id)):
            before = (last_seen or {}).get(seat.agent_id)
            paused = before.pause_reason if before is not None and before.state is AgentState.PAUSED else None
            await live.put_agent(AgentRecord(seat.agent_id, since=now))
            await agents.log_in(seat.agent_id, paused=paused)
            logged_in.append(seat.agent_id)
        else:
            await live.put_agent(AgentRecord(seat.agent_id, since=now))
            logged_out.append(seat.agent_id)
    done = Reseeded(tuple(on_call), tuple(logged_in), tuple(logged_out))
    log.warning("Redis had no record of %d agent(s): rebuilt %d on a call (Asterisk channels), %d logged in "
                "(as last seen, or roster login: true), %d logged out", done.count, len(on_call), len(logged_in),
                len(logged_out))
    return done


def _on_shift(seat: RosterAgent, last: AgentRecord | None) -> bool:
    """Logged in when last seen (any state but logged out), or, unseen, a roster login seat."""
    if last is not None:
        return last.state is not AgentState.LOGGED_OUT
    return seat.login
