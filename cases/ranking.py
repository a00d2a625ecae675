"""Agency evaluation and ranking (考核排名): per agency and period, from the cases alone.

Why from the case records: every step is timestamped there, lateness is sticky
(``cases.lifecycle`` rule 1), and the follow-up's answer is on the case, so the figures of a
past period can be recomputed at any time and agree with what the agency saw on its list.

A case counts for the agency it is with (``agency_id``) in the period its transfer to that
agency falls in (``transferred_at`` in ``[start, end)``). Per agency:

- ``received``: those cases;
- acceptance (签收): on time, late (accepted at or after ``accept_due``, in any round, or
  still not accepted at ``now`` past it), or pending (not yet due): ``accepted_on_time_rate``
  = on time / (on time + late);
- reply (答复): the same with ``replied_at`` / ``reply_due``: ``replied_on_time_rate``;
- ``completion_rate`` (办结率): cases replied to and not reopened since (replied, followed up
  or closed after a reply) / received;
- ``satisfaction_rate`` (满意率): satisfied / follow-ups answered (an unreachable citizen is
  no answer);
- ``reopen_rate`` (重办率): cases reopened at least once / received.

The score (0-100) is the weighted mean of the rates, with ``1 - reopen_rate`` for the
reopenings; the weights are ``rules.yaml``'s ``ranking.weights`` (defaults: acceptance
0.15, reply 0.25, completion 0.25, satisfaction 0.25, not reopened 0.10; they add up to 1).
A rate that cannot be computed (no follow-up answered yet) leaves the mean with its weight
spread over the others. An agency with fewer than ``min_cases`` cases gets no score and no
rank (a single case would make it first or last). Ranks are competition ranks (1, 2, 2, 4);
ties share a rank and are listed by agency id.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cases.lifecycle import AWAITING_ACCEPT, AWAITING_REPLY, Case, CaseState

METRICS = ("accepted_on_time", "replied_on_time", "completion", "satisfaction", "not_reopened")
_DEFAULT_WEIGHTS = {"accepted_on_time": 0.15, "replied_on_time": 0.25, "completion": 0.25, "satisfaction": 0.25,
                    "not_reopened": 0.10}
COLUMNS = ("rank", "agency_id", "name_zh", "name_en", "received", "accepted_on_time", "accepted_late",
           "replied_on_time", "replied_late", "completed", "follow_ups", "satisfied", "reopened",
           "accepted_on_time_rate", "replied_on_time_rate", "completion_rate", "satisfaction_rate", "reopen_rate",
           "score")


@dataclass(frozen=True)
class RankingRules:
    """Section ``ranking`` of ``rules.yaml``."""

    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(_DEFAULT_WEIGHTS)))
    min_cases: int = 3


DEFAULT_RANKING = RankingRules()


def accept_status(case: Case, now: datetime) -> str:
    """``on_time``, ``late`` or ``pending`` (see the module's rules)."""
    if case.accepted_late or (case.state in AWAITING_ACCEPT and case.accept_due is not None
                              and now >= case.accept_due):
        return "late"
    return "on_time" if case.accepted_at is not None else "pending"


def reply_status(case: Case, now: datetime) -> str:
    """``on_time``, ``late`` or ``pending``, like ``accept_status`` for the reply."""
    if case.replied_late or (case.state in AWAITING_REPLY and case.reply_due is not None
                             and now >= case.reply_due):
        return "late"
    return "on_time" if case.replied_at is not None else "pending"


def completed(case: Case) -> bool:
    return case.replied_at is not None and case.state in (CaseState.REPLIED, CaseState.FOLLOWED_UP, CaseState.CLOSED)


@dataclass(frozen=True)
class AgencyScore:
    """One agency's figures for the period, its score and rank (None: too few cases)."""

    agency_id: str
    received: int = 0
    accepted_on_time: int = 0
    accepted_late: int = 0
    replied_on_time: int = 0
    replied_late: int = 0
    completed: int = 0
    follow_ups: int = 0
    satisfied: int = 0
    reopened: int = 0
    score: float | None = None
    rank: int | None = None

    @property
    def rates(self) -> dict[str, float | None]:
        """The five rates by metric (``not_reopened`` is 1 - the reopen rate)."""
        reopen = _ratio(self.reopened, self.received)
        return {"accepted_on_time": _ratio(self.accepted_on_time, self.accepted_on_time + self.accepted_late),
                "replied_on_time": _ratio(self.replied_on_time, self.replied_on_time + self.replied_late),
                "completion": _ratio(self.completed, self.received),
                "satisfaction": _ratio(self.satisfied, self.follow_ups),
                "not_reopened": None if reopen is None else 1.0 - reopen}

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.received)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _count(agency_id: str, cases: list[Case], now: datetime) -> AgencyScore:
    accepts = [accept_status(c, now) for c in cases]
    replies = [reply_status(c, now) for c in cases]
    answered = [c for c in cases if c.follow_up_result in ("satisfied", "unsatisfied")]
    return AgencyScore(agency_id, received=len(cases), accepted_on_time=accepts.count("on_time"),
                       accepted_late=accepts.count("late"), replied_on_time=replies.count("on_time"),
                       replied_late=replies.count("late"), completed=sum(completed(c) for c in cases),
                       follow_ups=len(answered), satisfied=sum(c.follow_up_result == "satisfied" for c in answered),
                       reopened=sum(c.reopen_count > 0 for c in cases))


