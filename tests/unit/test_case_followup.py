"""Follow-up calls (cases/followup.py): which cases get one (every reply, a deterministic sample
of direct cases), the quiet hours (across midnight, at lunch, touching periods), retries
with their limit, what an answer does to the case, and pacing: no follow-up while a line is
under its service-level target or a caller waits too long, a capped rate otherwise,
and follow-ups resuming once the lines recover."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest

from cases.followup import (DEFAULT_FOLLOW_UP, DEFAULT_PACING, FollowUp, FollowUpRules, LineFigures, Pacing,
                            PacingRules, QuietPeriod, after_attempt, after_change, cancels, case_events, due,
                            next_allowed, pacing, quiet_at, reason_for, sampled, schedule, call_id_of, case_of_call)
from cases.lifecycle import (Accept, Case, CaseState, Close, FollowUpDone, FollowUpUnreachable, HandleDirectly,
                             Reply, Transfer, apply, open_case)
from workorders import FOLDER
from workorders.calendar import load_calendar

CAL = load_calendar(FOLDER / "holidays.yaml")
TZ = CAL.tz
S = CaseState


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def replied(number: str = "20261123-0001", when: datetime = at(23, 10)) -> Case:
    case = open_case(number, "c", when - timedelta(hours=2), CAL)
    for event, back in ((Transfer("water"), 2), (Accept(), 1), (Reply("done"), 0)):
        case = apply(case, event, when - timedelta(hours=back), CAL)
    return case


def direct(number: str) -> Case:
    return apply(open_case(number, "c", at(23, 10), CAL), HandleDirectly(), at(23, 10), CAL)


# -- who gets a follow-up -------------------------------------------------------------------

def test_the_sample_is_deterministic_and_of_the_share_asked() -> None:
    numbers = [f"20261123-{i:04d}" for i in range(1, 10_001)]
    picked = [n for n in numbers if sampled(n, 10)]
    assert 900 < len(picked) < 1100
    assert picked == [n for n in numbers if sampled(n, 10)]  # the same on every run and controller
    assert not any(sampled(n, 0) for n in numbers[:500]) and all(sampled(n, 100) for n in numbers[:500])
    assert set(n for n in numbers if sampled(n, 5)) <= set(picked)  # a smaller share is a subset


def test_every_reply_and_a_sample_of_direct_cases_need_a_follow_up() -> None:
    assert reason_for(replied()) == "reply"
    assert reason_for(replied(), replace(DEFAULT_FOLLOW_UP, after_reply=False)) is None
    assert reason_for(direct("20261123-0022")) == "direct_sample"   # in the 10 % sample
    assert reason_for(direct("20261123-0001")) is None              # not in it
    done = replace(direct("20261123-0022"), follow_up_result="satisfied")
    assert reason_for(done) is None
    assert reason_for(apply(replied(), Close("x"), at(23, 11), CAL)) is None


def test_a_follow_up_is_scheduled_on_the_change_and_cancelled_when_void() -> None:
    accepted = open_case("n", "c", at(23, 8), CAL)
    accepted = apply(apply(accepted, Transfer("water"), at(23, 8), CAL), Accept(), at(23, 9), CAL)
    now_replied = apply(accepted, Reply("done"), at(23, 10), CAL)
    planned = after_change(accepted, now_replied, at(23, 10), TZ)
    assert planned is not None and planned.next_attempt_at == at(23, 11)
    assert after_change(now_replied, now_replied, at(23, 10), TZ) is None  # no change of state, nothing new
    assert not cancels(now_replied) and cancels(apply(now_replied, Close("x"), at(23, 11), CAL))


# -- quiet hours ------------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "allowed"), [
    (at(23, 20, 59), at(23, 20, 59)),
    (at(23, 21, 0), at(24, 8, 30)),     # evening: next morning
    (at(24, 2, 0), at(24, 8, 30)),      # the night, after midnight
    (at(24, 8, 29), at(24, 8, 30)),
    (at(24, 8, 30), at(24, 8, 30)),     # the end of a period is allowed
    (at(24, 12, 0), at(24, 13, 30)),    # lunch
    (at(24, 13, 29), at(24, 13, 30)),
])
def test_next_allowed_moves_out_of_the_quiet_hours(moment: datetime, allowed: datetime) -> None:
    assert next_allowed(moment, DEFAULT_FOLLOW_UP, TZ) == allowed
    assert quiet_at(moment, DEFAULT_FOLLOW_UP, TZ) is (moment != allowed)


def test_touching_periods_and_an_other_zone() -> None:
    rules = replace(DEFAULT_FOLLOW_UP, quiet=(QuietPeriod(time(12, 0), time(13, 30)), QuietPeriod(time(13, 30),
                                                                                                time(14, 0))))
    assert next_allowed(at(24, 12, 10), rules, TZ) == at(24, 14, 0)
    utc_moment = at(24, 13, 0).astimezone(timezone.utc)  # 05:00 UTC: the quiet hours are the calendar's
    assert next_allowed(utc_moment, DEFAULT_FOLLOW_UP, TZ) == at(24, 13, 30)


def test_schedule_after_the_delay_and_out_of_the_quiet_hours() -> None:
    late = replied(when=at(23, 20, 30))
    follow_up = schedule(late, at(23, 20, 30), TZ)
    assert follow_up == FollowUp("20261123-0001", "reply", at(23, 20, 30), at(26, 20, 30), at(24, 8, 30))
    assert schedule(direct("20261123-0001"), at(23, 10), TZ) is None


def test_due_follow_ups_oldest_first_and_none_in_the_quiet_hours() -> None:
    a = FollowUp("a", "reply", at(23, 9), at(26, 9), at(23, 10))
    b = FollowUp("b", "reply", at(23, 8), at(26, 8), at(23, 9))
    c = FollowUp("c", "reply", at(23, 8), at(26, 8), at(23, 15))
    gone = replace(b, case_number="d", state="done", next_attempt_at=None)
    assert due([a, b, c, gone], at(23, 11), TZ) == [b, a]
    assert due([a, b, c], at(23, 12, 30), TZ) == []       # lunch
    assert due([a, b, c], at(23, 15), TZ) == [b, a, c]


# -- retries ------------------------------------------------------------------------------------

def test_three_tries_two_hours_apart_then_unreachable() -> None:
    follow_up = schedule(replied(), at(23, 10), TZ)
    assert follow_up is not None
    first = after_attempt(follow_up, "no_answer", at(23, 11), TZ)
    assert (first.attempts, first.state, first.next_attempt_at, first.last_outcome) == (
        1, "scheduled", at(23, 13, 30), "no_answer")  # 13:00 is lunch: 13:30
    second = after_attempt(first, "busy", at(23, 19, 30), TZ)
    assert second.next_attempt_at == at(24, 8, 30)  # 21:30 is night
    third = after_attempt(second, "failed", at(24, 8, 30), TZ)
    assert (third.state, third.result, third.attempts, third.next_attempt_at) == ("unreachable", "unreachable", 3, None)
    with pytest.raises(ValueError, match="is unreachable, not scheduled"):
        after_attempt(third, "no_answer", at(24, 9), TZ)


def test_an_answer_without_a_rating_is_retried_and_one_with_it_is_done() -> None:
    follow_up = schedule(replied(), at(23, 10), TZ)
    assert follow_up is not None
    hung_up = after_attempt(follow_up, "answered", at(23, 11), TZ)
    assert (hung_up.state, hung_up.attempts) == ("scheduled", 1)
    done = after_attempt(hung_up, "answered", at(23, 14), TZ, satisfied=False, solved=False)
    assert (done.state, done.result, done.satisfied, done.solved, done.next_attempt_at) == (
        "done", "unsatisfied", False, False, None)
    with pytest.raises(ValueError, match="outcome is one of"):
        after_attempt(follow_up, "voicemail", at(23, 11), TZ)


def test_a_citizen_put_through_to_a_call_taker_is_not_called_again_by_the_dialler() -> None:
    """The call taker they asked for follows up by hand; an automated retry would ring the
    citizen while they talk to that call taker (it did, with a short retry, on real calls)."""
    follow_up = schedule(replied(), at(23, 10), TZ)
    assert follow_up is not None
    handed = after_attempt(follow_up, "answered", at(23, 11), TZ, to_agent=True)
    assert (handed.state, handed.attempts, handed.next_attempt_at, handed.last_outcome) == (
        "scheduled", 1, None, "answered")
    assert due([handed], at(26, 11), TZ) == []  # never due again by itself
    by_hand = after_attempt(handed, "answered", at(23, 12), TZ, satisfied=True, solved=True)
    assert (by_hand.state, by_hand.result) == ("done", "satisfied")
    last_try = after_attempt(replace(follow_up, attempts=2), "answered", at(23, 11), TZ, to_agent=True)
    assert last_try.state == "scheduled"  # answered: never "unreachable", whatever the count


def test_the_attempts_come_from_the_rules() -> None:
    rules = replace(DEFAULT_FOLLOW_UP, attempts=1)
    follow_up = schedule(replied(), at(23, 10), TZ, rules)
    assert follow_up is not None
    assert after_attempt(follow_up, "no_answer", at(23, 11), TZ, rules).state == "unreachable"


# -- what the answer does to the case ------------------------------------------------------------

def finished(state: str, satisfied: bool | None = None) -> FollowUp:
    return FollowUp("20261123-0001", "reply", at(23, 10), at(26, 10), None, 1, at(23, 11), "answered", state,
                    None if satisfied is None else ("satisfied" if satisfied else "unsatisfied"), satisfied, True)


def test_case_events_of_each_answer() -> None:
    case = replied()
    assert case_events(case, finished("done", True)) == [FollowUpDone(True, True),
                                                         Close("the citizen is satisfied (follow-up call)")]
    assert case_events(case, finished("done", False)) == [FollowUpDone(False, True)]
    assert case_events(case, replace(finished("unreachable"), attempts=3)) == [
        FollowUpUnreachable(), Close("the citizen could not be reached (3 follow-up calls)")]
    keep_open = replace(DEFAULT_FOLLOW_UP, close_when_satisfied=False, close_when_unreachable=False)
    assert case_events(case, finished("done", True), keep_open) == [FollowUpDone(True, True)]
    assert case_events(case, finished("unreachable"), keep_open) == [FollowUpUnreachable()]
    assert case_events(case, finished("scheduled")) == [] and case_events(case, finished("cancelled")) == []
    # a direct case is never closed again: it is closed already
    assert case_events(direct("20261123-0022"), finished("done", True)) == [FollowUpDone(True, True)]


def test_the_events_are_legal_where_they_are_given() -> None:
    for follow_up in (finished("done", True), finished("done", False), finished("unreachable")):
        case = replied()
        for event in case_events(case, follow_up):
            case = apply(case, event, at(23, 12), CAL)
        assert case.state in (S.CLOSED, S.REOPENED)


# -- pacing -------------------------------------------------------------------------------------

MAIN_OK = LineFigures("main", 0.92, 0.8, 5.0, 1)
PROVINCE_OK = LineFigures("province", None, 0.8)  # no call offered in the window: not a reason to pause


def test_pacing_pauses_while_a_line_is_under_its_target() -> None:
    under = LineFigures("province", 0.75, 0.8, 3.0, 2)
    decision = pacing([MAIN_OK, under], 0, [], at(23, 10))
    assert decision == Pacing(0, True, "line province: service level 75% under its target 80% (last 15 min)")


def test_pacing_pauses_while_a_caller_waits_too_long() -> None:
    waiting = replace(MAIN_OK, longest_wait_seconds=31.0)
    decision = pacing([waiting, PROVINCE_OK], 0, [], at(23, 10))
    assert (decision.go, decision.paused) == (0, True)
    assert decision.reason == "line main: a caller has waited 31 s (more than 30 s)"
    assert pacing([replace(MAIN_OK, longest_wait_seconds=30.0)], 0, [], at(23, 10)).paused is False


def test_the_rate_is_capped_by_concurrency_and_per_minute() -> None:
    now = at(23, 10)
    assert pacing([MAIN_OK, PROVINCE_OK], 0, [], now) == Pacing(2, False, "inbound lines within their targets")
    assert pacing([MAIN_OK], 1, [], now).go == 1
    assert pacing([MAIN_OK], 2, [], now) == Pacing(0, False, "rate cap: 2 follow-up(s) on the line (at most 2), "
                                                             "0 started in the last minute (at most 2)")
    started = [now - timedelta(seconds=59), now - timedelta(seconds=10)]
    assert pacing([MAIN_OK], 0, started, now).go == 0
    assert pacing([MAIN_OK], 0, [now - timedelta(seconds=60), now - timedelta(seconds=10)], now).go == 1
    assert pacing([MAIN_OK], 0, [], now, PacingRules(max_per_minute=5, max_concurrent=10)).go == 5
    assert pacing([], 0, [], now, DEFAULT_PACING).go == 2


def test_follow_ups_stop_while_a_line_is_under_target_and_resume_after() -> None:
    """A minute-by-minute run of the pacing decision against changing line figures: the
    dialler starts what ``go`` allows and each call lasts 2 minutes."""
    levels = [0.9, 0.9, 0.7, 0.6, 0.75, 0.85, 0.9, 0.9]  # main's service level, minute by minute
    active: list[datetime] = []
    started: list[datetime] = []
    dialled_per_minute = []
    for minute, level in enumerate(levels):
        now = at(23, 10, minute)
        active = [s for s in active if now - s < timedelta(minutes=2)]
        decision = pacing([LineFigures("main", level, 0.8, 4.0, 1), PROVINCE_OK], len(active), started, now)
        new = [now] * decision.go
        active += new
        started += new
        dialled_per_minute.append(decision.go)
    assert dialled_per_minute == [2, 0, 0, 0, 0, 2, 0, 2]


def test_quiet_rules_must_leave_time_to_call() -> None:
    never = replace(DEFAULT_FOLLOW_UP, quiet=(QuietPeriod(time(8, 0), time(20, 0)), QuietPeriod(time(20, 0),
                                                                                              time(8, 0))))
    with pytest.raises(ValueError, match="no time to call"):
        next_allowed(at(23, 10), never, TZ)


def test_follow_up_rules_defaults_are_the_documented_ones() -> None:
    assert DEFAULT_FOLLOW_UP == FollowUpRules(
        after_reply=True, direct_sample_percent=10.0, delay_minutes=60, window_hours=72.0,
        quiet=(QuietPeriod(time(21, 0), time(8, 30)), QuietPeriod(time(12, 0), time(13, 30))), attempts=3,
        retry_after_minutes=120)


def test_a_follow_up_tries_channel_id_names_its_case_and_no_other_call_does() -> None:
    channel = call_id_of("20261130-0042", 2, 1_800_000_000.123)
    assert channel == "fu1800000000123-2-20261130-0042"
    assert case_of_call(channel) == "20261130-0042"
    for other in ("1796055645.0", "hotline-itest-1796055645.0", "fu-1-x", "fu12-x-20261130", "fu1-2-", "fu1-2-a b",
                  "fu1-2-../x", "xfu1-2-C1"):
        assert case_of_call(other) is None, other
