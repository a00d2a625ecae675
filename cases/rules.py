"""``rules.yaml``: the numbers of the case rules, loaded and validated together at start-up.

Why one file and strict validation: deadlines, supervision thresholds, follow-up hours and
ranking weights are local policy a supervisor edits; a typo (a weight that makes the sum
1.1, quiet hours covering the whole day, an unknown key that silently does nothing) must
stop the start-up with a message naming the file, the section and the field, never run
with rules nobody meant. Every section and field may be left out: the defaults of the
modules that use them apply (``cases.lifecycle.Deadlines``, ``cases.supervision
.SupervisionRules``, ``cases.followup.FollowUpRules`` / ``PacingRules``, ``cases.ranking
.RankingRules``).

Pure: no I/O beyond reading the file in ``load_rules``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from cases import FOLDER
from cases.followup import DEFAULT_FOLLOW_UP, DEFAULT_PACING, FollowUpRules, PacingRules, QuietPeriod
from cases.lifecycle import DEFAULT_DEADLINES, Deadlines
from cases.ranking import DEFAULT_RANKING, METRICS, RankingRules
from cases.supervision import DEFAULT_SUPERVISION, LEVELS, RepeatRule, SupervisionRules

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
SECTIONS = ("deadlines", "supervision", "follow_up", "pacing", "ranking")


class RulesError(ValueError):
    """The rules file is unusable; the message names the file, the section and the field."""


@dataclass(frozen=True)
class CaseRules:
    """Every rule of ``rules.yaml``."""

    deadlines: Deadlines = DEFAULT_DEADLINES
    supervision: SupervisionRules = DEFAULT_SUPERVISION
    follow_up: FollowUpRules = DEFAULT_FOLLOW_UP
    pacing: PacingRules = DEFAULT_PACING
    ranking: RankingRules = field(default_factory=lambda: DEFAULT_RANKING)
    source: str = ""


def case_rules_path(config_dir: Path) -> Path:
    """The instance's ``cases/rules.yaml`` under its configuration folder, or the shipped one."""
    mine = Path(config_dir) / "cases" / "rules.yaml"
    return mine if mine.exists() else FOLDER / "rules.yaml"


def load_rules(path: Path = FOLDER / "rules.yaml") -> CaseRules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read the case rules: {exc}") from exc
    return parse_rules(data, str(path))


def parse_rules(data: Any, where: str) -> CaseRules:
    """Validate a parsed file (None: an empty file, every default). ``where`` names it."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(f"{where}: expected a mapping of sections ({', '.join(SECTIONS)})")
    unknown = sorted(map(str, set(data) - set(SECTIONS)))
    if unknown:
        raise RulesError(f"{where}: unknown section(s) {', '.join(unknown)} (allowed: {', '.join(SECTIONS)})")
    sections = {}
    for name in SECTIONS:
        raw = data.get(name)
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise RulesError(f"{where}: section '{name}' must be a mapping")
        sections[name] = raw
    return CaseRules(
        deadlines=_deadlines(_Section(where, "deadlines", sections["deadlines"], Deadlines)),
        supervision=_supervision(_Section(where, "supervision", sections["supervision"], SupervisionRules)),
        follow_up=_follow_up(_Section(where, "follow_up", sections["follow_up"], FollowUpRules)),
        pacing=_pacing(_Section(where, "pacing", sections["pacing"], PacingRules)),
        ranking=_ranking(_Section(where, "ranking", sections["ranking"], RankingRules)),
        source=where)


class _Section:
    """One section's fields, read with messages naming file, section and field; the
    allowed keys are the fields of the section's dataclass."""

    def __init__(self, where: str, name: str, raw: dict[Any, Any], kind: type) -> None:
        self.where, self.name, self.raw = where, name, raw
        allowed = {f.name for f in fields(kind)}
        unknown = sorted(map(str, set(raw) - allowed))
        if unknown:
            raise RulesError(f"{where}: section '{name}': unknown field(s) {', '.join(unknown)} "
                             f"(allowed: {', '.join(sorted(allowed))})")

    def fail(self, key: str, problem: str) -> RulesError:
        return RulesError(f"{self.where}: section '{self.name}', field '{key}': {problem}, not {self.raw.get(key)!r}")

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.raw.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or not low <= value <= high:
            raise self.fail(key, f"must be a number from {low:g} to {high:g}")
        return float(value)

    def digits(self, key: str, default: str) -> str:
        value = self.raw.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.isdigit() or not 3 <= len(value) <= 20:
            raise self.fail(key, "must be a number of 3 to 20 digits")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def choice(self, key: str, default: str, choices: Any) -> str:
        value = self.raw.get(key, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}")
        return str(value)

    def repeat(self, key: str, default: RepeatRule | None) -> RepeatRule | None:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"count", "window_days"}:
            raise self.fail(key, "must be {count: N, window_days: D} (or null: switched off)")
        count, days = value["count"], value["window_days"]
        if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= 1000:
            raise self.fail(key, "count must be a whole number from 2 to 1000")
        if not isinstance(days, (int, float)) or isinstance(days, bool) or not 0 < days <= 366:
            raise self.fail(key, "window_days must be a number of days above 0, at most 366")
        return RepeatRule(count, float(days))


