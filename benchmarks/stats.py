"""Small statistics for the benchmarks: percentiles and how sure a difference is.

A p99 over 100 samples is the second-largest sample give or take, so two systems' p99s from
one run can swap places in the next run on a noisy machine. The benchmarks therefore print,
next to the figures, a bootstrap interval of the difference: if it straddles zero, the run
does not show which system is faster at that percentile.
"""
from __future__ import annotations

import math
import random
import statistics
from typing import Callable, Sequence


def percentile(xs: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between order statistics (numpy's default)."""
    if not xs:
        raise ValueError("percentile of no samples")
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def p99(xs: Sequence[float]) -> float:
    return percentile(xs, 99.0)


def nearest_rank_p99(xs: Sequence[float]) -> float:
    """99th percentile as the order statistic nearest to rank 0.99 * (n - 1)."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def bootstrap_difference(a: Sequence[float], b: Sequence[float], stat: Callable[[Sequence[float]], float],
                         resamples: int = 2000, confidence: float = 0.95,
                         seed: int = 12345) -> tuple[float, float, float]:
    """``stat(a) - stat(b)`` and a percentile-bootstrap interval for it: each sample set
    is resampled with replacement, on its own, ``resamples`` times. Seeded: the same
    samples always give the same interval."""
    if not a or not b:
        raise ValueError("bootstrap of an empty sample")
    rng = random.Random(seed)
    diffs = sorted(stat(rng.choices(a, k=len(a))) - stat(rng.choices(b, k=len(b))) for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0 * 100.0
    return stat(a) - stat(b), percentile(diffs, tail), percentile(diffs, 100.0 - tail)
