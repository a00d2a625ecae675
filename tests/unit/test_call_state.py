"""The call state machine: legality over the whole table, effects per path, vocabularies, storage."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.state import (
    EVENT_KINDS,
    FINAL_OUTCOMES,
    OUTCOMES,
    ROUTABLE,
    TRANSITIONS,
    WITH_AGENT,
    Answered,
    Arrived,
    BadCallData,
    Call,
    CallbackBooked,
    CallbackFailed,
    CallbackOffer,
    CallbackOffered,
    CallbackPlaced,
    CallbackRetry,
    CallerLeft,
    CallState,
    DialBegan,
    Ended,
    Event,
    FellBack,
    IllegalTransition,
    IvrEnded,
    Transferred,
    Missed,
    Offered,
    Outcome,
    Queued,
    Source,
    SurveyStarted,
    Withdrawn,
    apply,
    event_from_dict,
    event_to_dict,
    from_dict,
    legal_events,
    replay,
    start,
    to_dict,
)

S = CallState
ARRIVED = Arrived(100.0, "1700000000.1", caller="13800000001", dnis="12345")
MAIN = Queued(110.0, "main", "zh", frozenset({"social_insurance"}), priority=2)

# One instance of every event type that a transition can take (Arrived only starts a call).
ALL_EVENTS: tuple[Event, ...] = (
    Queued(0.0, "main", "zh"), IvrEnded(0.0), Transferred(0.0, "water"), CallbackOffered(0.0), Offered(0.0, "1002", relax_step=1),
    DialBegan(0.0), Answered(0.0), Missed(0.0, "NOANSWER"), Withdrawn(0.0, "not_free"), CallerLeft(0.0),
    CallbackBooked(0.0), CallbackPlaced(0.0), CallbackRetry(0.0, not_before=600.0, status="NOANSWER"),
    CallbackFailed(0.0, "BUSY"), SurveyStarted(0.0), Ended(0.0), FellBack(0.0, "boom"),
)

# A way to reach each state (with ``run``: each step ten seconds after the call's ``since``).
REACH: dict[CallState, list[Event]] = {
    S.IN_IVR: [],
    S.QUEUED: [MAIN],
    S.OFFERED: [MAIN, Offered(0, "1001")],
    S.TALKING: [MAIN, Offered(0, "1001"), DialBegan(0), Answered(0)],
    S.SURVEY: [MAIN, Offered(0, "1001"), Answered(0), SurveyStarted(0)],
    S.CALLBACK_WAITING: [MAIN, CallbackOffered(0), CallbackBooked(0)],
    S.CALLBACK_OFFERED: [MAIN, CallbackOffered(0), CallbackBooked(0), Offered(0, "1001")],
    S.CALLBACK_DIALLING: [MAIN, CallbackOffered(0), CallbackBooked(0), Offered(0, "1001"), CallbackPlaced(0)],
    S.ENDED: [CallerLeft(0)],
}
# What a guard needs first, for the legality walk: booking needs a callback offer.
BEFORE: dict[tuple[CallState, type[Event]], list[Event]] = {(S.QUEUED, CallbackBooked): [CallbackOffered(0)]}
LATE = 10_000.0


def timed(event: Event, at: float) -> Event:
    if isinstance(event, CallbackRetry):
        return replace(event, at=at, not_before=at + 300.0)
    return replace(event, at=at)


def run(events: list[Event], call: Call | None = None) -> Call:
    """Apply ``events`` to ``call`` (or a call that arrived at t=100), each ten seconds after ``since``."""
    call = call or start(ARRIVED)
    for event in events:
        call = apply(call, timed(event, call.since + 10.0))
    return call


def legal_names(state: CallState) -> str:
    return ", ".join(sorted(t.__name__ for t in TRANSITIONS[state])) or "none"


class TestTable:
    def test_every_state_is_reachable_as_declared(self) -> None:
        assert {state: run(path).state for state, path in REACH.items()} == {s: s for s in S}

    @pytest.mark.parametrize("state", list(S))
    @pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
    def test_legality_follows_the_table(self, state: CallState, event: Event) -> None:
        call = run(BEFORE.get((state, type(event)), []), run(REACH[state]))
        if type(event) in TRANSITIONS[state]:
            assert apply(call, timed(event, LATE)).state is TRANSITIONS[state][type(event)]
        else:
            with pytest.raises(IllegalTransition) as caught:
                apply(call, timed(event, LATE))
            expected = f"{type(event).__name__} is illegal in state {state.value} (legal: {legal_names(state)})"
            assert str(caught.value) == f"call {call.call_id}: {expected}"

    def test_illegal_transition_names_call_state_and_legal_events(self) -> None:
        with pytest.raises(IllegalTransition) as caught:
            apply(start(ARRIVED), Answered(101.0))
        assert str(caught.value) == (
            "call 1700000000.1: Answered is illegal in state in_ivr (legal: CallerLeft, FellBack, IvrEnded, Queued, Transferred)"
        )
        assert (caught.value.call_id, caught.value.state, caught.value.event) == (ARRIVED.call_id, S.IN_IVR, Answered(101.0))

    def test_every_event_type_is_used_and_has_an_effect(self) -> None:
        used = {t for row in TRANSITIONS.values() for t in row}
        assert used == {type(e) for e in ALL_EVENTS} == set(EVENT_KINDS.values()) - {Arrived}

    def test_every_state_is_reachable_and_every_call_can_end(self) -> None:
        def closure(start_state: CallState, edges: dict[CallState, set[CallState]]) -> set[CallState]:
            seen, todo = {start_state}, [start_state]
            while todo:
                for nxt in edges.get(todo.pop(), set()) - seen:
                    seen.add(nxt)
                    todo.append(nxt)
            return seen

        forward = {s: set(row.values()) for s, row in TRANSITIONS.items()}
        backward: dict[CallState, set[CallState]] = {}
        for s, targets in forward.items():
            for t in targets:
                backward.setdefault(t, set()).add(s)
        assert closure(S.IN_IVR, forward) == set(S)
        assert closure(S.ENDED, backward) == set(S)
        assert TRANSITIONS[S.ENDED] == {}

    def test_every_way_to_end_decides_a_final_outcome(self) -> None:
        endings = {(s, t) for s, row in TRANSITIONS.items() for t, target in row.items() if target is S.ENDED}
        assert endings <= OUTCOMES.keys()
        assert {OUTCOMES[k] for k in endings} == FINAL_OUTCOMES
        assert all(t in TRANSITIONS[s] for s, t in OUTCOMES)  # no outcome for an illegal step
        assert {o for k, o in OUTCOMES.items() if k not in endings} == {Outcome.CALLBACK_REQUESTED, Outcome.CALLBACK_RETRY}

    def test_legal_events_are_sorted_by_name(self) -> None:
        assert legal_events(S.TALKING) == (CallerLeft, Ended, SurveyStarted)
        assert legal_events(S.ENDED) == ()

    def test_agent_and_routing_states(self) -> None:
        assert WITH_AGENT == {S.OFFERED, S.TALKING, S.CALLBACK_OFFERED, S.CALLBACK_DIALLING}
        assert ROUTABLE == {S.QUEUED, S.CALLBACK_WAITING}


class TestGuards:
    def test_a_callback_is_offered_once_per_call(self) -> None:
        call = run([MAIN, CallbackOffered(0)])
        why = r"CallbackOffered is illegal in state waiting: a callback was offered already \(yes\)"
        with pytest.raises(IllegalTransition, match=why):
            apply(call, CallbackOffered(500.0))

    def test_a_refused_offer_uses_the_once(self) -> None:
        call = run([MAIN, CallbackOffered(0, refused=True)])
        assert call.callback_offer is CallbackOffer.REFUSED
        with pytest.raises(IllegalTransition, match=r"offered already \(refused\)"):
            apply(call, CallbackOffered(500.0))

    @pytest.mark.parametrize(("before", "why"), [
        ([], "no callback was offered"),
        ([CallbackOffered(0, refused=True)], "the caller's number may not be called back"),
    ])
    def test_only_an_allowed_offer_can_be_booked(self, before: list[Event], why: str) -> None:
        with pytest.raises(IllegalTransition, match=f"CallbackBooked is illegal in state waiting: {why}"):
            apply(run([MAIN, *before]), CallbackBooked(500.0))


class TestPaths:
    def test_whole_value_after_each_step_of_an_answered_call(self) -> None:
        c0 = start(ARRIVED)
        assert c0 == Call("1700000000.1", 100.0, since=100.0, caller="13800000001", dnis="12345")
        c1 = apply(c0, MAIN)
        assert c1 == replace(c0, state=S.QUEUED, since=110.0, queue="main", language="zh",
                             skills=frozenset({"social_insurance"}), priority=2, queued_at=110.0)
        c2 = apply(c1, Offered(111.0, "1001"))
        assert c2 == replace(c1, state=S.OFFERED, since=111.0, agent_id="1001", offered_at=111.0)
        c3 = apply(c2, DialBegan(111.02))
        assert c3 == replace(c2, ringing_at=111.02)
        c4 = apply(c3, Answered(115.0))
        assert c4 == replace(c3, state=S.TALKING, since=115.0, answered_at=115.0, answered_by="1001")
        c5 = apply(c4, Ended(235.0))
        assert c5 == replace(c4, state=S.ENDED, since=235.0, agent_id=None, ended_at=235.0, outcome=Outcome.ANSWERED)

    def test_the_survey_comes_after_the_call(self) -> None:
        talking = run(REACH[S.TALKING])
        survey = apply(talking, SurveyStarted(300.0))
        assert (survey.state, survey.agent_id, survey.answered_by, survey.ended_at) == (S.SURVEY, None, "1001", 300.0)
        for last in (Ended(330.0), CallerLeft(330.0)):
            ended = apply(survey, last)
            assert (ended.outcome, ended.ended_at, ended.since, ended.answered_by) == (Outcome.ANSWERED, 300.0, 330.0, "1001")

    def test_caller_hanging_up_on_the_agent_is_still_answered(self) -> None:
        ended = apply(run(REACH[S.TALKING]), CallerLeft(300.0))
        assert (ended.state, ended.outcome, ended.ended_at) == (S.ENDED, Outcome.ANSWERED, 300.0)

    @pytest.mark.parametrize(("path", "outcome"), [
        ([CallerLeft(0)], Outcome.IVR_HANGUP),
        ([IvrEnded(0)], Outcome.IVR_END),
        ([Transferred(0, "water")], Outcome.TRANSFERRED),
        ([MAIN, CallerLeft(0)], Outcome.ABANDONED),
        ([MAIN, Offered(0, "1001"), CallerLeft(0)], Outcome.ABANDONED),
        ([MAIN, Offered(0, "1001"), DialBegan(0), CallerLeft(0)], Outcome.ABANDONED),
        ([FellBack(0)], Outcome.FALLBACK),
        ([MAIN, FellBack(0)], Outcome.FALLBACK),
        ([MAIN, Offered(0, "1001"), FellBack(0)], Outcome.FALLBACK),
    ])
    def test_calls_that_were_not_answered(self, path: list[Event], outcome: Outcome) -> None:
        call = run(path)
        assert (call.state, call.outcome, call.agent_id, call.answered_at) == (S.ENDED, outcome, None, None)
        assert call.ended_at == call.since

    def test_ring_no_answer_goes_back_to_the_head_of_the_line(self) -> None:
        offered = run(REACH[S.OFFERED])
        missed = apply(offered, Missed(140.0, "NOANSWER"))
        assert missed == replace(offered, state=S.QUEUED, since=140.0, agent_id=None, misses=1, excluded=frozenset({"1001"}))
        again = apply(apply(missed, Offered(150.0, "1002")), Missed(170.0))
        assert (again.misses, again.excluded, again.queued_at) == (2, frozenset({"1001", "1002"}), 110.0)

    @pytest.mark.parametrize(("exclude", "excluded"), [(False, frozenset()), (True, frozenset({"1001"}))])
    def test_a_withdrawn_offer_is_not_a_miss(self, exclude: bool, excluded: frozenset[str]) -> None:
        call = apply(run(REACH[S.OFFERED]), Withdrawn(140.0, "not_free", exclude=exclude))
        assert (call.state, call.misses, call.excluded, call.agent_id, call.queued_at) == (S.QUEUED, 0, excluded, None, 110.0)

    def test_a_repeated_dial_begin_keeps_the_first_ring(self) -> None:
        call = apply(apply(run(REACH[S.OFFERED]), DialBegan(130.5)), DialBegan(131.0))
        assert (call.ringing_at, call.since) == (130.5, 120.0)

    def test_a_new_offer_forgets_the_last_ring(self) -> None:
        call = run([MAIN, Offered(0, "1001"), DialBegan(0), Missed(0), Offered(0, "1002")])
        assert (call.agent_id, call.offered_at, call.ringing_at) == ("1002", 140.0, None)


class TestCallbacks:
    def test_booking_keeps_the_place_in_line(self) -> None:
        queued = run([MAIN, CallbackOffered(0)])
        booked = apply(queued, CallbackBooked(200.0))
        assert booked == replace(queued, state=S.CALLBACK_WAITING, since=200.0, booked_at=200.0,
                                 outcome=Outcome.CALLBACK_REQUESTED)
        assert booked.queued_at == 110.0

    def test_a_callback_answered_by_the_citizen(self) -> None:
        call = run(REACH[S.CALLBACK_DIALLING])
        assert (call.agent_id, call.attempts, call.outcome) == ("1001", 1, Outcome.CALLBACK_REQUESTED)
        call = apply(call, Answered(200.0))
        assert (call.state, call.answered_by, call.outcome) == (S.TALKING, "1001", Outcome.CALLBACK_REQUESTED)
        call = apply(call, Ended(320.0))
        assert (call.state, call.outcome, call.ended_at, call.booked_at, call.answered_at) == (
            S.ENDED, Outcome.ANSWERED, 320.0, 120.0, 200.0)

    def test_a_citizen_not_reached_is_tried_again_then_given_up(self) -> None:
        first = run(REACH[S.CALLBACK_DIALLING])
        waiting = apply(first, CallbackRetry(200.0, 500.0, "NOANSWER"))
        assert waiting == replace(first, state=S.CALLBACK_WAITING, since=200.0, agent_id=None,
                                  not_before=500.0, outcome=Outcome.CALLBACK_RETRY)
        second = run([Offered(0, "1002"), CallbackPlaced(0)], waiting)
        assert (second.state, second.attempts, second.agent_id) == (S.CALLBACK_DIALLING, 2, "1002")
        failed = apply(second, CallbackFailed(300.0, "BUSY"))
        assert (failed.state, failed.outcome, failed.ended_at, failed.agent_id, failed.answered_at) == (
            S.ENDED, Outcome.CALLBACK_FAILED, 300.0, None, None)

    def test_a_retry_forgets_who_missed_the_callback_leg(self) -> None:
        call = run([Missed(0), Offered(0, "1002"), CallbackPlaced(0)], run(REACH[S.CALLBACK_OFFERED]))
        assert (call.misses, call.excluded) == (1, frozenset({"1001"}))
        call = apply(call, CallbackRetry(300.0, 900.0))
        assert (call.excluded, call.not_before, call.misses) == (frozenset(), 900.0, 1)

    def test_the_agent_missing_the_callback_leg_puts_the_request_back(self) -> None:
        offered = run(REACH[S.CALLBACK_OFFERED])
        call = apply(offered, Missed(200.0))
        assert call == replace(offered, state=S.CALLBACK_WAITING, since=200.0, agent_id=None, misses=1,
                               excluded=frozenset({"1001"}))

    def test_no_fallback_once_answered_or_booked(self) -> None:
        for state in (S.TALKING, S.SURVEY, S.CALLBACK_WAITING, S.CALLBACK_DIALLING):
            with pytest.raises(IllegalTransition, match=f"FellBack is illegal in state {state.value}"):
                apply(run(REACH[state]), FellBack(LATE))


class TestVocabulary:
    def test_outcomes_are_the_strings_the_records_use_today(self) -> None:
        # hotline/sessions/call.py, callback_session.py, records.py and queue_log.py, by hand:
        assert [o.value for o in Outcome] == [
            "in_progress", "answered", "abandoned", "ivr_hangup", "ivr_end", "transferred",
            "callback_requested", "callback_retry", "callback_failed", "fallback",
        ]

    def test_sources_are_the_strings_the_records_use_today(self) -> None:
        assert [s.value for s in Source] == ["controller", "fallback", "callback"]

    def test_waiting_and_offered_are_the_strings_the_claim_scripts_use(self) -> None:
        assert (S.QUEUED.value, S.OFFERED.value) == ("waiting", "offered")

    def test_stored_strings_fit_their_columns(self) -> None:  # sql/schema.py: outcome 24, source 16, kind 32
        assert max(len(o) for o in Outcome) <= 24
        assert max(len(s) for s in Source) <= 16
        assert max(len(k) for k in EVENT_KINDS) <= 32

    def test_event_kinds_are_pinned(self) -> None:
        assert list(EVENT_KINDS) == [
            "arrived", "queued", "ivr_ended", "transferred", "callback_offered", "offered", "dial_began", "answered",
            "missed", "withdrawn", "caller_left", "callback_booked", "callback_placed", "callback_retry",
            "callback_failed", "survey_started", "ended", "fell_back",
        ]

    def test_callback_offer_values_are_the_waiting_flows(self) -> None:
        assert [o.value for o in CallbackOffer] == ["no", "yes", "refused"]


class TestEvents:
    @pytest.mark.parametrize(("build", "message"), [
        (lambda: Answered(float("nan")), "at must be a finite number"),
        (lambda: Answered("5"), "at must be a finite number"),  # type: ignore[arg-type]
        (lambda: Queued(1.0, "main", "zh", {"a"}), "skills must be a frozenset"),  # type: ignore[arg-type]
        (lambda: Queued(1.0, "main", "zh", frozenset({"a,b"})), "without commas"),
        (lambda: Queued(1.0, "", "zh"), "queue must be a non-empty name"),
        (lambda: Queued(1.0, "main", "zh", priority=True), "priority must be int"),
        (lambda: Offered(1.0, ""), "agent_id must be a non-empty name"),
        (lambda: Offered(1.0, "10,01"), "agent_id must be a non-empty name without commas"),
        (lambda: Arrived(1.0, ""), "call_id must be a non-empty name"),
        (lambda: Arrived(1.0, "c", source="fallback"), "source must be Source"),  # type: ignore[arg-type]
        (lambda: CallbackRetry(10.0, 9.0), "not_before 9.0 is before at 10.0"),
        (lambda: Withdrawn(1.0, exclude=1), "exclude must be bool"),  # type: ignore[arg-type]
    ])
    def test_events_refuse_bad_fields(self, build: object, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            build()  # type: ignore[operator]

    def test_replay_folds_a_log(self) -> None:
        log = [ARRIVED, MAIN, Offered(111.0, "1001"), Answered(115.0), Ended(200.0)]
        assert replay(log) == Call(
            "1700000000.1", 100.0, S.ENDED, since=200.0, caller="13800000001", dnis="12345", queue="main",
            language="zh", skills=frozenset({"social_insurance"}), priority=2, answered_by="1001",
            queued_at=110.0, offered_at=111.0, answered_at=115.0, ended_at=200.0, outcome=Outcome.ANSWERED)

    def test_replay_needs_arrived_first(self) -> None:
        with pytest.raises(ValueError, match="begins with Arrived, not Queued"):
            replay([MAIN])
        with pytest.raises(ValueError, match="not NoneType"):
            replay([])


class TestStorage:
    @pytest.mark.parametrize("state", list(S))
    def test_round_trip_through_strings(self, state: CallState) -> None:
        call = run(REACH[state])
        stored = to_dict(call)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in stored.items())
        assert stored["state"] == state.value
        assert from_dict(stored) == call

    def test_stored_fields(self) -> None:
        stored = to_dict(run([Missed(0), Offered(0, "1002")], run(REACH[S.OFFERED])))
        assert {k: stored[k] for k in ("state", "agent_id", "excluded", "skills", "queued_at", "ringing_at", "misses")} == {
            "state": "offered", "agent_id": "1002", "excluded": "1001", "skills": "social_insurance",
            "queued_at": "110.0", "ringing_at": "", "misses": "1"}

    def test_missing_fields_take_defaults_and_unknown_ones_are_ignored(self) -> None:
        assert from_dict({"call_id": "c1", "arrived_at": "5.5", "owner": "ctl-1"}) == Call("c1", 5.5)

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("state", "dancing", "call c1: field 'state' is not a known CallState"),
        ("outcome", "handed_over", "field 'outcome' is not a known Outcome"),
        ("arrived_at", "soon", "field 'arrived_at' is not a finite number: 'soon'"),
        ("since", "inf", "field 'since' is not a finite number"),
        ("queued_at", "nan", "field 'queued_at' is not a finite number"),
        ("misses", "1.5", "field 'misses' is not a whole number"),
        ("misses", "\u0661", "field 'misses' is not a whole number"),  # Arabic-Indic one: ASCII only
        ("callback_offer", "maybe", "field 'callback_offer' is not a known CallbackOffer"),
    ])
    def test_bad_fields_are_named(self, field: str, value: str, message: str) -> None:
        with pytest.raises(BadCallData, match=message):
            from_dict(to_dict(Call("c1", 1.0)) | {field: value})

    @pytest.mark.parametrize("field", ["call_id", "arrived_at"])
    def test_required_fields(self, field: str) -> None:
        stored = to_dict(Call("c1", 1.0))
        del stored[field]
        with pytest.raises(BadCallData, match=f"field '{field}' is missing"):
            from_dict(stored)

    @pytest.mark.parametrize("event", (ARRIVED, *ALL_EVENTS), ids=lambda e: type(e).__name__)
    def test_events_round_trip(self, event: Event) -> None:
        stored = event_to_dict(event)
        assert all(isinstance(v, str) for v in stored.values())
        assert EVENT_KINDS[stored["kind"]] is type(event)
        assert event_from_dict(stored) == event

    def test_bad_events_are_named(self) -> None:
        with pytest.raises(BadCallData, match="event kind 'hangup' is not one of arrived, queued"):
            event_from_dict({"kind": "hangup", "at": "1.0"})
        with pytest.raises(BadCallData, match="offered event: field 'agent_id' is missing"):
            event_from_dict({"kind": "offered", "at": "1.0"})
        with pytest.raises(BadCallData, match="withdrawn event: field 'exclude' is not a flag"):
            event_from_dict({"kind": "withdrawn", "at": "1.0", "exclude": "yes"})
        with pytest.raises(BadCallData, match="callback_retry event: CallbackRetry: not_before 1.0 is before at 2.0"):
            event_from_dict({"kind": "callback_retry", "at": "2.0", "not_before": "1.0"})


# -- properties over random legal event sequences -------------------------------------------

AGENTS = st.sampled_from(["1001", "1002", "1003"])
GAPS = st.floats(0, 100, allow_nan=False)


def random_event(draw: st.DrawFn, kind: type[Event], at: float) -> Event:
    """An event of type ``kind`` at ``at`` with random fields."""
    if kind is Queued:
        skills = draw(st.frozensets(st.sampled_from(["pension", "tax", "housing"]), max_size=2))
        return Queued(at, draw(st.sampled_from(["main", "province"])), draw(st.sampled_from(["zh", "en"])),
                      skills, draw(st.integers(0, 100)))
    if kind is Offered:
        return Offered(at, draw(AGENTS), draw(st.integers(0, 3)))
    if kind is CallbackOffered:
        return CallbackOffered(at, refused=draw(st.booleans()))
    if kind is Withdrawn:
        return Withdrawn(at, draw(st.sampled_from(["", "not_free", "paused"])), exclude=draw(st.booleans()))
    if kind is CallbackRetry:
        return CallbackRetry(at, at + draw(GAPS), draw(st.sampled_from(["NOANSWER", "BUSY"])))
    return kind(at)


def check_invariants(call: Call, now: float, log: list[Event]) -> None:
    assert (call.agent_id is not None) == (call.state in WITH_AGENT), call
    assert (call.state is S.ENDED) == (call.outcome in FINAL_OUTCOMES), call
    assert (call.ended_at is not None) == (call.state in (S.SURVEY, S.ENDED)), call
    assert (call.answered_at is None) == (call.answered_by is None), call
    assert (call.answered_at is not None) == (call.state in (S.TALKING, S.SURVEY) or call.outcome is Outcome.ANSWERED), call
    if call.state is not S.ENDED and call.booked_at is None:
        assert call.outcome is Outcome.IN_PROGRESS, call
    elif call.state is not S.ENDED:
        assert call.outcome in (Outcome.CALLBACK_REQUESTED, Outcome.CALLBACK_RETRY), call
    chain = [t for t in (call.arrived_at, call.queued_at, call.answered_at, call.ended_at) if t is not None]
    assert chain == sorted(chain), call
    stamps = [call.queued_at, call.offered_at, call.ringing_at, call.answered_at, call.booked_at, call.ended_at]
    assert all(call.arrived_at <= t <= now for t in stamps if t is not None), call
    assert call.arrived_at <= call.since <= now, call
    assert call.offered_at is None or call.ringing_at is None or call.offered_at <= call.ringing_at, call
    assert call.misses == sum(type(e) is Missed for e in log), call
    assert call.attempts == sum(type(e) is CallbackPlaced for e in log), call
    assert call.queued_at == next((e.at for e in log if type(e) is Queued), None), call


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_legal_sequence_keeps_the_invariants_and_stores_exactly(data: st.DataObject) -> None:
    log: list[Event] = [Arrived(data.draw(st.floats(0, 2e9)), "c1", "13800000001", "12345")]
    call, now = start(log[0]), log[0].at
    for _ in range(data.draw(st.integers(0, 25))):
        if call.state is S.ENDED:
            break
        now += data.draw(GAPS)
        event = random_event(data.draw, data.draw(st.sampled_from(legal_events(call.state))), now)
        try:
            new = apply(call, event)
        except IllegalTransition as refused:
            assert refused.state is call.state and type(event) in TRANSITIONS[call.state]  # a guard said no
            continue
        assert new.state is TRANSITIONS[call.state][type(event)]
        log.append(event)
        check_invariants(new, now, log)
        assert from_dict(to_dict(new)) == new
        assert event_from_dict(event_to_dict(event)) == event
        call = new
    assert replay(log) == call


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_event_is_either_refused_or_follows_the_table(data: st.DataObject) -> None:
    call = run(REACH[data.draw(st.sampled_from(list(S)))])
    kind = data.draw(st.sampled_from(list(EVENT_KINDS.values())[1:]))
    event = random_event(data.draw, kind, call.since + data.draw(GAPS))
    try:
        assert apply(call, event).state is TRANSITIONS[call.state][kind]
    except IllegalTransition as refused:
        assert f"{kind.__name__} is illegal in state {call.state.value}" in str(refused)


def test_the_rules_import_nothing_from_the_shell() -> None:
    """Pure: a fresh interpreter that imports calls has loaded no I/O or shell module."""
    shell = ("redis", "asyncio", "sqlalchemy", "socket", "hotline", "panoramisk")
    probe = f"import sys, calls; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({shell!r})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
