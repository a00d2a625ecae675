"""The wallboard's alerts as data: the rules (``alerts.yaml``, validated) and the pure checks
that turn the wall's figures into alerts.

Why data: a supervisor reads an alert on the wall, a script reads the same alert in the
API's JSON, and a test builds the scenario that must fire it; none of them parses words.
Each alert says its ``kind``, its ``severity``, what it is about (``line`` or
``category``), the ``value`` seen and the ``threshold`` it crossed; the page words it in
Chinese or English.

The kinds (each one rule section of ``alerts.yaml``):

- ``service_level``: a line's service level over the last 15 minutes (answered within the
  line's ``sl_target`` seconds / answered, calls that arrived in the window, the KPI
  module's rule) is below the line's goal; judged once ``min_answered`` calls were answered.
- ``connect_rate``: the connect rate of the last 24 hours (GB/T 33358-2016: answered /
  offered less booked callbacks, short abandons are failures) is below ``goal`` (95 %);
  judged once ``min_offered`` calls were offered in the window.
- ``hot_topic``: a work-order category had at least ``min_calls`` calls in the last hour and
  at least ``ratio`` times its usual rate (the mean of the same hour over the previous
  ``days`` days; a category never seen before has a usual rate of 0, so ``min_calls`` alone
  decides).
- ``long_wait``: a caller of the line has waited longer than ``seconds`` now (the service
  level counts answered calls only: a line where nobody answers would show no miss).

Severity: ``critical`` for the connect rate (the national standard's figure), ``warning``
for the others.

The file is strict like ``queues.yaml``: unknown keys, wrong types and values out of range
are errors naming the file, the section and the key.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

SUPPORTED_VERSION = 1
LEVELS = ("class", "subclass", "item")
_LINE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # a queue's name (queues/config.py)


class AlertConfigError(ValueError):
    """The alert file is unusable; the message names the file, the section and the problem."""


@dataclass(frozen=True)
class ServiceLevelRule:
    enabled: bool = True
    goal: float = 0.80
    min_answered: int = 1
    lines: Mapping[str, float] = field(default_factory=dict)

    def goal_of(self, line: str) -> float:
        """The line's own goal, else the common one."""
        return self.lines.get(line, self.goal)


@dataclass(frozen=True)
class ConnectRateRule:
    enabled: bool = True
    goal: float = 0.95
    min_offered: int = 10


@dataclass(frozen=True)
class HotTopicRule:
    enabled: bool = True
    ratio: float = 3.0
    min_calls: int = 10
    days: int = 7
    level: str = "subclass"


@dataclass(frozen=True)
class LongWaitRule:
    enabled: bool = True
    seconds: float = 60.0


@dataclass(frozen=True)
class AlertRules:
    """Every rule of the wall's alerts (the defaults are those of the shipped file)."""

    service_level: ServiceLevelRule = field(default_factory=ServiceLevelRule)
    connect_rate: ConnectRateRule = field(default_factory=ConnectRateRule)
    hot_topic: HotTopicRule = field(default_factory=HotTopicRule)
    long_wait: LongWaitRule = field(default_factory=LongWaitRule)

    def unknown_lines(self, known: Iterable[str]) -> list[str]:
        """The lines ``service_level.lines`` names that are not among ``known`` (queues.yaml)."""
        return sorted(set(self.service_level.lines) - set(known))


# -- alerts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    """One alert. ``line`` or ``category`` says what it is about (None for the whole
    hotline); ``details`` carries the figures behind it (counts, names)."""

    kind: str
    severity: str
    value: float
    threshold: float
    line: str | None = None
    category: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "line": self.line, "category": self.category,
                "value": self.value, "threshold": self.threshold, "details": dict(self.details)}


def service_level_alert(line: str, service_level: float | None, answered: int,
                        rule: ServiceLevelRule) -> Alert | None:
    """The line's 15-minute service level below its goal (None: no alert)."""
    goal = rule.goal_of(line)
    if not rule.enabled or service_level is None or answered < rule.min_answered or service_level >= goal:
        return None
    return Alert("service_level", "warning", service_level, goal, line=line, details={"answered": answered})


def connect_rate_alert(connect_rate: float | None, offered: int, answered: int,
                       rule: ConnectRateRule) -> Alert | None:
    """The rolling 24-hour connect rate below the goal (``offered``: live offered calls)."""
    if not rule.enabled or connect_rate is None or offered < rule.min_offered or connect_rate >= rule.goal:
        return None
    return Alert("connect_rate", "critical", connect_rate, rule.goal,
                 details={"offered": offered, "answered": answered})


def hot_topic_alert(category: str, last_hour: int, usual: float, rule: HotTopicRule,
                    names: tuple[str, str] | None = None) -> Alert | None:
    """A category far above its usual rate. ``value`` is the calls of the last hour and
    ``threshold`` the count that fires (``ratio`` x usual, at least ``min_calls``)."""
    threshold = max(float(rule.min_calls), rule.ratio * usual)
    if not rule.enabled or last_hour < threshold:
        return None
    zh, en = names or (category, category)
    return Alert("hot_topic", "warning", float(last_hour), threshold, category=category,
                 details={"last_hour": last_hour, "usual": usual, "ratio": (last_hour / usual) if usual else None,
                          "name_zh": zh, "name_en": en})


