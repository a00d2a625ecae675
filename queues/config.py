"""Queues as data: load and validate ``queues.yaml`` into ``acd.QueuePolicy`` objects.

Why strict: a typo in a queue file ("wrapup_second: 60") silently ignored
would change how citizens are served without anyone noticing. So unknown
keys are errors, every value is type-checked, and every error names the
file, the queue and the problem. The value rules themselves (ranges,
relaxation order) live in ``QueuePolicy`` and ``RelaxStep`` and are
re-raised here with that context, so there is one source of truth.

File shape::

    version: 1
    defaults: {<field>: <value>, ...}     # optional, merged under every queue
    queues:
      <name>: {<field>: <value>, ...}

Fields are those of ``QueuePolicy`` except ``name`` (the key) and
``relaxation``, which is a list of ``{after, min_level, keep_line_skills, overflow_to}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from acd.model import QueuePolicy, RelaxStep

SUPPORTED_VERSION = 1
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


class QueueConfigError(ValueError):
    """The queue file is unusable; the message names the file, the queue and the problem."""


def default_queues_path() -> Path:
    """The queue file shipped with the package (``queues/queues.yaml``)."""
    return Path(__file__).with_name("queues.yaml")


def load_queues(path: str | Path) -> dict[str, QueuePolicy]:
    """Read ``path`` and return its queues by name; raise ``QueueConfigError`` on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise QueueConfigError(f"{source}: cannot read queue file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QueueConfigError(f"{source}: not valid YAML: {exc}") from exc
    return parse_queues(data, source)


def parse_queues(data: object, source: str = "<queues>") -> dict[str, QueuePolicy]:
    """Validate already-parsed YAML ``data``; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        raise QueueConfigError(f"{source}: expected a mapping with 'version' and 'queues' at the top")
    _check_keys(data, {"version", "defaults", "queues"}, f"{source}: top level")
    if data.get("version") != SUPPORTED_VERSION:
        raise QueueConfigError(f"{source}: 'version' must be {SUPPORTED_VERSION}, got {data.get('version')!r}")
    defaults = data.get("defaults")
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, Mapping):
        raise QueueConfigError(f"{source}: 'defaults' must be a mapping")
    _check_keys(defaults, set(_FIELDS), f"{source}: defaults")
    queues = data.get("queues")
    if not isinstance(queues, Mapping) or not queues:
        raise QueueConfigError(f"{source}: 'queues' must be a non-empty mapping of queue name to settings")
    parsed = {str(name): _parse_queue(source, name, raw, defaults) for name, raw in queues.items()}
    for name, policy in parsed.items():
        for i, step in enumerate(policy.relaxation):
            unknown = sorted(step.overflow_to - parsed.keys())
            if unknown:
                raise QueueConfigError(f"{source}: queue {name!r}: relaxation: step {i}: overflow_to names "
                                       f"unknown queue(s) {', '.join(unknown)}")
    return parsed


def _parse_queue(source: str, name: object, raw: object, defaults: Mapping[str, Any]) -> QueuePolicy:
    where = f"{source}: queue {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise QueueConfigError(f"{where}: name must be lower-case letters, digits and '_' (max 32)")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise QueueConfigError(f"{where}: settings must be a mapping")
    _check_keys(raw, set(_FIELDS), where)
    merged = {**defaults, **raw}
    values = {key: _convert(where, key, value) for key, value in merged.items()}
    try:
        return QueuePolicy(name=name, **values)
    except ValueError as exc:
        raise QueueConfigError(f"{where}: {exc}") from exc


def _check_keys(raw: Mapping[Any, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise QueueConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _convert(where: str, key: str, value: object) -> Any:
    try:
        return _FIELDS[key](value)
    except (TypeError, ValueError) as exc:
        raise QueueConfigError(f"{where}: {key}: {exc}") from exc


# -- value converters: raise ValueError with the problem, the caller adds where --


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and _NAME.match(v) for v in value):
        raise ValueError(f"expected a list of lower-case names, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"duplicate names in {value!r}")
    return frozenset(value)


def _languages(value: object) -> frozenset[str]:
    names = _names(value)
    bad = sorted(n for n in names if not _LANGUAGE.match(n))
    if bad:
        raise ValueError(f"languages must be two-letter ISO 639-1 codes, got {', '.join(bad)}")
    return names


def _relaxation(value: object) -> tuple[RelaxStep, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list of steps {after, min_level, keep_line_skills}")
    return tuple(_relax_step(i, raw) for i, raw in enumerate(value))


def _relax_step(i: int, raw: object) -> RelaxStep:
    if not isinstance(raw, Mapping):
        raise ValueError(f"step {i}: expected a mapping, got {raw!r}")
    unknown = sorted(str(k) for k in raw if k not in {"after", "min_level", "keep_line_skills", "overflow_to"})
    if unknown or "after" not in raw or "min_level" not in raw:
        raise ValueError(f"step {i}: needs 'after' and 'min_level', optional 'keep_line_skills' and "
                         f"'overflow_to' (got {sorted(map(str, raw))})")
    keep = raw.get("keep_line_skills", True)
    if not isinstance(keep, bool):
        raise ValueError(f"step {i}: keep_line_skills must be true or false, got {keep!r}")
    try:
        overflow = _names(raw.get("overflow_to", []))
        return RelaxStep(after=_number(raw["after"]), min_level=_integer(raw["min_level"]), keep_line_skills=keep,
                         overflow_to=overflow)
    except ValueError as exc:
        raise ValueError(f"step {i}: {exc}") from exc


_FIELDS: Mapping[str, Callable[[object], Any]] = {
    "title": _text,
    "priority": _integer,
    "sl_target": _number,
    "relaxation": _relaxation,
    "line_skills": _names,
    "wrapup_seconds": _number,
    "wrapup_may_end_early": _flag,
    "work_order_required": _flag,
    "ring_timeout": _number,
    "max_misses_before_pause": _integer,
    "announce_interval": _number,
    "callback_offer_after": _optional_number,
    "callback_max_share": _number,
    "callback_attempts": _integer,
    "callback_retry_after": _number,
    "callback_ring_timeout": _number,
    "languages": _languages,
    "domains": _names,
    "multilingual_last": _flag,
}
