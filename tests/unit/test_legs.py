"""The legs of a three-party call: the docstring's table is the code's, legality over the whole
table, the named scenarios, hang-ups in every order, records, storage, and random sequences."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calls.legs as legs_module
from calls.legs import (
    AGENCY_EVENTS,
    AGENT_HELD,
    AGENT_IN_CALL,
    DESK_EVENTS,
    EVENT_TYPES,
    LIVE_LEG_ANSWERED,
    LIVE_LEG_UNANSWERED,
    TRANSITIONS,
    AgencyAnswered,
    AgencyFailed,
    AgencyHungUp,
    AgencyLeg,
    AgentBack,
    AgentHungUp,
    AgentUnreachable,
    BadLegData,
    BlindTransfer,
    CancelConsult,
    Case,
    CitizenHungUp,
    CompleteTransfer,
    Conference,
    Consult,
    Effect,
    EffectCall,
    FailReason,
    Handling,
    HangUpAgency,
    IllegalTransition,
    Join,
    Leave,
    LegEnd,
    LegEvent,
    LegMode,
    Notice,
    Party,
    ThreeWay,
    ThreeWayOutcome,
    ThreeWayState,
    allowed,
    from_dict,
    handling,
    legal_events,
    live_leg,
    parties_present,
    replay,
    start,
    step,
    to_dict,
)

S = ThreeWayState
E = Effect
CALL = "1700000000.1"
POLICE, FIRST, SECOND, THIRD = "police", "110110", "120120", "130130"

# One instance of every event type (AgencyFailed twice: with and without a next number).
ALL_EVENTS: tuple[LegEvent, ...] = (
    Consult(POLICE, FIRST, 0.0), Conference(POLICE, FIRST, 0.0), BlindTransfer(POLICE, FIRST, 0.0),
    AgencyAnswered(0.0), AgencyFailed(FailReason.BUSY, 0.0), AgencyFailed(FailReason.NO_ANSWER, 0.0, SECOND),
    Join(0.0), Leave(0.0), CompleteTransfer(0.0), CancelConsult(0.0), HangUpAgency(0.0), CitizenHungUp(0.0),
    AgentHungUp(0.0), AgencyHungUp(0.0), AgentBack(0.0), AgentUnreachable(0.0),
)
HANG_UPS = (CitizenHungUp(0.0), AgentHungUp(0.0), AgencyHungUp(0.0))

# Ways to reach every state, and every state the citizen can be gone from (name -> path).
REACH: dict[str, list[LegEvent]] = {
    "two_party": [],
    "two_party_after_a_leg": [Consult(POLICE, FIRST, 0), CancelConsult(0)],
    "consult_dialing": [Consult(POLICE, FIRST, 0)],
    "consult_dialing_citizen_gone": [Consult(POLICE, FIRST, 0), CitizenHungUp(0)],
    "consulting": [Consult(POLICE, FIRST, 0), AgencyAnswered(0)],
    "consulting_citizen_gone": [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CitizenHungUp(0)],
    "conference_dialing": [Conference(POLICE, FIRST, 0)],
    "conference": [Conference(POLICE, FIRST, 0), AgencyAnswered(0)],
    "blind_dialing": [BlindTransfer(POLICE, FIRST, 0)],
    "agent_recalling": [BlindTransfer(POLICE, FIRST, 0), AgencyFailed(FailReason.NO_ANSWER, 0)],
    "handed_over": [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CompleteTransfer(0)],
    "ended": [CitizenHungUp(0)],
    "ended_after_a_leg": [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CompleteTransfer(0), AgencyHungUp(0)],
}
STATE_OF = {name: S(re.sub(r"_(citizen_gone|after_a_leg)$", "", name)) for name in REACH}


def retimed(event: LegEvent, at: float) -> LegEvent:
    return replace(event, at=at)


def run(events: list[LegEvent], value: ThreeWay | None = None) -> ThreeWay:
    """Step ``events`` from ``value`` (or a call answered at t=100), each ten seconds after the last."""
    value = value or start(CALL, 100.0)
    for event in events:
        value, _ = step(value, retimed(event, value.since + 10.0))
    return value


def effects_of(calls: tuple[EffectCall, ...]) -> list[Effect]:
    return [c.effect for c in calls]


def case_of(value: ThreeWay, event: LegEvent) -> Case:
    tried = {leg.number for leg in value.legs[-1:]} if value.legs else set()
    if isinstance(event, AgencyFailed) and event.next_number and event.next_number not in tried:
        return Case.NEXT_NUMBER
    return Case.CITIZEN_GONE if value.citizen_left_at is not None else Case.USUAL


# -- the table ----------------------------------------------------------------

ROW_LINE = re.compile(r"^    (\w+) -(\w+)(?:\[(\w+)\])?-> (\w+)(?:  (.*))?$")


def documented_rows() -> set[tuple[str, str, str, str, tuple[str, ...]]]:
    doc = legs_module.__doc__ or ""
    table = doc.split("check that this listing and ``TRANSITIONS`` are the same, row for row::")[1]
    table = table.split("A value is created by")[0]
    rows = set()
    for line in table.splitlines():
        if not line.strip():
            continue
        found = ROW_LINE.match(line)
        assert found, f"a line of the docstring's table does not parse: {line!r}"
        state, event, case, target, effects = found.groups()
        rows.add((state, event, case or "usual", target, tuple(effects.split(", ")) if effects else ()))
    return rows


def table_rows() -> set[tuple[str, str, str, str, tuple[str, ...]]]:
    return {
        (state.value, kind.__name__, case.value, "ignored" if row.ignore else row.to.value,
         tuple(e.value for e in row.effects))
        for (state, kind), cases in TRANSITIONS.items() for case, row in cases.items()
    }


class TestTable:
    def test_the_docstring_lists_exactly_the_table(self) -> None:
        documented, coded = documented_rows(), table_rows()
        assert documented - coded == set(), "documented but not in TRANSITIONS"
        assert coded - documented == set(), "in TRANSITIONS but not documented"
        assert len(documented) == sum(len(cases) for cases in TRANSITIONS.values())

    def test_every_reach_path_gets_where_it_says(self) -> None:
        for name, path in REACH.items():
            value = run(path)
            assert value.state is STATE_OF[name], name
            assert (value.citizen_left_at is not None) == name.endswith("citizen_gone") or value.state is S.ENDED, name
        assert set(STATE_OF.values()) == set(S)

    @pytest.mark.parametrize("name", list(REACH))
    @pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__ + ("_next" if getattr(e, "next_number", None) else ""))
    def test_every_state_and_event_follows_the_table(self, name: str, event: LegEvent) -> None:
        value = run(REACH[name])
        event = retimed(event, 10_000.0)
        late = type(event) in AGENCY_EVENTS and bool(value.legs) and live_leg(value) is None
        row = TRANSITIONS.get((value.state, type(event)), {}).get(case_of(value, event))
        if late or (row is not None and row.ignore):
            assert step(value, event) == (value, ())  # accepted, nothing changes (rule 5)
        elif row is not None:
            new, effects = step(value, event)
            assert new.state is row.to
            assert effects_of(effects) == list(row.effects)
            assert new.since == (value.since if row.to is value.state else 10_000.0)
        else:
            with pytest.raises(IllegalTransition) as refused:
                step(value, event)
            assert f"{type(event).__name__} is illegal in state {value.state.value}" in str(refused.value)
            assert (refused.value.state, refused.value.event, refused.value.call_id) == (value.state, event, CALL)

    def test_every_event_type_is_used_and_the_cases_are_where_they_belong(self) -> None:
        assert {kind for _, kind in TRANSITIONS} == set(EVENT_TYPES)
        for (state, kind), cases in TRANSITIONS.items():
            if Case.NEXT_NUMBER in cases:
                assert kind is AgencyFailed and state in LIVE_LEG_UNANSWERED
            if Case.CITIZEN_GONE in cases:
                assert state in (S.CONSULT_DIALING, S.CONSULTING, S.ENDED)
        for state in LIVE_LEG_UNANSWERED:  # every failure can try the next number
            assert Case.NEXT_NUMBER in TRANSITIONS[(state, AgencyFailed)]

    def test_every_state_is_reachable_and_every_value_can_end(self) -> None:
        edges: dict[S, set[S]] = {}
        for (state, _), cases in TRANSITIONS.items():
            edges.setdefault(state, set()).update(row.to for row in cases.values())

        def closure(first: S, graph: dict[S, set[S]]) -> set[S]:
            seen, todo = {first}, [first]
            while todo:
                for nxt in graph.get(todo.pop(), set()) - seen:
                    seen.add(nxt)
                    todo.append(nxt)
            return seen

        backward: dict[S, set[S]] = {}
        for state, targets in edges.items():
            for target in targets:
                backward.setdefault(target, set()).add(state)
        assert closure(S.TWO_PARTY, edges) == set(S)
        assert closure(S.ENDED, backward) == set(S)
        assert all(row.ignore for (state, _), cases in TRANSITIONS.items() if state is S.ENDED for row in cases.values())

    def test_every_party_hanging_up_is_handled_in_every_state(self) -> None:
        for name, path in REACH.items():
            value = run(path)
            for hang_up in HANG_UPS:
                if type(hang_up) is AgencyHungUp and live_leg(value) is None and not value.legs:
                    continue  # no agency was ever there: not a hang-up of a party
                step(value, retimed(hang_up, 10_000.0))  # never IllegalTransition

    def test_the_rows_that_end_close_the_room_and_release_the_call_taker_once(self) -> None:
        for (state, kind), cases in TRANSITIONS.items():
            for row in cases.values():
                if row.ignore:
                    continue
                assert (E.END_ROOM in row.effects) == (row.to is S.ENDED), (state, kind)
                if row.to is S.ENDED and state is not S.HANDED_OVER:
                    assert E.AGENT_TO_WRAP_UP in row.effects, (state, kind)
                if state in (S.HANDED_OVER, S.ENDED) or row.to in AGENT_HELD or row.to in AGENT_IN_CALL:
                    assert E.AGENT_TO_WRAP_UP not in row.effects, (state, kind)
                if row.to is S.HANDED_OVER:
                    assert E.AGENT_TO_WRAP_UP in row.effects, (state, kind)

    def test_the_citizen_is_hung_up_only_when_nobody_is_left(self) -> None:
        hanging_up = {(state, kind) for (state, kind), cases in TRANSITIONS.items()
                      for row in cases.values() if E.HANGUP_CITIZEN in row.effects}
        assert hanging_up == {(S.TWO_PARTY, AgentHungUp), (S.HANDED_OVER, AgencyHungUp)}

    def test_desk_events_are_never_ignored(self) -> None:
        for (state, kind), cases in TRANSITIONS.items():
            if kind in DESK_EVENTS:
                assert not any(row.ignore for row in cases.values()), (state, kind)

    def test_the_vocabularies_are_the_stored_strings(self) -> None:
        assert [s.value for s in S] == ["two_party", "consult_dialing", "consulting", "conference_dialing",
                                        "conference", "blind_dialing", "agent_recalling", "handed_over", "ended"]
        assert [r.value for r in FailReason] == ["busy", "no_answer", "unreachable", "out_of_hours", "rejected"]
        assert {r.value for r in FailReason} <= {r.value for r in LegEnd}
        assert [m.value for m in LegMode] == ["consult", "conference", "blind"]
        assert [h.value for h in Handling] == ["direct", "consulted", "three_party", "transferred"]
        assert [p.value for p in Party] == ["citizen", "agent", "agency"]


# -- the buttons and refusals -------------------------------------------------

BUTTONS: dict[str, set[type]] = {
    "two_party": {Consult, Conference, BlindTransfer},
    "two_party_after_a_leg": {Consult, Conference, BlindTransfer},
    "consult_dialing": {CancelConsult},
    "consult_dialing_citizen_gone": {CancelConsult},
    "consulting": {Join, CompleteTransfer, CancelConsult},
    "consulting_citizen_gone": {CancelConsult, Leave},
    "conference_dialing": {HangUpAgency},
    "conference": {Leave, HangUpAgency},
    "blind_dialing": set(),
    "agent_recalling": set(),
    "handed_over": set(),
    "ended": set(),
    "ended_after_a_leg": set(),
}


class TestButtons:
    @pytest.mark.parametrize("name", list(REACH))
    def test_allowed_lists_the_desk_buttons(self, name: str) -> None:
        value = run(REACH[name])
        assert allowed(value) == BUTTONS[name]
        for kind in DESK_EVENTS - BUTTONS[name]:  # every other button is refused
            event = next(e for e in ALL_EVENTS if type(e) is kind)
            with pytest.raises(IllegalTransition):
                step(value, retimed(event, 10_000.0))

    def test_the_refusal_names_call_state_event_and_what_is_legal(self) -> None:
        with pytest.raises(IllegalTransition) as refused:
            step(start(CALL, 100.0), Join(110.0))
        assert str(refused.value) == (f"call {CALL}: Join is illegal in state two_party "
                                      "(legal: AgentHungUp, BlindTransfer, CitizenHungUp, Conference, Consult)")

    def test_a_second_request_while_one_is_running_is_refused(self) -> None:
        for name in ("consult_dialing", "consulting", "conference_dialing", "conference", "blind_dialing"):
            for request in (Consult(POLICE, FIRST, 500.0), Conference(POLICE, FIRST, 500.0),
                            BlindTransfer(POLICE, FIRST, 500.0)):
                with pytest.raises(IllegalTransition, match=f"illegal in state {STATE_OF[name].value}"):
                    step(run(REACH[name]), request)

    def test_join_and_complete_are_refused_once_the_citizen_has_gone(self) -> None:
        value = run(REACH["consulting_citizen_gone"])
        for event in (Join(500.0), CompleteTransfer(500.0)):
            with pytest.raises(IllegalTransition, match="illegal in state consulting: the citizen has hung up"):
                step(value, event)

    def test_leave_while_consulting_says_what_to_press(self) -> None:
        with pytest.raises(IllegalTransition, match="CompleteTransfer hands them to the agency"):
            step(run(REACH["consulting"]), Leave(500.0))

    def test_join_before_the_agency_answers(self) -> None:
        with pytest.raises(IllegalTransition, match="consult_dialing: the agency has not answered yet"):
            step(run(REACH["consult_dialing"]), Join(500.0))

    def test_legal_events_follow_the_case(self) -> None:
        assert legal_events(run(REACH["consulting"])) == (
            AgencyHungUp, AgentHungUp, CancelConsult, CitizenHungUp, CompleteTransfer, Join)
        assert legal_events(run(REACH["consulting_citizen_gone"])) == (
            AgencyHungUp, AgentHungUp, CancelConsult, CitizenHungUp, Leave)


# -- scenarios ------------------------------------------------------------------


def walk(*events: LegEvent) -> tuple[ThreeWay, list[tuple[ThreeWay, tuple[EffectCall, ...]]]]:
    """Step the events at their own times from a call answered at t=100; every step's result."""
    value, steps = start(CALL, 100.0), []
    for event in events:
        value, effects = step(value, event)
        steps.append((value, effects))
    return value, steps


