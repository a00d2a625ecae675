"""The case state machine (cases/lifecycle.py): the whole table (every state x every event:
legal or refused), the whole record after each step, deadlines in working days across a
weekend, a public holiday and a make-up working day, overdue flags at their boundaries, the
rules beyond the table (sticky lateness, extensions, unhappy follow-ups, reopen limits), the
work order's side, and invariants over random event sequences."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.lifecycle import (AWAITING_REPLY, EVENT_TYPES, SUPERVISION_REASONS, TRANSITIONS, Accept, AskForMoreTime,
                             Case, CaseState, Close, Deadlines, Event, Flag, FollowUpDone, FollowUpUnreachable,
                             GrantMoreTime, HandleDirectly, IllegalTransition, Refuse, Reopen, Reply, Return,
                             Transfer, Unflag, allowed, apply, event_data, event_from, event_kind, events_for_order,
                             open_case, overdue)
from hotline.settings import PROJECT_ROOT
from tests.unit.test_architecture import BLOCKED
from workorders import FOLDER
from workorders.calendar import OutsideCalendar, load_calendar

S = CaseState
CAL = load_calendar(FOLDER / "holidays.yaml")
TZ = CAL.tz
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
LOOSE = Deadlines(max_extensions=5, max_reopens=5)  # no limit gets in the table's way

ALL_EVENTS: tuple[Event, ...] = (
    HandleDirectly(), Transfer("water"), Return("not ours"), Accept(), AskForMoreTime("parts on order", 3),
    GrantMoreTime(), Refuse("no reason given"), Reply("pipe repaired"), FollowUpDone(True, True),
    FollowUpUnreachable(), Close("done"), Reopen("still leaking"), Flag("manual", "call the director"), Unflag("ok"),
)
REACH: dict[CaseState, list[Event]] = {
    S.OPEN: [],
    S.HANDLED_DIRECTLY: [HandleDirectly()],
    S.TRANSFERRED: [Transfer("water")],
    S.ACCEPTED: [Transfer("water"), Accept()],
    S.EXTENSION_REQUESTED: [Transfer("water"), Accept(), AskForMoreTime("parts on order", 3)],
    S.EXTENDED: [Transfer("water"), Accept(), AskForMoreTime("parts on order", 3), GrantMoreTime()],
    S.REPLIED: [Transfer("water"), Accept(), Reply("pipe repaired")],
    S.FOLLOWED_UP: [Transfer("water"), Accept(), Reply("pipe repaired"), FollowUpDone(True, True)],
    S.CLOSED: [Transfer("water"), Accept(), Reply("pipe repaired"), Close("done")],
    S.REOPENED: [Transfer("water"), Accept(), Reply("pipe repaired"), Reopen("still leaking")],
}


def new(at: datetime = MONDAY, **facts: object) -> Case:
    return open_case("20261123-0001", "1700000000.1", at, CAL, caller="13812345678", category="04.01.01",
                     district="lixia", **facts)  # type: ignore[arg-type]


def run(events: list[Event], start: datetime = MONDAY, deadlines: Deadlines = LOOSE) -> Case:
    """Apply ``events`` one minute apart from ``start``."""
    case = new(start)
    for i, event in enumerate(events):
        case = apply(case, event, start + timedelta(minutes=i + 1), CAL, deadlines)
    return case


# -- the table ----------------------------------------------------------------------------

class TestTable:
    def test_every_state_is_reachable_as_declared(self) -> None:
        assert {state: run(path).state for state, path in REACH.items()} == {s: s for s in S}

    def test_the_table_covers_every_state_and_only_known_events(self) -> None:
        assert set(TRANSITIONS) == set(S)
        assert all(set(row) <= set(EVENT_TYPES) for row in TRANSITIONS.values())
        assert {type(e) for e in ALL_EVENTS} == set(EVENT_TYPES)

    @pytest.mark.parametrize("state", list(S))
    @pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
    def test_legality_follows_the_table(self, state: CaseState, event: Event) -> None:
        case = run(REACH[state])
        at = MONDAY + timedelta(hours=1)
        if type(event) in TRANSITIONS[state]:
            after = apply(case, event, at, CAL, LOOSE)
            assert after.updated_at == at
            expected = TRANSITIONS[state][type(event)]
            if not (type(event) is FollowUpDone and state is S.REPLIED):  # the only rule that changes a target here
                assert after.state is expected
        else:
            with pytest.raises(IllegalTransition, match=f"{type(event).__name__} is illegal in state {state.value}"):
                apply(case, event, at, CAL, LOOSE)

    def test_the_states_of_the_standard(self) -> None:
        """A spot check of the table against the issue's path, in words."""
        assert TRANSITIONS[S.OPEN] == {HandleDirectly: S.HANDLED_DIRECTLY, Transfer: S.TRANSFERRED, Close: S.CLOSED,
                                       Flag: S.OPEN, Unflag: S.OPEN}
        assert TRANSITIONS[S.TRANSFERRED][Accept] is S.ACCEPTED
        assert TRANSITIONS[S.ACCEPTED][Reply] is S.REPLIED
        assert TRANSITIONS[S.REPLIED][FollowUpDone] is S.FOLLOWED_UP
        assert TRANSITIONS[S.FOLLOWED_UP][Close] is S.CLOSED
        assert TRANSITIONS[S.FOLLOWED_UP][Reopen] is S.REOPENED
        assert TRANSITIONS[S.REOPENED][Accept] is S.ACCEPTED

    @pytest.mark.parametrize("state", list(S))
    def test_supervision_is_a_flag_legal_in_every_state(self, state: CaseState) -> None:
        case = run(REACH[state])
        flagged = apply(case, Flag("manual", "the director asks"), MONDAY + timedelta(hours=1), CAL)
        assert (flagged.state, flagged.supervision, flagged.supervised) == (state, ("manual",), True)
        cleared = apply(flagged, Unflag("done"), MONDAY + timedelta(hours=2), CAL)
        assert (cleared.state, cleared.supervision, cleared.supervised_at) == (state, (), None)

    def test_illegal_transition_names_the_case_and_the_legal_events(self) -> None:
        with pytest.raises(IllegalTransition) as caught:
            apply(new(), Accept(), MONDAY, CAL)
        assert str(caught.value) == ("case 20261123-0001: Accept is illegal in state open "
                                     "(legal: Close, Flag, HandleDirectly, Transfer, Unflag)")
        assert (caught.value.case_number, caught.value.state) == ("20261123-0001", S.OPEN)

    def test_apply_never_mutates_its_input(self) -> None:
        case = run(REACH[S.TRANSFERRED])
        before = replace(case)
        apply(case, Accept(), MONDAY + timedelta(hours=1), CAL)
        assert case == before


