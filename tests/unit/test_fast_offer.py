"""OfferBook: the leader's decision for a new call from its mirror, no I/O; and
RouterService.fast_offer, which asks it only while this controller leads.

A fast offer must be exactly the decision a full routing step would take for the new
call standing alone in line: whether it is worked out on the spot or looked up among the
answers prepared after the last change of the mirror (OfferBook.prepare).
"""
from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from acd import QueuePolicy, RelaxStep, Snapshot, route
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall
from calls.snapshot import build_snapshot, to_acd_call
from hotline.config import ConfigHolder, HotlineConfig
from hotline.routing.offer_book import OfferBook
from hotline.routing.router import LEASE_FRESH, RouterService
from hotline.tasks import TaskOwner

NOW = 1000.0
QUEUES = {  # main takes multilingual seats last among equals (as shipped); province does not
    "main": QueuePolicy("main", multilingual_last=True),
    "province": QueuePolicy("province", priority=2, relaxation=(RelaxStep(0, 3), RelaxStep(4, 0))),
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def config(roster: dict[str, RosterAgent]) -> ConfigHolder:
    return ConfigHolder(HotlineConfig(roster, QUEUES, {}, None))  # type: ignore[arg-type]


def leader(records: list[AgentRecord], clock: Clock, roster: dict[str, RosterAgent] | None = None) -> "Book":
    """A book that has just observed a step that found nobody waiting."""
    if roster is None:
        roster = {r.agent_id: RosterAgent(r.agent_id, r.agent_id, frozenset({"zh"}), ()) for r in records}
    book = Book(config(roster), clock)
    assert book.observe([], records, clock.now)
    return book


class Book(OfferBook):
    """The book with the clock applied, as the router drives it."""

    def __init__(self, holder: ConfigHolder, clock: Clock) -> None:
        super().__init__(holder)
        self.clock = clock

    def fast_offer(self, new: QueuedCall):  # type: ignore[no-untyped-def]
        return self.decide(new, self.clock.now)

    def take(self, new: QueuedCall, agent_id: str) -> None:
        self.taken(new, agent_id, self.clock.now)

    def prepare_now(self) -> None:
        self.prepare(self.clock.now)


def call(call_id: str, queue: str = "main", language: str = "zh", skills: frozenset[str] = frozenset()) -> QueuedCall:
    return QueuedCall(call_id, "me", queue, NOW, language=language, skills=skills)


def available(*agents: tuple[str, float]) -> list[AgentRecord]:
    return [AgentRecord(a, AgentState.AVAILABLE, since=NOW - idle) for a, idle in agents]


def test_an_agent_whose_wrap_up_ends_becomes_eligible_at_that_moment() -> None:
    clock = Clock()
    router = leader([AgentRecord("1001", AgentState.WRAP_UP, since=NOW - 10, wrap_until=NOW + 5)], clock)
    assert router.fast_offer(call("c1")) is None
    clock.now = NOW + 4.999
    assert router.fast_offer(call("c1")) is None
    clock.now = NOW + 5
    assert router.fast_offer(call("c1")).agent_id == "1001"


def test_a_promised_agent_is_never_offered_twice_and_is_taken_once_the_dial_is_out() -> None:
    clock = Clock()
    router = leader(available(("1001", 30), ("1002", 20)), clock)
    first, second = router.fast_offer(call("c1")), router.fast_offer(call("c2"))
    assert (first.agent_id, second.agent_id) == ("1001", "1002")  # 1001 promised, not yet taken
    assert router.fast_offer(call("c3")) is None
    assert all(r.state is AgentState.AVAILABLE for r in router.mirror[1])  # nothing taken yet
    router.take(call("c1"), "1001")
    router.take(call("c2"), "1002")
    assert {r.agent_id: (r.state, r.call_id) for r in router.mirror[1]} == {
        "1001": (AgentState.RESERVED, "c1"), "1002": (AgentState.RESERVED, "c2")}
    assert router.promised == set()


def test_a_fast_offer_takes_multilingual_seats_last_where_the_line_says_so() -> None:
    clock = Clock()
    records = available(("1001", 90), ("1002", 10), ("1003", 5))  # the bilingual 1001 has idled longest
    roster = {"1001": RosterAgent("1001", "1001", frozenset({"zh", "en"}), ()),
              "1002": RosterAgent("1002", "1002", frozenset({"zh"}), ()),
              "1003": RosterAgent("1003", "1003", frozenset({"zh"}), ())}
    router = leader(records, clock, roster)
    assert router.fast_offer(call("p1", queue="province")).agent_id == "1001"  # province: the longest idle
    router = leader(records, clock, roster)
    assert router.fast_offer(call("c1")).agent_id == "1002"  # main: a one-language seat, worked out
    router.take(call("c1"), "1002")
    router.prepare_now()
    router._route_alone = None  # type: ignore[assignment,method-assign]  # a call to it now fails the test
    assert router.fast_offer(call("c2")).agent_id == "1003"  # looked up: still not the bilingual seat


class LeaseOnly:
    """The one live-state call the lease needs."""

    def __init__(self) -> None:
        self.granted = True

    async def try_lead(self, controller_id: str, ttl_ms: int) -> bool:
        return self.granted


async def test_only_a_fresh_leader_offers_fast() -> None:
    clock = Clock()
    records = available(("1001", 30))
    roster = {"1001": RosterAgent("1001", "1001", frozenset({"zh"}), ())}
    live = LeaseOnly()
    router = RouterService("me", clock, live, config(roster), None, TaskOwner("t"), lambda c, a, r: None)  # type: ignore[arg-type]
    router.book.observe([], records, clock.now)
    assert router.fast_offer(call("c1")) is None  # not (yet) the leader
    assert await router.lead()
    assert router.fast_offer(call("c1")).agent_id == "1001"
    clock.now = NOW + LEASE_FRESH  # the lease was renewed too long ago: maybe no longer ours
    assert router.fast_offer(call("c2")) is None
    live.granted = False
    clock.now = NOW + 10
    assert not await router.lead()
    assert router.fast_offer(call("c2")) is None
    await asyncio.sleep(0)


def test_a_prepared_answer_is_looked_up_not_worked_out() -> None:
    clock = Clock()
    router = leader(available(("1001", 30), ("1002", 20), ("1003", 10)), clock)
    assert router.fast_offer(call("c1")).agent_id == "1001"  # worked out; the shape is remembered
    router.take(call("c1"), "1001")
    router.prepare_now()
    router._route_alone = None  # type: ignore[assignment,method-assign]  # a call to it now fails the test
    offer = router.fast_offer(call("c2"))
    assert (offer.call_id, offer.agent_id) == ("c2", "1002")


def test_a_prepared_answer_naming_a_promised_agent_is_not_used() -> None:
    clock = Clock()
    router = leader(available(("1001", 30), ("1002", 20)), clock)
    router.fast_offer(call("c1"))
    router.take(call("c1"), "1001")
    router.prepare_now()  # the answer for the next "main" call: 1002
    assert router.fast_offer(call("p1", queue="province")).agent_id == "1002"  # another shape promises 1002
    assert router.fast_offer(call("c2")) is None  # the prepared 1002 is promised; nobody else is free


def test_prepared_answers_go_stale_with_the_mirror() -> None:
    clock = Clock()
    records = available(("1001", 30)) + [AgentRecord("1002", AgentState.WRAP_UP, since=NOW - 60, wrap_until=NOW + 5)]
    router = leader(records, clock)
    router.fast_offer(call("c1"))
    router.take(call("c1"), "1001")
    router.prepare_now()
    assert router.fast_offer(call("c2")) is None  # prepared: nobody free
    clock.now = NOW + 5  # 1002's wrap-up ends: the agents are rebuilt
    assert router.fast_offer(call("c2")).agent_id == "1002"
    router.forget()
    assert router.fast_offer(call("c3")) is None  # no mirror, no fast offer


# -- the prepared answer is route()'s answer -----------------------------------------------
LANGS = ("zh", "en")
SKILLS = ("pension", "housing")
AGENT = st.tuples(
    st.sampled_from((AgentState.AVAILABLE, AgentState.AVAILABLE, AgentState.WRAP_UP, AgentState.PAUSED)),
    st.sampled_from((5.0, 20.0, 40.0, 90.0)),          # idle for
    st.sets(st.sampled_from(LANGS), min_size=1),
    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2),
    st.sets(st.sampled_from(tuple(QUEUES)), max_size=1),
)
SHAPE = st.tuples(st.sampled_from(tuple(QUEUES)), st.sampled_from(LANGS), st.sets(st.sampled_from(SKILLS), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.lists(AGENT, min_size=1, max_size=8), st.lists(SHAPE, min_size=1, max_size=6))
def test_every_fast_offer_is_what_a_full_step_would_decide(agents: list, shapes: list) -> None:
    clock = Clock()
    records, roster = [], {}
    for i, (state, idle, langs, levels, queues) in enumerate(agents):
        agent_id = f"10{i:02d}"
        wrap = NOW + 3 if state is AgentState.WRAP_UP else None
        records.append(AgentRecord(agent_id, state, since=NOW - idle, wrap_until=wrap))
        roster[agent_id] = RosterAgent(agent_id, agent_id, frozenset(langs), tuple(sorted(levels.items())),
                                       queues=frozenset(queues))
    router = leader(records, clock, roster)
    for n, (queue, language, skills) in enumerate(shapes + shapes):  # each shape twice: once prepared
        new = call(f"c{n}", queue, language, frozenset(skills))
        mirror = router.mirror[1]
        expected = route(Snapshot(calls=(to_acd_call(new),), queues=QUEUES,
                                  agents=build_snapshot([], mirror, roster, QUEUES, clock.now).agents), clock.now)
        offer = router.fast_offer(new)
        assert (offer.agent_id if offer else None) == (expected[0].agent_id if expected else None)
        if offer is not None:
            assert offer.call_id == new.call_id and offer.relax_step == 0
            router.take(new, offer.agent_id)
        router.prepare_now()