def call(effect: Effect, number: str = "", reason: str = "", leg: int | None = None) -> EffectCall:
    return EffectCall(effect, number, reason, leg)


class TestScenarios:
    def test_consult_then_join_then_leave(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyAnswered(115.0), Join(130.0), Leave(140.0),
                            CitizenHungUp(200.0))
        assert [v.state for v, _ in steps] == [S.CONSULT_DIALING, S.CONSULTING, S.CONFERENCE, S.HANDED_OVER, S.ENDED]
        assert [e for _, e in steps] == [
            (call(E.HOLD_CITIZEN), call(E.DIAL_AGENCY, FIRST, leg=0)),
            (),
            (call(E.CITIZEN_INTO_ROOM),),
            (call(E.KICK_AGENT), call(E.AGENT_TO_WRAP_UP)),
            (call(E.HANGUP_AGENCY, leg=0), call(E.END_ROOM)),
        ]
        assert value.legs == (AgencyLeg(POLICE, FIRST, LegMode.CONSULT, 110.0, 1, 115.0, 200.0, LegEnd.HUNG_UP_BY_CITIZEN),)
        assert (value.conferenced_at, value.handed_over_at, value.agent_left_at, value.ended_at) == (130.0, 140.0, 140.0, 200.0)
        assert (value.who_left_first, value.outcome, handling(value)) == (Party.AGENT, ThreeWayOutcome.FINISHED,
                                                                          Handling.TRANSFERRED)
        assert handling(steps[2][0]) is Handling.THREE_PARTY

    def test_conference_directly_then_the_agency_dropped(self) -> None:
        value, steps = walk(Conference(POLICE, FIRST, 110.0), AgencyAnswered(118.0), HangUpAgency(150.0),
                            AgentHungUp(200.0))
        assert [v.state for v, _ in steps] == [S.CONFERENCE_DIALING, S.CONFERENCE, S.TWO_PARTY, S.ENDED]
        assert [e for _, e in steps] == [
            (call(E.DIAL_AGENCY, FIRST, leg=0),),
            (),
            (call(E.HANGUP_AGENCY, leg=0),),
            (call(E.AGENT_TO_WRAP_UP), call(E.HANGUP_CITIZEN, reason="agent_hung_up"), call(E.END_ROOM)),
        ]
        assert value.legs[0].mode is LegMode.CONFERENCE and value.legs[0].end_reason is LegEnd.HUNG_UP_BY_AGENT
        assert (handling(value), value.who_left_first) == (Handling.THREE_PARTY, Party.AGENCY)

    def test_cancel_consult_while_ringing(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), CancelConsult(115.0))
        assert (value.state, steps[-1][1]) == (S.TWO_PARTY, (call(E.HANGUP_AGENCY, leg=0), call(E.UNHOLD_CITIZEN_TO_AGENT)))
        assert value.legs[0].end_reason is LegEnd.CANCELLED and value.who_left_first is None
        assert handling(value) is Handling.DIRECT
        assert allowed(value) == {Consult, Conference, BlindTransfer}  # back to normal: may try again

    def test_cancel_consult_after_talking_to_the_agency(self) -> None:
        value, _ = walk(Consult(POLICE, FIRST, 110.0), AgencyAnswered(115.0), CancelConsult(160.0))
        assert (value.state, value.legs[0].end_reason, value.who_left_first) == (
            S.TWO_PARTY, LegEnd.HUNG_UP_BY_AGENT, Party.AGENCY)
        assert handling(value) is Handling.CONSULTED

    def test_blind_transfer_answered(self) -> None:
        value, steps = walk(BlindTransfer(POLICE, FIRST, 110.0), AgencyAnswered(125.0), AgencyHungUp(300.0))
        assert steps[0][1] == (call(E.HOLD_CITIZEN), call(E.KICK_AGENT), call(E.DIAL_AGENCY, FIRST, leg=0))
        assert steps[0][0].agent_left_at is None  # held in reserve, not free
        assert steps[1] == (steps[1][0], (call(E.CITIZEN_INTO_ROOM), call(E.AGENT_TO_WRAP_UP)))
        assert (steps[1][0].state, steps[1][0].agent_left_at) == (S.HANDED_OVER, 125.0)
        assert steps[2][1] == (call(E.HANGUP_CITIZEN, reason="agency_hung_up"), call(E.END_ROOM))
        assert (handling(value), value.legs[0].mode, value.who_left_first) == (
            Handling.TRANSFERRED, LegMode.BLIND, Party.AGENT)

    def test_blind_transfer_failed_brings_the_citizen_back(self) -> None:
        value, steps = walk(BlindTransfer(POLICE, FIRST, 110.0), AgencyFailed(FailReason.NO_ANSWER, 140.0),
                            AgentBack(150.0))
        assert (steps[1][0].state, steps[1][1]) == (S.AGENT_RECALLING, (call(E.RING_AGENT_BACK),))
        assert parties_present(steps[1][0]) == {Party.CITIZEN}
        assert (value.state, steps[2][1]) == (S.TWO_PARTY, (call(E.UNHOLD_CITIZEN_TO_AGENT),
                                                             call(E.NOTIFY_AGENT, reason="no_answer")))
        assert (value.agent_left_at, handling(value), parties_present(value)) == (
            None, Handling.DIRECT, {Party.CITIZEN, Party.AGENT})

    def test_blind_transfer_failed_and_the_call_taker_unreachable_requeues(self) -> None:
        value, steps = walk(BlindTransfer(POLICE, FIRST, 110.0), AgencyFailed(FailReason.BUSY, 112.0),
                            AgentUnreachable(140.0))
        assert steps[-1][1] == (call(E.REQUEUE_CITIZEN, reason="agent_unreachable"), call(E.AGENT_TO_WRAP_UP),
                                call(E.END_ROOM))
        assert (value.state, value.outcome, value.citizen_left_at, value.agent_left_at) == (
            S.ENDED, ThreeWayOutcome.REQUEUED, None, 140.0)
        assert all(leg.ended_at is not None for leg in value.legs)
        assert handling(value) is Handling.DIRECT

    def test_attended_transfer_complete(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyAnswered(115.0), CompleteTransfer(170.0))
        assert steps[-1][1] == (call(E.CITIZEN_INTO_ROOM), call(E.KICK_AGENT), call(E.AGENT_TO_WRAP_UP))
        assert (value.state, value.handed_over_at, value.agent_left_at) == (S.HANDED_OVER, 170.0, 170.0)
        assert parties_present(value) == {Party.CITIZEN, Party.AGENCY}
        assert handling(value) is Handling.TRANSFERRED

    def test_no_answer_then_the_second_number_answers(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyFailed(FailReason.NO_ANSWER, 140.0, SECOND),
                            AgencyAnswered(150.0))
        assert (steps[1][0].state, steps[1][1]) == (S.CONSULT_DIALING, (
            call(E.DIAL_AGENCY, SECOND, leg=1), call(E.NOTIFY_AGENT, SECOND, "no_answer")))
        assert value.legs == (
            AgencyLeg(POLICE, FIRST, LegMode.CONSULT, 110.0, 1, None, 140.0, LegEnd.NO_ANSWER),
            AgencyLeg(POLICE, SECOND, LegMode.CONSULT, 140.0, 2, 150.0, None, None),
        )
        assert value.state is S.CONSULTING and steps[1][0].since == 110.0  # still dialing since the request

    def test_busy_with_no_other_number_comes_back_and_says_why(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyFailed(FailReason.BUSY, 113.0))
        assert (value.state, steps[-1][1]) == (S.TWO_PARTY, (call(E.UNHOLD_CITIZEN_TO_AGENT),
                                                              call(E.NOTIFY_AGENT, reason="busy")))
        conference, steps = walk(Conference(POLICE, FIRST, 110.0), AgencyFailed(FailReason.OUT_OF_HOURS, 113.0))
        assert (conference.state, steps[-1][1]) == (S.TWO_PARTY, (call(E.NOTIFY_AGENT, reason="out_of_hours"),))

    def test_a_number_already_tried_is_not_dialled_again(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyFailed(FailReason.BUSY, 111.0, SECOND),
                            AgencyFailed(FailReason.BUSY, 112.0, FIRST))
        assert value.state is S.TWO_PARTY and len(value.legs) == 2
        value, steps = walk(Conference(POLICE, FIRST, 110.0), AgencyFailed(FailReason.BUSY, 111.0, SECOND),
                            AgencyFailed(FailReason.REJECTED, 112.0, THIRD))
        assert [leg.attempt for leg in value.legs] == [1, 2, 3] and value.state is S.CONFERENCE_DIALING
        # a new request starts its own count: the first number may be dialled again
        again = run([CancelConsult(0)], run(REACH["consult_dialing"]))
        again, _ = step(again, Consult(POLICE, FIRST, 500.0))
        again, effects = step(again, AgencyFailed(FailReason.BUSY, 510.0, SECOND))
        assert effects[0] == call(E.DIAL_AGENCY, SECOND, leg=2) and again.legs[-1].attempt == 2

    def test_blind_transfer_tries_the_next_number_before_ringing_the_call_taker(self) -> None:
        value, steps = walk(BlindTransfer(POLICE, FIRST, 110.0), AgencyFailed(FailReason.UNREACHABLE, 112.0, SECOND),
                            AgencyFailed(FailReason.NO_ANSWER, 140.0))
        assert steps[1][1] == (call(E.DIAL_AGENCY, SECOND, leg=1),)
        assert value.state is S.AGENT_RECALLING
        assert [leg.mode for leg in value.legs] == [LegMode.BLIND, LegMode.BLIND]

    def test_citizen_hangs_up_during_the_consult(self) -> None:
        value, steps = walk(Consult(POLICE, FIRST, 110.0), AgencyAnswered(115.0), CitizenHungUp(130.0),
                            Leave(160.0))
        gone = steps[2][0]
        assert (gone.state, steps[2][1], gone.citizen_left_at) == (
            S.CONSULTING, (call(E.NOTIFY_AGENT, reason="citizen_hung_up"),), 130.0)
        assert parties_present(gone) == {Party.AGENT, Party.AGENCY}
        assert allowed(gone) == {CancelConsult, Leave}
        assert steps[3][1] == (call(E.HANGUP_AGENCY, leg=0), call(E.KICK_AGENT), call(E.AGENT_TO_WRAP_UP),
                               call(E.END_ROOM))
        assert (value.state, value.who_left_first, value.legs[0].end_reason, handling(value)) == (
            S.ENDED, Party.CITIZEN, LegEnd.HUNG_UP_BY_AGENT, Handling.CONSULTED)

    def test_citizen_hangs_up_while_the_consult_rings(self) -> None:
        gone = run(REACH["consult_dialing_citizen_gone"])
        answered, effects = step(gone, AgencyAnswered(500.0))
        assert (answered.state, effects, answered.citizen_left_at) == (S.CONSULTING, (), gone.citizen_left_at)
        failed, effects = step(gone, AgencyFailed(FailReason.BUSY, 500.0))
        assert (failed.state, effects_of(effects)) == (S.ENDED, [E.NOTIFY_AGENT, E.KICK_AGENT, E.AGENT_TO_WRAP_UP,
                                                                 E.END_ROOM])
        assert E.UNHOLD_CITIZEN_TO_AGENT not in effects_of(effects)

    def test_citizen_hangs_up_in_a_conference_leaves_call_taker_and_agency(self) -> None:
        value, effects = step(run(REACH["conference"]), CitizenHungUp(500.0))
        assert (value.state, parties_present(value), handling(value)) == (
            S.CONSULTING, {Party.AGENT, Party.AGENCY}, Handling.THREE_PARTY)

    def test_agency_hangs_up_in_a_conference(self) -> None:
        value, effects = step(run(REACH["conference"]), AgencyHungUp(500.0))
        assert (value.state, effects) == (S.TWO_PARTY, (call(E.NOTIFY_AGENT, reason="agency_hung_up"),))
        assert (value.legs[0].end_reason, value.who_left_first, handling(value)) == (
            LegEnd.HUNG_UP_BY_AGENCY, Party.AGENCY, Handling.THREE_PARTY)

    def test_agency_hangs_up_during_a_consult_brings_the_citizen_back(self) -> None:
        value, effects = step(run(REACH["consulting"]), AgencyHungUp(500.0))
        assert (value.state, effects) == (S.TWO_PARTY, (call(E.UNHOLD_CITIZEN_TO_AGENT),
                                                         call(E.NOTIFY_AGENT, reason="agency_hung_up")))

    def test_call_taker_hanging_up_in_a_conference_is_a_leave(self) -> None:
        conference = run(REACH["conference"])
        hung_up, effects = step(conference, AgentHungUp(500.0))
        left, _ = step(conference, Leave(500.0))
        assert hung_up == left and effects == (call(E.AGENT_TO_WRAP_UP),)

    def test_call_taker_hanging_up_while_consulting_hands_the_citizen_over(self) -> None:
        consulting = run(REACH["consulting"])
        hung_up, effects = step(consulting, AgentHungUp(500.0))
        completed, _ = step(consulting, CompleteTransfer(500.0))
        assert hung_up == completed and effects == (call(E.CITIZEN_INTO_ROOM), call(E.AGENT_TO_WRAP_UP))

    @pytest.mark.parametrize("name", ["consult_dialing", "conference_dialing"])
    def test_call_taker_hanging_up_while_dialing_is_a_blind_transfer(self, name: str) -> None:
        dialing = run(REACH[name])
        blind, effects = step(dialing, AgentHungUp(500.0))
        assert (blind.state, blind.agent_left_at) == (S.BLIND_DIALING, None)
        assert effects == (() if name == "consult_dialing" else (call(E.HOLD_CITIZEN),))  # never alone in the room
        answered, effects = step(blind, AgencyAnswered(510.0))
        assert (answered.state, effects) == (S.HANDED_OVER, (call(E.CITIZEN_INTO_ROOM), call(E.AGENT_TO_WRAP_UP)))
        recalled, effects = step(blind, AgencyFailed(FailReason.NO_ANSWER, 510.0))
        assert (recalled.state, effects) == (S.AGENT_RECALLING, (call(E.RING_AGENT_BACK),))

    def test_the_citizen_hanging_up_after_a_blind_transfer_releases_the_call_taker(self) -> None:
        value, effects = step(run(REACH["blind_dialing"]), CitizenHungUp(500.0))
        assert effects == (call(E.HANGUP_AGENCY, leg=0), call(E.AGENT_TO_WRAP_UP), call(E.END_ROOM))
        assert (value.legs[0].end_reason, value.who_left_first) == (LegEnd.CANCELLED, Party.CITIZEN)
        value, effects = step(run(REACH["agent_recalling"]), CitizenHungUp(500.0))
        assert effects == (call(E.STOP_RINGING_AGENT), call(E.AGENT_TO_WRAP_UP), call(E.END_ROOM))


