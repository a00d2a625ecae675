"""What-if replay: a recorded day's callers, answered by another roster or other queue rules.

The callers are the real ones, taken from their records (``calls.records.CallRecord``, as
the store keeps them and as ``hotline simulate --out`` writes them): when each arrived,
how long the IVR held them, the line, language, skills and priority the IVR gave them,
how long the conversation of an answered call lasted. What the records cannot say is
drawn from the scenario: how long a caller who was answered *would* have waited (patience
at least the wait they had), how long a caller who hung up would have talked. A caller
who hung up waiting had exactly the patience they showed; one who booked a callback books
it again when offered one. The scenario brings the roster, shifts and queue rules to try.

Then ``compare`` puts what really happened and what the replay gives side by side.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from calls.records import CallRecord
from simulator.demand import CallSpec
from simulator.report import summarize
from simulator.scenario import DAY, Scenario

PATIENCE_TRIES = 50


def _patience_over(scenario: Scenario, at_least: float, rng: random.Random) -> float:
    """A patience drawn from the scenario, given that it lasted ``at_least`` seconds."""
    patience = scenario.behaviour.patience
    if patience is None:
        return math.inf
    for _ in range(PATIENCE_TRIES):
        value = patience.sample(rng)
        if value > at_least:
            return value
    return at_least + patience.sample(rng)


def replay_day(scenario: Scenario, records: Iterable[CallRecord], seed: int = 1) -> tuple[Scenario, list[CallSpec]]:
    """The scenario moved to the records' first day (at the scenario's own time of day:
    shifts are counted from it), and the recorded callers as specs."""
    inbound = sorted((r for r in records if r.source != "callback" and r.outcome != "ivr_end"),
                     key=lambda r: (r.arrived_at, r.call_id))
    if not inbound:
        raise ValueError("no inbound call in the records")
    first = datetime.fromtimestamp(inbound[0].arrived_at, scenario.tz)
    clock = datetime.fromtimestamp(scenario.start, scenario.tz).timetz()  # the scenario's day starts then
    start = datetime.combine(first.date(), clock).timestamp()
    if start > inbound[0].arrived_at:
        start -= DAY
    day = replace(scenario, start=start)
    rng = random.Random(f"replay-{seed}")
    specs = [_spec(day, r, start, rng) for r in inbound if r.queue in day.queues or r.queued_at is None]
    return day, specs


def _spec(scenario: Scenario, r: CallRecord, start: float, rng: random.Random) -> CallSpec:
    queue = r.queue if r.queue in scenario.queues else next(iter(scenario.queues))
    language = r.language or "zh"
    talk = ((r.ended_at or 0.0) - r.answered_at if r.answered_at is not None and r.ended_at is not None
            else scenario.behaviour.talk_for(language).sample(rng))
    wait = r.wait_seconds or 0.0
    patience = wait if r.outcome == "abandoned" else _patience_over(scenario, wait, rng)
    ivr = (r.queued_at - r.arrived_at) if r.queued_at is not None else (r.ended_at or r.arrived_at) - r.arrived_at
    return CallSpec(call_id=r.call_id, arrival=r.arrived_at - start, queue=queue, language=language,
                    skills=frozenset(s for s in r.skills.split(",") if s), priority=r.priority, talk=max(talk, 1.0),
                    patience=patience, caller=r.caller, leaves_ivr=r.queued_at is None,
                    books_callback=r.outcome == "callback_requested", ivr=max(ivr, 0.0))


def compare(real: Iterable[CallRecord], replayed: Iterable[CallRecord]) -> str:
    """Recorded against replayed figures, side by side."""
    a, b = summarize(real), summarize(replayed)
    rows = [("offered", a.offered, b.offered, "d"), ("answered", a.answered, b.answered, "d"),
            ("abandoned", a.abandoned, b.abandoned, "d"), ("callbacks booked", a.callbacks, b.callbacks, "d"),
            ("SL15 (answered)", a.service_level, b.service_level, "%"),
            ("connect rate", a.connect_rate, b.connect_rate, "%"), ("ASA s", a.asa, b.asa, "f")]
    lines = [f"{'':<18}{'recorded':>10}{'what-if':>10}"]
    for label, x, y, kind in rows:
        show = (lambda v: f"{v:.1%}") if kind == "%" else (lambda v: f"{v:.1f}") if kind == "f" else str
        lines.append(f"{label:<18}{show(x):>10}{show(y):>10}")
    return "\n".join(lines) + "\n"
