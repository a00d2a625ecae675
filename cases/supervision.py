"""Automatic supervision (督办): which facts of a case put it under supervision, as rules (data).

Why rules over facts, not code in the shell: the standard names what must be supervised
(emergencies, repeated complaints, cases the citizen was unhappy with, overdue cases), but
what counts as "repeated" is a local policy that changes (3 calls in 30 days? 5 reports of
one place in a week?), so the numbers live in ``cases/rules.yaml`` (``SupervisionRules``)
and this module only compares facts.

The rules, each switched off by leaving it out of the file:

- ``emergency``: the case's category is an emergency item of the taxonomy (or the order's
  urgency is "emergency");
- ``repeat_caller``: the same citizen (caller number) opened at least ``count`` cases (this
  one included) within ``window_days`` before this one. Withheld or unusable numbers never
  count as one citizen (``workorders.history.has_history``);
- ``repeat_place``: at least ``count`` cases of the same district and category (compared at
  ``level``: item, subclass or class) within the window, or of the same district and a
  matching free-text address (``address_key``: the same, or one containing the other, at
  least ``min_address_length`` characters);
- ``unhappy``: the follow-up's answer was "unsatisfied";
- ``overdue``: a deadline is missed (``lifecycle.overdue``).

A supervisor flags a case by hand too (reason ``manual``, with an escalation note). Pure:
facts in, findings out; the shell loads the other cases of the window and applies the
``Flag`` events ``flags_for`` gives.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cases.lifecycle import Case, Flag, overdue
from workorders.history import has_history

LEVELS = {"item": 3, "subclass": 2, "class": 1}
# A Chinese street address inside a request: a name ending in a road, street, lane, estate or
# building word, with its numbers (经十路123号, 舜耕小区5号楼). A heuristic; the call taker's text
# is the input, so a miss only means no address rule for that case.
_ADDRESS = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,12}?(?:路|街|大街|大道|巷|胡同|小区|花园|家园|公寓|大厦|广场|村|社区)"
                      r"(?:[0-9一二三四五六七八九十百]+(?:号院|号楼|号|栋|单元|弄))*")
_LEADING = re.compile(r"^(?:[我你他她]们?|家|住|在|于|到|的|是|从|向|往|位于|门口)+")
_NOT_KEPT = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class RepeatRule:
    """``count`` cases (the one examined included) within ``window_days`` before it."""

    count: int
    window_days: float

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


@dataclass(frozen=True)
class SupervisionRules:
    """Section ``supervision`` of ``rules.yaml``; a repeat rule of None is switched off."""

    emergency: bool = True
    repeat_caller: RepeatRule | None = RepeatRule(3, 30)
    repeat_place: RepeatRule | None = RepeatRule(5, 7)
    place_level: str = "item"
    repeat_address: RepeatRule | None = RepeatRule(3, 7)
    min_address_length: int = 4
    unhappy: bool = True
    overdue: bool = True

    def lookback(self) -> timedelta:
        """How far back the shell must load other cases for the repeat rules."""
        rules = [r for r in (self.repeat_caller, self.repeat_place, self.repeat_address) if r is not None]
        return max((r.window for r in rules), default=timedelta(0))


DEFAULT_SUPERVISION = SupervisionRules()


@dataclass(frozen=True)
class Finding:
    """One reason to supervise a case, with the note a supervisor reads (which rule, which
    other cases)."""

    reason: str
    note: str
    related: tuple[str, ...] = field(default=())


def address_key(text: str) -> str:
    """The address as compared: full-width folded (NFKC), case folded, without spaces or
    punctuation."""
    return _NOT_KEPT.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


def extract_address(request: str) -> str:
    """The first street address found in a request's text, or ``""``."""
    found = _ADDRESS.search(re.sub(r"\s+", "", unicodedata.normalize("NFKC", request or "")))
    return _LEADING.sub("", found.group(0)) if found else ""


def same_address(a: str, b: str, min_length: int) -> bool:
    """Whether two addresses name one place: equal keys, or one inside the other, the
    shorter at least ``min_length`` characters long."""
    ka, kb = address_key(a), address_key(b)
    if len(ka) < min_length or len(kb) < min_length:
        return False
    return ka == kb or ka in kb or kb in ka


def category_key(code: str, level: str) -> str:
    """The category compared at ``level``: ``04.01.02`` is ``04.01`` at subclass level."""
    return ".".join(code.split(".")[: LEVELS[level]])


def _within(case: Case, others: Iterable[Case], rule: RepeatRule) -> list[Case]:
    start = case.opened_at - rule.window
    return [o for o in others if o.case_number != case.case_number and start <= o.opened_at <= case.opened_at]


def _repeat(case: Case, matches: list[Case], rule: RepeatRule, reason: str, what: str) -> Finding | None:
    if len(matches) + 1 < rule.count:
        return None
    related = tuple(sorted(o.case_number for o in matches))
    note = (f"{len(matches) + 1} cases {what} within {rule.window_days:g} days (this one and "
            f"{', '.join(related)})")
    return Finding(reason, note, related)


def findings(case: Case, others: Sequence[Case], now: datetime,
             rules: SupervisionRules = DEFAULT_SUPERVISION) -> list[Finding]:
    """Every rule that puts ``case`` under supervision at ``now``, given the ``others``
    (cases of the lookback window; any others are ignored), in ``SUPERVISION_REASONS`` order."""
    found: list[Finding] = []
    if rules.emergency and case.emergency:
        found.append(Finding("emergency", f"emergency category {case.category}"))
    if rules.repeat_caller is not None and has_history(case.caller):
        same = [o for o in _within(case, others, rules.repeat_caller) if o.caller == case.caller]
        hit = _repeat(case, same, rules.repeat_caller, "repeat_caller", f"from {case.caller}")
        found += [hit] if hit else []
    found += _place(case, others, rules)
    if rules.unhappy and case.follow_up_result == "unsatisfied":
        found.append(Finding("unhappy", "the citizen was not satisfied at the follow-up call"))
    missed = overdue(case, now) if rules.overdue else ()
    if missed:
        found.append(Finding("overdue", f"deadline missed: {', '.join(missed)}"))
    return found


def _place(case: Case, others: Sequence[Case], rules: SupervisionRules) -> list[Finding]:
    """The ``repeat_place`` findings: by district and category, else by address."""
    if rules.repeat_place is not None and case.district and case.category:
        key = category_key(case.category, rules.place_level)
        same = [o for o in _within(case, others, rules.repeat_place)
                if o.district == case.district and category_key(o.category, rules.place_level) == key]
        hit = _repeat(case, same, rules.repeat_place, "repeat_place",
                      f"in district {case.district} of category {key}")
        if hit:
            return [hit]
    if rules.repeat_address is not None and case.district and case.address:
        same = [o for o in _within(case, others, rules.repeat_address)
                if o.district == case.district and same_address(o.address, case.address, rules.min_address_length)]
        hit = _repeat(case, same, rules.repeat_address, "repeat_place", f"at {case.address}")
        if hit:
            return [hit]
    return []


def flags_for(case: Case, found: Iterable[Finding]) -> list[Flag]:
    """The ``Flag`` events to apply: one per reason the case is not flagged for yet."""
    flags: list[Flag] = []
    for finding in found:
        if finding.reason not in case.supervision and all(f.reason != finding.reason for f in flags):
            flags.append(Flag(finding.reason, finding.note))
    return flags
