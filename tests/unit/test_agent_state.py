"""The agent state machine: table-driven legality, whole-record walks, RONA, wrap-up, storage."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd import QueuePolicy, route
from acd.testing import make_agent, make_call, make_snapshot, pairs
from agents.state import (
    ForceLogOut,
    RONA_REASON,
    TRANSITIONS,
    WITH_CALL,
    AgentRecord,
    AgentState,
    Answer,
    BadRecord,
    Cancel,
    Event,
    Hangup,
    EndWrapUp,
    IllegalTransition,
    LogIn,
    LogOut,
    Miss,
    Pause,
    Reserve,
    Ring,
    Unpause,
    WrapUpDone,
    apply,
    idle_since,
    is_available,
    settle,
)

S = AgentState
MAIN = QueuePolicy(name="main", wrapup_seconds=10)
PROVINCE = QueuePolicy(name="province", priority=2, wrapup_seconds=30)
ALL_EVENTS: tuple[Event, ...] = (
    LogIn(), LogOut(), Pause("lunch"), Unpause(), Reserve("c1", "main"), Ring(), Answer(), Miss(), Cancel(), Hangup(), WrapUpDone(),
    EndWrapUp(), ForceLogOut("stuck after a controller crash"),
)


def run(events: list[Event], start: float = 0.0, policy: QueuePolicy = MAIN) -> AgentRecord:
    """Apply ``events`` one second apart from ``start``."""
    record = AgentRecord("1001")
    for i, event in enumerate(events):
        record = apply(record, event, start + i, policy)
    return record


# A way to reach each state; wrap-up is reached at t=4 and lasts 10 s.
REACH: dict[AgentState, list[Event]] = {
    S.LOGGED_OUT: [],
    S.AVAILABLE: [LogIn()],
    S.RESERVED: [LogIn(), Reserve("c1", "main")],
    S.RINGING: [LogIn(), Reserve("c1", "main"), Ring()],
    S.ON_CALL: [LogIn(), Reserve("c1", "main"), Ring(), Answer()],
    S.WRAP_UP: [LogIn(), Reserve("c1", "main"), Ring(), Answer(), Hangup()],
    S.PAUSED: [LogIn(), Pause("lunch")],
}
LATE = 1_000.0  # long after any wrap-up in REACH


class TestTable:
    def test_every_state_is_reachable_as_declared(self) -> None:
        assert {state: run(path).state for state, path in REACH.items()} == {s: s for s in S}

    @pytest.mark.parametrize("state", list(S))
    @pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
    def test_legality_follows_the_table(self, state: AgentState, event: Event) -> None:
        record = run(REACH[state])
        if type(event) in TRANSITIONS[state]:
            assert isinstance(apply(record, event, LATE, MAIN), AgentRecord)
        else:
            with pytest.raises(IllegalTransition, match=f"{type(event).__name__} is illegal in state {state.value}"):
                apply(record, event, LATE, MAIN)

    def test_illegal_transition_names_agent_and_legal_events(self) -> None:
        with pytest.raises(IllegalTransition) as caught:
            apply(AgentRecord("1001"), Ring(), 0.0)
        assert str(caught.value) == "agent 1001: Ring is illegal in state logged_out (legal: ForceLogOut, LogIn)"
        assert (caught.value.agent_id, caught.value.state) == ("1001", S.LOGGED_OUT)

    def test_an_answer_heard_before_the_ring_was_noted_still_puts_the_agent_on_the_call(self) -> None:
        """AMI's DialEnd ANSWER may be handled before the session marks the agent ringing
        (1-3 % of calls under load): the agent must show on_call, not ringing, while talking."""
        record = apply(run(REACH[S.RESERVED]), Answer(), 10.0)
        assert (record.state, record.call_id, record.calls_taken, record.since) == (S.ON_CALL, "c1", 1, 10.0)

    @pytest.mark.parametrize("state", list(S))
    def test_an_operator_can_always_force_an_agent_out(self, state: AgentState) -> None:
        """Rule 6: no state holds an agent for ever, on_call included."""
        forced = apply(run(REACH[state]), ForceLogOut("controller died mid-call"), LATE)
        assert (forced.state, forced.call_id, forced.queue, forced.wrap_until) == (S.LOGGED_OUT, None, None, None)

    def test_apply_never_mutates_its_input(self) -> None:
        record = run(REACH[S.AVAILABLE])
        apply(record, Reserve("c9"), 5.0)
        assert record == run(REACH[S.AVAILABLE])


class TestLifecycle:
    def test_whole_record_after_each_step_of_a_call(self) -> None:
        r0 = AgentRecord("1001")
        r1 = apply(r0, LogIn(), 100.0)
        assert r1 == AgentRecord("1001", S.AVAILABLE, since=100.0)
        r2 = apply(r1, Reserve("c1", "province"), 110.0)
        assert r2 == AgentRecord("1001", S.RESERVED, since=110.0, call_id="c1", queue="province")
        r3 = apply(r2, Ring(), 110.5)
        assert r3 == replace(r2, state=S.RINGING, since=110.5)
        r4 = apply(r3, Answer(), 113.0)
        assert r4 == replace(r3, state=S.ON_CALL, since=113.0, calls_taken=1)
        r5 = apply(r4, Hangup(), 233.0, PROVINCE)
        assert r5 == replace(r4, state=S.WRAP_UP, since=233.0, wrap_until=263.0, busy_seconds=150.0)
        r6 = apply(r5, WrapUpDone(), 263.5)
        assert r6 == AgentRecord("1001", S.AVAILABLE, since=263.0, calls_taken=1, busy_seconds=150.0)

    def test_log_in_starts_a_new_shift(self) -> None:
        worked = replace(run(REACH[S.WRAP_UP]), state=S.LOGGED_OUT, wrap_until=None, call_id=None)
        assert apply(worked, LogIn(), 50.0) == AgentRecord("1001", S.AVAILABLE, since=50.0)

    def test_cancel_returns_the_agent_without_a_miss(self) -> None:
        record = apply(run(REACH[S.RINGING]), Cancel(), 10.0)
        assert (record.state, record.misses, record.call_id) == (S.AVAILABLE, 0, None)

    def test_log_out_during_wrap_up_gives_back_the_unused_wrap_time(self) -> None:
        wrap = run(REACH[S.WRAP_UP])  # hangup at t=4 after 1 s of talk, 10 s wrap booked
        assert wrap.busy_seconds == 11.0
        assert apply(wrap, LogOut(), 8.0).busy_seconds == 5.0


class TestRona:
    def miss_once(self, record: AgentRecord, t: float, policy: QueuePolicy = MAIN) -> AgentRecord:
        for event in (Reserve(f"c{t}", policy.name), Ring(), Miss()):
            record = apply(record, event, t, policy)
        return record

    def test_three_misses_pause_with_reason_rona(self) -> None:
        record = run(REACH[S.AVAILABLE])
        record = self.miss_once(record, 10.0)
        record = self.miss_once(record, 20.0)
        assert (record.state, record.misses) == (S.AVAILABLE, 2)
        record = self.miss_once(record, 30.0)
        assert (record.state, record.pause_reason, record.misses, record.call_id) == (S.PAUSED, RONA_REASON, 3, None)
        assert not is_available(record, 1e9)

    def test_answer_resets_the_count(self) -> None:
        record = self.miss_once(self.miss_once(run(REACH[S.AVAILABLE]), 10.0), 20.0)
        for event in (Reserve("c3"), Ring(), Answer(), Hangup()):
            record = apply(record, event, 30.0)
        record = apply(record, WrapUpDone(), 60.0)
        record = self.miss_once(self.miss_once(record, 70.0), 80.0)
        assert (record.state, record.misses) == (S.AVAILABLE, 2)

    @pytest.mark.parametrize("limit", [1, 2, 5])
    def test_threshold_comes_from_the_calls_queue(self, limit: int) -> None:
        policy = QueuePolicy(name="strict", max_misses_before_pause=limit)
        record = run(REACH[S.AVAILABLE])
        for i in range(limit - 1):
            record = self.miss_once(record, 10.0 + i, policy)
            assert record.state is S.AVAILABLE
        assert self.miss_once(record, 99.0, policy).state is S.PAUSED

    def test_default_threshold_is_three_not_one(self) -> None:
        record = self.miss_once(run(REACH[S.AVAILABLE]), 10.0, QueuePolicy(name="main"))
        assert record.state is S.AVAILABLE

    def test_unpause_resets_the_count(self) -> None:
        record = run(REACH[S.AVAILABLE])
        for t in (10.0, 20.0, 30.0):
            record = self.miss_once(record, t)
        assert apply(record, Unpause(), 40.0) == replace(record, state=S.AVAILABLE, since=40.0, misses=0, pause_reason=None)

    def test_miss_from_reserved_counts_as_well(self) -> None:  # endpoint unreachable: no Ring at all
        record = apply(run(REACH[S.RESERVED]), Miss(), 5.0)
        assert (record.state, record.misses) == (S.AVAILABLE, 1)


class TestWrapUpAcrossQueues:
    """One agent, several queues: the call's queue sets the wrap-up, for all queues."""

    def after_province_call(self) -> AgentRecord:
        record = run(REACH[S.AVAILABLE])
        for event, t in ((Reserve("p1", "province"), 10.0), (Ring(), 10.0), (Answer(), 12.0), (Hangup(), 100.0)):
            record = apply(record, event, t, PROVINCE)
        return record

    @pytest.mark.parametrize(("now", "available"), [(100.0, False), (129.999, False), (130.0, True)])
    def test_not_available_before_the_province_wrap_up_ends(self, now: float, available: bool) -> None:
        assert is_available(self.after_province_call(), now) is available

    def test_router_does_not_offer_a_main_call_during_province_wrap_up(self) -> None:
        record = self.after_province_call()

        def snapshot(now: float) -> list:
            agent = make_agent("1001", available=is_available(record, now), idle_since=idle_since(record), queues=["main", "province"])
            return route(make_snapshot([make_call("m1", arrived_at=now - 60)], [agent], [MAIN, PROVINCE]), now)

        assert snapshot(115.0) == ()  # main's own wrap-up (10 s) is over, province's (30 s) is not
        assert pairs(snapshot(130.0)) == {"m1": "1001"}

    def test_wrap_up_done_and_reserve_are_refused_early(self) -> None:
        record = self.after_province_call()
        with pytest.raises(IllegalTransition, match="wrap-up of queue province runs until 130.0"):
            apply(record, WrapUpDone(), 129.0)
        with pytest.raises(IllegalTransition, match="runs until 130.0"):
            apply(record, Reserve("m1", "main"), 129.0)

    def test_reserve_straight_from_an_expired_wrap_up(self) -> None:
        record = apply(self.after_province_call(), Reserve("m1", "main"), 131.0)
        assert (record.state, record.call_id, record.queue, record.wrap_until) == (S.RESERVED, "m1", "main", None)

    def test_settle_ends_wrap_up_at_wrap_until(self) -> None:
        record = self.after_province_call()
        assert settle(record, 129.0) is record
        assert settle(record, 500.0) == replace(record, state=S.AVAILABLE, since=130.0, wrap_until=None, call_id=None, queue=None)

    def test_idle_since_of_an_expired_wrap_up_is_its_end(self) -> None:
        assert idle_since(self.after_province_call()) == 130.0


