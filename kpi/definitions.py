"""Every KPI of the hotline, as data: a name, its numerator, its denominator and the rule it
follows, and the pure function that computes it from the per-call facts (``kpi.facts``).

Why one module: other systems disagree with themselves because each screen counts in its
own way (app_queue's SL2 counts a short abandon as a success and its hold time is an
exponential average; VICIdial's drop rate is over *answered* calls unless an option
changes it; wallboards reading Asterisk's counters reset on reload). Here each figure is
defined once (``KPIS``), every report, CSV, chart and API answer reads it from here, and
``docs/kpis.md`` says the same in words for supervisors and auditors.

Words used below (see ``kpi.facts`` for how each is derived from the records):

- *inbound call*: a citizen's call (source controller or fallback); a callback try is not one.
- *offered*: an inbound call that reached the queue (asked for a person): answered,
  abandoned in the queue, or a callback booked while waiting. A caller who hung up in the
  IVR (``ivr_abandoned``) or was served by its message (``ivr_served``) was never offered.
- *live offered*: offered minus booked callbacks. A booked callback is neither answered
  nor abandoned (as in Amazon Connect): it is counted with the callbacks.
- *wait*: from entering the queue to the answer (or to the caller's hang-up).
- *short abandon*: an abandon in the queue after a wait shorter than
  ``KpiRules.short_abandon_seconds`` (5 s); every rate that depends on abandons is given
  both ways: counting short abandons as failures (strict) and leaving them out of the
  numerator and the denominator (``*_excl_short``).
- Time groups go by ``arrived_at``: a call belongs to the interval (and the 24-hour
  window) in which it arrived.

The KPIs (key: numerator / denominator; rule). Counts have no denominator; a ratio whose
denominator is 0 has no value (``None``), never 0 or 100 %::

    arrived                  inbound calls settled (IVR included; in-progress left out)
    offered                  inbound calls that reached the queue
    answered                 offered calls an agent answered
    abandoned                offered calls whose caller hung up before an answer (callbacks never)
    short_abandoned          abandoned with wait < short_abandon_seconds
    abandoned_excl_short     abandoned - short_abandoned
    ivr_abandoned            inbound calls that hung up in the IVR (not offered, not in the rates)
    ivr_served               inbound calls the IVR's message served (not offered)
    callbacks_requested      offered calls whose caller booked a callback
    callbacks_completed      requests some callback try reached (tries after the period count)
    callback_completion_rate callbacks_completed / callbacks_requested
    callback_tries           callback tries placed in the period (outbound calls, 外呼)
    connect_rate             answered / live offered; GB/T 33358 (>= 95 %), short abandons are failures
    connect_rate_excl_short  answered / (live offered - short_abandoned)
    abandon_rate             abandoned / live offered (VICIdial divides by answered: not here)
    abandon_rate_excl_short  abandoned_excl_short / (live offered - short_abandoned)
    answered_within_sl       answered with wait <= service_level_seconds (15 s)
    service_level            answered_within_sl / answered; the municipal timely-answer rule (>= 80 %)
    sl_app_queue             app_queue's SL: completed within servicelevel / completed (= ours on our facts)
    sl2_app_queue            app_queue's SL2: (answered within + abandoned within) / (answered + abandoned);
                             a short abandon counts as a success: for comparison only
    asa                      mean wait of answered calls (a mean, not app_queue's exponential average)
    asa_median               median wait of answered calls
    asa_p90                  90th percentile (nearest rank) of the waits of answered calls
    mean_abandon_wait        mean wait of abandoned calls
    aht                      mean of (agent_talk + wrap) over the calls an agent handled (answered
                             inbound calls and callback tries that reached the citizen); talk
                             already holds the hold time; a call whose wrap-up the log does not
                             give counts its talk only (``wrap_known`` says how many gave it)
    talk_mean                mean agent_talk of handled calls
    hold_mean                mean hold of handled calls (citizen on music during a consult)
    wrap_mean                mean wrap-up of handled calls whose wrap-up is known
    wrap_known               handled calls whose wrap-up the agents' log gives
    rona                     rings no agent answered (RONA events)
    calls_with_rona          offered calls with at least one RONA
    occupancy                (on_call + wrap_up) / (logged in - paused), agents' log seconds
    work_orders              work orders of the calls (受理)
    orders_direct            work orders handled directly (直办)
    orders_transferred       work orders transferred to an agency (转办)
    direct_handling_rate     orders_direct / work_orders (直办率)
    three_party_calls        answered calls an agency joined: consulted, three-party or handed over
    conference_calls         answered calls in which citizen, call taker and agency talked together
    live_transfers           answered calls handed over to an agency (the call taker left)
    survey_answers           calls whose citizen answered the survey (no_answer left out)
    satisfaction_rate        (satisfied + basically_satisfied) / survey_answers (满意率)
    fully_satisfied_rate     satisfied / survey_answers
    repeat_calls_24h         inbound calls from a number that called within the 24 h before
    repeat_calls_30d         the same within 30 days
    repeat_rate_24h          repeat_calls_24h / inbound calls from a usable number
    repeat_rate_30d          repeat_calls_30d / inbound calls from a usable number
    repeat_callers_24h       distinct numbers with a repeat call within 24 h
    repeat_callers_30d       distinct numbers with a repeat call within 30 days

Beyond the table: ``rolling_connect`` gives the connect rate of every 24-hour window of
the period (the worst one, and the current one), as GB/T 33358 asks for "any 24
consecutive hours"; ``kpi_rows`` groups the facts by line, language, skill, agent,
agency, work-order category, district or interval (15 min, hour, day) and adds the
per-agent figures (rings, RONA, login, pause, occupancy) and the per-agency ones (legs
dialled and answered, conference calls, hand-overs and work orders transferred to it).
"""
from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Callable, Iterable, Mapping, Sequence

