"""Example-based tests of ``acd.route``: one rule per test, whole results asserted."""

from __future__ import annotations

import pytest

from acd import AgentIndex, QueuePolicy, RelaxStep, Tuning, order_calls, queue_key, route
from acd.testing import make_agent, make_call, make_snapshot, pairs

NOW = 1000.0
PROVINCE = QueuePolicy(name="province", priority=2)
BUSINESS = QueuePolicy(
    name="business",
    priority=2,
    line_skills=frozenset({"business_env"}),
    relaxation=(RelaxStep(0, 0), RelaxStep(8, 0, keep_line_skills=False)),
)


class TestHardRequirements:
    def test_language_is_matched(self) -> None:
        calls = [make_call("en1", language="en", arrived_at=NOW - 1)]
        agents = [make_agent("zh_only", idle_since=0), make_agent("bilingual", languages=["zh", "en"], idle_since=500)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"en1": "bilingual"}

    def test_language_is_never_relaxed(self) -> None:
        calls = [make_call("ko1", language="ko", arrived_at=0.0)]
        agents = [make_agent("zh_only")]
        assert route(make_snapshot(calls, agents), now=86_400.0) == ()

    def test_unavailable_agents_are_never_rung(self) -> None:
        calls = [make_call("c1", arrived_at=NOW - 20)]
        assert route(make_snapshot(calls, [make_agent("busy", available=False)]), NOW) == ()

    def test_agent_only_takes_queues_it_serves(self) -> None:
        calls = [make_call("c1", arrived_at=NOW - 20)]
        agents = [make_agent("special", queues=["business"]), make_agent("general", idle_since=900)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "general"}


class TestOverflow:
    """Province seats only until 8 s; from 8 s the main line's agents may take the call."""

    PROV = QueuePolicy(name="province", priority=2,
                       relaxation=(RelaxStep(0, 0), RelaxStep(8, 0, overflow_to=frozenset({"main"}))))
    MAIN = QueuePolicy(name="main")

    def _route(self, waited: float, agents: list) -> dict[str, str]:
        calls = [make_call("p1", queue="province", arrived_at=NOW - waited)]
        return pairs(route(make_snapshot(calls, agents, [self.PROV, self.MAIN]), NOW))

    def test_before_the_overflow_step_only_the_lines_own_seats_take_the_call(self) -> None:
        assert self._route(7.9, [make_agent("m1", queues=["main"])]) == {}

    def test_from_the_overflow_step_the_other_queues_agents_take_it(self) -> None:
        assert self._route(8.0, [make_agent("m1", queues=["main"])]) == {"p1": "m1"}

    def test_overflow_never_reaches_agents_of_queues_not_named(self) -> None:
        assert self._route(60, [make_agent("b1", queues=["business"])]) == {}

    def test_overflow_keeps_the_language_hard(self) -> None:
        assert self._route(60, [make_agent("m_en", languages=["en"], queues=["main"])]) == {}

    def test_the_lines_own_free_seat_comes_before_a_borrowed_one(self) -> None:
        # Both eligible after 8 s; the main agent has idled longer, the province seat still wins.
        agents = [make_agent("p_seat", queues=["province"], idle_since=500), make_agent("m1", queues=["main"], idle_since=100)]
        assert self._route(9, agents) == {"p1": "p_seat"}

    def test_a_queue_cannot_overflow_to_itself(self) -> None:
        with pytest.raises(ValueError, match="overflows to 'main' itself"):
            QueuePolicy(name="main", relaxation=(RelaxStep(0, 0, overflow_to=frozenset({"main"})),))