# -- the whole record, step by step ---------------------------------------------------------

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


def test_the_whole_record_after_each_step_of_a_transferred_case() -> None:
    c0 = new(FRIDAY, request="小区停水", address="经十路123号")
    assert c0 == Case("20261123-0001", "1700000000.1", FRIDAY, FRIDAY, caller="13812345678", category="04.01.01",
                      district="lixia", request="小区停水", address="经十路123号",
                      accept_due=datetime(2026, 12, 1, 16, 0, tzinfo=TZ))  # the weekend skipped
    t1 = FRIDAY + timedelta(minutes=5)
    c1 = apply(c0, Transfer("water"), t1, CAL)
    assert c1 == replace(c0, state=S.TRANSFERRED, agency_id="water", transferred_at=t1, updated_at=t1,
                         accept_due=datetime(2026, 12, 1, 16, 5, tzinfo=TZ),
                         reply_due=datetime(2026, 12, 4, 16, 5, tzinfo=TZ))
    t2 = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    c2 = apply(c1, Accept(), t2, CAL)
    assert c2 == replace(c1, state=S.ACCEPTED, accepted_at=t2, updated_at=t2)
    t3 = datetime(2026, 12, 3, 11, 0, tzinfo=TZ)
    c3 = apply(c2, Reply("  阀门已更换，已恢复供水  "), t3, CAL)
    assert c3 == replace(c2, state=S.REPLIED, replied_at=t3, result="阀门已更换，已恢复供水", updated_at=t3)
    t4 = datetime(2026, 12, 4, 10, 0, tzinfo=TZ)
    c4 = apply(c3, FollowUpDone(True, True), t4, CAL)
    assert c4 == replace(c3, state=S.FOLLOWED_UP, followed_up_at=t4, satisfied=True, solved=True,
                         follow_up_result="satisfied", updated_at=t4)
    t5 = t4 + timedelta(seconds=1)
    c5 = apply(c4, Close("the citizen is satisfied"), t5, CAL)
    assert c5 == replace(c4, state=S.CLOSED, closed_at=t5, close_reason="the citizen is satisfied", updated_at=t5)
    assert overdue(c5, t5 + timedelta(days=400)) == ()


