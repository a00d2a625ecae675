"""The available agents, kept by kind, so a routing step is given only the agents it can use.

Why: ``acd.route`` builds its bitset index of every available agent on each call, so a
routing step costs time in proportion to the idle agents. In a quiet hour of a 1,000-seat
day that is hundreds of agents for one new call. This keeps the routing core as it is and
gives it a smaller, *equivalent* snapshot instead.

Why equivalent. Agents of one *kind* (same languages, skills with levels, and lines) are
alike to every rule of the router except the fairness order (``acd.fairness_key``) and
their ids. Every mask the router builds from attributes holds all or none of a kind, it
always takes the fairest free agent of the best kind (``_pick``: lowest bit), and no agent
once matched in a step is ever unmatched (augmenting paths only move calls between agents
already matched, plus one free agent, again the fairest of its kind). So the agents a step
uses of each kind are always its fairest ones, and never more of them than there are calls
waiting. Giving the router only the ``k`` fairest of each kind (``k`` = waiting calls), plus
every agent a waiting call names (``excluded_agents``, ``preferred_agent``: those rules look
at ids), therefore changes nothing. The one rule that counts agents, callback pacing
(``floor(share · agents serving the line)``), would: while a callback request waits, the
whole pool is given. ``tests/unit/test_simulator.py`` checks a day run both ways record for
record. A router whose choice among alike agents does not follow the fairness order must
not use this (``Simulation(prune=False)``).
"""
from __future__ import annotations

import bisect
from collections.abc import Collection

from acd import DEFAULT_TUNING, Agent, Call, Tuning, fairness_key

Kind = tuple[frozenset[str], tuple[tuple[str, int], ...], frozenset[str]]
_Key = tuple[float, float, str]


class AvailableAgents:
    """Available agents by kind, each kind in fairness order."""

    __slots__ = ("_values", "_kinds", "_keys", "tuning")

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning
        self._values: dict[str, Agent] = {}
        self._kinds: dict[Kind, list[tuple[_Key, str]]] = {}
        self._keys: dict[str, tuple[Kind, _Key]] = {}

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._values

    def add(self, agent: Agent) -> None:
        """Make ``agent`` available (replacing its previous value, if any)."""
        self.discard(agent.agent_id)
        kind: Kind = (agent.languages, agent.skills, agent.queues)
        key = fairness_key(agent, self.tuning)
        bisect.insort(self._kinds.setdefault(kind, []), (key, agent.agent_id))
        self._values[agent.agent_id] = agent
        self._keys[agent.agent_id] = (kind, key)

    def discard(self, agent_id: str) -> None:
        found = self._keys.pop(agent_id, None)
        if found is None:
            return
        kind, key = found
        members = self._kinds[kind]
        del members[bisect.bisect_left(members, (key, agent_id))]
        if not members:
            del self._kinds[kind]
        del self._values[agent_id]

    def all(self) -> tuple[Agent, ...]:
        return tuple(self._values.values())

    def for_calls(self, calls: Collection[Call]) -> tuple[Agent, ...]:
        """The agents a routing step of ``calls`` can use (see the module doc)."""
        if any(c.callback for c in calls):
            return self.all()
        k = len(calls)
        named: set[str] = set()
        for call in calls:
            named.update(call.excluded_agents)
            if call.preferred_agent is not None:
                named.add(call.preferred_agent)
        values = self._values
        chosen: list[Agent] = []
        for members in self._kinds.values():
            taken = 0
            for _, agent_id in members:
                if agent_id in named:
                    continue
                chosen.append(values[agent_id])
                taken += 1
                if taken == k:
                    break
        chosen.extend(values[a] for a in named if a in values)
        return tuple(chosen)
