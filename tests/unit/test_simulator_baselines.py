"""simulator.baselines: the other routing designs of the study, rule by rule."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from acd import QueuePolicy, RelaxStep, Snapshot, route
from acd.testing import make_agent, make_call, make_snapshot, pairs
from queues.config import default_queues_path, load_queues
from simulator.baselines import AppQueueLike, Pooled, PenaltyRule, Strict
from simulator.engine import Simulation
from simulator.study import scenario as study_scenario

NOW = 1000.0
QUEUES = load_queues(default_queues_path())  # main, province (priority 2), business (line skill, priority 2)


def snap(calls: list, agents: list) -> Snapshot:
    return make_snapshot(calls, agents, QUEUES.values())


# -- pooled ---------------------------------------------------------------------------------

def test_pooled_ignores_language_and_skills_it_is_only_a_bound() -> None:
    calls = [make_call("ko1", language="ko", skills=["housing"], arrived_at=NOW - 1)]
    agents = [make_agent("zh_only", skills={"traffic": 1})]
    assert route(snap(calls, agents), NOW) == ()
    assert pairs(Pooled()(snap(calls, agents), NOW)) == {"ko1": "zh_only"}


def test_pooled_keeps_line_priority_and_takes_seat_lines_away() -> None:
    calls = [make_call("m1", arrived_at=NOW - 6), make_call("b1", queue="business", arrived_at=NOW - 1)]
    agents = [make_agent("special", queues=["business"], skills={"business_env": 5})]
    assert pairs(Pooled()(snap(calls, agents), NOW)) == {"b1": "special"}  # 10 s head start beats 5 s
    assert pairs(Pooled()(snap(calls[:1], agents), NOW)) == {"m1": "special"}  # a pooled seat takes anything


# -- strict ---------------------------------------------------------------------------------

def test_strict_never_relaxes_a_mandarin_calls_domain() -> None:
    calls = [make_call("c1", skills=["housing"], arrived_at=NOW - 600)]
    untrained = [make_agent("a1", skills={"traffic": 5})]
    assert pairs(route(snap(calls, untrained), NOW)) == {"c1": "a1"}  # ours relaxes after 10 s
    assert Strict()(snap(calls, untrained), NOW) == ()
    assert pairs(Strict()(snap(calls, untrained + [make_agent("a2", skills={"housing": 1})]), NOW)) == {"c1": "a2"}


def test_strict_queues_foreign_calls_by_language_and_business_calls_to_their_seats() -> None:
    foreign = [make_call("en1", language="en", skills=["housing"], arrived_at=NOW - 60)]
    speaker = [make_agent("en_agent", languages=["zh", "en"], skills={"traffic": 3})]
    assert pairs(Strict()(snap(foreign, speaker), NOW)) == {"en1": "en_agent"}
    business = [make_call("b1", queue="business", arrived_at=NOW - 60)]
    general = [make_agent("general", skills={"traffic": 5})]
    assert Strict()(snap(business, general), NOW) == ()
    assert pairs(route(snap(business, general), NOW)) == {"b1": "general"}  # ours widens after 8 s


# -- app_queue-like -------------------------------------------------------------------------

def test_penaltychange_lets_trained_then_untrained_members_in_with_the_wait() -> None:
    router = AppQueueLike()
    agents = [make_agent("trained", skills={"housing": 2}, idle_since=0.0),
              make_agent("untrained", skills={"traffic": 5}, idle_since=0.0)]
    assert router(snap([make_call("c", skills=["housing"], arrived_at=NOW - 1)], agents[1:]), NOW) == ()
    got = router(snap([make_call("c", skills=["housing"], arrived_at=NOW - 6)], agents), NOW)
    assert pairs(got) == {"c": "trained"} and got[0].relax_step == 1
    assert router(snap([make_call("c", skills=["housing"], arrived_at=NOW - 9)], agents[1:]), NOW) == ()
    assert pairs(router(snap([make_call("c", skills=["housing"], arrived_at=NOW - 10)], agents[1:]), NOW)) == \
        {"c": "untrained"}


def test_lowest_penalty_first_then_longest_idle() -> None:
    agents = [make_agent("skilled_recent", skills={"housing": 4}, idle_since=900.0),
              make_agent("skilled_long", skills={"housing": 3}, idle_since=100.0),
              make_agent("trained_longest", skills={"housing": 1}, idle_since=0.0)]
    call = make_call("c", skills=["housing"], arrived_at=NOW - 12)
    assert pairs(AppQueueLike()(snap([call], agents), NOW)) == {"c": "skilled_long"}


def test_a_bilingual_seat_is_kept_for_its_language_until_the_penalty_rises() -> None:
    bilingual = [make_agent("zh_en", languages=["zh", "en"])]
    assert AppQueueLike()(snap([make_call("c", arrived_at=NOW - 2)], bilingual), NOW) == ()
    assert pairs(AppQueueLike()(snap([make_call("c", arrived_at=NOW - 5)], bilingual), NOW)) == {"c": "zh_en"}
    assert pairs(AppQueueLike()(snap([make_call("e", language="en", arrived_at=NOW)], bilingual), NOW)) == \
        {"e": "zh_en"}


def test_heavier_queues_first_and_never_an_agent_twice() -> None:
    calls = [make_call("m1", arrived_at=NOW - 30), make_call("p1", queue="province", arrived_at=NOW - 1),
             make_call("m2", arrived_at=NOW - 20)]
    agents = [make_agent("a1"), make_agent("a2", idle_since=10.0)]
    got = pairs(AppQueueLike()(snap(calls, agents), NOW))
    assert got == {"p1": "a1", "m1": "a2"}


def test_a_missed_member_is_not_rung_again_and_a_retry_waits() -> None:
    agents = [make_agent("a1")]
    assert AppQueueLike()(snap([make_call("c", arrived_at=NOW - 100, excluded=["a1"])], agents), NOW) == ()
    later = make_call("cb", arrived_at=NOW - 100, callback=True, not_before=NOW + 5)
    assert AppQueueLike()(snap([later], agents), NOW) == ()


def test_with_members_only_in_their_skills_an_untrained_agent_never_takes_the_domain() -> None:
    agents = [make_agent("untrained", skills={"traffic": 5})]
    call = make_call("c", skills=["housing"], arrived_at=NOW - 600)
    assert AppQueueLike(everyone=False)(snap([call], agents), NOW) == ()
    assert pairs(AppQueueLike()(snap([call], agents), NOW)) == {"c": "untrained"}


def test_rules_are_data() -> None:
    router = AppQueueLike(rules=(PenaltyRule(0.0, 0), PenaltyRule(2.0, 5)))
    assert router.max_penalty(1.9) == (0, 0) and router.max_penalty(2.0) == (1, 5)


@pytest.mark.parametrize("router", [Strict(), AppQueueLike(), AppQueueLike(everyone=False)])
def test_random_snapshots_keep_the_hard_rules(router: object) -> None:
    rng = random.Random(5)
    languages = ["zh", "zh", "zh", "en", "ja"]
    domains = ["traffic", "housing", "education"]
    for _ in range(200):
        agents = [make_agent(f"a{i}", languages={"zh", rng.choice(languages)},
                             skills={rng.choice(domains): rng.randint(1, 5)}, idle_since=rng.uniform(0, 900),
                             available=rng.random() < 0.7) for i in range(12)]
        calls = [make_call(f"c{i}", queue=rng.choice(["main", "main", "province", "business"]),
                           language=rng.choice(languages), skills=rng.sample(domains, rng.randint(0, 1)),
                           arrived_at=NOW - rng.uniform(0, 40)) for i in range(8)]
        calls = [c if c.queue == "main" else replace(c, language="zh") for c in calls]  # the lines' IVR
        result = router(snap(calls, agents), NOW)  # type: ignore[operator]
        by_id = {a.agent_id: a for a in agents}
        calls_by_id = {c.call_id: c for c in calls}
        assert len({a.agent_id for a in result}) == len(result) == len({a.call_id for a in result})
        for a in result:
            assert by_id[a.agent_id].available
            assert calls_by_id[a.call_id].language in by_id[a.agent_id].languages


def test_the_app_queue_router_gives_the_same_day_with_or_without_pruning() -> None:
    """Its choice among alike agents follows the fairness order, so the engine may give it
    only the agents a step can use (simulator/available.py)."""
    sc = study_scenario(per_hour=400, hours=1.5, agents=40)
    days = []
    for prune in (True, False):
        simulation = Simulation(sc, seed=3, router=AppQueueLike(), route_every=1.0, prune=prune, keep_states=False)
        simulation.run()
        days.append(simulation.records)
    assert days[0] == days[1] and len(days[0]) > 400


def test_the_study_scenario_has_the_12345_mix() -> None:
    sc = study_scenario(per_hour=1800, hours=1.0, agents=200)
    assert sc.agents == 200
    shares = dict(sc.mix.languages)
    assert shares["zh"] == pytest.approx(0.92) and len(shares) == 7
    assert dict(sc.mix.lines)["business"] > 0 and sc.queues["business"].priority > 0
    assert all(g.skills_per_agent == 2 for g in sc.groups)
    assert isinstance(sc.queues["main"].relaxation[0], RelaxStep) and isinstance(sc.queues["main"], QueuePolicy)


def test_the_deployed_rule_keeps_multilingual_seats_and_before_the_rule_did_not() -> None:
    from simulator.baselines import BeforeTheRule

    assert all(policy.multilingual_last for policy in QUEUES.values())  # shipped: on for every line
    agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=0.0), make_agent("zh", idle_since=500.0)]
    mandarin = [make_call("c", arrived_at=NOW - 1)]
    assert pairs(route(snap(mandarin, agents), NOW)) == {"c": "zh"}  # ours: the one-language seat
    assert pairs(BeforeTheRule()(snap(mandarin, agents), NOW)) == {"c": "zh_en"}  # before: the longest idle
    assert pairs(route(snap(mandarin, agents[:1]), NOW)) == {"c": "zh_en"}  # still taken if alone
    skilled = [make_agent("zh_en", languages=["zh", "en"], skills={"housing": 5}), make_agent("zh")]
    housing = [make_call("h", skills=["housing"], arrived_at=NOW - 1)]
    assert pairs(route(snap(housing, skilled), NOW)) == {"h": "zh_en"}  # skill first
    assert QUEUES["main"].multilingual_last  # BeforeTheRule changed copies, not the policies given


def test_the_reservation_proposal_keeps_multilingual_seats_from_young_mandarin_calls() -> None:
    from simulator.baselines import ReserveMultilingual

    bilingual = [make_agent("zh_en", languages=["zh", "en"])]
    assert ReserveMultilingual()(snap([make_call("c", arrived_at=NOW - 4)], bilingual), NOW) == ()
    both = [make_agent("zh_en", languages=["zh", "en"], idle_since=0.0), make_agent("zh", idle_since=500.0)]
    no_rule = make_snapshot([make_call("c", arrived_at=NOW - 6)], both, [QueuePolicy(name="main")])
    assert pairs(ReserveMultilingual()(no_rule, NOW)) == {"c": "zh"}  # the deployed rule, whatever the queue says
    assert pairs(ReserveMultilingual()(snap([make_call("c", arrived_at=NOW - 5)], bilingual), NOW)) == {"c": "zh_en"}
    assert pairs(ReserveMultilingual()(snap([make_call("e", language="en", arrived_at=NOW)], bilingual), NOW)) == \
        {"e": "zh_en"}