from kpi.facts import AgentSpan, CallFacts, PeriodData
from workorders.history import has_history

Value = float | int | None
DAY = 86400.0
INTERVALS: Mapping[str, float] = {"15m": 900.0, "1h": 3600.0, "1d": DAY}
GROUPINGS = ("period", "line", "language", "skill", "agent", "agency", "category", "district", "interval")
CATEGORY_LEVELS = {"class": 2, "subclass": 5, "item": 8}  # characters of the code at each level
BUSY_STATES = frozenset({"on_call", "wrap_up"})
NOT_STAFFED = frozenset({"logged_out", "paused"})
FAILED_LEG_ENDS = frozenset({"busy", "no_answer", "unreachable", "out_of_hours", "rejected"})
NO_GROUP = "-"


@dataclass(frozen=True)
class KpiRules:
    """The thresholds every KPI follows (data, so a report states the rules it used)."""

    service_level_seconds: float = 15.0     # GB/T 33358 and the municipal rule: answered within 15 s
    short_abandon_seconds: float = 5.0      # an abandon after less than this is "short"
    app_queue_servicelevel: float = 15.0    # queues.conf servicelevel, for SL/SL2 comparison
    repeat_short_seconds: float = DAY       # a repeat caller within 24 h ...
    repeat_long_seconds: float = 30 * DAY   # ... and within 30 days
    rolling_window_seconds: float = DAY     # GB/T 33358: any 24 consecutive hours
    connect_target: float = 0.95            # GB/T 33358
    service_level_target: float = 0.80      # municipal timely-answer rate
    percentile: float = 0.90                # asa_p90
    wrap_cap_seconds: float | None = None   # longest wrap-up believed (a late-noticed end is cut here)


# -- the tally: one pass over a group's facts ----------------------------------------------

@dataclass(frozen=True)
class Tally:
    """The sums every KPI is computed from (one group of calls, one span of agents' time)."""

    arrived: int = 0
    unsettled: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    ivr_abandoned: int = 0
    ivr_served: int = 0
    answered_within_sl: int = 0
    answered_within_app_sl: int = 0
    abandoned_within_app_sl: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callback_tries: int = 0
    waits: tuple[float, ...] = ()
    abandon_waits: tuple[float, ...] = ()
    handle_times: tuple[float, ...] = ()
    talks: tuple[float, ...] = ()
    holds: tuple[float, ...] = ()
    wraps: tuple[float, ...] = ()
    rona: int = 0
    calls_with_rona: int = 0
    three_party_calls: int = 0
    conference_calls: int = 0
    live_transfers: int = 0
    work_orders: int = 0
    orders_direct: int = 0
    orders_transferred: int = 0
    survey_answers: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    numbered: int = 0
    repeat_short: int = 0
    repeat_long: int = 0
    repeat_callers_short: int = 0
    repeat_callers_long: int = 0
    busy_seconds: float | None = None
    staffed_seconds: float | None = None

    @property
    def live_offered(self) -> int:
        return self.offered - self.callbacks_requested


def _capped(seconds: float | None, rules: KpiRules) -> float | None:
    if seconds is None or rules.wrap_cap_seconds is None:
        return seconds
    return min(seconds, rules.wrap_cap_seconds)