class TestLateReports:
    def test_agency_hang_up_after_its_failure_is_accepted(self) -> None:
        failed = run([Consult(POLICE, FIRST, 0), AgencyFailed(FailReason.BUSY, 0)])
        assert step(failed, AgencyHungUp(500.0)) == (failed, ())
        assert step(failed, AgencyFailed(FailReason.BUSY, 500.0)) == (failed, ())  # a duplicate, too

    def test_a_ringing_leg_hanging_up_waits_for_its_failure(self) -> None:
        dialing = run(REACH["consult_dialing"])
        assert step(dialing, AgencyHungUp(500.0)) == (dialing, ())
        value, _ = step(dialing, AgencyFailed(FailReason.REJECTED, 501.0, SECOND))
        assert value.state is S.CONSULT_DIALING and len(value.legs) == 2

    def test_the_old_leg_hanging_up_does_not_touch_the_next_number(self) -> None:
        retrying = run([Consult(POLICE, FIRST, 0), AgencyFailed(FailReason.NO_ANSWER, 0, SECOND)])
        assert step(retrying, AgencyHungUp(500.0, leg=0)) == (retrying, ())
        assert step(retrying, AgencyAnswered(500.0, leg=0)) == (retrying, ())
        answered, _ = step(retrying, AgencyAnswered(501.0, leg=1))
        assert answered.state is S.CONSULTING and answered.legs[1].answered_at == 501.0

    def test_a_cancelled_leg_answering_changes_nothing(self) -> None:
        cancelled = run(REACH["two_party_after_a_leg"])
        assert step(cancelled, AgencyAnswered(500.0)) == (cancelled, ())

    def test_a_leg_that_never_was_is_refused(self) -> None:
        with pytest.raises(IllegalTransition, match="there is no agency leg 3"):
            step(run(REACH["consult_dialing"]), AgencyAnswered(500.0, leg=3))
        with pytest.raises(IllegalTransition, match="AgencyHungUp is illegal in state two_party"):
            step(start(CALL, 100.0), AgencyHungUp(500.0))

    def test_the_kicked_call_taker_hanging_up(self) -> None:
        for name in ("blind_dialing", "agent_recalling", "handed_over", "ended", "ended_after_a_leg"):
            value = run(REACH[name])
            assert step(value, AgentHungUp(500.0)) == (value, ()), name

    def test_everything_after_the_end_is_accepted(self) -> None:
        for name in ("ended", "ended_after_a_leg"):
            value = run(REACH[name])
            for hang_up in HANG_UPS:
                assert step(value, retimed(hang_up, 500.0)) == (value, ())


