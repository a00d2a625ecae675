"""The routing core: ``route(snapshot, now)`` decides which agent rings for which call.

Pure and deterministic: the same snapshot and ``now`` give the same
assignments, whatever the order of calls and agents in the snapshot (every
tie is broken by id). The live controller and the simulator both call it.

Queue order (one documented key, like SimPy's ``PriorityRequest.key``)::

    key(call) = (arrived_at - boost, arrived_at, call_id)        # smallest first
    boost     = clamp((queue.priority + call.priority) * seconds_per_priority,
                      -max_boost_seconds, +max_boost_seconds)

i.e. calls are served by *effective wait* = waited + boost. A province-line
call (priority 2, 10 s head start) goes before a main-line call that has
waited 9 s, but after one that has waited 11 s.
Fairness cost, stated like SimPy's ``FilterStore``: a call can be overtaken
only by calls that arrived less than ``max_boost_seconds - its own boost``
after it (30 s by default for a main-line call; twice the cap if negative
priorities are used), so its extra wait is bounded by the handling of those
calls and nobody starves, however many priority calls arrive. In exchange
a priority call waits up to ``boost`` seconds longer than it would under
strict priority.
Callbacks keep their place in line (their original ``arrived_at``) but are
paced; see ``route``.
"""

from __future__ import annotations

from bisect import bisect_right

from acd.index import AgentIndex, lowest_bit
from acd.model import Assignment, Call, QueuePolicy, Reason, Snapshot, Tuning

QueueKey = tuple[float, float, str]


def relax_step(call: Call, policy: QueuePolicy, now: float) -> int:
    """Index of the relaxation step in force for ``call`` at ``now`` (0 = none).

    Steps apply from their ``after`` inclusive, measured from ``arrived_at``;
    the shell emits a "relaxed skills" event when this value grows.
    """
    return policy.step_index(now - call.arrived_at)


def boost_seconds(call: Call, policy: QueuePolicy, tuning: Tuning) -> float:
    """Head start of ``call`` in seconds; clamped so that nobody can starve."""
    boost = (policy.priority + call.priority) * tuning.seconds_per_priority
    return max(-tuning.max_boost_seconds, min(tuning.max_boost_seconds, boost))


def queue_key(call: Call, policy: QueuePolicy, tuning: Tuning) -> QueueKey:
    """The queue-order sort key (smallest is served first); see module doc."""
    return (call.arrived_at - boost_seconds(call, policy, tuning), call.arrived_at, call.call_id)


def order_calls(snapshot: Snapshot) -> list[Call]:
    """The snapshot's calls in queue order (the order ``route`` serves them).

    Same key as ``queue_key``, inlined: this sort runs on every routing step.
    """
    per_unit, cap = snapshot.tuning.seconds_per_priority, snapshot.tuning.max_boost_seconds
    line_priority = {name: policy.priority for name, policy in snapshot.queues.items()}

    def key(call: Call) -> QueueKey:
        boost = (line_priority[call.queue] + call.priority) * per_unit
        boost = cap if boost > cap else -cap if boost < -cap else boost
        return (call.arrived_at - boost, call.arrived_at, call.call_id)

    return sorted(snapshot.calls, key=key)


