"""How long recordings are kept, as data, and the purge that applies it.

Why a policy object and a pure decision (``due``): what may be deleted is a legal question
(the hotline's records rules), so the rule must be readable, testable without a disk or a
database, and the same for the janitor's daily run and ``hotline recordings purge``. The
policy is read from the environment and validated at start (each error names the setting):

- ``HOTLINE_RECORDING_DAYS``: days a recording is kept after its call ended (default 180);
- ``HOTLINE_RECORDING_DAYS_BY_OUTCOME``: ``outcome=days,...`` (e.g. ``transferred=365``);
- ``HOTLINE_RECORDING_DAYS_BY_CATEGORY``: ``code=days,...`` with the work order's category
  code or a prefix of it (``04=365,04.03.01=1095``).

The most specific rule wins: the longest category prefix matching the call's work order,
else the call's outcome, else the default. Whatever the rules say, a recording whose call
has a quality check marked ``keep`` is never purged (an appeal, a training example).

``Retention.purge(now)`` (the shell) removes the files that are due and marks their rows
purged (the row stays: the index says the call was recorded and when the file went); with
``dry_run`` it only says what it would remove.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence

from hotline.settings import SettingsError

log = logging.getLogger(__name__)

DEFAULT_DAYS = 180
MAX_DAYS = 3650  # ten years: a bigger number is a typo
_OUTCOME = re.compile(r"[a-z][a-z_]{0,23}")
_CATEGORY = re.compile(r"[0-9]{2}(\.[0-9]{2}){0,2}")


@dataclass(frozen=True)
class RetentionPolicy:
    """Days a recording is kept after its call, by default and per outcome or category."""

    default_days: int = DEFAULT_DAYS
    by_outcome: Mapping[str, int] = field(default_factory=dict)
    by_category: Mapping[str, int] = field(default_factory=dict)

    def days_for(self, outcome: str | None, category: str | None) -> int:
        """The days that apply to a call of ``outcome`` filed under ``category``."""
        if category:
            matching = [code for code in self.by_category if category == code or category.startswith(code + ".")]
            if matching:
                return self.by_category[max(matching, key=len)]
        if outcome and outcome in self.by_outcome:
            return self.by_outcome[outcome]
        return self.default_days

    @property
    def shortest_days(self) -> int:
        """No recording younger than this is ever due (the store's first filter)."""
        return min([self.default_days, *self.by_outcome.values(), *self.by_category.values()])


@dataclass(frozen=True)
class Candidate:
    """A recorded part old enough to be looked at, with what the policy needs to decide."""

    call_id: str
    part: str
    path: str
    format: str
    bytes: int
    created_at: datetime
    outcome: str | None
    category: str | None
    keep: bool


def due(candidates: Iterable[Candidate], policy: RetentionPolicy, now: datetime) -> list[Candidate]:
    """The candidates the policy lets go at ``now``: older than their days, and not kept by a
    quality check. Pure."""
    return [c for c in candidates
            if not c.keep and c.created_at <= now - timedelta(days=policy.days_for(c.outcome, c.category))]


# -- from the environment ---------------------------------------------------------------------

def _days(name: str, raw: str) -> int:
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise SettingsError(f"{name}={raw!r}: not a number of days (1-{MAX_DAYS})")
    return int(value)


def _pairs(env: Mapping[str, str], name: str, key_pattern: re.Pattern[str], what: str) -> dict[str, int]:
    raw = env.get(name, "")
    out: dict[str, int] = {}
    for item in (p.strip() for p in raw.split(",") if p.strip()):
        key, sep, days = item.partition("=")
        key = key.strip()
        if not sep or not key_pattern.fullmatch(key):
            raise SettingsError(f"{name}={raw!r}: expected {what}=days[,...], not {item!r}")
        if key in out:
            raise SettingsError(f"{name}={raw!r}: {key} is given twice")
        out[key] = _days(name, days)
    return out


def policy_from_env(env: Mapping[str, str]) -> RetentionPolicy:
    """The policy the environment sets; SettingsError naming the variable when it cannot be used."""
    raw = env.get("HOTLINE_RECORDING_DAYS", "")
    default = _days("HOTLINE_RECORDING_DAYS", raw) if raw.strip() else DEFAULT_DAYS
    return RetentionPolicy(default,
                           _pairs(env, "HOTLINE_RECORDING_DAYS_BY_OUTCOME", _OUTCOME, "outcome"),
                           _pairs(env, "HOTLINE_RECORDING_DAYS_BY_CATEGORY", _CATEGORY, "category code"))


# -- the shell ----------------------------------------------------------------------------------

class PurgeStore(Protocol):
    """What the purge needs from the store (``recordings.store.RecordingStore``)."""

    def purge_candidates(self, created_before: datetime) -> list[Candidate]: ...

    def mark_purged(self, parts: Sequence[tuple[str, str]], at: datetime, actor: str) -> int: ...


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    purged: tuple[Candidate, ...]
    dry_run: bool
    missing: int = 0  # files already gone (still marked purged)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.purged)


class Retention:
    """Applies ``policy`` to the recordings of ``store`` (``actor``: who the access log names)."""

    def __init__(self, store: PurgeStore, policy: RetentionPolicy, actor: str = "retention") -> None:
        self.store = store
        self.policy = policy
        self.actor = actor

    def purge(self, now: datetime, dry_run: bool = False) -> PurgeReport:
        """Remove every file the policy lets go at ``now`` and mark its row purged; a file
        that cannot be removed (permissions) keeps its row unpurged and is retried next time."""
        candidates = self.store.purge_candidates(now - timedelta(days=self.policy.shortest_days))
        chosen = due(candidates, self.policy, now)
        if dry_run:
            return PurgeReport(tuple(chosen), True)
        removed: list[Candidate] = []
        missing = 0
        for candidate in chosen:
            try:
                gone = _remove(Path(candidate.path))
                if candidate.format != "wav":  # a WAV left by a pass that died after compressing
                    _remove(Path(candidate.path).with_suffix(".wav"))
            except OSError as exc:
                log.error("recording %s (%s) not purged: %s", candidate.path, candidate.call_id, exc)
                continue
            missing += 0 if gone else 1
            removed.append(candidate)
        if removed:
            self.store.mark_purged([(c.call_id, c.part) for c in removed], now, self.actor)
            log.info("purged %d recording(s), %d bytes (%d already gone)", len(removed),
                     sum(c.bytes for c in removed), missing)
        return PurgeReport(tuple(removed), False, missing)


def _remove(path: Path) -> bool:
    """Remove ``path``; False when it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
