"""Small builders for calls, agents and snapshots, for tests and the simulator.

Like ``panoramisk.testing``: shipped with the package so that every test of
code built on the router (controller, simulator, KPIs) writes scenarios the
same short way. Defaults describe the common case: a Mandarin call on the
main line, an available Mandarin agent serving every queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from acd.model import DEFAULT_TUNING, Agent, Assignment, Call, QueuePolicy, Snapshot, Tuning, skills_of


def make_agent(
    agent_id: str,
    *,
    languages: Iterable[str] = ("zh",),
    skills: Mapping[str, int] | None = None,
    available: bool = True,
    idle_since: float = 0.0,
    queues: Iterable[str] = (),
    busy_seconds: float = 0.0,
    calls_taken: int = 0,
) -> Agent:
    """An agent; ``skills`` as a {skill: level} map."""
    return Agent(
        agent_id=agent_id,
        languages=frozenset(languages),
        skills=skills_of(skills or {}),
        available=available,
        idle_since=idle_since,
        queues=frozenset(queues),
        calls_taken=calls_taken,
        busy_seconds=busy_seconds,
    )


def make_call(
    call_id: str,
    *,
    queue: str = "main",
    arrived_at: float = 0.0,
    language: str = "zh",
    skills: Iterable[str] = (),
    priority: int = 0,
    preferred: str | None = None,
    excluded: Iterable[str] = (),
    callback: bool = False,
    not_before: float = 0.0,
) -> Call:
    """A waiting call."""
    return Call(
        call_id=call_id,
        queue=queue,
        arrived_at=arrived_at,
        language=language,
        skills=frozenset(skills),
        priority=priority,
        preferred_agent=preferred,
        excluded_agents=frozenset(excluded),
        callback=callback,
        not_before=not_before,
    )


def make_snapshot(
    calls: Iterable[Call],
    agents: Iterable[Agent],
    queues: Iterable[QueuePolicy] = (),
    tuning: Tuning = DEFAULT_TUNING,
) -> Snapshot:
    """A snapshot; every queue named by a call but not given gets default rules."""
    calls, policies = tuple(calls), {q.name: q for q in queues}
    for call in calls:
        policies.setdefault(call.queue, QueuePolicy(name=call.queue))
    return Snapshot(calls=calls, agents=tuple(agents), queues=policies, tuning=tuning)


def pairs(assignments: Iterable[Assignment]) -> dict[str, str]:
    """``{call_id: agent_id}`` of a routing result, for short assertions."""
    return {a.call_id: a.agent_id for a in assignments}