def test_a_direct_case_is_closed_at_once_and_has_no_deadline() -> None:
    case = apply(new(), HandleDirectly(), MONDAY, CAL)
    assert (case.state, case.handled_at, case.closed_at, case.accept_due, case.reply_due) == (
        S.HANDLED_DIRECTLY, MONDAY, MONDAY, None, None)
    assert overdue(case, MONDAY + timedelta(days=30)) == ()


# -- deadlines in working days ----------------------------------------------------------------

@pytest.mark.parametrize(("transferred", "accept_due", "reply_due"), [
    # Friday afternoon: the weekend does not count
    (datetime(2026, 11, 27, 16, 0), datetime(2026, 12, 1, 16, 0), datetime(2026, 12, 4, 16, 0)),
    # the eve of National Day (Oct 1-7 off; Saturday Oct 10 worked instead)
    (datetime(2026, 9, 30, 10, 0), datetime(2026, 10, 9, 10, 0), datetime(2026, 10, 13, 10, 0)),
    # Friday Sep 18: Saturday is off, Sunday Sep 20 is a make-up working day
    (datetime(2026, 9, 18, 9, 0), datetime(2026, 9, 21, 9, 0), datetime(2026, 9, 24, 9, 0)),
    # filed on a day off (Saturday Sep 19): the clock starts at 00:00 of the make-up Sunday;
    # then Mid-Autumn (Fri Sep 25 - Sun Sep 27 off) is skipped too
    (datetime(2026, 9, 19, 15, 0), datetime(2026, 9, 22, 0, 0), datetime(2026, 9, 28, 0, 0)),
])
def test_deadlines_count_working_days(transferred: datetime, accept_due: datetime, reply_due: datetime) -> None:
    at = transferred.replace(tzinfo=TZ)
    case = apply(new(at), Transfer("water"), at, CAL)
    assert (case.accept_due, case.reply_due) == (accept_due.replace(tzinfo=TZ), reply_due.replace(tzinfo=TZ))


def test_the_deadlines_come_from_the_rules() -> None:
    case = apply(new(FRIDAY), Transfer("water"), FRIDAY, CAL, Deadlines(transfer_working_days=1,
                                                                         handle_working_days=15))
    assert case.accept_due == datetime(2026, 11, 30, 16, 0, tzinfo=TZ)
    assert case.reply_due == datetime(2026, 12, 18, 16, 0, tzinfo=TZ)


def test_a_deadline_outside_the_calendar_is_an_error_not_a_guess() -> None:
    late = datetime(2027, 12, 30, 10, 0, tzinfo=TZ)
    with pytest.raises(OutsideCalendar, match="covers 2026-01-01 to 2027-12-31"):
        apply(new(datetime(2027, 12, 1, tzinfo=TZ)), Transfer("water"), late, CAL)


class TestOverdue:
    def transferred(self) -> Case:
        return apply(new(FRIDAY), Transfer("water"), FRIDAY, CAL)  # accept by Tue 16:00, reply by Fri 16:00

    def test_an_open_case_not_transferred_in_time(self) -> None:
        case = new(FRIDAY)
        due = datetime(2026, 12, 1, 16, 0, tzinfo=TZ)
        assert overdue(case, due - timedelta(seconds=1)) == ()
        assert overdue(case, due) == ("transfer",)

    def test_not_accepted_then_not_replied(self) -> None:
        case = self.transferred()
        assert overdue(case, datetime(2026, 12, 1, 15, 59, tzinfo=TZ)) == ()
        assert overdue(case, datetime(2026, 12, 1, 16, 0, tzinfo=TZ)) == ("accept",)
        assert overdue(case, datetime(2026, 12, 4, 16, 0, tzinfo=TZ)) == ("accept", "reply")
        accepted = apply(case, Accept(), datetime(2026, 12, 2, 9, 0, tzinfo=TZ), CAL)
        assert accepted.accepted_late is True
        assert overdue(accepted, datetime(2026, 12, 3, tzinfo=TZ)) == ()
        assert overdue(accepted, datetime(2026, 12, 4, 16, 0, tzinfo=TZ)) == ("reply",)

    def test_a_reply_on_the_last_second_is_on_time_and_at_the_due_time_late(self) -> None:
        accepted = apply(self.transferred(), Accept(), FRIDAY + timedelta(hours=1), CAL)
        due = datetime(2026, 12, 4, 16, 0, tzinfo=TZ)
        assert apply(accepted, Reply("done"), due - timedelta(seconds=1), CAL).replied_late is False
        assert apply(accepted, Reply("done"), due, CAL).replied_late is True


