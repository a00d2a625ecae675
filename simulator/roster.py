"""The simulated call takers: a scenario's agent groups turned into roster seats with shifts.

Each seat is an ``agents.roster.RosterAgent``, the value the live controller loads from
``roster.yaml``, so the router sees a simulated agent exactly as it sees a real one. Skills
drawn from a group's pool are handed out as the pool's combinations in turn (agent 0 the
first pair, agent 1 the second, ...), so a group of two-skill agents covers every pair of
domains evenly and the same scenario always gives the same roster. Breaks are staggered
over the group's ``break_window`` so a whole group never leaves the phones at once.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from agents.roster import RosterAgent
from simulator.scenario import AgentGroup

FIRST_ID = 20_001  # 3-8 digits, like roster.yaml's ids


@dataclass(frozen=True, slots=True)
class Seat:
    """One simulated agent: the roster entry, its group and its day (seconds from midnight)."""

    agent: RosterAgent
    group: str
    shift: tuple[float, float]
    breaks: tuple[tuple[float, float], ...]  # (start, length), from the day's midnight

    @property
    def agent_id(self) -> str:
        return self.agent.agent_id


def _skills(group: AgentGroup, index: int) -> tuple[tuple[str, int], ...]:
    skills = dict(group.skills)
    if group.skills_per_agent:
        combos = list(itertools.combinations(group.skill_pool, group.skills_per_agent))
        chosen = combos[index % len(combos)]
        for position, skill in enumerate(chosen):
            skills[skill] = group.levels[min(position, len(group.levels) - 1)]
    return tuple(sorted(skills.items()))


def _breaks(group: AgentGroup, index: int) -> tuple[tuple[float, float], ...]:
    spread = group.break_window * ((index + 0.5) / group.count - 0.5) if group.count else 0.0
    start = group.shift[0]
    return tuple((start + max(0.0, b.after + spread), b.length) for b in group.breaks)


def build_roster(groups: tuple[AgentGroup, ...], first_id: int = FIRST_ID) -> tuple[Seat, ...]:
    """Every seat of every group, with consecutive numeric ids."""
    seats = []
    next_id = first_id
    for group in groups:
        for index in range(group.count):
            agent_id = str(next_id)
            next_id += 1
            agent = RosterAgent(agent_id=agent_id, name=f"{group.name}-{index + 1}", languages=group.languages,
                                skills=_skills(group, index), queues=group.queues)
            seats.append(Seat(agent, group.name, group.shift, _breaks(group, index)))
    return tuple(seats)
