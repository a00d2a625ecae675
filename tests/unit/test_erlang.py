"""planning.erlang against published values, exact special cases and a brute-force chain.

Sources of the published values (each test names its own):

* Erlang B: the example of Wolfram's documentation of ``ErlangB`` ("if there are 30 call
  lines and the traffic is 25 Erlangs, then the blocking probability is approximately
  0.05", wolfram.com/mathematica/new-in-9/enhanced-core-algorithms/compute-loss-probabilities-
  for-a-queue.html), and the classical Erlang B table at 1 % blocking (10 lines 4.461 E,
  20 lines 12.031 E, 50 lines 37.901 E, 100 lines 84.064 E; e.g. the Erlang-B table of
  V. B. Iversen, "Teletraffic Engineering and Network Planning", DTU).
* Erlang C: the worked example of Westbay Engineers' "The Erlang-C formula" page
  (mitan.co.uk/erlang/elgcmath.htm): 360 calls per half hour, 4-minute calls, 55 agents,
  15 s target: probability of waiting 0.2387, ASA 8.184 s, P(W <= 15 s) 0.8459 (the
  figures as reproduced by a Maxima worked example of that page, which states that they
  agree with the page).
* Erlang A: the exact stationary figures of pyworkforce's Erlang A (rodrigo-arenas/pyworkforce,
  pyworkforce/queuing/tests/test_abandonment.py ``test_erlanga_regression_metrics``: 100
  calls per 30 min, AHT 3 min, mean patience 5 min, 14 agents: waiting 0.14526, abandoning
  0.013984, occupancy 0.704297, mean wait 0.069919 min, answered within 20 s 0.916792), an
  independent implementation of the same birth-death chain. No table of Mandelbaum &
  Zeltyn or Garnett-Mandelbaum-Reiman could be read (docs/next-features-facts.md §E), so
  the rest is checked against exact special cases (Erlang C as patience grows; M/M/∞ when
  patience and handle time have the same mean) and a brute-force solution of the
  truncated chain with a tagged caller (uniformisation), written out below.
"""
from __future__ import annotations

import math

import pytest

from planning.erlang import (
    ErlangError,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
)


# -- Erlang B -----------------------------------------------------------------------------

def test_erlang_b_wolfram_example_30_lines_25_erlangs_blocks_about_5_percent() -> None:
    assert round(erlang_b(30, 25.0), 2) == 0.05


@pytest.mark.parametrize("lines,erlangs", [(10, 4.461), (20, 12.031), (50, 37.901), (100, 84.064)])
def test_erlang_b_table_at_one_percent_blocking(lines: int, erlangs: float) -> None:
    assert erlang_b(lines, erlangs) == pytest.approx(0.01, abs=1.5e-5)


def test_erlang_b_small_cases_are_exact() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)
    assert erlang_b(0, 3.0) == 1.0


def test_erlang_b_recursion_equals_the_closed_form_for_a_thousand_lines() -> None:
    n, a = 1000, 950.0
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(n + 1)]
    top = max(logs)
    closed = math.exp(logs[-1] - top) / sum(math.exp(x - top) for x in logs)
    assert erlang_b(n, a) == pytest.approx(closed, rel=1e-10)


# -- Erlang C -----------------------------------------------------------------------------

def test_erlang_c_westbay_example_360_calls_per_half_hour_55_agents() -> None:
    a = 0.2 * 240  # 360 calls / 1800 s, 240 s each: 48 erlangs
    assert round(erlang_c(55, a), 4) == 0.2387
    assert round(erlang_c_asa(55, a, 240.0), 3) == 8.184
    assert round(erlang_c_service_level(55, a, 240.0, 15.0), 4) == 0.8459


def test_erlang_c_two_servers_one_erlang_is_one_third() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_erlang_c_overloaded_waits_always() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c_service_level(10, 12.0, 240.0, 15.0) == 0.0
    assert erlang_c_asa(10, 10.0, 240.0) == math.inf


# -- Erlang A -----------------------------------------------------------------------------

def test_erlang_a_matches_pyworkforce_exact_figures() -> None:
    model = erlang_a(14, 100 / 1800, 180.0, 300.0)
    assert round(model.p_wait, 5) == 0.14526
    assert round(model.p_abandon, 6) == 0.013984
    assert round(model.occupancy, 6) == 0.704297
    assert round(model.mean_wait / 60, 6) == 0.069919
    assert round(model.answered_within(20.0), 6) == 0.916792


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    model = erlang_a(55, 0.2, 240.0, 1e9)
    assert model.p_wait == pytest.approx(erlang_c(55, 48.0), abs=1e-5)
    assert model.asa == pytest.approx(erlang_c_asa(55, 48.0, 240.0), rel=1e-4)
    assert model.service_level(15.0) == pytest.approx(erlang_c_service_level(55, 48.0, 240.0, 15.0), abs=1e-5)
    assert model.p_abandon < 1e-6


@pytest.mark.parametrize("agents,erlangs", [(5, 4.0), (20, 25.0), (300, 290.0)])
def test_erlang_a_with_patience_equal_to_handle_time_is_m_m_infinity(agents: int, erlangs: float) -> None:
    """θ = μ: every caller in the system leaves at rate μ, waiting or served, so the
    number in the system is Poisson(a); an arrival waits when it finds N or more."""
    aht = 200.0
    model = erlang_a(agents, erlangs / aht, aht, aht)
    logs = [k * math.log(erlangs) - erlangs - math.lgamma(k + 1) for k in range(agents + 4000)]
    wait = sum(math.exp(x) for x in logs[agents:])
    queue = sum((k - agents) * math.exp(x) for k, x in enumerate(logs) if k > agents)
    assert model.p_wait == pytest.approx(wait, rel=1e-9)
    assert model.mean_queue == pytest.approx(queue, rel=1e-9)