class TestPause:
    def test_pause_while_ringing_wins_and_ring_is_then_impossible(self) -> None:
        record = apply(run(REACH[S.RESERVED]), Pause("toilet"), 3.0)
        assert (record.state, record.call_id, is_available(record, 3.0)) == (S.PAUSED, None, False)
        with pytest.raises(IllegalTransition):
            apply(record, Ring(), 3.5)

    def test_pause_during_a_call_applies_when_wrap_up_ends(self) -> None:
        record = apply(run(REACH[S.ON_CALL]), Pause("meeting"), 5.0)
        assert (record.state, record.pause_reason) == (S.ON_CALL, "meeting")
        record = apply(record, Hangup(), 6.0, MAIN)
        assert not is_available(record, 1e6)  # never available, even once wrap-up is over
        with pytest.raises(IllegalTransition, match="pause 'meeting' is pending"):
            apply(record, Reserve("c2"), 1e6)
        record = apply(record, WrapUpDone(), 1e6)
        assert (record.state, record.pause_reason, record.since) == (S.PAUSED, "meeting", 16.0)

    def test_unpause_cancels_a_pending_pause(self) -> None:
        record = apply(apply(run(REACH[S.ON_CALL]), Pause("meeting"), 5.0), Unpause(), 5.5)
        record = apply(record, Hangup(), 6.0, MAIN)
        assert apply(record, WrapUpDone(), 16.0).state is S.AVAILABLE

    def test_pause_needs_a_reason(self) -> None:
        with pytest.raises(ValueError, match="reason"):
            Pause(" ")

    def test_pause_reason_can_change_while_paused(self) -> None:
        record = apply(run(REACH[S.PAUSED]), Pause("training"), 9.0)
        assert (record.state, record.pause_reason, record.since) == (S.PAUSED, "training", 9.0)