class TestRelaxation:
    """Default steps: level >= 3 from 0 s, >= 1 from 5 s, anyone from 10 s."""

    @pytest.mark.parametrize(
        ("waited", "expected"),
        [(0.0, {}), (4.999, {}), (5.0, {"c1": "trainee"}), (9.999, {"c1": "trainee"})],
    )
    def test_level_one_agent_from_five_seconds(self, waited: float, expected: dict[str, str]) -> None:
        calls = [make_call("c1", skills=["traffic"], arrived_at=NOW - waited)]
        agents = [make_agent("trainee", skills={"traffic": 1}), make_agent("no_skill")]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == expected

    @pytest.mark.parametrize(("waited", "assigned"), [(9.999, False), (10.0, True)])
    def test_any_agent_from_ten_seconds(self, waited: float, assigned: bool) -> None:
        calls = [make_call("c1", skills=["traffic"], arrived_at=NOW - waited)]
        result = route(make_snapshot(calls, [make_agent("no_skill")]), NOW)
        assert [(a.agent_id, a.relax_step) for a in result] == ([("no_skill", 2)] if assigned else [])

    def test_relax_step_and_wait_are_reported(self) -> None:
        calls = [make_call("c1", skills=["traffic"], arrived_at=NOW - 6.5)]
        (assignment,) = route(make_snapshot(calls, [make_agent("a1", skills={"traffic": 2})]), NOW)
        assert (assignment.relax_step, assignment.waited, assignment.match_level, assignment.queue) == (1, 6.5, 2, "main")

    def test_all_soft_skills_must_reach_the_level(self) -> None:
        calls = [make_call("c1", skills=["traffic", "housing"], arrived_at=NOW)]
        agents = [make_agent("half", skills={"traffic": 5}), make_agent("both", skills={"traffic": 3, "housing": 3}, idle_since=999)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "both"}

    def test_business_line_prefers_special_seats_then_widens_at_eight_seconds(self) -> None:
        agents = [make_agent("general", idle_since=0), make_agent("special", skills={"business_env": 2}, available=False)]
        early = [make_call("b1", queue="business", arrived_at=NOW - 7.999)]
        late = [make_call("b1", queue="business", arrived_at=NOW - 8.0)]
        assert route(make_snapshot(early, agents, [BUSINESS]), NOW) == ()
        assert pairs(route(make_snapshot(late, agents, [BUSINESS]), NOW)) == {"b1": "general"}

    def test_business_line_still_prefers_special_seat_after_widening(self) -> None:
        agents = [make_agent("general", idle_since=0), make_agent("special", skills={"business_env": 2}, idle_since=999)]
        calls = [make_call("b1", queue="business", arrived_at=NOW - 60)]
        assert pairs(route(make_snapshot(calls, agents, [BUSINESS]), NOW)) == {"b1": "special"}


class TestAgentChoice:
    def test_best_skill_level_beats_longer_idle(self) -> None:
        calls = [make_call("c1", skills=["housing"], arrived_at=NOW)]
        agents = [make_agent("expert", skills={"housing": 5}, idle_since=990), make_agent("ok", skills={"housing": 3}, idle_since=0)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "expert"}

    def test_longest_idle_among_equals(self) -> None:
        calls = [make_call("c1", arrived_at=NOW)]
        agents = [make_agent("recent", idle_since=990), make_agent("longest", idle_since=900), make_agent("mid", idle_since=950)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "longest"}

    def test_fewer_busy_seconds_breaks_an_idle_tie(self) -> None:
        calls = [make_call("c1", arrived_at=NOW)]
        agents = [make_agent("busier", idle_since=900, busy_seconds=3600), make_agent("fresher", idle_since=900, busy_seconds=600)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "fresher"}

    def test_occupancy_outweighs_a_small_idle_difference(self) -> None:
        # weight 0.02: one busier hour counts as 72 s less idle, more than the 10 s gap
        calls = [make_call("c1", arrived_at=NOW)]
        agents = [make_agent("busier", idle_since=890, busy_seconds=3600), make_agent("fresher", idle_since=900, busy_seconds=0)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "fresher"}
        no_weight = make_snapshot(calls, agents, tuning=Tuning(occupancy_weight=0.0))
        assert pairs(route(no_weight, NOW)) == {"c1": "busier"}

    def test_preferred_agent_wins_when_eligible(self) -> None:
        calls = [make_call("c1", skills=["housing"], arrived_at=NOW, preferred="ok")]
        agents = [make_agent("expert", skills={"housing": 5}), make_agent("ok", skills={"housing": 3}, idle_since=999)]
        (assignment,) = route(make_snapshot(calls, agents), NOW)
        assert (assignment.agent_id, assignment.reason) == ("ok", "preferred")

    def test_preferred_agent_unavailable_falls_back_to_best(self) -> None:
        calls = [make_call("c1", arrived_at=NOW, preferred="away")]
        agents = [make_agent("away", available=False), make_agent("here")]
        (assignment,) = route(make_snapshot(calls, agents), NOW)
        assert (assignment.agent_id, assignment.reason) == ("here", "best_match")