def _brute_force(n: int, lam: float, aht: float, patience: float, t: float) -> dict[str, float]:
    """The truncated birth-death chain solved directly, and a tagged caller's service by
    ``t`` by uniformisation of its pure-death chain (positions ahead, own patience)."""
    mu, theta, size = 1.0 / aht, 1.0 / patience, n + 150
    weights = [1.0]
    for k in range(1, size):
        weights.append(weights[-1] * lam / (min(k, n) * mu + max(k - n, 0) * theta))
    total = sum(weights)
    pi = [w / total for w in weights]
    queue = sum((k - n) * p for k, p in enumerate(pi) if k > n)
    # position m (m-1 callers ahead): served from m = 1 at rate nμ, moves on at nμ + (m-1)θ
    positions = size - n
    start = [pi[n + m - 1] for m in range(1, positions + 1)]  # arrival finds n + m - 1
    rate = n * mu + positions * theta + theta
    p, served, answered = start[:], 0.0, 0.0
    for j in range(20000):
        poisson = math.exp(-rate * t + j * math.log(rate * t) - math.lgamma(j + 1))
        answered += poisson * served  # served by the j-th jump of the uniformised chain
        nxt = [0.0] * positions
        gained = 0.0
        for index, mass in enumerate(p):
            m = index + 1
            down = n * mu + (m - 1) * theta
            if m == 1:
                gained += mass * n * mu / rate
            else:
                nxt[index - 1] += mass * down / rate
            nxt[index] += mass * (1.0 - (down + theta) / rate)
        served += gained
        p = nxt
        if j > rate * t and poisson < 1e-18:
            break
    return {"p_wait": sum(pi[n:]), "p_abandon": theta * queue / lam, "answered_within": sum(pi[:n]) + answered}


@pytest.mark.parametrize("agents,erlangs,patience,t", [(3, 2.5, 60.0, 15.0), (8, 9.0, 120.0, 30.0),
                                                        (5, 3.0, 30.0, 60.0)])
def test_erlang_a_agrees_with_the_brute_force_chain(agents: int, erlangs: float, patience: float, t: float) -> None:
    aht = 240.0
    model = erlang_a(agents, erlangs / aht, aht, patience)
    ref = _brute_force(agents, erlangs / aht, aht, patience, t)
    assert model.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert model.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)
    assert model.answered_within(t) == pytest.approx(ref["answered_within"], abs=1e-9)


@pytest.mark.parametrize("agents,rate,patience", [(10, 9 / 240, 60.0), (55, 0.2, 90.0), (100, 110 / 240, 60.0),
                                                  (1000, 990 / 240, 60.0), (1000, 1300 / 240, 600.0)])
def test_abandonment_equals_theta_times_mean_wait(agents: int, rate: float, patience: float) -> None:
    """P(Ab) = θ·E[W] (Mandelbaum & Zeltyn §4.6): computed from two different sums."""
    model = erlang_a(agents, rate, 240.0, patience)
    assert model.p_abandon == pytest.approx(model.mean_wait / patience, rel=1e-9)


def test_served_within_tends_to_all_served_and_is_monotone() -> None:
    model = erlang_a(30, 32 / 240, 240.0, 60.0)
    values = [model.answered_within(t) for t in (0.0, 5.0, 15.0, 60.0, 600.0, 1e5)]
    assert values == sorted(values)
    assert values[0] == pytest.approx(1 - model.p_wait)
    assert values[-1] == pytest.approx(1 - model.p_abandon, abs=1e-12)
    assert model.wait_beyond(0.0) == pytest.approx(model.p_wait)
    assert model.wait_beyond(1e5) < 1e-12


def test_a_thousand_agents_stay_finite_and_more_agents_never_hurt() -> None:
    previous = None
    for agents in (950, 980, 1000, 1020, 1050):
        model = erlang_a(agents, 1000 / 240, 240.0, 60.0)
        figures = (model.p_wait, model.p_abandon, model.service_level(15.0), model.occupancy)
        assert all(0.0 <= x <= 1.0 and math.isfinite(x) for x in figures)
        if previous is not None:
            assert model.p_abandon < previous.p_abandon
            assert model.service_level(15.0) > previous.service_level(15.0)
        previous = model


def test_heavy_overload_is_stable() -> None:
    model = erlang_a(1000, 2000 / 240, 240.0, 300.0)  # twice the agents' capacity
    assert model.p_abandon == pytest.approx(0.5, abs=0.01)  # half leave: the rest fill the agents
    assert model.occupancy == pytest.approx(1.0, abs=1e-6)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ErlangError):
        erlang_a(0, 1.0, 240.0, 60.0)
    with pytest.raises(ErlangError):
        erlang_a(5, -1.0, 240.0, 60.0)
    with pytest.raises(ErlangError):
        erlang_a(5, 1.0, 240.0, 0.0)
    assert erlang_a(5, 0.0, 240.0, 60.0).p_wait == 0.0
