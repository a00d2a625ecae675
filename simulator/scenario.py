"""A simulation scenario: the lines, the calls, the callers' behaviour and the roster, as data.

Loaded from YAML and validated like the project's other configuration (unknown keys are
errors, every error names the file and the key), because a typo that silently meant
"no patience" or "no shift" would make a plausible but wrong day. Shape::

    name: holiday_day
    start: "2026-10-02T00:00:00+08:00"      # the simulated day's midnight (records carry epoch times)
    queues: default                          # queues/queues.yaml, a path, or {version: 1, queues: {...}}
    arrivals:
      process: poisson                       # or "given": exactly the forecast's count per interval
      per_day: 22900                         # with hourly_shares (24 numbers), or:
      hourly_shares: [0.9, 0.55, ...]
      # forecast: planning/examples/normal_day.csv   (start,calls CSV of one day)
    mix:
      lines: {main: 0.9, province: 0.04, business: 0.06}
      languages: {zh: 0.92, en: 0.03, ...}   # a line offering none of a draw's languages takes zh
      skills: {traffic: 0.14, ...}           # the remainder of calls carry no domain skill
      priority: {1: 0.02}                    # caller priority (repeat callers), default none
    behaviour:
      talk: {distribution: lognormal, mean: 220, cv: 0.7}   # wrap-up comes from the queue
      talk_by_language: {en: 300}            # other mean talk per language (same shape)
      patience: {distribution: exponential, mean: 90}       # or none: nobody hangs up
      ring_no_answer: 0.02                   # share of rings an agent misses (RONA)
      answer_seconds: 3                      # ring until the agent picks up
      ivr_seconds: 25                        # arrival to queue entry
      ivr_hangup: 0.0                        # share of callers who hang up in the IVR
      callback_accept: 0.3                   # share of callers offered a callback who book one
      callback_answer: 0.8                   # share of callback dials the citizen answers
      callback_dial_seconds: 15
      rona_pause_seconds: 120                # a RONA-paused agent is back after this
      announcements: false                   # write an "announced" event every announce_interval
    agents:
      - name: day_zh
        count: 120
        languages: [zh]
        skill_pool: [traffic, social_insurance, public_security]   # each agent gets
        skills_per_agent: 2                  # skills_per_agent of them, combinations in turn,
        levels: [4, 3]                       # at these levels; or skills: {traffic: 4} for all
        queues: []                           # lines the seats take; empty = every line
        shift: "08:00-16:00"                 # may pass midnight: "22:00-06:00"
        breaks: [{after: "2:00", length: "0:15"}, {after: "4:00", length: "0:30"}]
"""
from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import yaml

from acd import MAX_LEVEL, QueuePolicy
from planning.forecast import ForecastError, parse_forecast
from queues.config import QueueConfigError, default_queues_path, load_queues, parse_queues

DAY = 86_400.0
BEIJING = timezone(timedelta(hours=8), "CST")
LANGUAGES = ("zh", "en", "ja", "ko", "ru", "fr", "de")


class ScenarioError(ValueError):
    """The scenario cannot be used; the message names the file, the key and the problem."""


# -- values ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Distribution:
    """A positive random duration: ``lognormal`` (mean and coefficient of variation),
    ``exponential`` (mean) or ``fixed`` (always the mean)."""

    kind: str
    mean: float
    cv: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("lognormal", "exponential", "fixed"):
            raise ValueError(f"distribution must be lognormal, exponential or fixed, not {self.kind!r}")
        if not (math.isfinite(self.mean) and self.mean > 0 and math.isfinite(self.cv) and self.cv > 0):
            raise ValueError(f"mean and cv must be finite numbers > 0, got {self.mean!r}, {self.cv!r}")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean)
        if self.kind == "fixed":
            return self.mean
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Interval:
    """``calls`` expected in ``seconds`` from ``offset`` seconds after the day's start."""

    offset: float
    seconds: float
    calls: float


@dataclass(frozen=True, slots=True)
class Arrivals:
    """One day of arrivals; ``process``: ``poisson`` or ``given`` (exact counts)."""

    process: str
    intervals: tuple[Interval, ...]

    @property
    def per_day(self) -> float:
        return sum(i.calls for i in self.intervals)


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of lines, languages, domain skills and caller priorities among the calls."""

    lines: tuple[tuple[str, float], ...]
    languages: tuple[tuple[str, float], ...]
    skills: tuple[tuple[str, float], ...] = ()
    priority: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What callers and agents do that the routing code does not decide."""

    talk: Distribution = Distribution("lognormal", 220.0, 0.7)
    talk_by_language: tuple[tuple[str, Distribution], ...] = ()
    patience: Distribution | None = Distribution("exponential", 90.0)
    ring_no_answer: float = 0.02
    answer_seconds: float = 3.0
    ivr_seconds: float = 0.0
    ivr_hangup: float = 0.0
    callback_accept: float = 0.0
    callback_answer: float = 0.8
    callback_dial_seconds: float = 15.0
    rona_pause_seconds: float = 120.0
    announcements: bool = False

    def talk_for(self, language: str) -> Distribution:
        return dict(self.talk_by_language).get(language, self.talk)


