"""The hotline's configuration files, loaded and checked together, out of the composition root.

Every file is validated on its own by its loader (roster, queues, IVR flows, the citizen
number policy); the checks here are the ones across files (a seat on an unknown line, a flow
routing to an unknown queue). The controller loads it at start-up and on SIGHUP, ``hotline
up``/``reload`` before anything is changed, so an error always names the file and entry and
changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import ivr
from acd import QueuePolicy
from agents.roster import RosterAgent, load_roster
from agents.supervisors import SupervisorPhone, load_supervisor_phones
from hotline.settings import Settings
from outbound import CitizenNumberPolicy, load_number_policy
from outbound.agencies import Directory, load_directory
from queues.config import load_queues


@dataclass(frozen=True)
class HotlineConfig:
    roster: Mapping[str, RosterAgent]
    queues: Mapping[str, QueuePolicy]
    flows: Mapping[str, Any]
    citizen_numbers: CitizenNumberPolicy
    directory: Directory = Directory(())  # the agency directory (outbound/agencies.yaml)
    supervisor_phones: tuple[SupervisorPhone, ...] = ()  # agents/supervisors.yaml

    @property
    def dialled_numbers(self) -> list[str]:
        """The hotline's numbers, from the flows (what the ``from-citizens`` context accepts)."""
        return dialled_numbers(self.flows)


def load_config(settings: Settings) -> HotlineConfig:
    """Load and validate roster, queues, IVR flows and the number policy; raise ValueError
    (or a subclass) with a message that names the file and the entry."""
    base = settings.config_dir
    roster = {a.agent_id: a for a in load_roster(base / "agents" / "roster.yaml")}
    queues = load_queues(base / "queues" / "queues.yaml")
    for seat in roster.values():
        unknown = sorted(seat.queues - queues.keys())
        if unknown:
            raise ValueError(f"agent {seat.agent_id} takes unknown queue(s) {', '.join(unknown)} "
                             f"(agents/roster.yaml; queues are defined in queues/queues.yaml)")
    names = vocabulary(roster, queues)
    directory = load_directory(base / "outbound" / "agencies.yaml", known_domains=names.skills)
    flows = ivr.load_flows(base / "ivr" / "flows", vocabulary=replace(names, agencies=directory.ids))
    for flow in flows.values():
        targets = {n.queue for n in flow.nodes.values() if getattr(n, "kind", "") == "queue"}
        for target in targets | {flow.fallback_queue}:
            if target not in queues:
                raise ValueError(f"IVR flow {flow.name} routes to unknown queue {target!r}")
    numbers = load_number_policy(base / "outbound" / "citizen_numbers.yaml")
    phones = load_supervisor_phones(base / "agents" / "supervisors.yaml", roster.keys())
    return HotlineConfig(roster, queues, flows, numbers, directory, phones)


def vocabulary(roster: Mapping[str, RosterAgent], queues: Mapping[str, QueuePolicy]) -> ivr.Vocabulary:
    """The names a flow may use, from the files that define them: the queues of
    queues.yaml, and the skills its lines tag calls with or the roster's agents hold."""
    skills: set[str] = set()
    for policy in queues.values():
        skills |= policy.domains | policy.line_skills
    for seat in roster.values():
        skills |= {name for name, _level in seat.skills}
    return ivr.Vocabulary(skills=frozenset(skills), queues=frozenset(queues))


def dialled_numbers(flows: Mapping[str, Any]) -> list[str]:
    return sorted({n for f in flows.values() for n in f.dnis})


class ConfigHolder:
    """The configuration in force. ``hotline reload`` (SIGHUP) swaps it whole, so a reader
    that takes ``current`` once sees one consistent set of files; a session in progress
    keeps the flow it started with, new calls get the new one."""

    def __init__(self, config: HotlineConfig) -> None:
        self.current = config

    def swap(self, config: HotlineConfig) -> None:
        self.current = config