# -- rules beyond the table ---------------------------------------------------------------------

class TestExtensions:
    def accepted(self) -> Case:
        # transferred Friday 16:00 (one minute after the filing): the reply is due Fri Dec 4 16:00
        return run([Transfer("water"), Accept()], FRIDAY - timedelta(minutes=1), Deadlines())

    def test_granted_days_move_the_reply_deadline_in_working_days(self) -> None:
        asked = apply(self.accepted(), AskForMoreTime("需要更换主管道", 3), FRIDAY + timedelta(days=3), CAL)
        assert (asked.state, asked.pending_extension_days, asked.pending_extension_reason) == (
            S.EXTENSION_REQUESTED, 3, "需要更换主管道")
        granted = apply(asked, GrantMoreTime("ok"), FRIDAY + timedelta(days=4), CAL)
        assert granted.reply_due == datetime(2026, 12, 9, 16, 0, tzinfo=TZ)  # Fri + 3 working days = Wed
        assert (granted.state, granted.extension_count, granted.extension_days, granted.pending_extension_days) == (
            S.EXTENDED, 1, 3, None)
        assert granted.extended_at == FRIDAY + timedelta(days=4)

    def test_a_refusal_goes_back_to_where_the_case_was(self) -> None:
        asked = apply(self.accepted(), AskForMoreTime("why not", 2), FRIDAY + timedelta(days=3), CAL)
        refused = apply(asked, Refuse("no"), FRIDAY + timedelta(days=3, hours=1), CAL)
        assert (refused.state, refused.reply_due, refused.pending_extension_days) == (S.ACCEPTED, asked.reply_due, None)
        twice = run(REACH[S.EXTENDED] + [AskForMoreTime("again", 1), Refuse("no")], MONDAY, LOOSE)
        assert twice.state is S.EXTENDED

    def test_at_most_the_configured_extensions_and_days(self) -> None:
        extended = run(REACH[S.EXTENDED], MONDAY, Deadlines(max_extensions=1))
        with pytest.raises(IllegalTransition, match=r"1 extension\(s\) granted already \(at most 1\)"):
            apply(extended, AskForMoreTime("again", 1), MONDAY + timedelta(hours=1), CAL, Deadlines(max_extensions=1))
        with pytest.raises(IllegalTransition, match="11 working days asked, at most 10"):
            apply(self.accepted(), AskForMoreTime("long", 11), FRIDAY + timedelta(hours=1), CAL)
        assert "AskForMoreTime" not in allowed(extended, MONDAY, Deadlines(max_extensions=1))
        assert "AskForMoreTime" in allowed(self.accepted(), FRIDAY, Deadlines())

    def test_an_overdue_case_cannot_ask_for_more_time(self) -> None:
        late = datetime(2026, 12, 4, 16, 0, tzinfo=TZ)
        with pytest.raises(IllegalTransition, match="overdue case cannot ask"):
            apply(self.accepted(), AskForMoreTime("too late", 2), late, CAL)