def tally(facts: Iterable[CallFacts], rules: KpiRules, spans: Iterable[AgentSpan] | None = None,
          window: tuple[float, float] | None = None) -> Tally:
    """The sums over ``facts`` (and, with ``spans``, the agents' busy and staffed seconds
    inside ``window``)."""
    c: dict[str, int] = defaultdict(int)
    lists: dict[str, list[float]] = defaultdict(list)
    repeaters: dict[str, set[str]] = {"short": set(), "long": set()}
    for f in facts:
        _count_call(f, rules, c, lists, repeaters)
    busy = staffed = None
    if spans is not None and window is not None:
        busy, staffed = agent_seconds(spans, window[0], window[1], rules)
    return Tally(**c, **{k: tuple(v) for k, v in lists.items()},
                 repeat_callers_short=len(repeaters["short"]), repeat_callers_long=len(repeaters["long"]),
                 busy_seconds=busy, staffed_seconds=staffed)


def _count_call(f: CallFacts, rules: KpiRules, c: dict[str, int], lists: dict[str, list[float]],
                repeaters: dict[str, set[str]]) -> None:
    if not f.inbound:
        c["callback_tries"] += 1
        if f.outcome == "answered":
            _count_handled(f, rules, c, lists)
        return
    if not f.settled:
        c["unsettled"] += 1
        return
    c["arrived"] += 1
    c["ivr_abandoned"] += f.disposition == "ivr_abandoned"
    c["ivr_served"] += f.disposition == "ivr_served"
    if f.queued:
        c["offered"] += 1
        c["rona"] += f.rona_count
        c["calls_with_rona"] += f.rona_count > 0
    if f.disposition == "answered":
        wait = f.wait or 0.0
        c["answered"] += 1
        c["answered_within_sl"] += wait <= rules.service_level_seconds
        c["answered_within_app_sl"] += wait <= rules.app_queue_servicelevel
        lists["waits"].append(wait)
        c["three_party_calls"] += f.agency_joined
        c["conference_calls"] += f.handling == "three_party"
        c["live_transfers"] += f.handling == "transferred"
        _count_handled(f, rules, c, lists)
    elif f.disposition == "abandoned":
        wait = f.wait or 0.0
        c["abandoned"] += 1
        c["short_abandoned"] += wait < rules.short_abandon_seconds
        c["abandoned_within_app_sl"] += wait <= rules.app_queue_servicelevel
        lists["abandon_waits"].append(wait)
    elif f.callback_requested:
        c["callbacks_requested"] += 1
        c["callbacks_completed"] += f.callback_reached
    if f.order_handling is not None:
        c["work_orders"] += 1
        c["orders_direct"] += f.order_handling == "direct"
        c["orders_transferred"] += f.order_handling == "transferred"
    if f.satisfaction is not None and f.satisfaction != "no_answer":
        c["survey_answers"] += 1
        c["satisfied"] += f.satisfaction == "satisfied"
        c["basically_satisfied"] += f.satisfaction == "basically_satisfied"
    _count_repeat(f, rules, c, repeaters)


def _count_handled(f: CallFacts, rules: KpiRules, c: dict[str, int], lists: dict[str, list[float]]) -> None:
    talk, wrap = f.agent_talk or 0.0, _capped(f.wrap, rules)
    lists["handle_times"].append(talk + (wrap or 0.0))
    lists["talks"].append(talk)
    lists["holds"].append(f.hold)
    if wrap is not None:
        lists["wraps"].append(wrap)


def _count_repeat(f: CallFacts, rules: KpiRules, c: dict[str, int], repeaters: dict[str, set[str]]) -> None:
    if not has_history(f.caller):
        return
    c["numbered"] += 1
    if f.prior_gap is not None and f.prior_gap <= rules.repeat_short_seconds:
        c["repeat_short"] += 1
        repeaters["short"].add(f.caller)
    if f.prior_gap is not None and f.prior_gap <= rules.repeat_long_seconds:
        c["repeat_long"] += 1
        repeaters["long"].add(f.caller)


def agent_seconds(spans: Iterable[AgentSpan], lo: float, hi: float, rules: KpiRules) -> tuple[float, float]:
    """(busy, staffed) seconds of ``spans`` inside ``[lo, hi)``: busy is on a call or in
    wrap-up (wrap-up cut at ``wrap_cap_seconds`` from its start, the rest idle), staffed is
    logged in and not paused."""
    busy = staffed = 0.0
    for s in spans:
        start, end = max(s.start, lo), min(s.end, hi)
        if end <= start or s.state in NOT_STAFFED:
            continue
        staffed += end - start
        if s.state in BUSY_STATES:
            stop = end if s.state == "on_call" or rules.wrap_cap_seconds is None else \
                min(end, s.start + rules.wrap_cap_seconds)
            busy += max(0.0, stop - start)
    return busy, staffed