# -- hang-ups in every order ----------------------------------------------------


@pytest.mark.parametrize("name", list(REACH))
def test_simultaneous_hang_ups_in_every_order(name: str) -> None:
    base = run(REACH[name])
    present = [h for h in HANG_UPS if not (type(h) is AgencyHungUp and not base.legs)]
    for size in range(1, len(present) + 1):
        for order in itertools.permutations(present, size):
            value, wrap_ups = base, 0
            for i, hang_up in enumerate(order):
                before, event = value, retimed(hang_up, 1000.0 + i * 0.001)
                value, effects = step(value, event)
                check_step(before, event, value, effects)
                wrap_ups += effects_of(effects).count(E.AGENT_TO_WRAP_UP)
            assert wrap_ups <= 1 and (base.agent_left_at is None or wrap_ups == 0)
            if size == len(present) and len(present) == 3:
                assert value.state is S.ENDED, (name, order)
            if value.state is S.ENDED:
                check_ended(value)


def check_step(before: ThreeWay, event: LegEvent, after: ThreeWay, effects: tuple[EffectCall, ...]) -> None:
    """What no step may ever do, whatever came before."""
    kinds = effects_of(effects)
    if E.HANGUP_CITIZEN in kinds:
        # only the natural end: the citizen was there, and this event took the last other party
        assert Party.CITIZEN in parties_present(before)
        assert parties_present(before) - {Party.CITIZEN} == {legs_module._PARTY_OF[type(event)]}
        assert before.state not in AGENT_HELD
    assert kinds.count(E.AGENT_TO_WRAP_UP) <= 1
    if E.AGENT_TO_WRAP_UP in kinds:
        assert before.agent_left_at is None and after.agent_left_at == event.at
    assert (E.END_ROOM in kinds) == (after.state is S.ENDED and before.state is not S.ENDED)
    check_value(after)


