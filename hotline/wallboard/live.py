"""``LiveWallboard``: the wall's snapshot over callables the composition root gives, and its
change feed. No Redis, database or FastAPI here: the root hands in what reads them.

What it is built from (``hotline/bootstrap.py`` wires it; see ``__init__``):

- ``read_live()``: the live state, ``(calls, agents)``: the calls waiting in the shared queue
  (callback requests included) and every agent record, read at once
  (``LiveState.routing_input``);
- ``offered_call(call_id)`` (optional): a call no longer in the waiting set because an
  agent's phone rings for it (``LiveState.call``): the wall keeps showing that caller as
  waiting, "offered", until the answer;
- ``period(start, end, now)``: the stored records' facts of the calls that arrived in
  ``[start, end)`` (``Reports.period``: ``SqlReports`` in the controller);
- ``policies()``: the queue policies in force (titles, ``sl_target``), read at each
  snapshot so a reload applies at once;
- ``notifications()`` (optional): an async iterator that yields when the live state
  changed (the live state's ``changed`` pub/sub: ``ChangeFanout.subscribe``, notified from
  the controller's ``LiveListener``). Whatever it misses, a poll of ``read_live`` every
  ``poll_seconds`` catches (a claim or a caller's hang-up publishes nothing today);
- ``tz``, ``rules`` (``KpiRules``), ``alert_rules()`` (default: ``alerts.yaml`` next to
  this module, read at first use), ``category_name(code)`` (the taxonomy's names), ``clock``.

Costs: the live part is one read of the live state per snapshot. The KPI part loads the
calls of the last 24 hours (from midnight at least), so it is computed at most every
``kpi_ttl`` seconds and shared by every snapshot meanwhile (one load at a time, whatever
the number of walls); the hot topics' usual rates (the same hour of each of the previous
days: that many one-hour loads) every ``baseline_ttl`` seconds. A load that fails keeps
the last figures, marked ``kpi_stale``; a live state that does not answer raises
``Unavailable`` (HTTP 503).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Sequence

from acd.model import QueuePolicy
from agents.state import AgentRecord, AgentState
from calls.model import QueuedCall
from hotline.api.ports import Unavailable
from hotline.wallboard import board
from hotline.wallboard.alerts import AlertRules, load_alert_rules
from kpi.definitions import KpiRules
from kpi.facts import PeriodData

log = logging.getLogger(__name__)

ReadLive = Callable[[], Awaitable[tuple[Sequence[QueuedCall], Sequence[AgentRecord]]]]
OfferedCall = Callable[[str], Awaitable[QueuedCall | None]]
Period = Callable[[float, float, float], Awaitable[PeriodData]]
_END = object()
_OFFERED_STATES = (AgentState.RESERVED, AgentState.RINGING)


async def _next(source: AsyncIterator[Any]) -> Any:
    try:
        return await anext(source)
    except StopAsyncIteration:
        return _END
    except Exception:
        log.exception("the wallboard's change notifications failed; polling only")
        return _END


class LiveWallboard:
    """The ``Wallboard`` port (``hotline.api.ports_wallboard``) over the live state and the
    stored records."""

    def __init__(self, read_live: ReadLive, period: Period, policies: Callable[[], Mapping[str, QueuePolicy]], *,
                 tz: Any, rules: KpiRules | None = None, alert_rules: Callable[[], AlertRules] | None = None,
                 category_name: Callable[[str], tuple[str, str]] | None = None,
                 notifications: Callable[[], AsyncIterator[Any]] | None = None,
                 offered_call: OfferedCall | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, kpi_ttl: float = 5.0,
                 baseline_ttl: float = 300.0, poll_seconds: float | None = 0.5) -> None:
        self.read_live = read_live
        self.period = period
        self.policies = policies
        self.tz = tz
        self.rules = rules or KpiRules()
        self._alert_rules = alert_rules
        self._shipped_rules: AlertRules | None = None
        self.category_name = category_name
        self.notifications = notifications
        self.offered_call = offered_call
        self.clock = clock
        self.monotonic = monotonic
        self.kpi_ttl = kpi_ttl
        self.baseline_ttl = baseline_ttl
        self.poll_seconds = poll_seconds
        self._figures: board.Figures | None = None
        self._figures_at = 0.0
        self._inflight: asyncio.Task[board.Figures] | None = None
        self._usual: tuple[tuple[int, str], float, dict[str, float]] | None = None  # (rule key, when, rates)

    # -- the snapshot ---------------------------------------------------------------------------

    def alert_rules(self) -> AlertRules:
        if self._alert_rules is not None:
            return self._alert_rules()
        if self._shipped_rules is None:
            self._shipped_rules = load_alert_rules()
        return self._shipped_rules

    async def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The wall at ``now`` (default: the clock); raises ``Unavailable`` when the live
        state does not answer."""
        now = self.clock() if now is None else now
        calls, agents = await self.live(now)
        figures = await self.figures(now)
        return board.snapshot(now, calls, agents, self.policies(), figures, self.alert_rules(),
                              board.day_start(now, self.tz), self.category_name)

    async def live(self, now: float) -> tuple[list[QueuedCall], list[AgentRecord]]:
        """The live state: waiting calls, the calls an agent's phone rings for, agents."""
        try:
            calls, agents = await self.read_live()
            calls, agents = list(calls), list(agents)
            if self.offered_call is not None:
                known = {c.call_id for c in calls}
                for record in agents:
                    if record.state in _OFFERED_STATES and record.call_id and record.call_id not in known:
                        call = await self.offered_call(record.call_id)
                        if call is not None:
                            known.add(call.call_id)
                            offered = call.state != "waiting" or call.agent
                            calls.append(call if offered else _offered(call, record.agent_id))
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"the live state does not answer: {type(exc).__name__}: {exc}") from exc
        return calls, agents

    # -- the KPI part (cached) ------------------------------------------------------------------

    async def figures(self, now: float) -> board.Figures:
        """The KPI figures, at most ``kpi_ttl`` seconds old (0: computed for every call)."""
        if self.kpi_ttl <= 0:
            return await self._refresh(now)
        if self._figures is not None and self.monotonic() - self._figures_at < self.kpi_ttl:
            return self._figures
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._inflight = loop.create_task(self._refresh(now), name="wallboard-kpis")
        return await asyncio.shield(task)

    async def _refresh(self, now: float) -> board.Figures:
        try:
            figures = await self._load(now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("wallboard KPIs not computed (%s: %s); showing the last ones", type(exc).__name__, exc)
            last = self._figures or board.Figures()
            figures = dataclasses.replace(last, stale=True)
        self._figures, self._figures_at = figures, self.monotonic()
        return figures

    async def _load(self, now: float) -> board.Figures:
        rule = self.alert_rules().hot_topic
        start, end = board.load_window(now, self.tz, self.rules)
        data = await self.period(start, end, now)
        usual = await self._usual_rates(now, rule.days, rule.level) if rule.enabled else {}
        return board.figures(data, now, board.day_start(now, self.tz), self.policies(), self.rules, usual, rule.level)

    async def _usual_rates(self, now: float, days: int, level: str) -> dict[str, float]:
        key = (days, level)
        cached = self._usual
        if cached is not None and cached[0] == key and self.monotonic() - cached[1] < self.baseline_ttl:
            return cached[2]
        history = [await self.period(lo, hi, now) for lo, hi in board.history_windows(now, days)]
        rates = board.usual_rates(history, days, level)
        self._usual = (key, self.monotonic(), rates)
        return rates

    # -- changes --------------------------------------------------------------------------------

    async def changes(self) -> AsyncIterator[None]:
        """Yields when the live state changed: on each notification, and when a poll of the
        live state every ``poll_seconds`` finds it different. Never ends by itself."""
        source = self.notifications() if self.notifications is not None else None
        pending: asyncio.Future[Any] | None = None
        last: tuple[Any, ...] | None = None
        try:
            while True:
                if source is not None and pending is None:
                    pending = asyncio.ensure_future(_next(source))
                if pending is not None:
                    done, _ = await asyncio.wait({pending}, timeout=self.poll_seconds)
                else:
                    await asyncio.sleep(self.poll_seconds if self.poll_seconds is not None else 3600.0)
                    done = set()
                if pending is not None and pending in done:
                    result, pending = pending.result(), None
                    if result is _END:
                        source = None
                    else:
                        last = None  # the next poll only sets its reference
                        yield None
                        continue
                if self.poll_seconds is None:
                    continue
                seen = await self._fingerprint()
                if seen is None:
                    continue
                if last is not None and seen != last:
                    last = seen
                    yield None
                    continue
                last = seen
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
            closing = getattr(source, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing()

    async def _fingerprint(self) -> tuple[Any, ...] | None:
        try:
            calls, agents = await self.read_live()
        except asyncio.CancelledError:
            raise
        except Exception:
            return None  # the snapshot will say so (503); nothing to compare
        return board.fingerprint(calls, agents)


class ChangeFanout:
    """One source of "something changed" shared by every open wall: ``notify()`` (plain,
    from the loop's thread: e.g. the ``LiveListener``'s ``changed`` callback, next to the
    router's wake-up) wakes every ``subscribe()`` iterator once (changes in between fold).
    Give ``subscribe`` as ``LiveWallboard(notifications=...)``."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def notify(self) -> None:
        for event in self._events:
            event.set()

    def subscribers(self) -> int:
        return len(self._events)

    async def subscribe(self) -> AsyncIterator[None]:
        event = asyncio.Event()
        self._events.append(event)
        try:
            while True:
                await event.wait()
                event.clear()
                yield None
        finally:
            self._events.remove(event)


def _offered(call: QueuedCall, agent_id: str) -> QueuedCall:
    return dataclasses.replace(call, state="offered", agent=agent_id)