class TestMultilingualLast:
    """``QueuePolicy.multilingual_last``: among equally fit agents, the fewest languages first."""

    MAIN = QueuePolicy(name="main", multilingual_last=True)
    FAIR = QueuePolicy(name="fair")  # the rule off: pure fairness among equals

    def _route(self, calls: list, agents: list, *queues: QueuePolicy) -> dict[str, str]:
        return pairs(route(make_snapshot(calls, agents, queues or (self.MAIN,)), NOW))

    def test_a_one_language_seat_beats_a_longer_idle_bilingual_one_of_equal_skills(self) -> None:
        calls = [make_call("c1", skills=["housing"], arrived_at=NOW)]
        agents = [make_agent("zh_en", languages=["zh", "en"], skills={"housing": 4}, idle_since=0),
                  make_agent("zh", skills={"housing": 4}, idle_since=990)]
        assert self._route(calls, agents) == {"c1": "zh"}

    def test_the_setting_off_restores_pure_fairness(self) -> None:
        calls = [make_call("c1", queue="fair", skills=["housing"], arrived_at=NOW)]
        agents = [make_agent("zh_en", languages=["zh", "en"], skills={"housing": 4}, idle_since=0),
                  make_agent("zh", skills={"housing": 4}, idle_since=990)]
        assert self._route(calls, agents, self.FAIR) == {"c1": "zh_en"}
        assert QueuePolicy(name="x").multilingual_last is False  # off unless a queue file says so

    def test_the_setting_is_per_queue(self) -> None:
        agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=0), make_agent("zh", idle_since=990)]
        assert self._route([make_call("c1", queue="fair", arrived_at=NOW)], agents, self.MAIN, self.FAIR) == {"c1": "zh_en"}
        assert self._route([make_call("c1", arrived_at=NOW)], agents, self.MAIN, self.FAIR) == {"c1": "zh"}

    def test_a_better_skilled_multilingual_seat_beats_a_less_skilled_one_language_seat(self) -> None:
        calls = [make_call("c1", skills=["housing"], arrived_at=NOW)]
        agents = [make_agent("zh_en", languages=["zh", "en"], skills={"housing": 5}, idle_since=990),
                  make_agent("zh", skills={"housing": 4}, idle_since=0)]
        assert self._route(calls, agents) == {"c1": "zh_en"}

    def test_line_skills_come_before_the_language_count(self) -> None:
        business = QueuePolicy(name="business", priority=2, line_skills=frozenset({"business_env"}),
                               relaxation=(RelaxStep(0, 0), RelaxStep(8, 0, keep_line_skills=False)),
                               multilingual_last=True)
        calls = [make_call("b1", queue="business", arrived_at=NOW - 60)]  # widened: everyone eligible
        agents = [make_agent("special_zh_ja", languages=["zh", "ja"], skills={"business_env": 3}, idle_since=990),
                  make_agent("general_zh", idle_since=0)]
        assert self._route(calls, agents, business) == {"b1": "special_zh_ja"}

    def test_the_lines_own_seats_come_before_the_language_count(self) -> None:
        province = QueuePolicy(name="province", relaxation=(RelaxStep(0, 0), RelaxStep(8, 0, overflow_to=frozenset({"main"}))),
                               multilingual_last=True)
        calls = [make_call("p1", queue="province", arrived_at=NOW - 9)]
        agents = [make_agent("own_zh_en", languages=["zh", "en"], queues=["province"], idle_since=990),
                  make_agent("borrowed_zh", queues=["main"], idle_since=0)]
        assert self._route(calls, agents, province, self.MAIN) == {"p1": "own_zh_en"}

    def test_fewer_languages_first_then_fairness_among_the_same_count(self) -> None:
        calls = [make_call("c1", arrived_at=NOW)]
        agents = [make_agent("zh_ja_ko", languages=["zh", "ja", "ko"], idle_since=0),
                  make_agent("zh_en_late", languages=["zh", "en"], idle_since=990),
                  make_agent("zh_ru_early", languages=["zh", "ru"], idle_since=100)]
        assert self._route(calls, agents) == {"c1": "zh_ru_early"}
        assert self._route(calls, agents[:1] + agents[1:2]) == {"c1": "zh_en_late"}

    def test_the_count_is_of_the_agents_own_languages_whatever_the_call(self) -> None:
        calls = [make_call("e1", language="en", arrived_at=NOW)]
        agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=0), make_agent("en", languages=["en"], idle_since=990)]
        assert self._route(calls, agents) == {"e1": "en"}

    def test_it_never_makes_a_call_wait(self) -> None:
        calls = [make_call("c1", arrived_at=NOW)]
        (assignment,) = route(make_snapshot(calls, [make_agent("zh_en", languages=["zh", "en"])], [self.MAIN]), NOW)
        assert (assignment.agent_id, assignment.reason) == ("zh_en", "best_match")

    def test_the_preferred_agent_still_wins(self) -> None:
        calls = [make_call("c1", arrived_at=NOW, preferred="zh_en")]
        agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=990), make_agent("zh", idle_since=0)]
        assert self._route(calls, agents) == {"c1": "zh_en"}

    def test_the_index_groups_agents_by_language_count(self) -> None:
        agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=0), make_agent("zh", idle_since=10),
                  make_agent("zh_ja_ko", languages=["zh", "ja", "ko"], idle_since=20), make_agent("ko", languages=["ko"], idle_since=30)]
        index = AgentIndex(agents, Tuning())
        names = lambda mask: {index.ids[b] for b in range(len(index)) if mask >> b & 1}  # noqa: E731
        assert names(index.narrow_to_fewest_languages(index.full)) == {"zh", "ko"}
        assert names(index.narrow_to_fewest_languages(index.bits(["zh_en", "zh_ja_ko"]))) == {"zh_en"}
        assert names(index.narrow_to_fewest_languages(index.bits(["zh_ja_ko"]))) == {"zh_ja_ko"}
        assert index.narrow_to_fewest_languages(0) == 0

    def test_the_bilingual_seat_stays_free_for_the_caller_only_it_can_answer(self) -> None:
        """The point of the rule: a Mandarin call now, an English call a moment later."""
        agents = [make_agent("zh_en", languages=["zh", "en"], idle_since=0), make_agent("zh", idle_since=990)]
        for policy, english_answered in ((self.MAIN, True), (QueuePolicy(name="main"), False)):
            (first,) = route(make_snapshot([make_call("zh1", arrived_at=NOW)], agents, [policy]), NOW)
            still_free = [a for a in agents if a.agent_id != first.agent_id]
            later = route(make_snapshot([make_call("en1", language="en", arrived_at=NOW + 1)], still_free, [policy]), NOW + 1)
            assert bool(later) is english_answered