def check_value(value: ThreeWay) -> None:
    """The invariants of a value."""
    leg = live_leg(value)
    assert all(leg.ended_at is not None for leg in value.legs[:-1])
    if value.state in LIVE_LEG_UNANSWERED:
        assert leg is not None and leg.answered_at is None, value
    elif value.state in LIVE_LEG_ANSWERED:
        assert leg is not None and leg.answered_at is not None, value
    else:
        assert leg is None, value
    assert (value.agent_left_at is None) == (value.state in AGENT_IN_CALL | AGENT_HELD), value
    assert (value.state is S.ENDED) == (value.ended_at is not None) == (value.outcome is not ThreeWayOutcome.IN_PROGRESS)
    if value.citizen_left_at is not None:
        assert value.state in (S.CONSULT_DIALING, S.CONSULTING, S.ENDED), value
    present = parties_present(value)
    if Party.CITIZEN in present and Party.AGENT not in present:  # never alone on hold
        assert value.state in AGENT_HELD or Party.AGENCY in present, value
    if value.state is not S.ENDED and value.state not in AGENT_HELD:
        assert present - {Party.CITIZEN}, value  # the citizen is never the only one left
    assert (value.who_left_first is None) == (
        value.citizen_left_at is None and value.agent_left_at is None
        and not any(leg.answered_at is not None and leg.ended_at is not None for leg in value.legs)), value
    for one in value.legs:
        assert (one.ended_at is None) == (one.end_reason is None)
        assert one.answered_at is None or one.end_reason in (
            LegEnd.HUNG_UP_BY_AGENCY, LegEnd.HUNG_UP_BY_AGENT, LegEnd.HUNG_UP_BY_CITIZEN, None)
    assert from_dict(to_dict(value)) == value


