"""Value types of the routing core: validation and the relaxation schedule."""

from __future__ import annotations

import pytest

from acd import (
    DEFAULT_RELAXATION,
    Agent,
    QueuePolicy,
    RelaxStep,
    Snapshot,
    SnapshotError,
    Tuning,
    relax_step,
)
from acd.testing import make_agent, make_call, make_snapshot


class TestRelaxStep:
    def test_rejects_level_above_five(self) -> None:
        with pytest.raises(ValueError, match="min_level"):
            RelaxStep(after=0, min_level=6)

    def test_rejects_negative_after(self) -> None:
        with pytest.raises(ValueError, match="after"):
            RelaxStep(after=-1, min_level=1)

    def test_rejects_infinite_after(self) -> None:
        with pytest.raises(ValueError, match="after"):
            RelaxStep(after=float("inf"), min_level=1)


class TestQueuePolicy:
    def test_defaults_meet_the_15_second_target(self) -> None:
        policy = QueuePolicy(name="main")
        assert policy.sl_target == 15
        assert policy.ring_timeout < policy.sl_target
        assert policy.max_misses_before_pause == 3
        assert policy.relaxation[-1].min_level == 0
        assert policy.relaxation[-1].after < policy.sl_target

    def test_default_relaxation_is_3_then_1_then_any(self) -> None:
        assert [(s.after, s.min_level) for s in DEFAULT_RELAXATION] == [(0, 3), (5, 1), (10, 0)]

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"relaxation": ()}, "non-empty"),
            ({"relaxation": (RelaxStep(1, 3),)}, "after=0"),
            ({"relaxation": (RelaxStep(0, 3), RelaxStep(5, 1), RelaxStep(5, 0))}, "strictly grow"),
            ({"max_misses_before_pause": 0}, "max_misses_before_pause"),
            ({"callback_max_share": 1.5}, "callback_max_share"),
            ({"callback_attempts": 0}, "callback_attempts"),
            ({"callback_attempts": 2.5}, "callback_attempts"),
            ({"callback_retry_after": -1}, "callback_retry_after"),
            ({"callback_ring_timeout": 0}, "callback_ring_timeout"),
            ({"sl_target": 0}, "sl_target"),
            ({"ring_timeout": 0}, "ring_timeout"),
            ({"wrapup_seconds": -1}, "wrapup_seconds"),
            ({"priority": 1.5}, "priority"),
            ({"name": ""}, "name"),
            ({"multilingual_last": "yes"}, "multilingual_last"),
        ],
    )
    def test_rejects_bad_values(self, changes: dict[str, object], message: str) -> None:
        fields: dict[str, object] = {"name": "main", **changes}
        with pytest.raises(ValueError, match=message):
            QueuePolicy(**fields)  # type: ignore[arg-type]

    def test_callback_retries_are_spaced_and_bounded(self) -> None:
        policy = QueuePolicy(name="main", callback_attempts=3, callback_retry_after=300)
        assert policy.callback_retry_at(1, now=1000.0) == 1300.0
        assert policy.callback_retry_at(2, now=2000.0) == 2300.0
        assert policy.callback_retry_at(3, now=3000.0) is None  # three tries made: the last
        assert QueuePolicy(name="once", callback_attempts=1).callback_retry_at(1, now=0.0) is None

    def test_allows_pausing_after_one_miss_when_configured(self) -> None:
        assert QueuePolicy(name="vip", max_misses_before_pause=1).max_misses_before_pause == 1


class TestRelaxationBoundaries:
    """A step applies from its ``after`` inclusive, measured from arrival."""

    @pytest.mark.parametrize(
        ("waited", "step"),
        [(0.0, 0), (4.999, 0), (5.0, 1), (9.999, 1), (10.0, 2), (3600.0, 2), (-2.0, 0)],
    )
    def test_step_at_wait(self, waited: float, step: int) -> None:
        call = make_call("c1", arrived_at=100.0)
        assert relax_step(call, QueuePolicy(name="main"), now=100.0 + waited) == step

    def test_custom_schedule(self) -> None:
        policy = QueuePolicy(name="p", relaxation=(RelaxStep(0, 3), RelaxStep(4, 1), RelaxStep(8, 0)))
        call = make_call("c1", queue="p", arrived_at=0.0)
        assert [relax_step(call, policy, t) for t in (3.99, 4.0, 7.99, 8.0)] == [0, 1, 1, 2]


class TestAgent:
    def test_level_of_held_and_missing_skill(self) -> None:
        agent = make_agent("a1", skills={"traffic": 4})
        assert agent.level("traffic") == 4
        assert agent.level("housing") == 0

    def test_rejects_unsorted_skills(self) -> None:
        with pytest.raises(ValueError, match="sorted"):
            Agent("a1", frozenset({"zh"}), (("z", 1), ("a", 2)), True, 0.0)

    def test_rejects_level_out_of_range(self) -> None:
        with pytest.raises(ValueError, match="1..5"):
            make_agent("a1", skills={"traffic": 6})

    def test_empty_queue_set_serves_every_queue(self) -> None:
        assert make_agent("a1").serves("province")
        assert not make_agent("a2", queues=["business"]).serves("main")


class TestSnapshot:
    def test_rejects_duplicate_call_ids(self) -> None:
        with pytest.raises(SnapshotError, match="duplicate call id.*c1"):
            make_snapshot([make_call("c1"), make_call("c1")], [])

    def test_rejects_duplicate_agent_ids(self) -> None:
        with pytest.raises(SnapshotError, match="duplicate agent id.*a1"):
            make_snapshot([], [make_agent("a1"), make_agent("a1")])

    def test_rejects_call_in_unknown_queue(self) -> None:
        with pytest.raises(SnapshotError, match="unknown queue.*nowhere"):
            Snapshot(calls=(make_call("c1", queue="nowhere"),), agents=(), queues={"main": QueuePolicy("main")})

    def test_tuning_rejects_negative_weight(self) -> None:
        with pytest.raises(ValueError, match="occupancy_weight"):
            Tuning(occupancy_weight=-0.1)
