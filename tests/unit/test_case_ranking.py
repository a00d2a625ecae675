"""Agency evaluation and ranking (cases/ranking.py): what counts in a period, on-time
acceptance and reply (late in any round, or overdue and still waiting; pending ones left
out), completion, satisfaction, reopenings, the weighted score with a missing rate's weight
spread over the others, the minimum of cases, competition ranks, and the CSV / JSON exports
(an empty cell is "no value", never 0)."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from types import MappingProxyType

import pytest

from cases.lifecycle import (Accept, Case, Event, FollowUpDone, FollowUpUnreachable, Reply, Transfer, apply,
                             open_case)
from cases.ranking import (COLUMNS, DEFAULT_RANKING, AgencyScore, RankingRules, accept_status, completed, rank,
                           reply_status, score, to_csv, to_dict, to_json)
from workorders import FOLDER
from workorders.calendar import load_calendar

CAL = load_calendar(FOLDER / "holidays.yaml")
TZ = CAL.tz
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)       # transfers at 9:00: accept by Wed 9:00, reply by Mon 9:00
NOV, DEC = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
LATER = datetime(2027, 1, 10, tzinfo=TZ)               # long after every deadline


def case(n: int, agency: str, events: list[tuple[Event, float]], day: datetime = MONDAY) -> Case:
    """A case transferred to ``agency`` at ``day``, then ``events`` each ``hours`` after it."""
    c = apply(open_case(f"20261102-{n:04d}", f"c{n}", day, CAL), Transfer(agency), day, CAL)
    for event, hours in events:
        c = apply(c, event, day + timedelta(hours=hours), CAL)
    return c


def good(n: int, agency: str = "water") -> Case:
    return case(n, agency, [(Accept(), 1), (Reply("done"), 24), (FollowUpDone(True, True), 30)])


# -- per case -------------------------------------------------------------------------------

def test_the_status_of_acceptance_and_reply() -> None:
    waiting = case(1, "water", [])
    assert (accept_status(waiting, MONDAY), reply_status(waiting, MONDAY)) == ("pending", "pending")
    accept_due = waiting.accept_due
    assert accept_due is not None
    assert accept_status(waiting, accept_due) == "late"   # still waiting past the due time
    late = case(2, "water", [(Accept(), 48)])               # exactly at the due time
    assert (accept_status(late, MONDAY), late.accepted_late) == ("late", True)
    replied = good(3)
    assert (accept_status(replied, LATER), reply_status(replied, LATER), completed(replied)) == (
        "on_time", "on_time", True)
    unhappy = case(4, "water", [(Accept(), 1), (Reply("done"), 24)])
    reopened = apply(unhappy, FollowUpDone(False), MONDAY + timedelta(hours=40), CAL)  # reopened at once
    assert (reopened.state.value, completed(reopened), accept_status(reopened, MONDAY + timedelta(hours=41))) == (
        "reopened", False, "on_time")  # the first acceptance stands until the new deadline passes
    assert accept_status(reopened, LATER) == "late"  # not accepted again in time


# -- per agency -------------------------------------------------------------------------------

def test_the_figures_of_each_agency_and_the_ranking() -> None:
    cases = [
        good(1), good(2), good(3),                                                      # water: perfect
        good(4, "heating"), case(5, "heating", [(Accept(), 60), (Reply("late"), 200)]),  # heating: one late twice
        case(6, "heating", [(Accept(), 1), (Reply("x"), 2), (FollowUpDone(False), 3)]),  # unhappy, reopened
        case(7, "gas", [(Accept(), 1)]),                                                # gas: too few
        case(8, "water", [], day=DEC + timedelta(hours=9)),                               # outside the period
    ]
    ranking = rank(cases, NOV, DEC, LATER)
    assert [a.agency_id for a in ranking] == ["water", "heating", "gas"]
    water, heating, gas = ranking
    assert water == AgencyScore("water", received=3, accepted_on_time=3, replied_on_time=3, completed=3,
                                follow_ups=3, satisfied=3, score=100.0, rank=1)
    # case 6 was reopened at hour 3 and never accepted again: by LATER both its new deadlines
    # have passed, so it counts late for the acceptance and the reply, and not completed
    assert heating == AgencyScore("heating", received=3, accepted_on_time=1, accepted_late=2, replied_on_time=1,
                                  replied_late=2, completed=2, follow_ups=2, satisfied=1, reopened=1,
                                  score=heating.score, rank=2)
    rates = heating.rates
    assert rates == pytest.approx({"accepted_on_time": 1 / 3, "replied_on_time": 1 / 3, "completion": 2 / 3,
                                   "satisfaction": 0.5, "not_reopened": 2 / 3})
    expected = 100 * (0.15 * 1 / 3 + 0.25 * 1 / 3 + 0.25 * 2 / 3 + 0.25 * 0.5 + 0.10 * 2 / 3)
    assert heating.score == round(expected, 2)
    assert (gas.received, gas.score, gas.rank) == (1, None, None)


def test_a_missing_rate_spreads_its_weight_over_the_others() -> None:
    agency = AgencyScore("water", received=4, accepted_on_time=4, replied_on_time=2, replied_late=2, completed=4)
    assert agency.rates["satisfaction"] is None  # no follow-up answered yet
    weights = DEFAULT_RANKING.weights
    known = 0.15 * 1 + 0.25 * 0.5 + 0.25 * 1 + 0.10 * 1
    assert score(agency, weights) == round(100 * known / 0.75, 2)
    assert score(AgencyScore("empty"), weights) is None


def test_unreachable_citizens_are_no_answer() -> None:
    unreachable = case(1, "water", [(Accept(), 1), (Reply("x"), 2), (FollowUpUnreachable(), 3)])
    [water] = rank([unreachable], NOV, DEC, LATER, RankingRules(min_cases=1))
    assert (water.follow_ups, water.satisfied, water.rates["satisfaction"], water.completed) == (0, 0, None, 1)


def test_pending_cases_count_as_received_but_not_yet_on_time_or_late() -> None:
    fresh = case(1, "water", [])
    [water] = rank([fresh], NOV, DEC, MONDAY + timedelta(hours=1), RankingRules(min_cases=1))
    assert (water.received, water.accepted_on_time, water.accepted_late, water.completed) == (1, 0, 0, 0)
    assert water.rates["accepted_on_time"] is None and water.rates["replied_on_time"] is None
    assert water.score == round(100 * (0.25 * 0 + 0.10 * 1) / 0.35, 2)  # completion 0, not reopened 1


def test_ties_share_a_rank_and_every_agency_asked_for_is_listed() -> None:
    cases = [good(1, "water"), good(2, "gas"), case(3, "heating", [(Accept(), 60)])]
    ranking = rank(cases, NOV, DEC, LATER, RankingRules(min_cases=1), agencies=["power", "water"])
    assert [(a.agency_id, a.rank) for a in ranking] == [("gas", 1), ("water", 1), ("heating", 3), ("power", None)]
    assert ranking[-1] == AgencyScore("power")


def test_the_weights_come_from_the_rules() -> None:
    only_satisfaction = RankingRules(MappingProxyType({"satisfaction": 1.0}), min_cases=1)
    unhappy = case(1, "water", [(Accept(), 1), (Reply("x"), 2), (FollowUpDone(False), 3)])
    [water] = rank([unhappy], NOV, DEC, LATER, only_satisfaction)
    assert water.score == 0.0


# -- exports --------------------------------------------------------------------------------------

def names(agency_id: str) -> tuple[str, str]:
    return {"water": ("市供水集团", "Water Group")}.get(agency_id, (agency_id, agency_id))


def test_csv_has_one_line_per_agency_and_empty_cells_for_missing_values() -> None:
    ranking = rank([good(1), good(2), good(3), case(4, "gas", [])], NOV, DEC, LATER)
    rows = list(csv.DictReader(io.StringIO(to_csv(ranking, names))))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0] == {**rows[0], "rank": "1", "agency_id": "water", "name_zh": "市供水集团", "received": "3",
                       "score": "100.0", "completion_rate": "1.0", "reopen_rate": "0.0"}
    assert rows[1]["agency_id"] == "gas" and rows[1]["rank"] == "" and rows[1]["satisfaction_rate"] == ""
    assert rows[1]["accepted_late"] == "1"  # waiting past its due time at LATER


def test_json_carries_the_period_and_the_weights() -> None:
    ranking = rank([good(1)], NOV, DEC, LATER, RankingRules(min_cases=1))
    data = json.loads(to_json(ranking, NOV, DEC, LATER, DEFAULT_RANKING, names))
    assert data == to_dict(ranking, NOV, DEC, LATER, DEFAULT_RANKING, names)
    assert (data["start"], data["end"], data["weights"]["replied_on_time"]) == (
        "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00", 0.25)
    assert data["agencies"][0]["name_en"] == "Water Group" and data["agencies"][0]["score"] == 100.0


@pytest.mark.parametrize("weights", [DEFAULT_RANKING.weights])
def test_the_default_weights_add_up_to_one(weights: dict[str, float]) -> None:
    assert abs(sum(weights.values()) - 1.0) < 1e-9