class TestExclusions:
    """Agents who just missed a call are skipped, unless they are the only ones and the call is late."""

    def test_excluded_agent_skipped_when_another_is_eligible(self) -> None:
        calls = [make_call("c1", arrived_at=NOW - 30, excluded=["missed"])]
        agents = [make_agent("missed", idle_since=0), make_agent("other", idle_since=999)]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "other"}

    @pytest.mark.parametrize(("waited", "expected"), [(14.999, ()), (15.0, (("missed", "excluded_override"),))])
    def test_only_eligible_agent_rung_again_from_sl_target(self, waited: float, expected: tuple[tuple[str, str], ...]) -> None:
        calls = [make_call("c1", arrived_at=NOW - waited, excluded=["missed"])]
        agents = [make_agent("missed"), make_agent("english_only", languages=["en"])]
        assert tuple((a.agent_id, a.reason) for a in route(make_snapshot(calls, agents), NOW)) == expected


class TestMatching:
    def test_does_not_give_the_only_agent_of_b_to_a(self) -> None:
        # Greedy would give "bilingual" (best skill) to the Mandarin call and leave the English one waiting.
        calls = [
            make_call("zh_first", skills=["traffic"], arrived_at=NOW - 20),
            make_call("en_second", language="en", arrived_at=NOW - 10),
        ]
        agents = [
            make_agent("bilingual", languages=["zh", "en"], skills={"traffic": 5}),
            make_agent("mandarin", skills={"traffic": 3}),
        ]
        result = route(make_snapshot(calls, agents), NOW)
        assert pairs(result) == {"zh_first": "mandarin", "en_second": "bilingual"}
        assert {a.call_id: a.reason for a in result} == {"zh_first": "rebalanced", "en_second": "best_match"}

    def test_long_rebalancing_chain(self) -> None:
        # c_i speaks l_i; agent a_i speaks l_(i-1) and l_i. Fairness puts a0 last, so the
        # first pass gives c0..c2 the agents a1..a3 and c3 (only a3 speaks l3) needs a
        # four-call shift to reach the free agent a0.
        calls = [make_call(f"c{i}", language=f"l{i}", arrived_at=NOW - 10 + i) for i in range(4)]
        agents = [make_agent(f"a{i}", languages=[f"l{i - 1}", f"l{i}"], idle_since=50 if i == 0 else i) for i in range(4)]
        result = route(make_snapshot(calls, agents), NOW)
        assert pairs(result) == {f"c{i}": f"a{i}" for i in range(4)}
        assert [a.reason for a in result] == ["rebalanced", "rebalanced", "rebalanced", "best_match"]

    def test_agent_seen_by_a_successful_search_can_still_be_moved_later(self) -> None:
        # a1 a2 f1 f2 in fairness order; c3 needs a1|a2 and shifts c1 to f2, seeing a2 on the way;
        # c4 can only use a2, which works only by shifting c2 to f1 afterwards.
        calls = [make_call(f"c{i}", language=f"l{i}", arrived_at=NOW - 10 + i) for i in range(1, 5)]
        agents = [
            make_agent("a1", languages=["l1", "l3"], idle_since=1),
            make_agent("a2", languages=["l2", "l3", "l4"], idle_since=2),
            make_agent("f1", languages=["l2"], idle_since=3),
            make_agent("f2", languages=["l1"], idle_since=4),
        ]
        assert pairs(route(make_snapshot(calls, agents), NOW)) == {"c1": "f2", "c2": "f1", "c3": "a1", "c4": "a2"}

    def test_no_agent_twice_and_each_call_once(self) -> None:
        calls = [make_call(f"c{i}", arrived_at=NOW - i) for i in range(5)]
        agents = [make_agent(f"a{i}", idle_since=i) for i in range(3)]
        result = route(make_snapshot(calls, agents), NOW)
        assert sorted(a.agent_id for a in result) == ["a0", "a1", "a2"]
        assert [a.call_id for a in result] == ["c4", "c3", "c2"]  # longest waiting first


