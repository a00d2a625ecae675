"""benchmarks.stats: the percentiles and intervals the benchmarks print."""
from __future__ import annotations

import random

import pytest

from benchmarks.stats import (
    bootstrap_difference,
    median,
    nearest_rank_p99,
    p99,
    percentile,
)


def test_percentile_interpolates_between_order_statistics() -> None:
    xs = [float(i) for i in range(1, 101)]  # 1..100
    assert percentile(xs, 50) == pytest.approx(50.5)
    assert p99(xs) == pytest.approx(99.01)
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_clear_difference_gets_an_interval_away_from_zero() -> None:
    rng = random.Random(1)
    slow = [2.0 + rng.random() * 0.2 for _ in range(100)]
    fast = [1.0 + rng.random() * 0.2 for _ in range(100)]
    diff, lo, hi = bootstrap_difference(slow, fast, median)
    assert 0.9 < lo <= diff <= hi < 1.1


def test_the_same_distribution_gets_an_interval_across_zero() -> None:
    rng = random.Random(2)
    a = [rng.gauss(1.0, 0.1) for _ in range(100)]
    b = [rng.gauss(1.0, 0.1) for _ in range(100)]
    _, lo, hi = bootstrap_difference(a, b, p99)
    assert lo < 0.0 < hi


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    a, b = [1.0, 2.0, 3.0, 9.0], [1.5, 2.5, 2.0, 1.0]
    assert bootstrap_difference(a, b, p99, seed=7) == bootstrap_difference(a, b, p99, seed=7)
    with pytest.raises(ValueError):
        bootstrap_difference([], b, p99)


def test_nearest_rank_p99_is_a_sample() -> None:
    xs = [float(i) for i in range(1, 101)]
    assert nearest_rank_p99(xs) == 99.0  # rank round(0.99 * 99) = 98, zero-based
    assert nearest_rank_p99([3.0]) == 3.0
