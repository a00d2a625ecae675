"""Value types of the routing core: calls, agents, queue policies, snapshots.

Everything that the router needs to know lives here, as immutable data:

* a ``Snapshot`` is the whole input of one routing step (the live controller
  builds it from Redis, the simulator from its own state);
* a ``QueuePolicy`` is one line's rules, loaded from ``queues/queues.yaml``;
* an ``Assignment`` is one decision, which the shell then claims in Redis.

Invariants checked at construction time (so the router never has to):
proficiency levels are 1..5, relaxation steps start at 0 s and strictly grow,
call and agent ids are unique within a snapshot, every call names a known
queue. There is no I/O and no clock here: time is always passed in.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MIN_LEVEL = 1
MAX_LEVEL = 5

Reason = Literal["best_match", "preferred", "rebalanced", "excluded_override"]


class SnapshotError(ValueError):
    """A snapshot is inconsistent (duplicate ids, unknown queue).

    Raised when the ``Snapshot`` is built, never inside ``route()``: the shell
    finds the bad record before any decision is taken on it.
    """


def _check(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``; keeps validators flat."""
    if not ok:
        raise ValueError(message)


def _finite_non_negative(value: float, name: str) -> None:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool), f"{name} must be a number")
    _check(math.isfinite(value) and value >= 0, f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class RelaxStep:
    """One step of soft-requirement relaxation, active from ``after`` seconds of waiting.

    ``min_level`` is the proficiency every soft skill of the call must reach
    (0 = soft skills dropped: any agent who speaks the language and serves the
    queue). ``keep_line_skills`` says whether the line's own skills (e.g.
    ``business_env`` for the business-environment seats) are still required;
    turning it off is how a special line widens to general seats.
    ``overflow_to`` names other queues whose agents may also take the call
    from this step on (overflow): a line with dedicated seats borrows the
    general pool before its callers miss the 15 s target.
    The language is never part of a step: it is a hard requirement.
    """

    after: float
    min_level: int
    keep_line_skills: bool = True
    overflow_to: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _finite_non_negative(self.after, "after")
        _check(isinstance(self.overflow_to, frozenset), "overflow_to must be a frozenset of queue names")
        _check(
            isinstance(self.min_level, int) and 0 <= self.min_level <= MAX_LEVEL,
            f"min_level must be an integer 0..{MAX_LEVEL}, got {self.min_level!r}",
        )


# Tuned for the 15 s answer target of GB/T 33358-2016: a skilled agent
# (level >= 3) for the first 5 s, any trained agent until 10 s, then anyone
# who speaks the caller's language, leaving 5 s for ringing and pick-up.
DEFAULT_RELAXATION: tuple[RelaxStep, ...] = (
    RelaxStep(after=0.0, min_level=3),
    RelaxStep(after=5.0, min_level=1),
    RelaxStep(after=10.0, min_level=0),
)


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """The rules of one line (queue), as data.

    ``priority`` is the line's priority in *priority units*; the router turns
    units into seconds of head start (see ``Tuning``), so lines compare on one
    scale and no line can starve another. ``ring_timeout`` defaults to 12 s
    so that a ring-no-answer is noticed and the call re-offered while its
    15 s target can still be met by an agent who was idle at arrival.
    ``max_misses_before_pause`` is how many consecutive ring-no-answers pause
    an agent with reason "rona" (1 is allowed but never the default: a single
    missed ring is usually a headset problem, not an absent agent).
    ``callback_max_share`` paces callbacks: while live callers of this queue
    wait, callbacks get at most this share of the queue's available agents in
    one routing step (rounded down). ``callback_offer_after`` is how long a
    live caller waits before the IVR offers a callback (None = never).
    A callback rings the citizen for ``callback_ring_timeout`` seconds; when
    nobody answers (or the line is busy) it is tried again after
    ``callback_retry_after`` seconds, ``callback_attempts`` times in all.
    ``announce_interval`` is the period of position/wait announcements
    (0 = off). ``languages`` lists the languages the IVR offers for this line
    and ``domains`` the business domains it may tag calls with (empty = any);
    the router itself only matches call and agent attributes, these two are
    the contract with the IVR and the roster. ``title`` is for displays.
    ``multilingual_last``: among the agents equally fit for a call of this line
    (same own-line seat, line-skill and call-skill levels), those who speak the
    fewest languages are chosen first, and fairness decides among them; so a
    Mandarin call leaves the few bilingual seats free for the callers only they
    can answer. Off here (pure fairness among equals); the shipped
    ``queues.yaml`` turns it on for every line.
    """

    name: str
    priority: int = 0
    sl_target: float = 15.0
    relaxation: tuple[RelaxStep, ...] = DEFAULT_RELAXATION
    line_skills: frozenset[str] = frozenset()
    wrapup_seconds: float = 15.0
    # the call taker may end wrap-up early ("ready now") once the call's work order is saved
    wrapup_may_end_early: bool = True
    # the call's work order must be saved before "ready now" (the desk's form; issue 15)
    work_order_required: bool = True
    ring_timeout: float = 12.0
    max_misses_before_pause: int = 3
    announce_interval: float = 30.0
    callback_offer_after: float | None = 60.0
    callback_max_share: float = 0.25
    callback_attempts: int = 3
    callback_retry_after: float = 300.0
    callback_ring_timeout: float = 40.0
    languages: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    title: str = ""
    multilingual_last: bool = False
    relax_afters: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(isinstance(self.name, str) and bool(self.name), "name must be a non-empty string")
        _check(isinstance(self.priority, int) and not isinstance(self.priority, bool), "priority must be an integer")
        _check(isinstance(self.multilingual_last, bool), "multilingual_last must be true or false")
        _check(self.sl_target > 0, "sl_target must be > 0")
        for attr in ("sl_target", "wrapup_seconds", "ring_timeout", "announce_interval"):
            _finite_non_negative(getattr(self, attr), attr)
        _check(self.ring_timeout > 0, "ring_timeout must be > 0")
        if self.callback_offer_after is not None:
            _finite_non_negative(self.callback_offer_after, "callback_offer_after")
        _check(0.0 <= self.callback_max_share <= 1.0, "callback_max_share must be within 0..1")
        _check(isinstance(self.callback_attempts, int) and not isinstance(self.callback_attempts, bool)
               and self.callback_attempts >= 1, "callback_attempts must be an integer >= 1")
        _finite_non_negative(self.callback_retry_after, "callback_retry_after")
        _finite_non_negative(self.callback_ring_timeout, "callback_ring_timeout")
        _check(self.callback_ring_timeout > 0, "callback_ring_timeout must be > 0")
        _check(
            isinstance(self.max_misses_before_pause, int) and self.max_misses_before_pause >= 1,
            "max_misses_before_pause must be an integer >= 1",
        )
        self._check_relaxation()
        _check(all(self.name not in s.overflow_to for s in self.relaxation),
               f"a relaxation step of {self.name!r} overflows to {self.name!r} itself")
        object.__setattr__(self, "relax_afters", tuple(s.after for s in self.relaxation))

    def _check_relaxation(self) -> None:
        steps = self.relaxation
        _check(isinstance(steps, tuple) and len(steps) > 0, "relaxation must be a non-empty tuple of RelaxStep")
        _check(all(isinstance(s, RelaxStep) for s in steps), "relaxation items must be RelaxStep")
        _check(steps[0].after == 0, "the first relaxation step must start at after=0")
        for before, after in zip(steps, steps[1:]):
            _check(after.after > before.after, f"relaxation steps must strictly grow in time ({before.after} then {after.after})")

    def callback_retry_at(self, attempts_made: int, now: float) -> float | None:
        """When to call a citizen back again after ``attempts_made`` unanswered tries
        (the last one ending at ``now``), or None when no try is left."""
        if attempts_made >= self.callback_attempts:
            return None
        return now + self.callback_retry_after

    def step_index(self, waited: float) -> int:
        """Index of the relaxation step in force after ``waited`` seconds.

        A step applies from its ``after`` inclusive: at exactly 5.0 s the
        5 s step is in force. Negative waits (clock skew) count as 0.
        """
        return max(bisect_right(self.relax_afters, waited) - 1, 0)


@dataclass(frozen=True, slots=True)
class Tuning:
    """Routing-wide knobs that must be the same for every queue.

    The queue order key is ``arrived_at - boost`` with
    ``boost = clamp((queue.priority + call.priority) * seconds_per_priority,
    -max_boost_seconds, max_boost_seconds)``; it has to be global so that
    calls of different lines compare on one scale.
    ``occupancy_weight`` trades idle time for shift occupancy when choosing
    among equally skilled agents: each busy second counts as that many
    seconds of *less* idle time (0.02: one busier hour = 72 s less idle).
    """

    seconds_per_priority: float = 5.0
    max_boost_seconds: float = 30.0
    occupancy_weight: float = 0.02

    def __post_init__(self) -> None:
        for attr in ("seconds_per_priority", "max_boost_seconds", "occupancy_weight"):
            _finite_non_negative(getattr(self, attr), attr)


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True, slots=True)
class Call:
    """A waiting call (or a callback request keeping its place in line).

    ``arrived_at`` is on the same clock as ``now``; after a ring-no-answer
    the shell keeps the original value, so the call goes back to the head of
    its line. ``language`` is a hard requirement, ``skills`` are soft.
    ``not_before`` holds a callback whose citizen did not answer until its
    retry is due: the request keeps its place in line (``arrived_at``) but
    no agent is taken for it before then.
    """

    call_id: str
    queue: str
    arrived_at: float
    language: str = "zh"
    skills: frozenset[str] = frozenset()
    priority: int = 0
    preferred_agent: str | None = None
    excluded_agents: frozenset[str] = frozenset()
    callback: bool = False
    not_before: float = 0.0


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as the router sees it: languages, skills and availability.

    ``skills`` is a sorted tuple of (skill, level 1..5) so that equal agents
    compare and hash equal. ``available`` is computed by the shell (idle,
    logged in, not paused, wrap-up over); see ``agents.state.is_available``.
    """

    agent_id: str
    languages: frozenset[str]
    skills: tuple[tuple[str, int], ...]
    available: bool
    idle_since: float
    queues: frozenset[str] = frozenset()
    calls_taken: int = 0
    busy_seconds: float = 0.0

    def __post_init__(self) -> None:
        names = [name for name, _ in self.skills]
        if names != sorted(set(names)):
            raise ValueError(f"agent {self.agent_id}: skills must be sorted and unique, got {self.skills!r}")
        for name, level in self.skills:
            if not (isinstance(level, int) and MIN_LEVEL <= level <= MAX_LEVEL):
                raise ValueError(f"agent {self.agent_id}: level of {name!r} must be {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")

    def level(self, skill: str) -> int:
        """Proficiency in ``skill`` (0 when the agent does not have it)."""
        for name, level in self.skills:
            if name == skill:
                return level
        return 0

    def serves(self, queue: str) -> bool:
        """Whether the agent takes calls of ``queue`` (empty ``queues`` = all)."""
        return not self.queues or queue in self.queues


def skills_of(mapping: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Build the canonical ``Agent.skills`` tuple from a {skill: level} map."""
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole input of one routing step: waiting calls, agents, queue rules."""

    calls: tuple[Call, ...]
    agents: tuple[Agent, ...]
    queues: Mapping[str, QueuePolicy]
    tuning: Tuning = DEFAULT_TUNING

    def __post_init__(self) -> None:
        _require_unique("call", [c.call_id for c in self.calls])
        _require_unique("agent", [a.agent_id for a in self.agents])
        unknown = sorted({c.queue for c in self.calls} - self.queues.keys())
        if unknown:
            raise SnapshotError(f"calls name unknown queue(s): {', '.join(unknown)}")


def _require_unique(kind: str, ids: list[str]) -> None:
    """Raise ``SnapshotError`` naming every id that occurs more than once."""
    if len(set(ids)) != len(ids):
        dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
        raise SnapshotError(f"duplicate {kind} id(s): {', '.join(dupes)}")


@dataclass(frozen=True, slots=True)
class Assignment:
    """One routing decision: ring ``agent_id`` for ``call_id``.

    ``relax_step`` is the index of the relaxation step that was in force (0 =
    no relaxation), ``waited`` the call's wait in seconds at decision time,
    ``match_level`` the highest level the agent holds in *all* the call's
    soft skills (0 if the call has none or the agent lacks one).
    ``reason`` says why this agent: "best_match", "preferred" (the call's
    preferred agent), "rebalanced" (moved to another agent so that one more
    call could be answered), "excluded_override" (the agent had just missed
    this call but was the only one left; see ``route``).
    """

    call_id: str
    agent_id: str
    queue: str
    relax_step: int
    waited: float
    match_level: int
    reason: Reason
