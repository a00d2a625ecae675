"""Erlang B, Erlang C and exact Erlang A: the queueing formulas behind staffing.

Why three: Erlang C (M/M/N, callers never hang up) is what most planners use, and it is
pessimistic for a hotline whose callers do hang up; Erlang A (M/M/N+M, Palm 1946) adds
exponential patience with mean ``1/θ`` and is the model the simulator is validated against
(``planning.validate``). Erlang B is the building block of both.

Units: rates per second, times in seconds. ``a = λ·AHT`` is the offered load in erlangs.

Numerical method (stable for N up to several thousand, no overflow):

* Erlang B by the recursion ``B(k) = a·B(k-1) / (k + a·B(k-1))``, which only ever divides
  numbers of the same size (no factorials, no powers).
* Erlang A from the birth-death chain. With ``x = Nμ/θ`` and ``z = λ/θ``, an arrival finds
  ``k`` callers waiting with probability ``π_N·w_k`` where ``w_k = z^k / ∏_{i=1..k}(x+i)``
  and ``π_N = E / (1 + (A-1)·E)``, ``E = B(N, a)``, ``A = Σ_k w_k``. Every stationary measure
  is a sum of positive terms over ``k`` (``k``, ``c_k``, ...), summed in scaled form
  around the largest term so nothing overflows and nothing cancels:

  - a caller who finds ``k`` waiting is served with probability ``c_k = x/(x+k+1)``
    (the ``k+1`` phases before its service each end by a service at rate ``Nμ`` or by an
    abandonment ahead at rate ``iθ``, while its own patience runs out at rate ``θ``);
  - its mean wait when served is ``Σ_{i=1..k+1} 1/(Nμ+iθ)``;
  - ``E[Q] = π_N Σ k·w_k`` and, by Little's law, ``E[W] = E[Q]/λ``; the fraction that
    abandons is computed separately as ``π_N Σ w_k (1-c_k)``, so the identity
    ``P(Ab) = θ·E[W]`` (Mandelbaum & Zeltyn, "The Palm/Erlang-A queue", §4.6) is a check,
    not a definition.
  - The waiting-time distribution: ``P(V > t) = π_N · exp(-Nμt + z(1-e^{-θt})) ·
    A(x, z·e^{-θt})`` for the offered wait ``V`` (the wait with infinite patience), and
    the callers answered after waiting at most ``t`` are ``π_N · x · z^{-(x+1)} · e^z ·
    Γ(x+1) · [P(x+1, z) - P(x+1, z·e^{-θt})]`` with ``P`` the regularised lower
    incomplete gamma function (derived from the pure-death chain of a tagged caller; the
    tests check it against a brute-force uniformisation of the truncated chain).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

_EPS = 1e-17  # relative size of the last term summed
_MAX_TERMS = 5_000_000


class ErlangError(ValueError):
    """Parameters outside the model (negative rates, no agents, ...)."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ErlangError(message)


def _check_agents(n: int) -> None:
    _check(isinstance(n, int) and not isinstance(n, bool) and n >= 1, f"agents must be an integer >= 1, got {n!r}")


def _check_positive(value: float, name: str, zero_ok: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if zero_ok else value > 0)
    _check(ok, f"{name} must be a finite number {'>= 0' if zero_ok else '> 0'}, got {value!r}")


# -- Erlang B and C -------------------------------------------------------------------------