def check_ended(value: ThreeWay) -> None:
    assert all(leg.ended_at is not None for leg in value.legs)
    assert value.agent_left_at is not None and parties_present(value) == frozenset()


# -- records and handling ---------------------------------------------------------

HANDLINGS: list[tuple[str, list[LegEvent], Handling]] = [
    ("no agency", [CitizenHungUp(0)], Handling.DIRECT),
    ("consult cancelled while ringing", [Consult(POLICE, FIRST, 0), CancelConsult(0)], Handling.DIRECT),
    ("consult failed", [Consult(POLICE, FIRST, 0), AgencyFailed(FailReason.BUSY, 0)], Handling.DIRECT),
    ("consult then back", [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CancelConsult(0)], Handling.CONSULTED),
    ("consult, citizen gone", [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CitizenHungUp(0), AgentHungUp(0)],
     Handling.CONSULTED),
    ("consult, join, agency dropped", [Consult(POLICE, FIRST, 0), AgencyAnswered(0), Join(0), HangUpAgency(0)],
     Handling.THREE_PARTY),
    ("conference", [Conference(POLICE, FIRST, 0), AgencyAnswered(0), AgencyHungUp(0), CitizenHungUp(0)],
     Handling.THREE_PARTY),
    ("conference, citizen gone", [Conference(POLICE, FIRST, 0), AgencyAnswered(0), CitizenHungUp(0)],
     Handling.THREE_PARTY),
    ("consult, join, leave", [Consult(POLICE, FIRST, 0), AgencyAnswered(0), Join(0), Leave(0)], Handling.TRANSFERRED),
    ("conference, call taker hangs up", [Conference(POLICE, FIRST, 0), AgencyAnswered(0), AgentHungUp(0)],
     Handling.TRANSFERRED),
    ("attended transfer", [Consult(POLICE, FIRST, 0), AgencyAnswered(0), CompleteTransfer(0)], Handling.TRANSFERRED),
    ("blind answered", [BlindTransfer(POLICE, FIRST, 0), AgencyAnswered(0)], Handling.TRANSFERRED),
    ("blind failed, call taker back", [BlindTransfer(POLICE, FIRST, 0), AgencyFailed(FailReason.BUSY, 0),
                                       AgentBack(0)], Handling.DIRECT),
    ("blind failed, requeued", [BlindTransfer(POLICE, FIRST, 0), AgencyFailed(FailReason.BUSY, 0),
                                AgentUnreachable(0)], Handling.DIRECT),
    ("second number answered, then transferred", [Consult(POLICE, FIRST, 0),
                                                  AgencyFailed(FailReason.NO_ANSWER, 0, SECOND), AgencyAnswered(0),
                                                  CompleteTransfer(0)], Handling.TRANSFERRED),
]