# -- the catalogue --------------------------------------------------------------------------

def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The ``p`` percentile by nearest rank: the smallest value with at least ``p`` of the
    values at or below it (an observed wait, never an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


@dataclass(frozen=True)
class Kpi:
    """One KPI: its words and its arithmetic. ``num`` gives the numerator (or the value
    itself when there is no ``den``); a ratio with a zero denominator has no value."""

    key: str
    zh: str
    en: str
    unit: str                   # count | ratio | seconds
    numerator: str
    denominator: str
    rule: str
    num: Callable[[Tally, KpiRules], Value]
    den: Callable[[Tally, KpiRules], Value] | None = None

    def value(self, t: Tally, rules: KpiRules) -> Value:
        top = self.num(t, rules)
        if self.den is None:
            return top
        bottom = self.den(t, rules)
        return None if top is None or not bottom else top / bottom


def _count(key: str, zh: str, en: str, numerator: str, rule: str) -> Kpi:
    return Kpi(key, zh, en, "count", numerator, "", rule, lambda t, r: getattr(t, key))


KPIS: tuple[Kpi, ...] = (
    _count("arrived", "来电总量", "Calls arrived", "inbound calls settled in the period",
           "IVR calls included; calls still in progress are left out; callback tries are not inbound"),
    _count("offered", "转人工量", "Calls offered", "inbound calls that reached the queue",
           "answered + abandoned in the queue + callbacks booked; IVR hang-ups are not offered"),
    _count("answered", "人工接听量", "Calls answered", "offered calls an agent answered",
           "from the stored answer time, never from Asterisk's counters"),
    _count("abandoned", "放弃量", "Calls abandoned", "offered calls the caller left before an answer",
           "waiting or while an agent's phone rang; a booked callback is never an abandon"),
    _count("short_abandoned", "短时放弃量", "Short abandons", "abandoned calls with wait < short-abandon threshold",
           "threshold KpiRules.short_abandon_seconds (5 s by default)"),
    Kpi("abandoned_excl_short", "放弃量(不含短时)", "Abandons excluding short", "count",
        "abandoned - short_abandoned", "", "abandons after the short-abandon threshold",
        lambda t, r: t.abandoned - t.short_abandoned),
    _count("ivr_abandoned", "IVR放弃量", "Hung up in the IVR", "inbound calls that hung up before the queue",
           "never offered to a person: outside every rate"),
    _count("ivr_served", "IVR自助量", "Served by the IVR", "inbound calls the IVR's message served",
           "never offered to a person: outside every rate"),
    _count("callbacks_requested", "预约回拨量", "Callbacks requested", "offered calls whose caller booked a callback",
           "counted apart: neither answered nor abandoned (as Amazon Connect)"),
    _count("callbacks_completed", "回拨完成量", "Callbacks completed", "requests a callback try reached",
           "a try made after the period still completes a request of the period"),
    Kpi("callback_completion_rate", "回拨完成率", "Callback completion rate", "ratio", "callbacks_completed",
        "callbacks_requested", "of the requests booked in the period",
        lambda t, r: t.callbacks_completed, lambda t, r: t.callbacks_requested),
    _count("callback_tries", "外呼回拨量", "Callback tries (outbound)", "callback tries placed in the period",
           "each try is its own record (source callback)"),
    Kpi("connect_rate", "接通率", "Connect rate", "ratio", "answered", "offered - callbacks_requested",
        "GB/T 33358-2016 (>= 95 %): short abandons count as failures",
        lambda t, r: t.answered, lambda t, r: t.live_offered),
    Kpi("connect_rate_excl_short", "接通率(不含短时放弃)", "Connect rate excluding short abandons", "ratio", "answered",
        "offered - callbacks_requested - short_abandoned", "short abandons left out of the denominator",
        lambda t, r: t.answered, lambda t, r: t.live_offered - t.short_abandoned),
    Kpi("abandon_rate", "放弃率", "Abandon rate", "ratio", "abandoned", "offered - callbacks_requested",
        "over calls offered (VICIdial's default divides by answered calls)",
        lambda t, r: t.abandoned, lambda t, r: t.live_offered),
    Kpi("abandon_rate_excl_short", "放弃率(不含短时放弃)", "Abandon rate excluding short abandons", "ratio",
        "abandoned - short_abandoned", "offered - callbacks_requested - short_abandoned",
        "short abandons left out of both", lambda t, r: t.abandoned - t.short_abandoned,
        lambda t, r: t.live_offered - t.short_abandoned),
    _count("answered_within_sl", "15秒内接听量", "Answered within 15 s", "answered calls with wait <= 15 s",
           "threshold KpiRules.service_level_seconds"),
    Kpi("service_level", "15秒及时接听率", "Service level (15 s)", "ratio", "answered within 15 s", "answered",
        "the municipal timely-answer rule (>= 80 %); GB/T 33358's 15-second answer",
        lambda t, r: t.answered_within_sl, lambda t, r: t.answered),
    Kpi("sl_app_queue", "app_queue SL", "app_queue SL", "ratio", "answered within servicelevel", "answered",
        "app_queue's ServicelevelPerf on our facts (theirs resets on reload)",
        lambda t, r: t.answered_within_app_sl, lambda t, r: t.answered),
    Kpi("sl2_app_queue", "app_queue SL2", "app_queue SL2", "ratio",
        "answered within servicelevel + abandoned within servicelevel", "answered + abandoned",
        "app_queue's ServicelevelPerf2: a short abandon counts as a success; comparison only",
        lambda t, r: t.answered_within_app_sl + t.abandoned_within_app_sl, lambda t, r: t.answered + t.abandoned),
    Kpi("asa", "平均应答时长", "Average speed of answer", "seconds", "sum of waits of answered calls", "answered",
        "an arithmetic mean (app_queue's holdtime is an exponential average)",
        lambda t, r: sum(t.waits) if t.waits else None, lambda t, r: len(t.waits)),
    Kpi("asa_median", "应答时长中位数", "Median wait of answered calls", "seconds", "median of the waits", "",
        "the middle wait (mean of the two middle ones for an even count)", lambda t, r: _median(t.waits)),
    Kpi("asa_p90", "应答时长P90", "90th percentile wait of answered calls", "seconds", "nearest-rank percentile", "",
        "the smallest observed wait with 90 % of the waits at or below it",
        lambda t, r: nearest_rank(t.waits, r.percentile)),
    Kpi("mean_abandon_wait", "平均放弃前等待", "Mean wait before abandon", "seconds",
        "sum of waits of abandoned calls", "abandoned", "wait to the caller's hang-up",
        lambda t, r: sum(t.abandon_waits) if t.abandon_waits else None, lambda t, r: len(t.abandon_waits)),
    Kpi("aht", "平均处理时长", "Average handle time", "seconds", "sum of (agent talk + wrap-up)", "handled calls",
        "talk includes hold (not added twice); wrap-up from the agents' log, 0 when unknown",
        lambda t, r: sum(t.handle_times) if t.handle_times else None, lambda t, r: len(t.handle_times)),
    Kpi("talk_mean", "平均通话时长", "Mean talk time", "seconds", "sum of agent talk", "handled calls",
        "answer to the call taker's end of the call (hold included, survey not)",
        lambda t, r: sum(t.talks) if t.talks else None, lambda t, r: len(t.talks)),
    Kpi("hold_mean", "平均保持时长", "Mean hold time", "seconds", "sum of hold", "handled calls",
        "citizen on music while the call taker consults an agency",
        lambda t, r: sum(t.holds) if t.holds else None, lambda t, r: len(t.holds)),
    Kpi("wrap_mean", "平均话后处理时长", "Mean wrap-up", "seconds", "sum of wrap-ups", "wrap_known",
        "the wrap_up row of the call in the agents' log to the agent's next row",
        lambda t, r: sum(t.wraps) if t.wraps else None, lambda t, r: len(t.wraps)),
    Kpi("wrap_known", "话后时长已知量", "Handled calls with a known wrap-up", "count", "handled calls whose "
        "wrap-up is in the agents' log", "", "the others count their talk only in aht",
        lambda t, r: len(t.wraps)),
    _count("rona", "振铃未接次数", "Rings not answered (RONA)", "RONA events of offered calls",
           "each agent ring that timed out"),
    _count("calls_with_rona", "含振铃未接的来电", "Calls with a RONA", "offered calls with at least one RONA",
           "answered later or not"),
    Kpi("occupancy", "座席占用率", "Occupancy", "ratio", "seconds on a call or in wrap-up",
        "seconds logged in and not paused", "from the agents' state log; ringing and reserved time is available time",
        lambda t, r: t.busy_seconds, lambda t, r: t.staffed_seconds),
    _count("work_orders", "受理工单量", "Work orders (accepted)", "work orders of the calls",
           "one per call, filed by the call taker"),
    _count("orders_direct", "直办量", "Handled directly", "work orders with handling direct", "直办"),
    _count("orders_transferred", "转办量", "Transferred to agencies", "work orders with handling transferred",
           "转办: due in 2 working days"),
    Kpi("direct_handling_rate", "直办率", "Direct-handling rate", "ratio", "orders_direct", "work_orders",
        "Jinan's target: above 75 %", lambda t, r: t.orders_direct, lambda t, r: t.work_orders),
    _count("three_party_calls", "三方连线量", "Calls an agency joined", "answered calls with an agency leg answered",
           "consulted, conference (three-party) or handed over"),
    _count("conference_calls", "三方通话量", "Three-party conference calls", "answered calls with handling three_party",
           "citizen, call taker and agency talked together"),
    _count("live_transfers", "电话转接量", "Calls handed over to an agency", "answered calls with handling "
           "transferred", "the call taker left the citizen with the agency"),
    _count("survey_answers", "参评量", "Survey answers", "calls whose citizen answered the survey",
           "no_answer is not an answer"),
    Kpi("satisfaction_rate", "满意率", "Satisfaction rate", "ratio", "satisfied + basically satisfied",
        "survey_answers", "满意率 as the hotlines publish it", lambda t, r: t.satisfied + t.basically_satisfied,
        lambda t, r: t.survey_answers),
    Kpi("fully_satisfied_rate", "非常满意率", "Fully satisfied rate", "ratio", "satisfied", "survey_answers",
        "the strict reading", lambda t, r: t.satisfied, lambda t, r: t.survey_answers),
    Kpi("repeat_calls_24h", "24小时重复来电量", "Repeat calls within 24 h", "count",
        "inbound calls whose number called within the 24 h before", "", "withheld numbers never count",
        lambda t, r: t.repeat_short),
    Kpi("repeat_calls_30d", "30天重复来电量", "Repeat calls within 30 days", "count",
        "inbound calls whose number called within the 30 days before", "", "withheld numbers never count",
        lambda t, r: t.repeat_long),
    Kpi("repeat_rate_24h", "24小时重复来电率", "Repeat-call rate (24 h)", "ratio", "repeat_calls_24h",
        "inbound calls from a usable number", "", lambda t, r: t.repeat_short, lambda t, r: t.numbered),
    Kpi("repeat_rate_30d", "30天重复来电率", "Repeat-call rate (30 days)", "ratio", "repeat_calls_30d",
        "inbound calls from a usable number", "", lambda t, r: t.repeat_long, lambda t, r: t.numbered),
    Kpi("repeat_callers_24h", "24小时重复来电人数", "Repeat callers (24 h)", "count",
        "distinct numbers with a repeat call within 24 h", "", "", lambda t, r: t.repeat_callers_short),
    Kpi("repeat_callers_30d", "30天重复来电人数", "Repeat callers (30 days)", "count",
        "distinct numbers with a repeat call within 30 days", "", "", lambda t, r: t.repeat_callers_long),
)
BY_KEY: Mapping[str, Kpi] = {k.key: k for k in KPIS}


def evaluate(t: Tally, rules: KpiRules) -> dict[str, Value]:
    """Every KPI of ``KPIS`` for one tally, by key."""
    return {k.key: k.value(t, rules) for k in KPIS}


def kpis(facts: Iterable[CallFacts], rules: KpiRules = KpiRules(), spans: Iterable[AgentSpan] | None = None,
         window: tuple[float, float] | None = None) -> dict[str, Value]:
    """Every KPI over ``facts`` (occupancy only with ``spans`` and their ``window``)."""
    return evaluate(tally(facts, rules, spans, window), rules)


# -- the rolling 24-hour connect rate -------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """The connect rate of the calls that arrived in ``[start, end)``."""

    start: float
    end: float
    live_offered: int
    answered: int
    short_abandoned: int

    @property
    def connect_rate(self) -> float | None:
        return self.answered / self.live_offered if self.live_offered else None

    @property
    def connect_rate_excl_short(self) -> float | None:
        base = self.live_offered - self.short_abandoned
        return self.answered / base if base else None


@dataclass(frozen=True)
class Rolling:
    """The worst 24-hour window of the period, and the last one (to its observed end).
    ``partial``: the period is shorter than the window, so both are the whole period."""

    worst: Window | None
    current: Window | None
    partial: bool


def rolling_connect(facts: Iterable[CallFacts], rules: KpiRules, start: float, end: float) -> Rolling:
    """The connect rate (strict, GB/T 33358) of every window of ``rolling_window_seconds``
    inside ``[start, end)``; the worst is the lowest rate among windows with calls (the
    earliest on a tie). The set of calls in a window only changes when its start or its
    end passes a call, so the windows starting at each call and those ending just after
    each call are all there is to look at."""
    width = rules.rolling_window_seconds
    points = sorted((f.arrived_at, f.disposition == "answered",
                     f.disposition == "abandoned" and (f.wait or 0.0) < rules.short_abandon_seconds)
                    for f in facts if f.inbound and f.queued and not f.callback_requested
                    and start <= f.arrived_at < end)
    times = [p[0] for p in points]
    answered = _prefix([p[1] for p in points])
    short = _prefix([p[2] for p in points])

    def window(lo: float, hi: float) -> Window:
        i, j = bisect.bisect_left(times, lo), bisect.bisect_left(times, hi)
        return Window(lo, hi, j - i, answered[j] - answered[i], short[j] - short[i])

    if end - start <= width:
        whole = window(start, end)
        return Rolling(whole if whole.live_offered else None, whole, True)
    last = end - width
    starts = {start, last}
    for t in times:
        starts.update(s for s in (t, t - width + 1e-6) if start <= s <= last)
    windows = [w for w in (window(s, s + width) for s in sorted(starts)) if w.live_offered]
    worst = min(windows, key=lambda w: (w.connect_rate, w.start)) if windows else None
    return Rolling(worst, window(last, end), False)


def _prefix(flags: Sequence[bool]) -> list[int]:
    out = [0]
    for flag in flags:
        out.append(out[-1] + int(flag))
    return out


# -- groups ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiRow:
    """The KPIs of one group (``group`` is its key: a line, an agent id, an interval's
    start as epoch text...)."""

    group: str
    values: Mapping[str, Value]
    extra: Mapping[str, Value] = field(default_factory=dict)


def interval_starts(start: float, end: float, interval: str, tz: tzinfo) -> list[float]:
    """The starts of the intervals (``15m``, ``1h``, ``1d``, aligned on the local clock of
    ``tz``) that meet ``[start, end)``."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    first = bucket_of(start, interval, tz)
    out = []
    if interval == "1d":
        day = datetime.fromtimestamp(first, tz).date()
        while (at := _midnight(day, tz)) < end:
            out.append(at)
            day += timedelta(days=1)
        return out
    at, step = first, INTERVALS[interval]
    while at < end:
        out.append(at)
        at += step
    return out


def _midnight(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(0), tzinfo=tz).timestamp()


def bucket_of(at: float, interval: str, tz: tzinfo) -> float:
    """The start of the interval ``at`` falls in, on the local clock."""
    local = datetime.fromtimestamp(at, tz)
    if interval == "1d":
        return _midnight(local.date(), tz)
    size = int(INTERVALS[interval])
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    floor = datetime.combine(local.date(), time(0), tzinfo=tz) + timedelta(seconds=seconds - seconds % size)
    return floor.timestamp()


def _keys(f: CallFacts, by: str, category_level: int) -> list[str]:
    if by == "period":
        return ["all"]
    if by == "line":
        return [f.line or NO_GROUP]
    if by == "language":
        return [f.language or NO_GROUP]
    if by == "skill":
        return list(f.skills) or [NO_GROUP]
    if by == "agent":
        return [f.agent] if f.agent else []
    if by == "agency":
        return sorted(set(f.agencies) | ({f.order_agency} if f.order_agency else set()))
    if by == "category":
        return [f.order_category[:category_level]] if f.order_category else [NO_GROUP]
    if by == "district":
        return [f.order_district] if f.order_district else [NO_GROUP]
    raise ValueError(f"cannot group by {by!r} (one of {', '.join(GROUPINGS)})")


def kpi_rows(data: PeriodData, by: str = "period", rules: KpiRules = KpiRules(), interval: str = "1h",
             tz: tzinfo | None = None, category_level: str = "class") -> list[KpiRow]:
    """The KPIs of ``data`` grouped ``by`` one of ``GROUPINGS``. A call counts in each
    group it belongs to (a call with two skills in both skills' rows, a call two agencies
    took part in in both agencies' rows), so group rows may add up to more than the
    period's. Agent rows hold the calls the agent answered (and their callback tries);
    ``extra`` adds what is the agent's own (rings, RONA, login, pause, occupancy) or the
    agency's (legs, conference calls, hand-overs, work orders transferred to it)."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r} (one of {', '.join(GROUPINGS)})")
    if by == "interval":
        return _interval_rows(data, rules, interval, tz)
    if category_level not in CATEGORY_LEVELS:
        raise ValueError(f"category level must be one of {', '.join(CATEGORY_LEVELS)}")
    groups: dict[str, list[CallFacts]] = defaultdict(list)
    for f in data.calls:
        for key in _keys(f, by, CATEGORY_LEVELS[category_level]):
            groups[key].append(f)
    window = (data.start, data.observed_end)
    if by == "period":
        return [KpiRow("all", kpis(groups["all"], rules, data.spans, window))]
    if by == "agent":
        names = set(groups) | {s.agent for s in data.spans} | {a for f in data.calls for a in f.offers}
        return [KpiRow(a, kpis(groups.get(a, ()), rules), agent_extra(data, a, rules)) for a in sorted(names - {""})]
    if by == "agency":
        return [KpiRow(a, kpis(groups[a], rules), agency_extra(data.calls, a)) for a in sorted(groups)]
    return [KpiRow(key, kpis(groups[key], rules)) for key in sorted(groups)]


def _interval_rows(data: PeriodData, rules: KpiRules, interval: str, tz: tzinfo | None) -> list[KpiRow]:
    if tz is None:
        raise ValueError("grouping by interval needs the local time zone")
    starts = interval_starts(data.start, data.end, interval, tz)
    groups: dict[float, list[CallFacts]] = defaultdict(list)
    for f in data.calls:
        groups[bucket_of(f.arrived_at, interval, tz)].append(f)
    rows = []
    for i, lo in enumerate(starts):
        hi = starts[i + 1] if i + 1 < len(starts) else data.end
        window = (max(lo, data.start), min(hi, data.observed_end))
        rows.append(KpiRow(_stamp(lo), kpis(groups.get(lo, ()), rules, data.spans, window)))
    return rows


def _stamp(at: float) -> str:
    """An interval's key: its start in epoch seconds, as text (stable, sortable)."""
    return f"{at:.0f}"


def agent_extra(data: PeriodData, agent: str, rules: KpiRules) -> dict[str, Value]:
    """What is the agent's own: ``rings`` (offers to them), ``rona`` (rings they did not
    answer), ``logged_in_seconds``, ``paused_seconds``, ``busy_seconds`` and ``occupancy``
    (busy / logged in not paused), from the agents' log."""
    spans = [s for s in data.spans if s.agent == agent]
    busy, staffed = agent_seconds(spans, data.start, data.observed_end, rules)
    logged = sum(s.seconds for s in spans if s.state != "logged_out")
    paused = sum(s.seconds for s in spans if s.state == "paused")
    return {"rings": sum(f.offers.count(agent) for f in data.calls if f.inbound),
            "rona": sum(f.ronas.count(agent) for f in data.calls if f.inbound),
            "logged_in_seconds": logged, "paused_seconds": paused, "busy_seconds": busy,
            "occupancy": busy / staffed if staffed else None}


def agency_extra(facts: Iterable[CallFacts], agency: str) -> dict[str, Value]:
    """What is the agency's own: ``legs_dialled``, ``legs_answered``, ``legs_failed`` (busy,
    no answer, unreachable, out of hours, rejected), ``conference_calls`` (answered calls in
    three-party handling with a leg of this agency answered), ``live_transfers_to`` (calls
    handed over whose last answered leg is this agency's) and ``orders_transferred_to``
    (work orders transferred to it, 转办)."""
    out = {"legs_dialled": 0, "legs_answered": 0, "legs_failed": 0, "conference_calls": 0,
           "live_transfers_to": 0, "orders_transferred_to": 0}
    for f in facts:
        mine = [leg for leg in f.legs if leg.agency == agency]
        answered = [leg for leg in mine if leg.answered_at is not None]
        out["legs_dialled"] += len(mine)
        out["legs_answered"] += len(answered)
        out["legs_failed"] += sum(1 for leg in mine if leg.end in FAILED_LEG_ENDS)
        out["conference_calls"] += f.handling == "three_party" and bool(answered)
        last = [leg for leg in f.legs if leg.answered_at is not None][-1:]
        out["live_transfers_to"] += f.handling == "transferred" and bool(last) and last[0].agency == agency
        out["orders_transferred_to"] += f.order_handling == "transferred" and f.order_agency == agency
    return dict(out)