class TestQueueOrder:
    """Order key: effective wait = waited + 5 s x priority, capped at 30 s."""

    def test_province_call_beats_a_slightly_older_main_call(self) -> None:
        calls = [make_call("main", arrived_at=NOW - 9), make_call("prov", queue="province", arrived_at=NOW)]
        assert pairs(route(make_snapshot(calls, [make_agent("a1")], [PROVINCE]), NOW)) == {"prov": "a1"}

    def test_main_call_that_waited_longer_than_the_boost_goes_first(self) -> None:
        calls = [make_call("main", arrived_at=NOW - 11), make_call("prov", queue="province", arrived_at=NOW)]
        assert pairs(route(make_snapshot(calls, [make_agent("a1")], [PROVINCE]), NOW)) == {"main": "a1"}

    def test_repeat_caller_priority_adds_to_the_line_priority(self) -> None:
        calls = [
            make_call("prov", queue="province", arrived_at=NOW - 4),
            make_call("prov_repeat", queue="province", arrived_at=NOW, priority=1),
        ]
        assert pairs(route(make_snapshot(calls, [make_agent("a1")], [PROVINCE]), NOW)) == {"prov_repeat": "a1"}

    def test_priority_is_capped_so_nobody_starves(self) -> None:
        calls = [make_call("old", arrived_at=NOW - 31), make_call("vip", arrived_at=NOW, priority=1_000)]
        assert pairs(route(make_snapshot(calls, [make_agent("a1")]), NOW)) == {"old": "a1"}

    def test_result_is_in_queue_order(self) -> None:
        calls = [make_call("late", arrived_at=NOW - 1), make_call("prov", queue="province", arrived_at=NOW), make_call("early", arrived_at=NOW - 12)]
        snapshot = make_snapshot(calls, [make_agent(f"a{i}") for i in range(3)], [PROVINCE])
        assert [a.call_id for a in route(snapshot, NOW)] == ["early", "prov", "late"]
        assert [c.call_id for c in order_calls(snapshot)] == ["early", "prov", "late"]

    def test_key_ties_broken_by_call_id(self) -> None:
        policy = QueuePolicy(name="main")
        tuning = Tuning()
        assert queue_key(make_call("a", arrived_at=5), policy, tuning) < queue_key(make_call("b", arrived_at=5), policy, tuning)

    def test_rona_call_keeps_its_place(self) -> None:
        # after a missed ring the shell re-queues the call with its original arrived_at
        calls = [make_call("new", arrived_at=NOW - 2), make_call("back_from_rona", arrived_at=NOW - 14, excluded=["a0"])]
        agents = [make_agent("a0"), make_agent("a1")]
        assert [a.call_id for a in route(make_snapshot(calls, agents), NOW)] == ["back_from_rona", "new"]
        assert pairs(route(make_snapshot(calls, agents), NOW))["back_from_rona"] == "a1"