def route(snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
    """Match waiting calls to available agents; return the rings to place, in queue order.

    Eligibility (hard, never relaxed): the agent is available, speaks the
    call's language and serves its queue (or, from a step with
    ``overflow_to``, one of those queues). Soft requirements relax with the
    call's wait (``QueuePolicy.relaxation``): every call skill at the step's
    ``min_level``, the line's skills while ``keep_line_skills``.

    Agent choice: the agent with the best common level in the line's skills,
    then in the call's skills, then (when the call's queue has
    ``multilingual_last``) one who speaks the fewest languages, then the
    fairest (longest idle, adjusted for shift occupancy, see
    ``index.fairness_key``). A call's ``preferred_agent`` wins if eligible
    and free. The language count only orders agents who are otherwise
    equal: it never makes a call wait, and a better-skilled multilingual
    seat still beats a less skilled one-language seat.

    ``excluded_agents`` (who just missed this call) are not offered the call
    again, unless *every* eligible available agent is excluded and the call
    has already waited ``sl_target`` seconds or more: then ringing someone
    who missed beats leaving the caller with nobody (reason
    "excluded_override").

    Guarantees:

    1. No agent appears twice, no call appears twice; every pair is eligible.
    2. Maximal: after the step no waiting call has an eligible agent left
       idle ("no agent idle while an eligible call waits").
    3. Maximum and priority-greedy: calls are taken in queue order and each
       is added if *some* rearrangement of the agents already chosen lets it
       in (an augmenting path, shortest first); so the number of calls
       answered is the largest possible, and a call is left waiting only
       because serving it would need to drop a call ahead of it in line.
       The price: a call may be moved from its best agent to another
       eligible one (reason "rebalanced") so that one more caller is served.
    4. Callback pacing: while live callers wait, the callbacks of a queue
       get at most ``floor(callback_max_share * available agents serving
       the queue)`` agents in this step, in their place in line; callbacks
       over that cap are considered only after every live call, so they
       never cost a live call its answer (guarantee 2 still holds for
       them). Hence callbacks cost live callers at most the sum of those
       caps in answered calls, and nothing with a share of 0. Under sustained overload of a small team
       this defers callbacks: the caller was promised a call back, not a
       place on hold, so the live caller comes first.
    5. Deterministic and independent of input order.
    """
    index = AgentIndex(snapshot.agents, snapshot.tuning)
    if not index.full or not snapshot.calls:
        return ()
    return _RoutingStep(snapshot, index, now).run()


class _RoutingStep:
    """Working state of one ``route()`` call; never escapes it.

    Calls are referred to by their position in queue order, agents by their
    bit in the index. ``masks[pos]`` is the set of agents eligible for a call,
    ``agent_of``/``owner`` the current matching, ``free`` the unmatched agents.
    """

    __slots__ = (
        "queues", "index", "now", "order", "free", "agent_of", "owner", "masks", "steps",
        "dead", "moved", "_cache", "_caps", "_callbacks_taken",
    )

    def __init__(self, snapshot: Snapshot, index: AgentIndex, now: float) -> None:
        self.queues = snapshot.queues
        self.index = index
        self.now = now
        self.order = order_calls(snapshot)
        self.free = index.full
        self.agent_of: dict[int, int] = {}
        self.owner: dict[int, int] = {}
        self.masks: dict[int, int] = {}
        self.steps: dict[int, int] = {}
        self.dead = 0  # agents proven never to lead to a free agent (see _augment)
        self.moved: set[int] = set()
        self._cache: dict[tuple[str, str, frozenset[str], int], int] = {}
        self._caps: dict[str, int] | None = None
        self._callbacks_taken: dict[str, int] = {}

    def run(self) -> tuple[Assignment, ...]:
        """Serve calls in queue order, deferring paced callbacks, then emit."""
        deferred: list[int] = []
        for pos, call in enumerate(self.order):
            if not self.free:
                break
            if call.not_before > self.now:  # a callback retry that is not due yet
                continue
            if call.callback and not self._callback_allowed(call):
                deferred.append(pos)
                continue
            self._serve(pos, call)
        for pos in deferred:
            if not self.free:
                break
            self._serve(pos, self.order[pos])
        return self._assignments()

    # -- one call -----------------------------------------------------------

    def _serve(self, pos: int, call: Call) -> None:
        """Give ``call`` its best free agent, or rearrange to free one, or leave it waiting."""
        mask = self._eligible(pos, call)
        if not mask:
            return
        self.masks[pos] = mask
        free = mask & self.free
        if free:
            self._assign(pos, self._pick(call, free))
        elif mask & ~self.dead:
            self._augment(pos)
        if call.callback and pos in self.agent_of:
            self._callbacks_taken[call.queue] = self._callbacks_taken.get(call.queue, 0) + 1

    def _eligible(self, pos: int, call: Call) -> int:
        """Agents that may take ``call`` now: hard rules, relaxation, exclusions.

        Masks are memoised per (language, queue, skills, step): most waiting
        calls share a handful of signatures.
        """
        policy = self.queues[call.queue]
        waited = self.now - call.arrived_at
        step = self.steps[pos] = max(bisect_right(policy.relax_afters, waited) - 1, 0)
        sig = (call.language, call.queue, call.skills, step)
        mask = self._cache.get(sig)
        if mask is None:
            mask = self._cache[sig] = self._signature_mask(call, policy, step)
        if call.excluded_agents and mask:
            mask = self._apply_exclusions(call, policy.sl_target, waited, mask)
        return mask

    def _signature_mask(self, call: Call, policy: QueuePolicy, step_index: int) -> int:
        index, step = self.index, policy.relaxation[step_index]
        serving = index.serving(call.queue)
        for other in step.overflow_to:  # overflow: this step borrows other queues' agents
            serving |= index.serving(other)
        mask = index.speaking(call.language) & serving
        if step.keep_line_skills and policy.line_skills:
            mask &= index.levels(policy.line_skills)[1]
        if step.min_level and call.skills:
            mask &= index.levels(call.skills)[step.min_level]
        return mask

    def _apply_exclusions(self, call: Call, sl_target: float, waited: float, mask: int) -> int:
        rest = mask & ~self.index.bits(call.excluded_agents)
        if rest or waited < sl_target:
            return rest
        return mask  # every eligible agent just missed this call, and it is late: ring one anyway

    def _pick(self, call: Call, candidates: int) -> int:
        """Best agent among ``candidates``: preferred, then the line's own agents (borrowed
        ones only when none is free, see ``RelaxStep.overflow_to``), line skills, call
        skills, fewest languages (if the queue's ``multilingual_last``), fairness."""
        index = self.index
        if call.preferred_agent is not None:
            bit = index.bit_of.get(call.preferred_agent)
            if bit is not None and candidates >> bit & 1:
                return bit
        own = candidates & index.serving(call.queue)
        if own:
            candidates = own
        policy = self.queues[call.queue]
        if policy.line_skills:
            candidates = index.narrow_to_best(candidates, policy.line_skills)
        if call.skills:
            candidates = index.narrow_to_best(candidates, call.skills)
        if policy.multilingual_last:  # scarce seats stay free for the callers only they can answer
            candidates = index.narrow_to_fewest_languages(candidates)
        return (candidates & -candidates).bit_length() - 1  # lowest bit = fairest agent

    def _assign(self, pos: int, bit: int) -> None:
        self.agent_of[pos] = bit
        self.owner[bit] = pos
        self.free &= ~(1 << bit)

    # -- augmenting paths ---------------------------------------------------

    def _augment(self, root: int) -> None:
        """Breadth-first search for an alternating path from call ``root`` to a free agent.

        Breadth-first, so the path found moves as few calls as possible.
        If the search fails, every agent it saw joins ``dead`` for good:
        each is matched to a call whose eligible agents are all in the seen
        set, none free, so the set is closed; a later augmenting path can
        never enter it (it could not leave it to reach a free agent), hence
        it never changes. This keeps a run of hopeless calls linear
        instead of quadratic. Agents seen by a *successful* search prove
        nothing and are not marked.
        """
        came_from: dict[int, tuple[int, int]] = {}
        frontier, seen = [root], 0
        while frontier:
            following: list[int] = []
            for pos in frontier:
                reachable_free = self.masks[pos] & self.free
                if reachable_free:
                    self._flip(pos, reachable_free, came_from)
                    return
                todo = self.masks[pos] & ~(self.dead | seen)
                seen |= todo
                following.extend(self._holders(pos, todo, came_from))
            frontier = following
        self.dead |= seen

    def _holders(self, pos: int, agents: int, came_from: dict[int, tuple[int, int]]) -> list[int]:
        """The calls holding ``agents`` (all matched), remembered as reached from ``pos``."""
        reached = []
        while agents:
            bit = lowest_bit(agents)
            agents &= agents - 1
            holder = self.owner[bit]
            came_from[holder] = (pos, bit)
            reached.append(holder)
        return reached

    def _flip(self, end: int, reachable_free: int, came_from: dict[int, tuple[int, int]]) -> None:
        """Give ``end`` a free agent and shift every call on the path one agent down."""
        self._assign(end, self._pick(self.order[end], reachable_free))
        pos = end
        while pos in came_from:
            self.moved.add(pos)
            pos, bit = came_from[pos]
            self._assign(pos, bit)

    # -- callbacks ----------------------------------------------------------

    def _callback_allowed(self, call: Call) -> bool:
        """Whether a callback of this queue may take an agent in pass one."""
        caps = self._caps if self._caps is not None else self._compute_caps()
        cap = caps.get(call.queue)
        return cap is None or self._callbacks_taken.get(call.queue, 0) < cap

    def _compute_caps(self) -> dict[str, int]:
        """Per-queue callback caps, or none at all when no live caller waits anywhere.

        Caps apply while a live caller of *any* queue waits, because agents
        serve several queues: a callback of a quiet line must not take the
        agent a live caller of a busy line needs. Callbacks over the cap
        lose nothing when there is no contention: pass two gives them the
        agents that live calls could not use.
        """
        if all(c.callback for c in self.order):
            self._caps = {}
        else:
            share = {name: policy.callback_max_share for name, policy in self.queues.items()}
            self._caps = {q: int(share[q] * self.index.serving(q).bit_count()) for q in share}
        return self._caps

    # -- output -------------------------------------------------------------

    def _assignments(self) -> tuple[Assignment, ...]:
        return tuple(self._assignment(pos, self.agent_of[pos]) for pos in sorted(self.agent_of))

    def _assignment(self, pos: int, bit: int) -> Assignment:
        call = self.order[pos]
        waited = self.now - call.arrived_at
        return Assignment(
            call.call_id,
            self.index.ids[bit],
            call.queue,
            self.steps[pos],
            waited if waited > 0.0 else 0.0,
            self.index.match_level(bit, call.skills),
            self._reason(call, pos, bit),
        )

    def _reason(self, call: Call, pos: int, bit: int) -> Reason:
        agent_id = self.index.ids[bit]
        if agent_id in call.excluded_agents:
            return "excluded_override"
        if agent_id == call.preferred_agent:
            return "preferred"
        return "rebalanced" if pos in self.moved else "best_match"