@dataclass(frozen=True, slots=True)
class Break:
    """A break ``after`` seconds into the shift, ``length`` seconds long."""

    after: float
    length: float


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """``count`` seats alike: languages, skills (fixed or drawn in turn from a pool), the
    lines they take, one shift a day and its breaks (staggered over ``break_window``)."""

    name: str
    count: int
    languages: frozenset[str]
    skills: tuple[tuple[str, int], ...] = ()
    skill_pool: tuple[str, ...] = ()
    skills_per_agent: int = 0
    levels: tuple[int, ...] = (3,)
    queues: frozenset[str] = frozenset()
    shift: tuple[float, float] = (0.0, DAY)
    breaks: tuple[Break, ...] = ()
    break_window: float = 3600.0

    @property
    def all_day(self) -> bool:
        return self.shift == (0.0, DAY)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one simulated day needs (``start``: epoch seconds of its midnight)."""

    name: str
    start: float
    queues: Mapping[str, QueuePolicy]
    arrivals: Arrivals
    mix: Mix
    behaviour: Behaviour
    groups: tuple[AgentGroup, ...]
    tz: tzinfo = BEIJING  # the zone of ``start``, for reports by day and hour

    @property
    def agents(self) -> int:
        return sum(g.count for g in self.groups)


def with_calls(scenario: Scenario, per_day: float) -> Scenario:
    """The scenario with ``per_day`` calls on the same intraday curve."""
    factor = per_day / scenario.arrivals.per_day
    intervals = tuple(Interval(i.offset, i.seconds, i.calls * factor) for i in scenario.arrivals.intervals)
    return replace(scenario, arrivals=Arrivals(scenario.arrivals.process, intervals))


def with_agents(scenario: Scenario, agents: int) -> Scenario:
    """The scenario with ``agents`` seats in the groups' proportions (largest remainders:
    the total is exact, and each group keeps its share within one seat)."""
    shares = [g.count * agents / scenario.agents for g in scenario.groups]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))[: agents - sum(counts)]:
        counts[i] += 1
    return replace(scenario, groups=tuple(replace(g, count=n) for g, n in zip(scenario.groups, counts)))


# -- loading --------------------------------------------------------------------------------

_TOP = {"name", "start", "queues", "arrivals", "mix", "behaviour", "agents"}
_ARRIVALS = {"process", "per_day", "hourly_shares", "forecast", "per_hour"}
_MIX = {"lines", "languages", "skills", "priority"}
_BEHAVIOUR = {"talk", "talk_by_language", "patience", "ring_no_answer", "answer_seconds", "ivr_seconds",
              "ivr_hangup", "callback_accept", "callback_answer", "callback_dial_seconds", "rona_pause_seconds",
              "announcements"}
_GROUP = {"name", "count", "languages", "skills", "skill_pool", "skills_per_agent", "levels", "queues", "shift",
          "breaks", "break_window"}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (relative paths inside it are from its folder)."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{source}: cannot read scenario: {exc}") from exc
    return parse_scenario(data, str(source), source.parent)


def parse_scenario(data: object, source: str = "<scenario>", base: Path = Path(".")) -> Scenario:
    """Validate already-parsed YAML ``data``."""
    reader = _Reader(source)
    top = reader.mapping(data, "top level", _TOP)
    queues = _queues(reader, top.get("queues", "default"), base)
    mix = _mix(reader, reader.mapping(top.get("mix"), "mix", _MIX), queues)
    groups = tuple(_group(reader, raw, i, queues) for i, raw in enumerate(reader.list(top.get("agents"), "agents")))
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{source}: agents: a group name is used twice")
    start = _start(reader, top.get("start", "2026-10-01T00:00:00+08:00"))
    return Scenario(
        name=str(top.get("name") or Path(source).stem),
        start=start.timestamp(), tz=start.tzinfo or BEIJING,
        queues=queues,
        arrivals=_arrivals(reader, reader.mapping(top.get("arrivals"), "arrivals", _ARRIVALS), base),
        mix=mix,
        behaviour=_behaviour(reader, reader.mapping(top.get("behaviour") or {}, "behaviour", _BEHAVIOUR)),
        groups=groups,
    )


class _Reader:
    """Typed reads that raise ``ScenarioError`` naming the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: object, where: str, allowed: set[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected a mapping")
        if allowed is not None:
            unknown = sorted(str(k) for k in value if k not in allowed)
            if unknown:
                raise self.fail(where, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        return value

    def list(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "expected a non-empty list")
        return value

    def number(self, value: object, where: str, low: float = 0.0, high: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(where, f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(where, f"must be within [{low}, {high}], got {value!r}")
        return float(value)

    def integer(self, value: object, where: str, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(where, f"expected an integer >= {low}, got {value!r}")
        return value

    def shares(self, value: object, where: str, known: set[str] | None = None) -> tuple[tuple[str, float], ...]:
        raw = self.mapping(value, where)
        out = []
        for key, share in raw.items():
            if known is not None and str(key) not in known:
                raise self.fail(where, f"{key!r} is not one of {', '.join(sorted(known))}")
            out.append((str(key), self.number(share, f"{where}.{key}", 0.0, 1.0)))
        if sum(s for _, s in out) > 1.0 + 1e-9 or not out:
            raise self.fail(where, "shares must be non-empty and add up to at most 1")
        return tuple(out)

    def duration(self, value: object, where: str) -> float:
        """Seconds from a number or an ``H:MM`` text."""
        if isinstance(value, str):
            hours, _, minutes = value.strip().partition(":")
            if hours.isdigit() and minutes.isdigit() and int(minutes) < 60:
                return int(hours) * 3600.0 + int(minutes) * 60.0
            raise self.fail(where, f"{value!r} is not H:MM")
        return self.number(value, where)


def _start(reader: _Reader, value: object) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), BEIJING)
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise reader.fail("start", f"{value!r} is not an ISO date and time") from None
    if moment.tzinfo is None:
        raise reader.fail("start", "give the time zone (e.g. +08:00), records carry epoch times")
    return moment


def _queues(reader: _Reader, value: object, base: Path) -> Mapping[str, QueuePolicy]:
    try:
        if value == "default":
            return load_queues(default_queues_path())
        if isinstance(value, str):
            return load_queues(base / value)
        return parse_queues(value, f"{reader.source}: queues")
    except QueueConfigError as exc:
        raise ScenarioError(str(exc)) from exc


def _distribution(reader: _Reader, value: object, where: str) -> Distribution:
    raw = reader.mapping(value, where, {"distribution", "mean", "cv"})
    try:
        return Distribution(str(raw.get("distribution", "lognormal")), reader.number(raw.get("mean"), f"{where}.mean"),
                            reader.number(raw.get("cv", 1.0), f"{where}.cv"))
    except ValueError as exc:
        raise reader.fail(where, str(exc)) from None


def _arrivals(reader: _Reader, raw: Mapping[str, Any], base: Path) -> Arrivals:
    process = raw.get("process", "poisson")
    if process not in ("poisson", "given"):
        raise reader.fail("arrivals.process", f"must be poisson or given, not {process!r}")
    given = [k for k in ("forecast", "per_day", "per_hour") if k in raw]
    if len(given) != 1:
        raise reader.fail("arrivals", "give exactly one of forecast, per_day (with hourly_shares) or per_hour")
    if "forecast" in raw:
        try:
            rows = parse_forecast((base / str(raw["forecast"])).read_text(encoding="utf-8"))
        except (OSError, ForecastError) as exc:
            raise reader.fail("arrivals.forecast", str(exc)) from None
        intervals = tuple(Interval(r.offset, r.seconds, r.calls) for r in rows)
    elif "per_hour" in raw:
        rate = reader.number(raw["per_hour"], "arrivals.per_hour")
        intervals = tuple(Interval(h * 3600.0, 3600.0, rate) for h in range(24))
    else:
        per_day = reader.number(raw["per_day"], "arrivals.per_day")
        shares = raw.get("hourly_shares")
        if not isinstance(shares, list) or len(shares) != 24:
            raise reader.fail("arrivals.hourly_shares", "expected 24 numbers (one per hour)")
        weights = [reader.number(s, f"arrivals.hourly_shares[{h}]") for h, s in enumerate(shares)]
        total = sum(weights) or 1.0
        intervals = tuple(Interval(h * 3600.0, 3600.0, per_day * w / total) for h, w in enumerate(weights))
    if intervals[-1].offset + intervals[-1].seconds > DAY + 1e-6:
        raise reader.fail("arrivals", "one day of arrivals at most (use --days to repeat it)")
    return Arrivals(str(process), intervals)


def _mix(reader: _Reader, raw: Mapping[str, Any], queues: Mapping[str, QueuePolicy]) -> Mix:
    priority = ()
    if "priority" in raw:
        pairs = reader.shares({str(k): v for k, v in reader.mapping(raw["priority"], "mix.priority").items()},
                              "mix.priority")
        try:
            priority = tuple((int(k), s) for k, s in pairs)
        except ValueError:
            raise reader.fail("mix.priority", "keys must be integers") from None
    return Mix(
        lines=reader.shares(raw.get("lines", {"main": 1.0}), "mix.lines", set(queues)),
        languages=reader.shares(raw.get("languages", {"zh": 1.0}), "mix.languages", set(LANGUAGES)),
        skills=reader.shares(raw["skills"], "mix.skills") if raw.get("skills") else (),
        priority=priority,
    )


def _behaviour(reader: _Reader, raw: Mapping[str, Any]) -> Behaviour:
    default = Behaviour()
    patience = raw.get("patience", "default")
    by_language = reader.mapping(raw.get("talk_by_language") or {}, "behaviour.talk_by_language")
    announcements = raw.get("announcements", False)
    if not isinstance(announcements, bool):
        raise reader.fail("behaviour.announcements", "expected true or false")

    def number(key: str, high: float = math.inf) -> float:
        return reader.number(raw.get(key, getattr(default, key)), f"behaviour.{key}", 0.0, high)

    return Behaviour(
        talk=_distribution(reader, raw["talk"], "behaviour.talk") if "talk" in raw else default.talk,
        talk_by_language=tuple((str(k), _distribution(reader, v, f"behaviour.talk_by_language.{k}"))
                               for k, v in by_language.items()),
        patience=(default.patience if patience == "default" else None if patience in (None, "none")
                  else _distribution(reader, patience, "behaviour.patience")),
        ring_no_answer=number("ring_no_answer", 0.99), answer_seconds=number("answer_seconds"),
        ivr_seconds=number("ivr_seconds"), ivr_hangup=number("ivr_hangup", 1.0),
        callback_accept=number("callback_accept", 1.0), callback_answer=number("callback_answer", 1.0),
        callback_dial_seconds=number("callback_dial_seconds"), rona_pause_seconds=number("rona_pause_seconds"),
        announcements=announcements,
    )


def _shift(reader: _Reader, value: object, where: str) -> tuple[float, float]:
    if value in (None, "all_day", "00:00-24:00"):
        return (0.0, DAY)
    text = str(value)
    start_text, dash, end_text = text.partition("-")
    if not dash:
        raise reader.fail(where, f"{text!r} is not HH:MM-HH:MM")
    start, end = reader.duration(start_text, where), reader.duration(end_text, where)
    if end <= start:
        end += DAY  # the shift passes midnight
    if start >= DAY or end - start > DAY:
        raise reader.fail(where, f"{text!r}: a shift starts within the day and lasts at most 24 h")
    return (start, end)


def _group(reader: _Reader, value: object, index: int, queues: Mapping[str, QueuePolicy]) -> AgentGroup:
    where = f"agents[{index}]"
    raw = reader.mapping(value, where, _GROUP)
    languages = raw.get("languages") or ["zh"]
    if not isinstance(languages, list) or not set(languages) <= set(LANGUAGES):
        raise reader.fail(f"{where}.languages", f"expected a list of {', '.join(LANGUAGES)}")
    skills = reader.mapping(raw.get("skills") or {}, f"{where}.skills")
    fixed = tuple(sorted((str(k), int(reader.integer(v, f"{where}.skills.{k}", 1))) for k, v in skills.items()))
    pool = tuple(str(s) for s in raw.get("skill_pool") or ())
    per_agent = reader.integer(raw.get("skills_per_agent", len(pool) and 1), f"{where}.skills_per_agent")
    levels = tuple(reader.integer(v, f"{where}.levels", 1) for v in raw.get("levels") or [3])
    if any(v > MAX_LEVEL for v in levels) or any(v > MAX_LEVEL for _, v in fixed):
        raise reader.fail(where, f"levels are 1..{MAX_LEVEL}")
    if per_agent > len(pool):
        raise reader.fail(f"{where}.skills_per_agent", "larger than the skill_pool")
    served = frozenset(str(q) for q in raw.get("queues") or ())
    if not served <= set(queues):
        raise reader.fail(f"{where}.queues", f"unknown line(s) {', '.join(sorted(served - set(queues)))}")
    breaks = tuple(Break(reader.duration(b.get("after"), f"{where}.breaks[{i}].after"),
                         reader.duration(b.get("length"), f"{where}.breaks[{i}].length"))
                   for i, b in enumerate(reader.mapping(b, f"{where}.breaks[{i}]", {"after", "length"})
                                         for i, b in enumerate(raw.get("breaks") or [])))
    return AgentGroup(
        name=str(raw.get("name") or f"group{index}"), count=reader.integer(raw.get("count"), f"{where}.count"),
        languages=frozenset(languages), skills=fixed, skill_pool=pool, skills_per_agent=per_agent, levels=levels,
        queues=served, shift=_shift(reader, raw.get("shift"), f"{where}.shift"), breaks=breaks,
        break_window=reader.number(raw.get("break_window", 3600.0), f"{where}.break_window"),
    )