class TestFollowUpAndReopen:
    def test_an_unhappy_answer_reopens_and_flags_the_case(self) -> None:
        replied = run(REACH[S.REPLIED], FRIDAY, Deadlines())
        at = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
        after = apply(replied, FollowUpDone(False, False), at, CAL)
        assert (after.state, after.reopen_count, after.reopened_at, after.supervision, after.supervised_at) == (
            S.REOPENED, 1, at, ("unhappy",), at)
        assert (after.follow_up_result, after.satisfied, after.solved, after.followed_up_at) == (
            "unsatisfied", False, False, at)
        # both clocks start again at the reopening
        assert (after.accept_due, after.reply_due) == (datetime(2026, 12, 4, 10, 0, tzinfo=TZ),
                                                       datetime(2026, 12, 9, 10, 0, tzinfo=TZ))
        assert overdue(after, datetime(2026, 12, 4, 10, 0, tzinfo=TZ)) == ("accept",)

    def test_past_the_reopen_limit_an_unhappy_case_waits_for_a_supervisor(self) -> None:
        case = run(REACH[S.REPLIED], MONDAY, Deadlines(max_reopens=1))
        d = Deadlines(max_reopens=1)
        case = apply(case, FollowUpDone(False), MONDAY + timedelta(hours=1), CAL, d)
        assert case.state is S.REOPENED
        for i, event in enumerate([Accept(), Reply("again")]):
            case = apply(case, event, MONDAY + timedelta(hours=2 + i), CAL, d)
        case = apply(case, FollowUpDone(False), MONDAY + timedelta(hours=5), CAL, d)
        assert (case.state, case.reopen_count, case.supervision) == (S.FOLLOWED_UP, 1, ("unhappy",))
        with pytest.raises(IllegalTransition, match=r"reopened 1 time\(s\) already \(at most 1\)"):
            apply(case, Reopen("still unhappy"), MONDAY + timedelta(hours=6), CAL, d)
        assert "Reopen" not in allowed(case, MONDAY, d)

    def test_without_reopen_on_unhappy_the_case_is_only_flagged(self) -> None:
        d = Deadlines(reopen_on_unhappy=False)
        case = apply(run(REACH[S.REPLIED], MONDAY, d), FollowUpDone(False), MONDAY + timedelta(hours=1), CAL, d)
        assert (case.state, case.supervision) == (S.FOLLOWED_UP, ("unhappy",))

    def test_lateness_is_sticky_across_a_reopening(self) -> None:
        case = apply(new(FRIDAY), Transfer("water"), FRIDAY, CAL)
        case = apply(case, Accept(), datetime(2026, 12, 1, 16, 0, tzinfo=TZ), CAL)  # exactly at the due time: late
        case = apply(case, Reply("done"), datetime(2026, 12, 2, tzinfo=TZ), CAL)
        case = apply(case, Reopen("not done"), datetime(2026, 12, 3, tzinfo=TZ), CAL)
        case = apply(case, Accept(), datetime(2026, 12, 3, 1, 0, tzinfo=TZ), CAL)
        assert (case.accepted_late, case.replied_late, case.accepted_at) == (
            True, False, datetime(2026, 12, 3, 1, 0, tzinfo=TZ))

    def test_a_sampled_direct_case_keeps_its_state_and_an_unhappy_answer_flags_it(self) -> None:
        direct = apply(new(), HandleDirectly(), MONDAY, CAL)
        happy = apply(direct, FollowUpDone(True), MONDAY + timedelta(hours=2), CAL)
        assert (happy.state, happy.follow_up_result, happy.supervision) == (S.HANDLED_DIRECTLY, "satisfied", ())
        unhappy = apply(direct, FollowUpDone(False), MONDAY + timedelta(hours=2), CAL)
        assert (unhappy.state, unhappy.supervision) == (S.HANDLED_DIRECTLY, ("unhappy",))
        gone = apply(direct, FollowUpUnreachable(), MONDAY + timedelta(hours=2), CAL)
        assert (gone.state, gone.follow_up_result) == (S.HANDLED_DIRECTLY, "unreachable")

    def test_a_case_never_transferred_cannot_be_reopened(self) -> None:
        closed = apply(new(), Close("duplicate of 20261123-0002"), MONDAY, CAL)
        with pytest.raises(IllegalTransition, match="never transferred"):
            apply(closed, Reopen("not a duplicate"), MONDAY + timedelta(hours=1), CAL)

    def test_a_returned_case_goes_back_to_the_hotline_and_to_another_agency(self) -> None:
        case = apply(run([Transfer("water")]), Return("供热问题，非我单位职责"), MONDAY + timedelta(hours=1), CAL)
        assert (case.state, case.agency_id, case.reply_due) == (S.OPEN, None, None)
        assert case.accept_due == datetime(2026, 11, 25, 11, 0, tzinfo=TZ)  # the hotline's 2 working days again
        again = apply(case, Transfer("heating"), MONDAY + timedelta(hours=2), CAL)
        assert (again.state, again.agency_id, again.transferred_at) == (
            S.TRANSFERRED, "heating", MONDAY + timedelta(hours=2))


def test_flags_keep_one_order_whatever_order_they_come_in() -> None:
    case = new()
    for reason in ("overdue", "manual", "emergency", "overdue"):
        case = apply(case, Flag(reason), MONDAY, CAL)
    assert case.supervision == ("emergency", "overdue", "manual")