class TestStorage:
    def test_round_trip_through_strings(self) -> None:
        record = apply(run(REACH[S.WRAP_UP]), Pause("meeting"), 4.25)
        stored = record.to_dict()
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in stored.items())
        assert stored["state"] == "wrap_up" and stored["pause_reason"] == "meeting"
        assert AgentRecord.from_dict(stored) == record

    def test_reads_a_hash_edited_by_the_claim_script(self) -> None:
        # the Lua claim sets state/call_id/since only; stale fields must not break decoding
        stored = run(REACH[S.WRAP_UP]).to_dict() | {"state": "reserved", "call_id": "c2", "since": "20.5"}
        record = AgentRecord.from_dict(stored)
        assert (record.state, record.call_id, record.since) == (S.RESERVED, "c2", 20.5)
        assert apply(record, Ring(), 21.0).state is S.RINGING

    def test_missing_optional_fields_take_defaults(self) -> None:
        assert AgentRecord.from_dict({"agent_id": "1001"}) == AgentRecord("1001")

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("state", "dancing", "'state' is not a known state"),
            ("since", "soon", "'since' is not a number"),
            ("wrap_until", "nan", "'wrap_until' is not finite"),
            ("misses", "-1", "'misses' is not a non-negative integer"),
            ("agent_id", "", "without agent_id"),
        ],
    )
    def test_bad_fields_are_named(self, field: str, value: str, message: str) -> None:
        with pytest.raises(BadRecord, match=message):
            AgentRecord.from_dict(AgentRecord("1001").to_dict() | {field: value})