def long_wait_alert(line: str, longest_wait: float | None, waiting: int, rule: LongWaitRule) -> Alert | None:
    """A caller of the line waiting longer than the rule's seconds."""
    if not rule.enabled or longest_wait is None or longest_wait <= rule.seconds:
        return None
    return Alert("long_wait", "warning", longest_wait, rule.seconds, line=line, details={"waiting": waiting})


SEVERITY_ORDER = {"critical": 0, "warning": 1}
KIND_ORDER = {"connect_rate": 0, "service_level": 1, "long_wait": 2, "hot_topic": 3}


def ordered(alerts: Iterable[Alert | None]) -> list[Alert]:
    """The alerts that fired, most severe first (then by kind, then by subject)."""
    found = [a for a in alerts if a is not None]
    return sorted(found, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), KIND_ORDER.get(a.kind, 9),
                                        a.line or "", a.category or ""))


# -- the file -----------------------------------------------------------------------------

def default_alerts_path() -> Path:
    """The file shipped next to this module (``hotline/wallboard/alerts.yaml``)."""
    return Path(__file__).with_name("alerts.yaml")


def load_alert_rules(path: str | Path | None = None) -> AlertRules:
    """Read and validate the alert file (the shipped one by default)."""
    path = Path(path) if path is not None else default_alerts_path()
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertConfigError(f"{source}: cannot read the alert file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AlertConfigError(f"{source}: not valid YAML: {exc}") from exc
    return parse_alert_rules(data, source)


_SECTIONS: Mapping[str, tuple[type, Mapping[str, str]]] = {
    "service_level": (ServiceLevelRule, {"enabled": "flag", "goal": "ratio", "min_answered": "count",
                                         "lines": "goals"}),
    "connect_rate": (ConnectRateRule, {"enabled": "flag", "goal": "ratio", "min_offered": "count"}),
    "hot_topic": (HotTopicRule, {"enabled": "flag", "ratio": "factor", "min_calls": "count", "days": "days",
                                 "level": "level"}),
    "long_wait": (LongWaitRule, {"enabled": "flag", "seconds": "seconds"}),
}


def parse_alert_rules(data: object, source: str = "<alerts>") -> AlertRules:
    """The rules of an already parsed file (a mapping); raise ``AlertConfigError``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise AlertConfigError(f"{source}: expected a mapping at the top level")
    _check_keys(data, {"version", *_SECTIONS}, source, "")
    version = data.get("version", SUPPORTED_VERSION)
    if version != SUPPORTED_VERSION or isinstance(version, bool):
        raise AlertConfigError(f"{source}: version must be {SUPPORTED_VERSION}, got {version!r}")
    sections: dict[str, Any] = {}
    for name, (kind, fields) in _SECTIONS.items():
        raw = data.get(name)
        if raw is None:
            continue
        where = f"{source}: {name}"
        if not isinstance(raw, Mapping):
            raise AlertConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
        _check_keys(raw, set(fields), source, name)
        sections[name] = kind(**{key: _convert(where, key, fields[key], value) for key, value in raw.items()})
    return AlertRules(**sections)


def _check_keys(raw: Mapping[Any, Any], allowed: set[str], source: str, section: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        where = f"{source}: {section}" if section else source
        raise AlertConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _convert(where: str, key: str, kind: str, value: object) -> Any:
    try:
        return _CONVERTERS[kind](value)
    except (TypeError, ValueError) as exc:
        raise AlertConfigError(f"{where}: {key}: {exc}") from None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _ratio(value: object) -> float:
    number = _number(value)
    if not 0 < number <= 1:
        raise ValueError(f"expected a share above 0 and at most 1 (0.8 = 80 %), got {value!r}")
    return number


def _factor(value: object) -> float:
    number = _number(value)
    if number < 1:
        raise ValueError(f"expected a factor of at least 1, got {value!r}")
    return number


def _seconds(value: object) -> float:
    number = _number(value)
    if number <= 0:
        raise ValueError(f"expected seconds above 0, got {value!r}")
    return number


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return value


def _days(value: object) -> int:
    days = _count(value)
    if days > 28:
        raise ValueError(f"expected at most 28 days, got {value!r}")
    return days


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _level(value: object) -> str:
    if value not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}, got {value!r}")
    return str(value)


def _goals(value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping of line to goal, got {value!r}")
    goals = {}
    for line, goal in value.items():
        if not isinstance(line, str) or not _LINE.match(line):
            raise ValueError(f"{line!r} is not a line name (queues.yaml)")
        try:
            goals[line] = _ratio(goal)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{line}: {exc}") from None
    return goals


_CONVERTERS = {"flag": _flag, "ratio": _ratio, "factor": _factor, "seconds": _seconds, "count": _count,
               "days": _days, "level": _level, "goals": _goals}