# -- the work order's side ----------------------------------------------------------------------

@pytest.mark.parametrize(("path", "handling", "agency", "events"), [
    ([], "transferred", "water", [Transfer("water")]),
    ([], "direct", None, [HandleDirectly()]),
    ([HandleDirectly()], "transferred", "water", [Transfer("water")]),
    ([HandleDirectly()], "direct", "water", []),
    ([Transfer("water")], "transferred", "water", []),
    ([Transfer("water")], "transferred", "heating",
     [Return("the hotline changed the agency of the work order"), Transfer("heating")]),
    ([Transfer("water"), Accept()], "transferred", "heating", []),  # the agency has it: a supervisor's business
    ([Transfer("water")], "direct", None, []),
])
def test_what_a_saved_work_order_means_for_its_case(path: list[Event], handling: str, agency: str | None,
                                                    events: list[Event]) -> None:
    assert events_for_order(run(path), handling, agency) == events
    case = run(path)
    for i, event in enumerate(events):  # each is legal where it is given
        case = apply(case, event, MONDAY + timedelta(hours=i + 1), CAL)


def test_a_new_case_follows_its_work_order() -> None:
    assert events_for_order(None, "transferred", "gas") == [Transfer("gas")]


# -- events as stored data ----------------------------------------------------------------------

@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip_through_kind_and_json_data(event: Event) -> None:
    import json
    assert event_from(event_kind(event), json.loads(json.dumps(event_data(event)))) == event


def test_event_kinds_are_snake_case_names() -> None:
    assert event_kind(AskForMoreTime("x", 1)) == "ask_for_more_time"
    assert event_kind(FollowUpUnreachable()) == "follow_up_unreachable"
    with pytest.raises(ValueError, match="unknown case event kind 'dance'"):
        event_from("dance", {})
    with pytest.raises(ValueError, match="case event accept"):
        event_from("accept", {"surprise": 1})


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Transfer(""), "a transfer needs a non-empty text"),
    (lambda: AskForMoreTime("x", 0), "1 working day or more"),
    (lambda: AskForMoreTime("x", True), "1 working day or more"),
    (lambda: AskForMoreTime(" ", 2), "non-empty"),
    (lambda: Reply("\n"), "a reply needs"),
    (lambda: Reopen(""), "a reopening needs"),
    (lambda: Flag("angry"), "one of emergency, repeat_caller"),
])
def test_events_refuse_bad_values(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_the_core_imports_with_io_libraries_blocked() -> None:
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED + ['fastapi', 'pydantic', 'matplotlib']!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import cases.lifecycle, cases.supervision, cases.followup, cases.ranking, cases.rules
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


# -- properties over random event sequences -------------------------------------------------------

EVENTS = st.sampled_from(ALL_EVENTS + (FollowUpDone(False, None), Transfer("gas"), AskForMoreTime("x", 10),
                                       Flag("overdue"), Flag("unhappy")))
RULES = st.sampled_from((Deadlines(), Deadlines(max_extensions=0, max_reopens=0), Deadlines(reopen_on_unhappy=False)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.integers(0, 3 * 86400)), max_size=30), RULES)
def test_invariants_hold_on_any_event_sequence(steps: list[tuple[Event, int]], rules: Deadlines) -> None:
    """Illegal events are refused without change; legal ones keep every invariant."""
    case, now = new(), MONDAY
    for event, gap in steps:
        now += timedelta(seconds=gap)
        try:
            after = apply(case, event, now, CAL, rules)
        except IllegalTransition:
            continue
        assert after.updated_at == now
        with_agency = AWAITING_REPLY | {S.REPLIED, S.FOLLOWED_UP}
        assert after.state not in with_agency or after.agency_id is not None, after
        assert after.state is not S.OPEN or after.agency_id is None, after
        assert after.state not in AWAITING_REPLY or (after.accept_due is not None and after.reply_due is not None)
        assert set(after.supervision) <= set(SUPERVISION_REASONS)
        assert list(after.supervision) == [r for r in SUPERVISION_REASONS if r in after.supervision]
        assert after.supervised == (after.supervised_at is not None)
        assert after.reopen_count <= rules.max_reopens and after.extension_count <= rules.max_extensions
        assert after.accepted_late >= case.accepted_late and after.replied_late >= case.replied_late
        assert (after.pending_extension_days is not None) == (after.state is S.EXTENSION_REQUESTED)
        case = after