# -- properties over random event sequences ------------------------------------

EVENTS = st.sampled_from(ALL_EVENTS + (Pause(RONA_REASON), Reserve("c2", "province")))
POLICIES = st.sampled_from((MAIN, PROVINCE, QueuePolicy(name="main", max_misses_before_pause=1)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.floats(0, 40), POLICIES), max_size=40))
def test_invariants_hold_on_any_event_sequence(steps: list[tuple[Event, float, QueuePolicy]]) -> None:
    """Illegal events are refused without change; legal ones keep every invariant."""
    record, now = AgentRecord("1001"), 0.0
    for event, gap, policy in steps:
        now += gap
        try:
            new = apply(record, event, now, policy)
        except IllegalTransition:
            continue
        assert (new.call_id is not None) == (new.state in WITH_CALL), new
        assert (new.wrap_until is not None) == (new.state is S.WRAP_UP), new
        assert not (new.state is S.PAUSED and is_available(new, now + 1e6)), new
        assert new.state is not S.PAUSED or new.pause_reason, new
        assert new.misses < policy.max_misses_before_pause or new.state is S.PAUSED or type(event) is not Miss, new
        # LogIn resets it; LogOut and EndWrapUp give back the wrap-up not used
        assert new.busy_seconds >= (record.busy_seconds if type(event) not in (LogIn, LogOut, EndWrapUp) else 0.0)
        assert AgentRecord.from_dict(new.to_dict()) == new
        record = new


def test_ready_now_ends_the_wrap_up_before_its_time_and_gives_back_the_unused_part() -> None:
    wrapping = run(REACH[S.WRAP_UP])  # wrap-up from t=4 to t=14
    early = apply(wrapping, EndWrapUp(), 6.0)
    assert (early.state, early.since, early.wrap_until, early.call_id) == (S.AVAILABLE, 6.0, None, None)
    assert early.busy_seconds == wrapping.busy_seconds - 8.0  # 8 s of wrap-up not used
    assert is_available(early, 6.0) and idle_since(early) == 6.0
    pending = apply(apply(wrapping, Pause("meal"), 5.0), EndWrapUp(), 6.0)
    assert (pending.state, pending.pause_reason) == (S.PAUSED, "meal")  # rule 4 still holds
    for state in set(S) - {S.WRAP_UP}:
        with pytest.raises(IllegalTransition):
            apply(run(REACH[state]), EndWrapUp(), 20.0)