class TestCallbacks:
    def _agents(self, n: int) -> list:
        return [make_agent(f"a{i}", idle_since=i) for i in range(n)]

    def test_callbacks_take_at_most_their_share_while_live_callers_wait(self) -> None:
        # share 0.25 of 4 free agents = 1 callback, even though the callbacks are older
        callbacks = [make_call(f"cb{i}", arrived_at=NOW - 120 - i, callback=True) for i in range(3)]
        live = [make_call(f"live{i}", arrived_at=NOW - 5 - i) for i in range(5)]
        result = route(make_snapshot(callbacks + live, self._agents(4)), NOW)
        assert [a.call_id for a in result] == ["cb2", "live4", "live3", "live2"]

    def test_a_callback_retry_takes_no_agent_before_it_is_due(self) -> None:
        retry = make_call("cb", arrived_at=NOW - 400, callback=True, not_before=NOW + 60)
        assert route(make_snapshot([retry], self._agents(2)), NOW) == ()
        assert route(make_snapshot([retry], self._agents(2)), NOW + 59.9) == ()
        assert pairs(route(make_snapshot([retry], self._agents(2)), NOW + 60)) == {"cb": "a0"}

    def test_a_callback_retry_not_due_leaves_the_agent_to_a_later_live_caller(self) -> None:
        retry = make_call("cb", arrived_at=NOW - 400, callback=True, not_before=NOW + 60)
        live = make_call("live", arrived_at=NOW - 1)
        assert pairs(route(make_snapshot([retry, live], self._agents(1)), NOW)) == {"live": "a0"}

    def test_a_due_callback_retry_keeps_its_place_in_line(self) -> None:
        # The citizen asked 400 s ago; the retry is due: it is older than both live callers
        # and there is no live caller left over, so it is served first.
        retry = make_call("cb", arrived_at=NOW - 400, callback=True, not_before=NOW - 1)
        live = make_call("live", arrived_at=NOW - 1)
        assert [a.call_id for a in route(make_snapshot([retry, live], self._agents(2)), NOW)] == ["cb", "live"]

    def test_callbacks_use_every_agent_when_no_live_caller_waits(self) -> None:
        callbacks = [make_call(f"cb{i}", arrived_at=NOW - 120 - i, callback=True) for i in range(3)]
        assert len(route(make_snapshot(callbacks, self._agents(4)), NOW)) == 3

    def test_callbacks_over_the_cap_get_agents_no_live_call_can_use(self) -> None:
        callbacks = [make_call(f"cb{i}", arrived_at=NOW - 120 - i, callback=True) for i in range(2)]
        live = [make_call("live_en", language="en", arrived_at=NOW - 5)]
        result = route(make_snapshot(callbacks + live, self._agents(2)), NOW)
        assert sorted(a.call_id for a in result) == ["cb0", "cb1"]

    def test_live_callers_of_other_queues_do_not_cap_callbacks(self) -> None:
        callbacks = [make_call(f"cb{i}", arrived_at=NOW - 120 - i, callback=True) for i in range(2)]
        live = [make_call("prov", queue="province", arrived_at=NOW - 100)]
        agents = [make_agent("a0", queues=["main"]), make_agent("a1", queues=["main"]), make_agent("p", queues=["province"])]
        result = route(make_snapshot(callbacks + live, agents, [PROVINCE]), NOW)
        assert pairs(result) == {"cb0": "a1", "cb1": "a0", "prov": "p"}

    def test_zero_share_never_delays_a_live_call(self) -> None:
        policy = QueuePolicy(name="main", callback_max_share=0.0)
        calls = [make_call("cb", arrived_at=NOW - 300, callback=True), make_call("live", arrived_at=NOW)]
        assert pairs(route(make_snapshot(calls, [make_agent("a1")], [policy]), NOW)) == {"live": "a1"}


class TestDeterminism:
    def test_same_input_same_output_whatever_the_order(self) -> None:
        calls = [make_call(f"c{i}", arrived_at=NOW - i % 3, skills=["traffic"] if i % 2 else []) for i in range(8)]
        agents = [make_agent(f"a{i}", skills={"traffic": 1 + i % 5}, idle_since=i % 4) for i in range(6)]
        first = route(make_snapshot(calls, agents), NOW)
        again = route(make_snapshot(list(reversed(calls)), list(reversed(agents))), NOW)
        assert first == again
        assert len(first) == 6

    def test_empty_inputs(self) -> None:
        assert route(make_snapshot([], [make_agent("a1")]), NOW) == ()
        assert route(make_snapshot([make_call("c1")], []), NOW) == ()