def _deadlines(s: _Section) -> Deadlines:
    d = DEFAULT_DEADLINES
    return Deadlines(transfer_working_days=s.integer("transfer_working_days", d.transfer_working_days, 0, 60),
                     handle_working_days=s.integer("handle_working_days", d.handle_working_days, 1, 120),
                     max_extensions=s.integer("max_extensions", d.max_extensions, 0, 10),
                     max_extension_working_days=s.integer("max_extension_working_days",
                                                          d.max_extension_working_days, 1, 120),
                     max_reopens=s.integer("max_reopens", d.max_reopens, 0, 10),
                     reopen_on_unhappy=s.flag("reopen_on_unhappy", d.reopen_on_unhappy))


def _supervision(s: _Section) -> SupervisionRules:
    d = DEFAULT_SUPERVISION
    return SupervisionRules(emergency=s.flag("emergency", d.emergency),
                            repeat_caller=s.repeat("repeat_caller", d.repeat_caller),
                            repeat_place=s.repeat("repeat_place", d.repeat_place),
                            place_level=s.choice("place_level", d.place_level, tuple(LEVELS)),
                            repeat_address=s.repeat("repeat_address", d.repeat_address),
                            min_address_length=s.integer("min_address_length", d.min_address_length, 2, 100),
                            unhappy=s.flag("unhappy", d.unhappy), overdue=s.flag("overdue", d.overdue))


def _follow_up(s: _Section) -> FollowUpRules:
    d = DEFAULT_FOLLOW_UP
    quiet = _quiet(s, d.quiet)
    return FollowUpRules(after_reply=s.flag("after_reply", d.after_reply),
                         direct_sample_percent=s.number("direct_sample_percent", d.direct_sample_percent, 0, 100),
                         delay_minutes=s.integer("delay_minutes", d.delay_minutes, 0, 7 * 24 * 60),
                         window_hours=s.number("window_hours", d.window_hours, 1, 30 * 24),
                         quiet=quiet, attempts=s.integer("attempts", d.attempts, 1, 20),
                         retry_after_minutes=s.number("retry_after_minutes", d.retry_after_minutes, 0.05, 7 * 24 * 60),
                         close_when_satisfied=s.flag("close_when_satisfied", d.close_when_satisfied),
                         close_when_unreachable=s.flag("close_when_unreachable", d.close_when_unreachable),
                         ring_seconds=s.integer("ring_seconds", d.ring_seconds, 5, 120),
                         agent_number=s.digits("agent_number", d.agent_number))


def _clock(s: _Section, value: Any, entry: str) -> time:
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise RulesError(f"{s.where}: section '{s.name}', field 'quiet', {entry}: a time \"HH:MM\" "
                         f"(quote it: YAML reads 21:00 as a number), not {value!r}")
    return time(int(value[:2]), int(value[3:]))


def _quiet(s: _Section, default: tuple[QuietPeriod, ...]) -> tuple[QuietPeriod, ...]:
    raw = s.raw.get("quiet")
    if raw is None:
        return default if "quiet" not in s.raw else ()
    if not isinstance(raw, list):
        raise s.fail("quiet", "must be a list of {from: \"HH:MM\", to: \"HH:MM\"}")
    periods = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"from", "to"}:
            raise RulesError(f"{s.where}: section '{s.name}', field 'quiet', entry {i}: must be "
                             f"{{from: \"HH:MM\", to: \"HH:MM\"}}, not {item!r}")
        start, end = _clock(s, item["from"], f"entry {i} from"), _clock(s, item["to"], f"entry {i} to")
        if start == end:
            raise RulesError(f"{s.where}: section '{s.name}', field 'quiet', entry {i}: from and to are both "
                             f"{start:%H:%M}: an empty period, or the whole day?")
        periods.append(QuietPeriod(start, end))
    minutes = [time(h, m) for h in range(24) for m in range(60)]
    if all(any(p.contains(t) for p in periods) for t in minutes):
        raise s.fail("quiet", "covers the whole day: no follow-up could ever ring")
    return tuple(periods)


def _pacing(s: _Section) -> PacingRules:
    d = DEFAULT_PACING
    return PacingRules(
        service_level_window_minutes=s.number("service_level_window_minutes", d.service_level_window_minutes, 0.5, 240),
        max_wait_seconds=s.number("max_wait_seconds", d.max_wait_seconds, 0, 3600),
        max_per_minute=s.integer("max_per_minute", d.max_per_minute, 0, 1000),
        max_concurrent=s.integer("max_concurrent", d.max_concurrent, 0, 1000))


def _ranking(s: _Section) -> RankingRules:
    d = DEFAULT_RANKING
    raw = s.raw.get("weights", dict(d.weights))
    if not isinstance(raw, dict):
        raise s.fail("weights", f"must be a mapping of {', '.join(METRICS)} to numbers")
    unknown = sorted(map(str, set(raw) - set(METRICS)))
    if unknown:
        raise s.fail("weights", f"unknown metric(s) {', '.join(unknown)} (allowed: {', '.join(METRICS)})")
    weights: dict[str, float] = {}
    for metric in METRICS:
        value = raw.get(metric, 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            raise RulesError(f"{s.where}: section 'ranking', field 'weights', metric '{metric}': a number from "
                             f"0 to 1, not {value!r}")
        weights[metric] = float(value)
    if abs(sum(weights.values()) - 1.0) > 1e-6:
        raise s.fail("weights", f"must add up to 1 (they add up to {sum(weights.values()):g})")
    return RankingRules(MappingProxyType(weights), s.integer("min_cases", d.min_cases, 1, 10_000))