def erlang_b(n: int, a: float) -> float:
    """Blocking probability of M/M/n/n with offered load ``a`` erlangs."""
    _check(isinstance(n, int) and n >= 0, f"servers must be an integer >= 0, got {n!r}")
    _check_positive(a, "load", zero_ok=True)
    b = 1.0
    for k in range(1, n + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a caller waits in M/M/n (1.0 when ``a >= n``: the queue grows)."""
    _check_agents(n)
    _check_positive(a, "load", zero_ok=True)
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return b / (1.0 - (a / n) * (1.0 - b))


def erlang_c_service_level(n: int, a: float, aht: float, t: float) -> float:
    """``P(W <= t)`` in M/M/n: ``1 - C·exp(-(n-a)·t/AHT)`` (0 when overloaded)."""
    _check_positive(aht, "aht")
    _check_positive(t, "t", zero_ok=True)
    if a >= n:
        return 0.0
    return 1.0 - erlang_c(n, a) * math.exp(-(n - a) * t / aht)


def erlang_c_asa(n: int, a: float, aht: float) -> float:
    """Mean wait of all callers in M/M/n: ``C·AHT/(n-a)`` (infinite when overloaded)."""
    _check_positive(aht, "aht")
    if a >= n:
        return math.inf
    return erlang_c(n, a) * aht / (n - a)


# -- Erlang A -------------------------------------------------------------------------------

def _log_gamma_pq(a: float, x: float) -> tuple[float, float]:
    """``(log P(a, x), log Q(a, x))``: regularised lower and upper incomplete gamma.

    Series below ``x = a+1``, Lentz's continued fraction above (Numerical Recipes §6.2):
    each is computed where it converges and the smaller of P and Q keeps full relative
    precision.
    """
    if x <= 0.0:
        return -math.inf, 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0
        n = 0
        while term > total * _EPS:
            n += 1
            term *= x / (a + n)
            total += term
        log_p = log_front - math.log(a) + math.log(total)
        return log_p, math.log1p(-math.exp(log_p))
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    log_q = log_front + math.log(h)
    return math.log1p(-math.exp(log_q)), log_q


def _log_diff(log_big: float, log_small: float) -> float:
    """``log(e^big - e^small)`` for ``big >= small``."""
    if log_small == -math.inf:
        return log_big
    return log_big + math.log1p(-math.exp(log_small - log_big))


@dataclass(frozen=True, slots=True)
class _Sums:
    """``Σ_k w_k·f(k)`` for the functions the measures need, scaled by ``exp(-log_scale)``."""

    log_scale: float
    total: float        # Σ w_k            (= A(x, z))
    queue: float        # Σ k·w_k
    served: float       # Σ w_k·c_k
    served_wait: float  # Σ w_k·c_k·Σ_{i=1..k+1} 1/(x+i)   (times 1/θ: seconds)


def _peak(x: float, z: float) -> tuple[int, float]:
    """Index and log of the largest ``w_k``: the ratio ``w_k/w_{k-1} = z/(x+k)`` falls below 1 after it."""
    k = max(0, math.floor(z - x))
    return k, k * math.log(z) - (math.lgamma(x + k + 1.0) - math.lgamma(x + 1.0))


def _sums(x: float, z: float, with_moments: bool = True) -> _Sums:
    """The sums over ``k >= 0`` of ``w_k = z^k / ∏_{i=1..k}(x+i)`` (see the module doc)."""
    peak, log_peak = _peak(x, z)
    log_z = math.log(z)
    total = queue = served = served_wait = 0.0
    log_w, harmonic = -log_peak, 0.0  # log(w_k / w_peak) and Σ_{i=1..k} 1/(x+i)
    for k in range(_MAX_TERMS):
        if k:
            log_w += log_z - math.log(x + k)
        w = math.exp(log_w) if log_w > -745.0 else 0.0
        total += w
        if with_moments:
            harmonic += 1.0 / (x + k + 1)
            c = x / (x + k + 1)
            queue += k * w
            served += w * c
            served_wait += w * c * harmonic
        if k > peak and w < _EPS * total:
            break
    else:  # pragma: no cover - needs z beyond any call centre
        raise ErlangError(f"Erlang A sum did not converge (x={x}, z={z})")
    return _Sums(log_peak, total, queue, served, served_wait)


def _log_a(x: float, y: float) -> float:
    """``log A(x, y) = log Σ_k y^k / ∏_{i=1..k}(x+i)``."""
    if y <= 0.0:
        return 0.0
    sums = _sums(x, y, with_moments=False)
    return sums.log_scale + math.log(sums.total)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady state of M/M/N+M (Erlang A) for one set of parameters; see ``erlang_a``.

    ``p_abandon`` and ``p_wait`` are fractions of all arrivals; ``mean_wait`` is the mean
    time in queue of all callers (answered or not), ``asa`` that of answered callers;
    ``occupancy`` is the share of the agents' time spent serving.
    """

    agents: int
    arrival_rate: float
    aht: float
    patience: float
    p_wait: float
    p_abandon: float
    mean_wait: float
    asa: float
    mean_queue: float
    occupancy: float
    log_pi_n: float  # log P(an arrival finds exactly N in the system); -inf when negligible

    @property
    def load(self) -> float:
        """Offered load ``a = λ·AHT`` in erlangs."""
        return self.arrival_rate * self.aht

    @property
    def connect_rate(self) -> float:
        """Answered ÷ offered (GB/T 33358 wording): ``1 - P(Ab)``."""
        return 1.0 - self.p_abandon

    def _xz(self) -> tuple[float, float, float]:
        theta = 1.0 / self.patience
        return self.agents / self.aht / theta, self.arrival_rate / theta, theta

    def answered_within(self, t: float) -> float:
        """Fraction of ALL callers answered after waiting at most ``t`` seconds."""
        _check_positive(t, "t", zero_ok=True)
        immediate = 1.0 - self.p_wait
        if self.log_pi_n == -math.inf or self.arrival_rate == 0.0 or t == 0.0:
            return immediate
        x, z, theta = self._xz()
        log_p_z, log_q_z = _log_gamma_pq(x + 1.0, z)
        log_p_t, log_q_t = _log_gamma_pq(x + 1.0, z * math.exp(-theta * t))
        if log_p_z < math.log(0.5):
            log_diff = _log_diff(log_p_z, log_p_t)  # P(x+1, z) - P(x+1, z_t)
        else:
            log_diff = _log_diff(log_q_t, log_q_z)  # = Q(x+1, z_t) - Q(x+1, z)
        log_front = self.log_pi_n + math.log(x) - (x + 1.0) * math.log(z) + z + math.lgamma(x + 1.0)
        return immediate + math.exp(log_front + log_diff)

    def service_level(self, t: float) -> float:
        """Answered within ``t`` ÷ answered (the SL of app_queue and the wallboards)."""
        answered = 1.0 - self.p_abandon
        return 1.0 if answered <= 0.0 else min(1.0, self.answered_within(t) / answered)

    def wait_beyond(self, t: float) -> float:
        """``P(W > t)``: still waiting at ``t`` (neither answered nor gone)."""
        _check_positive(t, "t", zero_ok=True)
        if self.log_pi_n == -math.inf or self.arrival_rate == 0.0:
            return 0.0
        x, z, theta = self._xz()
        mu_n = self.agents / self.aht
        decay = math.exp(-theta * t)
        log_v = self.log_pi_n - mu_n * t + z * (1.0 - decay) + _log_a(x, z * decay)
        return math.exp(log_v - theta * t)


def erlang_a(agents: int, arrival_rate: float, aht: float, patience: float) -> ErlangA:
    """Exact Erlang A: ``agents`` servers, Poisson arrivals at ``arrival_rate`` per second,
    exponential handle time with mean ``aht`` s and patience with mean ``patience`` s."""
    _check_agents(agents)
    _check_positive(arrival_rate, "arrival_rate", zero_ok=True)
    _check_positive(aht, "aht")
    _check_positive(patience, "patience")
    if arrival_rate == 0.0:
        return ErlangA(agents, 0.0, aht, patience, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -math.inf)
    theta, mu = 1.0 / patience, 1.0 / aht
    x, z = agents * mu / theta, arrival_rate / theta
    e = erlang_b(agents, arrival_rate * aht)
    if e == 0.0:  # underflow: nobody ever waits at this staffing
        return ErlangA(agents, arrival_rate, aht, patience, 0.0, 0.0, 0.0, 0.0, 0.0,
                       arrival_rate * aht / agents, -math.inf)
    s = _sums(x, z)
    log_a = s.log_scale + math.log(s.total)
    log_pi_n = math.log(e) - math.log((1.0 - e) + math.exp(log_a + math.log(e)))
    scale = math.exp(log_pi_n + s.log_scale)
    p_abandon = scale * (s.total - s.served)
    mean_queue = scale * s.queue
    served_wait = scale * s.served_wait / theta
    answered = 1.0 - p_abandon
    return ErlangA(
        agents=agents, arrival_rate=arrival_rate, aht=aht, patience=patience,
        p_wait=min(1.0, math.exp(log_pi_n + log_a)), p_abandon=p_abandon,
        mean_wait=mean_queue / arrival_rate, asa=served_wait / answered if answered > 0 else math.inf,
        mean_queue=mean_queue, occupancy=arrival_rate * answered * aht / agents, log_pi_n=log_pi_n)
