"""calls.snapshot.build_snapshot: live state (QueuedCall, AgentRecord) + roster -> acd.Snapshot."""
from __future__ import annotations

from acd import Agent, Call, QueuePolicy
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState, Hangup, LogIn, apply
from calls.model import QueuedCall
from calls.snapshot import build_snapshot

NOW = 10_000.0
ROSTER = {
    "1001": RosterAgent("1001", "Wang Fang", frozenset({"zh"}), (("housing", 3), ("social_insurance", 5))),
    "1002": RosterAgent("1002", "Li Wei", frozenset({"zh"}), (("traffic", 4),)),
    "1003": RosterAgent("1003", "Emily Zhao", frozenset({"zh", "en"}), (("education", 3),)),
}
QUEUES = {"main": QueuePolicy(name="main"), "province": QueuePolicy(name="province", priority=2)}
S = AgentState


def agent(agent_id: str, state: AgentState, since: float, **kw: object) -> AgentRecord:
    return AgentRecord(agent_id=agent_id, state=state, since=since, **kw)  # type: ignore[arg-type]


def by_id(agents: tuple[Agent, ...]) -> dict[str, Agent]:
    return {a.agent_id: a for a in agents}


def test_available_agent_keeps_roster_skills_and_idle_since() -> None:
    rec = agent("1001", S.AVAILABLE, 9_000.0, calls_taken=4, busy_seconds=1234.5)
    snap = build_snapshot([], [rec], ROSTER, QUEUES, NOW)
    assert snap.agents == (Agent(agent_id="1001", languages=frozenset({"zh"}),
                                 skills=(("housing", 3), ("social_insurance", 5)), available=True,
                                 idle_since=9_000.0, calls_taken=4, busy_seconds=1234.5),)
    assert snap.calls == () and snap.queues is QUEUES


def test_wrap_up_over_is_available_idle_since_wrap_end() -> None:
    rec = agent("1002", S.WRAP_UP, 9_000.0, wrap_until=9_015.0, call_id="c0", queue="main")
    a = by_id(build_snapshot([], [rec], ROSTER, QUEUES, NOW).agents)["1002"]
    assert a.available is True
    assert a.idle_since == 9_015.0  # free since wrap-up ended, not since the hang-up


def test_wrap_up_ends_exactly_now_is_available() -> None:
    rec = agent("1002", S.WRAP_UP, 9_000.0, wrap_until=NOW)
    a = by_id(build_snapshot([], [rec], ROSTER, QUEUES, NOW).agents)["1002"]
    assert (a.available, a.idle_since) == (True, NOW)


def test_wrap_up_running_is_not_available() -> None:
    rec = agent("1002", S.WRAP_UP, 9_990.0, wrap_until=NOW + 5)
    a = by_id(build_snapshot([], [rec], ROSTER, QUEUES, NOW).agents)["1002"]
    assert a.available is False and a.idle_since == NOW


def test_wrap_up_over_with_pending_pause_is_not_available() -> None:
    rec = agent("1002", S.WRAP_UP, 9_000.0, wrap_until=9_015.0, pause_reason="lunch")
    a = by_id(build_snapshot([], [rec], ROSTER, QUEUES, NOW).agents)["1002"]
    assert a.available is False


def test_state_machine_records_translate() -> None:
    """Records as agents.state produces them: login, then a call that hung up at 9,950 with
    the default 15 s wrap-up (over at 9,965 < NOW)."""
    logged_in = apply(AgentRecord("1001"), LogIn(), 8_000.0)
    on_call = AgentRecord("1003", state=S.ON_CALL, since=9_900.0, call_id="c9", queue="main")
    wrapping = apply(on_call, Hangup(), 9_950.0, QUEUES["main"])
    busy = AgentRecord("1002", state=S.ON_CALL, since=9_990.0, call_id="c8")
    agents = by_id(build_snapshot([], [logged_in, wrapping, busy], ROSTER, QUEUES, NOW).agents)
    assert (agents["1001"].available, agents["1001"].idle_since) == (True, 8_000.0)
    assert (agents["1003"].available, agents["1003"].idle_since) == (True, 9_965.0)
    assert (agents["1002"].available, agents["1002"].idle_since) == (False, NOW)


def test_unavailable_states_idle_since_now() -> None:
    records = [agent("1001", S.PAUSED, 1.0, pause_reason="rona"),
               agent("1002", S.RESERVED, 2.0, call_id="c1"),
               agent("1003", S.LOGGED_OUT, 3.0)]
    agents = build_snapshot([], records, ROSTER, QUEUES, NOW).agents
    assert [(a.agent_id, a.available, a.idle_since) for a in agents] == [
        ("1001", False, NOW), ("1002", False, NOW), ("1003", False, NOW)]


