"""Property tests of ``acd.route`` against a small, obviously-correct reference.

The reference decides eligibility pair by pair, straight from the rules, and
computes maximum matchings by brute force; the router must agree with it on
every generated world (hard rules, no double booking, maximal, maximum,
priority-greedy, callback pacing, determinism).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from acd import (
    Agent,
    Assignment,
    Call,
    QueuePolicy,
    RelaxStep,
    Snapshot,
    Tuning,
    fairness_key,
    order_calls,
    queue_key,
    relax_step,
    route,
)

NOW = 100.0
LANGUAGES = ("zh", "en", "ko")
SKILLS = ("traffic", "housing", "business_env")
POLICIES = {
    "main": QueuePolicy(name="main"),
    "province": QueuePolicy(name="province", priority=2, relaxation=(RelaxStep(0, 3), RelaxStep(4, 1), RelaxStep(8, 0))),
    "business": QueuePolicy(
        name="business",
        priority=2,
        line_skills=frozenset({"business_env"}),
        relaxation=(RelaxStep(0, 2), RelaxStep(8, 0, keep_line_skills=False)),
    ),
}

ACD = settings(max_examples=120, deadline=None)


# -- generated worlds ---------------------------------------------------------


def _agent_fields(languages: tuple[str, ...], max_languages: int) -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
    return st.tuples(
        st.sets(st.sampled_from(languages), min_size=1, max_size=max_languages),
        st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3),
        st.booleans() | st.just(True),
        st.sampled_from((0.0, 10.0, 20.0, 50.0)),
        st.sets(st.sampled_from(tuple(POLICIES)), max_size=2),
        st.sampled_from((0.0, 600.0, 3600.0)),
    )


def _agent(i: int, fields: tuple) -> Agent:  # type: ignore[type-arg]
    languages, levels, available, idle_since, queues, busy = fields
    return Agent(f"a{i}", frozenset(languages), tuple(sorted(levels.items())), available, idle_since, frozenset(queues), 0, busy)


def _call_fields(languages: tuple[str, ...]) -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
    return st.tuples(
        st.sampled_from(tuple(POLICIES)),
        st.sampled_from((0.0, 3.0, 4.0, 5.0, 8.0, 10.0, 14.0, 15.0, 40.0)),
        st.sampled_from(languages),
        st.sets(st.sampled_from(SKILLS[:2]), max_size=2),
        st.sampled_from((0, 0, 1, 10)),
        st.none() | st.integers(0, 7),
        st.sets(st.integers(0, 7), max_size=2),
        st.booleans(),
    )


def _call(i: int, fields: tuple, callbacks: bool) -> Call:  # type: ignore[type-arg]
    queue, waited, language, skills, priority, preferred, excluded, callback = fields
    return Call(
        call_id=f"c{i}",
        queue=queue,
        arrived_at=NOW - waited,
        language=language,
        skills=frozenset(skills),
        priority=priority,
        preferred_agent=None if preferred is None else f"a{preferred}",
        excluded_agents=frozenset(f"a{j}" for j in excluded),
        callback=callbacks and callback,
    )


@st.composite
def worlds(draw: st.DrawFn, callbacks: bool = True, languages: tuple[str, ...] = LANGUAGES, size: int = 7) -> Snapshot:
    """Up to ``size`` agents and calls; ids of preferred/excluded agents may not exist (as in real life).

    With many ``languages`` (agents speaking up to three), eligibility
    graphs get sparse and tangled: that is where rebalancing is needed.
    """
    agent_fields = draw(st.lists(_agent_fields(languages, min(3, len(languages))), max_size=size))
    call_fields = draw(st.lists(_call_fields(languages), max_size=size))
    share = draw(st.sampled_from((0.0, 0.25, 0.5, 1.0)))
    multilingual_last = {name: draw(st.booleans()) for name in POLICIES}
    return Snapshot(
        calls=tuple(_call(i, f, callbacks) for i, f in enumerate(call_fields)),
        agents=tuple(_agent(i, f) for i, f in enumerate(agent_fields)),
        queues={name: _with_share(policy, share, multilingual_last[name]) for name, policy in POLICIES.items()},
        tuning=Tuning(occupancy_weight=draw(st.sampled_from((0.0, 0.02)))),
    )


def _with_share(policy: QueuePolicy, share: float, multilingual_last: bool = False) -> QueuePolicy:
    fields = {f: getattr(policy, f) for f in ("name", "priority", "relaxation", "line_skills")}
    return QueuePolicy(**fields, callback_max_share=share, multilingual_last=multilingual_last)


def _rule(snapshot: Snapshot, on: bool) -> Snapshot:
    """``snapshot`` with ``multilingual_last`` set to ``on`` on every queue."""
    queues = {n: replace(p, multilingual_last=on) for n, p in snapshot.queues.items()}
    return Snapshot(snapshot.calls, snapshot.agents, queues, snapshot.tuning)


# -- the reference ------------------------------------------------------------


def ref_step(call: Call, policy: QueuePolicy) -> RelaxStep:
    waited = NOW - call.arrived_at
    return [s for s in policy.relaxation if s.after <= waited][-1]


def ref_qualifies(call: Call, agent: Agent, policy: QueuePolicy) -> bool:
    """The rules, read literally, without exclusions."""
    step = ref_step(call, policy)
    if not agent.available or call.language not in agent.languages:
        return False
    if agent.queues and call.queue not in agent.queues:
        return False
    if step.keep_line_skills and any(agent.level(s) < 1 for s in policy.line_skills):
        return False
    return all(agent.level(s) >= step.min_level for s in call.skills)


def ref_eligible(snapshot: Snapshot, call: Call) -> set[str]:
    policy = snapshot.queues[call.queue]
    qualified = {a.agent_id for a in snapshot.agents if ref_qualifies(call, a, policy)}
    kept = qualified - call.excluded_agents
    late = NOW - call.arrived_at >= policy.sl_target
    return qualified if (not kept and late) else kept


def max_matching(edges: dict[str, set[str]]) -> int:
    """Size of a maximum bipartite matching (plain recursive Kuhn; worlds are tiny)."""
    owner: dict[str, str] = {}

    def try_call(call_id: str, seen: set[str]) -> bool:
        for agent_id in sorted(edges[call_id]):
            if agent_id in seen:
                continue
            seen.add(agent_id)
            if agent_id not in owner or try_call(owner[agent_id], seen):
                owner[agent_id] = call_id
                return True
        return False

    return sum(try_call(c, set()) for c in sorted(edges))


def matchable(edges: dict[str, set[str]], call_ids: Iterable[str]) -> bool:
    chosen = set(call_ids)
    return max_matching({c: e for c, e in edges.items() if c in chosen}) == len(chosen)


def edges_of(snapshot: Snapshot) -> dict[str, set[str]]:
    return {c.call_id: ref_eligible(snapshot, c) for c in snapshot.calls}


def assigned(result: tuple[Assignment, ...]) -> dict[str, str]:
    return {a.call_id: a.agent_id for a in result}


def ref_pick(snapshot: Snapshot, call: Call) -> str | None:
    """The agent a lone ``call`` gets, by the documented choice read literally: the
    preferred agent if eligible; else the smallest (not one of the line's own seats,
    -line-skill level, -call-skill level, languages spoken if the queue's
    ``multilingual_last``, fairness key)."""
    eligible = ref_eligible(snapshot, call)
    if not eligible:
        return None
    if call.preferred_agent in eligible:
        return call.preferred_agent
    policy = snapshot.queues[call.queue]

    def level(agent: Agent, skills: frozenset[str]) -> int:
        return min((agent.level(s) for s in skills), default=0)

    def key(agent: Agent) -> tuple:  # type: ignore[type-arg]
        breadth = len(agent.languages) if policy.multilingual_last else 0
        return (not agent.serves(call.queue), -level(agent, policy.line_skills), -level(agent, call.skills), breadth,
                fairness_key(agent, snapshot.tuning))

    return min((a for a in snapshot.agents if a.agent_id in eligible), key=key).agent_id


# -- properties ---------------------------------------------------------------


@ACD
@given(worlds())
def test_route_invariants(snapshot: Snapshot) -> None:
    """Hard rules, no double booking, maximal and maximum matching, honest reporting."""
    result = route(snapshot, NOW)
    edges = edges_of(snapshot)
    calls_by_id = {c.call_id: c for c in snapshot.calls}
    languages = {a.agent_id: a.languages for a in snapshot.agents}
    for a in result:
        call = calls_by_id[a.call_id]
        assert a.agent_id in edges[a.call_id], a  # every rule, read literally
        assert call.language in languages[a.agent_id], a  # the hard requirement, on its own
        assert a.relax_step == snapshot.queues[call.queue].relaxation.index(ref_step(call, snapshot.queues[call.queue]))
        assert a.waited == NOW - call.arrived_at
    chosen = assigned(result)
    assert len(set(chosen.values())) == len(chosen) == len(result), "an agent or a call appears twice"
    idle = {a.agent_id for a in snapshot.agents if a.available} - set(chosen.values())
    for call_id, eligible in edges.items():
        if call_id not in chosen:
            assert not (eligible & idle), f"{call_id} waits while {eligible & idle} idle"
    assert len(result) == max_matching(edges), "fewer calls answered than possible"


@ACD
@given(worlds(callbacks=False, languages=("l1", "l2", "l3", "l4", "l5", "l6"), size=9))
def test_maximum_on_tangled_worlds(snapshot: Snapshot) -> None:
    """Sparse language graphs need long rebalancing chains; the count must still be maximum."""
    result = route(snapshot, NOW)
    assert len({a.agent_id for a in result}) == len(result)
    assert len(result) == max_matching(edges_of(snapshot))


@ACD
@given(worlds(callbacks=False))
def test_a_call_waits_only_if_serving_it_would_drop_one_ahead_of_it(snapshot: Snapshot) -> None:
    """Priority-greedy (matroid greedy): swapping in any skipped call for a later one is impossible."""
    edges = edges_of(snapshot)
    served = set(assigned(route(snapshot, NOW)))
    key = {c.call_id: queue_key(c, snapshot.queues[c.queue], snapshot.tuning) for c in snapshot.calls}
    for waiting in set(edges) - served:
        for later in (c for c in served if key[c] > key[waiting]):
            assert not matchable(edges, served - {later} | {waiting}), (waiting, later)


@ACD
@given(worlds())
def test_callbacks_with_zero_share_never_cost_a_live_call(snapshot: Snapshot) -> None:
    queues = {n: QueuePolicy(name=n, priority=p.priority, relaxation=p.relaxation, line_skills=p.line_skills, callback_max_share=0.0)
              for n, p in snapshot.queues.items()}
    paced = Snapshot(snapshot.calls, snapshot.agents, queues, snapshot.tuning)
    live_only = Snapshot(tuple(c for c in snapshot.calls if not c.callback), snapshot.agents, queues, snapshot.tuning)
    live_ids = {c.call_id for c in live_only.calls}
    with_callbacks = {c for c in assigned(route(paced, NOW)) if c in live_ids}
    assert with_callbacks == set(assigned(route(live_only, NOW)))


@ACD
@given(worlds())
def test_callbacks_cost_live_calls_at_most_their_caps(snapshot: Snapshot) -> None:
    result = route(snapshot, NOW)
    callbacks = {c.call_id for c in snapshot.calls if c.callback}
    live_only = Snapshot(tuple(c for c in snapshot.calls if not c.callback), snapshot.agents, snapshot.queues, snapshot.tuning)
    baseline = set(assigned(route(live_only, NOW)))
    served_live = {a.call_id for a in result} - callbacks
    allowance = 0
    for name, policy in snapshot.queues.items():
        serving = sum(1 for a in snapshot.agents if a.available and (not a.queues or name in a.queues))
        taken = sum(1 for a in result if a.call_id in callbacks and a.queue == name)
        allowance += min(taken, int(policy.callback_max_share * serving))
    assert len(baseline - served_live) <= allowance


@ACD
@given(worlds())
def test_a_lone_call_gets_the_agent_the_documented_choice_names(snapshot: Snapshot) -> None:
    """Preferred, own seats, line skills, call skills, fewest languages (when the queue
    says so), fairness: for every call of the world standing alone in line."""
    for call in snapshot.calls:
        if call.not_before > NOW:
            continue
        alone = Snapshot((call,), snapshot.agents, snapshot.queues, snapshot.tuning)
        assert next((a.agent_id for a in route(alone, NOW)), None) == ref_pick(snapshot, call), call


@ACD
@given(worlds(languages=("zh", "en", "ko", "ja")))
def test_multilingual_last_changes_who_answers_never_which_callers_are_answered(snapshot: Snapshot) -> None:
    on, off = route(_rule(snapshot, True), NOW), route(_rule(snapshot, False), NOW)
    assert set(assigned(on)) == set(assigned(off))


@ACD
@given(worlds(), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(snapshot: Snapshot, rnd) -> None:  # type: ignore[no-untyped-def]
    calls, agents_ = list(snapshot.calls), list(snapshot.agents)
    rnd.shuffle(calls)
    rnd.shuffle(agents_)
    shuffled = Snapshot(tuple(calls), tuple(agents_), snapshot.queues, snapshot.tuning)
    assert route(snapshot, NOW) == route(snapshot, NOW) == route(shuffled, NOW)


@ACD
@given(worlds())
def test_order_calls_sorts_by_the_documented_key(snapshot: Snapshot) -> None:
    expected = sorted(snapshot.calls, key=lambda c: queue_key(c, snapshot.queues[c.queue], snapshot.tuning))
    assert order_calls(snapshot) == expected


@given(
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.integers(-50, 50),
    st.integers(-50, 50),
)
def test_queue_key_bounds_overtaking(first: float, gap_after: float, p_first: int, p_later: int) -> None:
    """Non-starvation: a call arriving more than 2 x max boost later never goes first."""
    tuning, policy = Tuning(), QueuePolicy(name="main")
    early = Call("early", "main", first, priority=p_first)
    later = Call("later", "main", first + 2 * tuning.max_boost_seconds + 1e-3 + gap_after, priority=p_later)
    assert queue_key(early, policy, tuning) < queue_key(later, policy, tuning)


@given(st.floats(0, 1e6, allow_nan=False), st.floats(0, 1e6, allow_nan=False), st.integers(0, 50), st.integers(0, 50))
def test_with_non_negative_priorities_overtaking_window_is_the_cap(first: float, gap: float, p_first: int, p_later: int) -> None:
    tuning, policy = Tuning(), QueuePolicy(name="main")
    early = Call("early", "main", first, priority=p_first)
    later = Call("later", "main", first + tuning.max_boost_seconds + 1e-3 + gap, priority=p_later)
    assert queue_key(early, policy, tuning) < queue_key(later, policy, tuning)


@given(st.floats(-100, 100, allow_nan=False), st.floats(0, 100, allow_nan=False))
def test_relax_step_never_goes_back(start: float, extra: float) -> None:
    policy, call = POLICIES["province"], Call("c", "province", 0.0)
    assert relax_step(call, policy, start) <= relax_step(call, policy, start + extra)