def score(agency: AgencyScore, weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the rates that exist, x 100, rounded to 0.01; None when none does."""
    rates = agency.rates
    known = [(weights.get(m, 0.0), rates[m]) for m in METRICS if rates[m] is not None]
    total = sum(w for w, _ in known)
    if not known or total <= 0:
        return None
    return round(100.0 * sum(w * r for w, r in known if r is not None) / total, 2)


def rank(cases: Iterable[Case], start: datetime, end: datetime, now: datetime,
         rules: RankingRules = DEFAULT_RANKING, agencies: Iterable[str] = ()) -> list[AgencyScore]:
    """Every agency with a case transferred to it in ``[start, end)`` (and every id of
    ``agencies``, even with none), ranked: scored agencies by score (best first), then
    the unscored ones; ties by agency id."""
    by_agency: dict[str, list[Case]] = {a: [] for a in agencies}
    for case in cases:
        if case.agency_id and case.transferred_at is not None and start <= case.transferred_at < end:
            by_agency.setdefault(case.agency_id, []).append(case)
    scored = []
    for agency_id, mine in by_agency.items():
        counted = _count(agency_id, mine, now)
        value = score(counted, rules.weights) if counted.received >= max(1, rules.min_cases) else None
        scored.append(replace(counted, score=value))
    scored.sort(key=lambda a: (a.score is None, -(a.score or 0.0), a.agency_id))
    out: list[AgencyScore] = []
    for i, agency in enumerate(scored):
        if agency.score is None:
            out.append(agency)
            continue
        same = out[-1] if out and out[-1].score == agency.score else None
        out.append(replace(agency, rank=same.rank if same else i + 1))
    return out


# -- exports ------------------------------------------------------------------------------

Names = Callable[[str], tuple[str, str]]


def _row(agency: AgencyScore, names: Names) -> dict[str, Any]:
    zh, en = names(agency.agency_id)
    rates = agency.rates
    return {"rank": agency.rank, "agency_id": agency.agency_id, "name_zh": zh, "name_en": en,
            "received": agency.received, "accepted_on_time": agency.accepted_on_time,
            "accepted_late": agency.accepted_late, "replied_on_time": agency.replied_on_time,
            "replied_late": agency.replied_late, "completed": agency.completed, "follow_ups": agency.follow_ups,
            "satisfied": agency.satisfied, "reopened": agency.reopened,
            "accepted_on_time_rate": rates["accepted_on_time"], "replied_on_time_rate": rates["replied_on_time"],
            "completion_rate": rates["completion"], "satisfaction_rate": rates["satisfaction"],
            "reopen_rate": agency.reopen_rate, "score": agency.score}


def to_dict(ranking: list[AgencyScore], start: datetime, end: datetime, now: datetime, rules: RankingRules,
            names: Names) -> dict[str, Any]:
    """The ranking as JSON values: the period, the weights, one row per agency (``COLUMNS``)."""
    return {"kind": "agency_ranking", "start": start.isoformat(), "end": end.isoformat(), "as_of": now.isoformat(),
            "weights": dict(rules.weights), "min_cases": rules.min_cases,
            "agencies": [_row(a, names) for a in ranking]}


def to_json(ranking: list[AgencyScore], start: datetime, end: datetime, now: datetime, rules: RankingRules,
            names: Names) -> str:
    return json.dumps(to_dict(ranking, start, end, now, rules, names), ensure_ascii=False, indent=2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(ranking: list[AgencyScore], names: Names) -> str:
    """One line per agency (``COLUMNS``); an empty cell is a value that does not exist (no
    rank, no follow-up answered), never 0. Floats in full precision."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in _row(a, names).items()} for a in ranking)
    return out.getvalue()