def test_agent_not_in_roster_is_dropped() -> None:
    records = [agent("1001", S.AVAILABLE, 1.0), agent("9999", S.AVAILABLE, 0.5)]
    agents = build_snapshot([], records, ROSTER, QUEUES, NOW).agents
    assert [a.agent_id for a in agents] == ["1001"]


def test_calls_translate_and_unknown_queue_is_dropped() -> None:
    calls = [
        QueuedCall(call_id="c1", owner="ctl-a", queue="main", arrived_at=9_950.5, language="en",
                   skills=frozenset({"education"}), priority=1, excluded=frozenset({"1003"}), caller="13800000001"),
        QueuedCall(call_id="c2", owner="ctl-b", queue="retired-line", arrived_at=9_900.0),
        QueuedCall(call_id="c3", owner="ctl-a", queue="province", arrived_at=9_990.0),
    ]
    snap = build_snapshot(calls, [], ROSTER, QUEUES, NOW)
    assert snap.calls == (
        Call(call_id="c1", queue="main", arrived_at=9_950.5, language="en",
             skills=frozenset({"education"}), priority=1, excluded_agents=frozenset({"1003"})),
        Call(call_id="c3", queue="province", arrived_at=9_990.0, language="zh"),
    )


def test_calls_round_trip_through_the_redis_hash() -> None:
    call = QueuedCall(call_id="c1", owner="o", queue="main", arrived_at=1700000000.123456,
                      skills=frozenset({"traffic", "housing"}), excluded=frozenset({"1001", "1002"}),
                      extra={"callback": "1"})
    again = QueuedCall.from_hash(call.to_hash())
    assert again == call
    (snap_call,) = build_snapshot([again], [], ROSTER, QUEUES, NOW).calls
    assert snap_call.arrived_at == 1700000000.123456
    assert snap_call.excluded_agents == frozenset({"1001", "1002"})


def test_a_callback_retry_round_trips_with_its_tries_and_due_time() -> None:
    call = QueuedCall(call_id="c1", owner="o", queue="main", arrived_at=100.0, callback=True,
                      attempts=2, not_before=1400.5)
    again = QueuedCall.from_hash(call.to_hash())
    assert (again.attempts, again.not_before, again.callback) == (2, 1400.5, True)
    (snap_call,) = build_snapshot([again], [], ROSTER, QUEUES, NOW).calls
    assert snap_call.not_before == 1400.5
    # Hashes written before retries existed read as a first try, due at once.
    legacy = {k: v for k, v in call.to_hash().items() if k not in ("attempts", "not_before")}
    assert (QueuedCall.from_hash(legacy).attempts, QueuedCall.from_hash(legacy).not_before) == (0, 0.0)


def test_router_wakes_at_the_next_wrap_up_end_or_relaxation_step() -> None:
    from acd import QueuePolicy, RelaxStep
    from agents.state import AgentRecord, AgentState
    from calls.due import next_due
    from calls.model import QueuedCall

    queues = {"main": QueuePolicy("main", relaxation=(RelaxStep(0, 3), RelaxStep(5, 1), RelaxStep(10, 0)))}
    calls = [QueuedCall("c", "me", "main", arrived_at=100.0)]
    wrapping = AgentRecord("1001", AgentState.WRAP_UP, since=95.0, wrap_until=103.5)
    assert next_due(calls, [wrapping], queues, now=101.0) == 103.5
    assert next_due(calls, [wrapping], queues, now=104.0) == 105.0  # the 5 s relaxation step
    assert next_due(calls, [], queues, now=111.0) is None
    retry = QueuedCall("cb", "me", "main", arrived_at=50.0, callback=True, not_before=130.0)
    assert next_due([retry], [], queues, now=111.0) == 130.0  # the callback retry falls due



def test_a_seats_lines_reach_the_router() -> None:
    from agents.state import AgentRecord, AgentState

    seat = RosterAgent("2001", "Zhou", frozenset({"zh"}), (), queues=frozenset({"province"}))
    (agent,) = build_snapshot([], [AgentRecord("2001", AgentState.AVAILABLE, since=1.0)], {"2001": seat}, QUEUES, NOW).agents
    assert agent.queues == frozenset({"province"}) and agent.serves("province") and not agent.serves("main")