@pytest.mark.parametrize(("path", "expected"), [(p, h) for _, p, h in HANDLINGS], ids=[n for n, _, _ in HANDLINGS])
def test_handling(path: list[LegEvent], expected: Handling) -> None:
    value = run(path)
    assert handling(value) is expected
    assert isinstance(handling(value), str) and handling(value) == expected.value


@pytest.mark.parametrize(("name", "parties"), [
    ("two_party", {Party.CITIZEN, Party.AGENT}),
    ("consult_dialing", {Party.CITIZEN, Party.AGENT}),
    ("consult_dialing_citizen_gone", {Party.AGENT}),
    ("consulting", {Party.CITIZEN, Party.AGENT, Party.AGENCY}),
    ("consulting_citizen_gone", {Party.AGENT, Party.AGENCY}),
    ("conference_dialing", {Party.CITIZEN, Party.AGENT}),
    ("conference", {Party.CITIZEN, Party.AGENT, Party.AGENCY}),
    ("blind_dialing", {Party.CITIZEN}),
    ("agent_recalling", {Party.CITIZEN}),
    ("handed_over", {Party.CITIZEN, Party.AGENCY}),
    ("ended", set()),
])
def test_parties_present(name: str, parties: set[Party]) -> None:
    assert parties_present(run(REACH[name])) == parties


def test_who_left_first_when_the_citizen_hangs_up_on_everyone() -> None:
    value = run([CitizenHungUp(0)])
    assert (value.who_left_first, value.citizen_left_at, value.agent_left_at) == (Party.CITIZEN, 110.0, 110.0)
    value = run([AgentHungUp(0)])
    assert (value.who_left_first, value.citizen_left_at) == (Party.AGENT, None)


# -- events, storage, replay ----------------------------------------------------


class TestEvents:
    @pytest.mark.parametrize(("build", "problem"), [
        (lambda: Consult("Police!", FIRST, 1.0), "agency_id 'Police!' is not a directory id"),
        (lambda: Consult(POLICE, "12a", 1.0), "number '12a' is not a dialable number"),
        (lambda: Conference(POLICE, FIRST, float("nan")), "at must be a finite number"),
        (lambda: AgencyFailed("busy", 1.0), "reason must be a FailReason"),  # type: ignore[arg-type]
        (lambda: AgencyFailed(FailReason.BUSY, 1.0, next_number="+86"), "next_number '+86' is not a dialable"),
        (lambda: AgencyHungUp(1.0, leg=-1), "leg must be a leg index"),
        (lambda: Join(True), "at must be a finite number"),  # type: ignore[arg-type]
    ])
    def test_events_check_their_fields(self, build: object, problem: str) -> None:
        with pytest.raises(ValueError, match=re.escape(problem)):
            build()  # type: ignore[operator]

    def test_events_are_frozen(self) -> None:
        with pytest.raises(AttributeError):
            Join(1.0).at = 2.0  # type: ignore[misc]


