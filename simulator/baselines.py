"""Other routing designs, with the router's interface ``(Snapshot, now) -> assignments``.

The skill-routing study (``simulator.study``) runs the same callers and the same roster
through each design, so the difference between two rows is the routing rules alone:

* ``pooled``: one queue that every agent takes every call from. It ignores the caller's
  language too, so it is not a design anyone could run: it is the bound no routing of
  this roster can beat. It is ``acd.route`` on the snapshot with languages, skills, line
  skills and seat lines erased (line priorities kept).
* ``strict``: a separate queue per skill and nothing ever relaxes: a Mandarin call with a
  domain waits for an agent trained in that domain, a foreign-language call for an agent
  who speaks it (a queue per language), a business-environment call for the line's own
  seats. It is ``acd.route`` with one relaxation step at level 1 that keeps the line's
  skills; the matching between those queues is still acd's (the best assignment of each
  step), which is kinder to this design than separate queues would be.
* ``BeforeTheRule``: ``acd.route`` as it was before "multilingual seats last among equals"
  (``QueuePolicy.multilingual_last``, now on for every shipped line): the rule turned off
  on every queue, so among equally skilled agents pure fairness (longest idle) decides.
* ``ReserveMultilingual``: a rule change we propose for ``acd`` (not deployed), emulated on
  the snapshot so the study can measure it: on top of the deployed rule, multilingual seats
  kept from Mandarin calls for their first seconds.
* ``AppQueueLike``: what a user would set up with Asterisk's app_queue (apps/app_queue.c,
  configs/samples/queuerules.conf.sample): a queue per domain for Mandarin calls, per
  language for the others, one per special line; every agent a member of the queues of
  their languages with a *penalty* (0 for a skilled member, 1 for a trained one, 2 for
  others, +1 for a bilingual seat in a Mandarin queue so it is kept for its language), and
  a ``penaltychange`` rule raising the queue's ``QUEUE_MAX_PENALTY`` with the wait
  (0 at 0 s, 1 at 5 s, 2 at 10 s, 3 at 15 s). ``everyone=False`` is the other common
  set-up: a domain queue's members are only the agents trained in it (penalty 0 or 1), so a
  Mandarin call with a domain never reaches an untrained agent. Among the members a caller may ring, the
  lowest penalty first, then the longest idle (``strategy=leastrecent``, taken as acd's
  fairness order); calls of heavier queues (``weight``: the line's priority) first, then by
  their wait; each waiting caller takes its member greedily (no rearrangement); a missed
  ring is not rung again for that caller. The study runs it with the engine's
  ``route_every=1.0``: app_queue re-checks waiting callers once a second (a new caller is
  decided at once, as app_queue's caller thread does).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from acd import (
    Agent,
    Assignment,
    Call,
    QueuePolicy,
    RelaxStep,
    Snapshot,
    Tuning,
    fairness_key,
    route,
)

POOL = "*"  # the one "language" of the pooled design


class _Transformed:
    """Memo of the transformed queue policies, per mapping the engine hands over."""

    def __init__(self) -> None:
        self._for: Mapping[str, QueuePolicy] | None = None
        self._queues: Mapping[str, QueuePolicy] = {}

    def queues(self, queues: Mapping[str, QueuePolicy], change: dict[str, object]) -> Mapping[str, QueuePolicy]:
        if self._for is not queues:
            self._for = queues
            self._queues = {name: replace(policy, **change) for name, policy in queues.items()}
        return self._queues


class Pooled:
    """One queue for every call and agent (the bound; see the module doc)."""

    def __init__(self) -> None:
        self._memo = _Transformed()
        self._agents: dict[Agent, Agent] = {}

    def __call__(self, snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
        queues = self._memo.queues(snapshot.queues, {"relaxation": (RelaxStep(0.0, 0),), "line_skills": frozenset()})
        calls = tuple(replace(c, language=POOL, skills=frozenset()) for c in snapshot.calls)
        agents = tuple(self._pooled(a) for a in snapshot.agents)
        return route(Snapshot(calls=calls, agents=agents, queues=queues, tuning=snapshot.tuning), now)

    def _pooled(self, agent: Agent) -> Agent:
        cached = self._agents.get(agent)
        if cached is None:
            if len(self._agents) > 100_000:
                self._agents.clear()
            cached = self._agents[agent] = replace(agent, languages=frozenset({POOL}), skills=(), queues=frozenset())
        return cached


class Strict:
    """A queue per skill, never relaxed (see the module doc); ``main_language`` calls keep
    their domain, the others queue by language alone."""

    def __init__(self, main_language: str = "zh") -> None:
        self.main_language = main_language
        self._memo = _Transformed()

    def __call__(self, snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
        queues = self._memo.queues(snapshot.queues, {"relaxation": (RelaxStep(0.0, 1, keep_line_skills=True),)})
        calls = tuple(c if c.language == self.main_language else replace(c, skills=frozenset())
                      for c in snapshot.calls)
        return route(Snapshot(calls=calls, agents=snapshot.agents, queues=queues, tuning=snapshot.tuning), now)


class BeforeTheRule:
    """``acd.route`` with ``multilingual_last`` off on every queue: the router as it was
    before the rule, the longest idle of the equally skilled agents taking the call whatever
    languages they speak (see the module doc)."""

    def __init__(self) -> None:
        self._memo = _Transformed()

    def __call__(self, snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
        queues = self._memo.queues(snapshot.queues, {"multilingual_last": False})
        return route(replace(snapshot, queues=queues), now)


class ReserveMultilingual:
    """A PROPOSED rule, emulated (not deployed): the deployed router with
    ``multilingual_last`` on for every queue, and moreover a multilingual seat does not
    take a call in its first ``after`` seconds when the call's language is one every seat
    speaks (``main_language``): a short reservation of the scarce seats for the callers
    only they can answer, like a relaxation step for seats. Done by naming those seats in
    the young calls' ``excluded_agents`` (acd rings an excluded agent only for a call that
    waited ``sl_target`` seconds and has nobody else)."""

    def __init__(self, after: float = 5.0, main_language: str = "zh") -> None:
        self.after = after
        self.main_language = main_language
        self._memo = _Transformed()

    def __call__(self, snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
        queues = self._memo.queues(snapshot.queues, {"multilingual_last": True})
        scarce = frozenset(a.agent_id for a in snapshot.agents if len(a.languages) > 1)
        calls = snapshot.calls
        if scarce:
            calls = tuple(replace(c, excluded_agents=c.excluded_agents | scarce)
                          if c.language == self.main_language and now - c.arrived_at < self.after else c
                          for c in snapshot.calls)
        return route(replace(snapshot, calls=calls, queues=queues), now)


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    """queuerules.conf ``penaltychange => after,max_penalty``."""

    after: float
    max_penalty: int


DEFAULT_RULES = (PenaltyRule(0.0, 0), PenaltyRule(5.0, 1), PenaltyRule(10.0, 2), PenaltyRule(15.0, 3))


class AppQueueLike:
    """Queues with member penalties and penaltychange rules, decided greedily (module doc)."""

    def __init__(self, rules: tuple[PenaltyRule, ...] = DEFAULT_RULES, main_language: str = "zh",
                 line_skill_penalty: int = 2, bilingual_extra: int = 1, everyone: bool = True) -> None:
        self.rules = rules
        self.main_language = main_language
        self.line_skill_penalty = line_skill_penalty
        self.bilingual_extra = bilingual_extra
        self.everyone = everyone  # False: a domain queue's members are the agents trained in it

    def app_queue(self, call: Call, policy: QueuePolicy) -> str:
        """The app_queue queue the IVR would send ``call`` to."""
        if policy.line_skills or policy.priority:
            return f"line:{call.queue}"
        if call.language != self.main_language:
            return f"lang:{call.language}"
        return f"zh:{min(call.skills)}" if call.skills else "zh:general"

    def penalty(self, agent: Agent, call: Call, policy: QueuePolicy) -> int | None:
        """The agent's penalty as a member of the call's queue (None: not a member)."""
        if call.language not in agent.languages or not agent.serves(call.queue):
            return None
        penalty = 0
        if policy.line_skills and not all(agent.level(s) for s in policy.line_skills):
            penalty = self.line_skill_penalty
        elif call.skills and call.language == self.main_language:
            level = min(agent.level(s) for s in call.skills)
            if not level and not self.everyone:
                return None
            penalty = 0 if level >= 3 else 1 if level >= 1 else 2
        if call.language == self.main_language and len(agent.languages) > 1:
            penalty += self.bilingual_extra
        return penalty

    def max_penalty(self, waited: float) -> tuple[int, int]:
        """(rule index, QUEUE_MAX_PENALTY) in force after ``waited`` seconds."""
        index = 0
        for i, rule in enumerate(self.rules):
            if waited >= rule.after:
                index = i
        return index, self.rules[index].max_penalty

    def __call__(self, snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
        tuning: Tuning = snapshot.tuning
        free = sorted(snapshot.agents, key=lambda a: fairness_key(a, tuning))
        free = [a for a in free if a.available]
        order = sorted(snapshot.calls, key=lambda c: (-snapshot.queues[c.queue].priority, c.arrived_at, c.call_id))
        out: list[Assignment] = []
        for call in order:
            if not free:
                break
            if call.not_before > now:
                continue
            policy = snapshot.queues[call.queue]
            waited = max(0.0, now - call.arrived_at)
            step, ceiling = self.max_penalty(waited)
            best: tuple[int, int] | None = None  # (penalty, position in free)
            for position, agent in enumerate(free):
                if agent.agent_id in call.excluded_agents:
                    continue
                penalty = self.penalty(agent, call, policy)
                if penalty is not None and penalty <= ceiling and (best is None or penalty < best[0]):
                    best = (penalty, position)
                    if penalty == 0:
                        break
            if best is None:
                continue
            agent = free.pop(best[1])
            level = min((agent.level(s) for s in call.skills), default=0)
            out.append(Assignment(call.call_id, agent.agent_id, call.queue, step, waited, level, "best_match"))
        return tuple(out)