class TestStorage:
    def test_round_trip_of_a_rich_value(self) -> None:
        value = run([Consult(POLICE, FIRST, 0), AgencyFailed(FailReason.NO_ANSWER, 0, SECOND), AgencyAnswered(0),
                     Join(0), Leave(0), CitizenHungUp(0)])
        stored = to_dict(value)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in stored.items())
        assert from_dict(stored) == value
        assert from_dict({**stored, "shell_field": "x"}) == value

    def test_times_round_trip_exactly(self) -> None:
        value = start(CALL, 1700000000.123456789)
        value, _ = step(value, Consult(POLICE, FIRST, 1700000000.1 + 1e-7))
        assert from_dict(to_dict(value)) == value

    def test_missing_fields_take_their_defaults(self) -> None:
        assert from_dict({"call_id": CALL, "started_at": "100.0"}) == ThreeWay(CALL, 100.0)

    @pytest.mark.parametrize(("field", "raw", "problem"), [
        ("state", "ringing", "field 'state' is not a known ThreeWayState"),
        ("since", "soon", "field 'since' is not a finite number"),
        ("legs", "{", "field 'legs' is not JSON"),
        ("legs", "{}", "field 'legs' is not a JSON list"),
        ("legs", '[{"agency_id":"police"}]', "field 'legs': legs[0] must hold exactly"),
        ("who_left_first", "nobody", "field 'who_left_first' is not a known Party"),
        ("outcome", "done", "field 'outcome' is not a known ThreeWayOutcome"),
    ])
    def test_bad_fields_are_named(self, field: str, raw: str, problem: str) -> None:
        stored = {**to_dict(run(REACH["consulting"])), field: raw}
        with pytest.raises(BadLegData, match=re.escape(f"three-way call {CALL}: {problem}")):
            from_dict(stored)

    def test_a_bad_leg_field_is_named(self) -> None:
        stored = to_dict(run(REACH["consulting"]))
        stored["legs"] = stored["legs"].replace('"mode":"consult"', '"mode":"whisper"')
        with pytest.raises(BadLegData, match=re.escape(f"three-way call {CALL}: field 'legs': legs[0].mode is not a known LegMode")):
            from_dict(stored)

    def test_started_at_is_required(self) -> None:
        with pytest.raises(BadLegData, match="started_at"):
            from_dict({"call_id": CALL})


def test_replay_is_stepping() -> None:
    log = [Consult(POLICE, FIRST, 110.0), AgencyAnswered(115.0), AgencyHungUp(116.0, leg=0), AgencyHungUp(117.0)]
    value = start(CALL, 100.0)
    for event in log:
        value, _ = step(value, event)
    assert replay(log, CALL, 100.0) == value
    assert replay(log, CALL).started_at == 110.0
    assert replay([]) == start("", 0.0)


def test_the_module_imports_nothing_from_the_shell_or_io() -> None:
    """Pure: importing calls.legs with every I/O library blocked works, and loads no shell module."""
    blocked = ["redis", "hiredis", "sqlalchemy", "alembic", "psycopg", "panoramisk", "asyncio", "socket",
               "uvloop", "aiohttp", "pydub", "hotline"]
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import calls.legs
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          cwd=str(legs_module.__file__).rsplit("/calls/", 1)[0])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


# -- random sequences ------------------------------------------------------------

NUMBERS = st.sampled_from([FIRST, SECOND, THIRD, "140140"])


def random_event(draw: st.DrawFn, kind: type, at: float, legs: int) -> LegEvent:
    leg = draw(st.one_of(st.none(), st.integers(0, max(legs - 1, 0)))) if legs else None
    if kind in (Consult, Conference, BlindTransfer):
        return kind(draw(st.sampled_from([POLICE, "housing"])), draw(NUMBERS), at)  # type: ignore[no-any-return]
    if kind is AgencyFailed:
        return AgencyFailed(draw(st.sampled_from(list(FailReason))), at, draw(st.one_of(st.none(), NUMBERS)), leg)
    if kind in (AgencyAnswered, AgencyHungUp):
        return kind(at, leg)  # type: ignore[no-any-return]
    return kind(at)  # type: ignore[no-any-return]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_sequence_keeps_the_invariants(data: st.DataObject) -> None:
    value = start(CALL, data.draw(st.floats(0, 2e9)))
    now, log, wrap_ups, rooms_ended = value.started_at, [], 0, 0
    for _ in range(data.draw(st.integers(0, 30))):
        now += data.draw(st.sampled_from([0.0, 0.001, 1.0, 7.5, 60.0]))
        legal_now = legal_events(value) or EVENT_TYPES  # half the draws legal, to get deep
        kind = data.draw(st.one_of(st.sampled_from(EVENT_TYPES), st.sampled_from(legal_now)))
        event = random_event(data.draw, kind, now, len(value.legs))
        try:
            new, effects = step(value, event)
        except IllegalTransition as refused:
            assert refused.state is value.state and f"{kind.__name__} is illegal" in str(refused)
            continue
        check_step(value, event, new, effects)
        wrap_ups += effects_of(effects).count(E.AGENT_TO_WRAP_UP)
        rooms_ended += effects_of(effects).count(E.END_ROOM)
        assert wrap_ups <= 1 and rooms_ended <= 1
        log.append(event)
        value = new
    if value.state is S.ENDED:
        check_ended(value)
        assert wrap_ups == 1 and rooms_ended == 1
    assert replay(log, CALL, value.started_at) == value


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_value_can_always_be_ended_by_hang_ups(data: st.DataObject) -> None:
    """Whatever happened, the three parties hanging up in any order end the value cleanly."""
    value = start(CALL, 100.0)
    now = 100.0
    for _ in range(data.draw(st.integers(0, 12))):
        now += 1.0
        legal_now = legal_events(value) or EVENT_TYPES
        kind = data.draw(st.one_of(st.sampled_from(EVENT_TYPES), st.sampled_from(legal_now)))
        event = random_event(data.draw, kind, now, len(value.legs))
        try:
            value, _ = step(value, event)
        except IllegalTransition:
            pass
    hang_ups = data.draw(st.permutations([CitizenHungUp, AgentHungUp, AgencyHungUp]))
    released = value.agent_left_at is not None
    for kind in hang_ups:
        now += 0.001
        if kind is AgencyHungUp and not value.legs:
            continue
        before = value
        value, effects = step(value, kind(now))
        check_step(before, kind(now), value, effects)
        released = released or E.AGENT_TO_WRAP_UP in effects_of(effects)
    assert value.state is S.ENDED and released
    check_ended(value)
