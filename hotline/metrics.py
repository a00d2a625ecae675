"""The controller's Prometheus metrics: what a supervisor's wall shows, as numbers a monitoring
system can alert on, and the controller's own health.

Why a class with setters and no sources of its own: the numbers come from the live state
(Redis), the router and the AMI client, which the composition root knows and this module
must not; the root sets the gauges when things change (or in ``refresh``, awaited before
each scrape) and counts offers and answers as they happen. Each ``Metrics`` has its own
registry (``prometheus_client``'s global one would be shared by every controller a test
starts in one process), and nothing is created at import time.

Counters count this controller's calls since it started; with several controllers,
Prometheus sums them and ``rate()`` handles a restart's reset. The service level of the last
15 minutes per line is computed at scrape time by the ``service_level`` callback (from the
stored records, the KPI module's rule), never from Asterisk's counters.

``load_metrics_token`` gives the bearer token a scraper presents (``HOTLINE_METRICS_TOKEN``,
else generated once into ``var/secrets.env`` like the other secrets).
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Awaitable, Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from agents.state import AgentState
from hotline.settings import SettingsError

log = logging.getLogger(__name__)

TOKEN_KEY = "HOTLINE_METRICS_TOKEN"
AGENT_STATES: tuple[str, ...] = tuple(state.value for state in AgentState)

ServiceLevels = Callable[[], Mapping[str, float]]


class _ServiceLevelCollector:
    """Asks the callback at each scrape; a failing callback costs its family, not the scrape."""

    def __init__(self, source: ServiceLevels) -> None:
        self.source = source

    def describe(self) -> list[Metric]:
        return []  # values are only known at scrape time

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("hotline_service_level_15m",
                                   "Answered within the line's target over answered calls, last 15 minutes (0-1)",
                                   labels=["line"])
        try:
            levels = dict(self.source())
        except Exception as exc:  # the lead's callback: whatever it raises must not break the scrape
            log.warning("service level for the metrics not available: %r", exc)
            return
        for line, value in sorted(levels.items()):
            family.add_metric([line], float(value))
        yield family


class Metrics:
    """Every metric of one controller, in its own registry; set from outside."""

    def __init__(self, service_level: ServiceLevels | None = None,
                 refresh: Callable[[], Awaitable[None]] | None = None) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.refresh = refresh
        self.calls_waiting = Gauge("hotline_calls_waiting", "Calls waiting for an agent, per line", ["line"],
                                   registry=registry)
        self.longest_wait = Gauge("hotline_longest_wait_seconds", "Wait of the longest-waiting call, per line",
                                  ["line"], registry=registry)
        self.agents = Gauge("hotline_agents", "Agents per state", ["state"], registry=registry)
        self.offered = Counter("hotline_calls_offered", "Calls offered to the queue, per line", ["line"],
                               registry=registry)
        self.answered = Counter("hotline_calls_answered", "Calls answered by an agent, per line", ["line"],
                                registry=registry)
        self.abandoned = Counter("hotline_calls_abandoned", "Calls that hung up while waiting, per line", ["line"],
                                 registry=registry)
        self.tasks = Gauge("hotline_controller_tasks", "Background tasks the controller holds", registry=registry)
        self.ami_connected = Gauge("hotline_ami_connected", "1 while the AMI connection is logged in",
                                   registry=registry)
        self.redis_up = Gauge("hotline_redis_up", "1 while Redis answers", registry=registry)
        self.spool = Gauge("hotline_record_spool_records", "Call records waiting in the spool for the database",
                           registry=registry)
        self.leader = Gauge("hotline_router_leader", "1 while this controller holds the router's lead",
                            registry=registry)
        if service_level is not None:
            registry.register(_ServiceLevelCollector(service_level))

    # -- set from outside ---------------------------------------------------------------------

    def set_waiting(self, by_line: Mapping[str, int], longest: Mapping[str, float] | None = None) -> None:
        """The calls waiting now per line (give every line, 0 included; a line left out is
        dropped from the output), and the longest wait per line in seconds."""
        self.calls_waiting.clear()
        for line, count in by_line.items():
            self.calls_waiting.labels(line).set(count)
        self.longest_wait.clear()
        for line, seconds in (longest or {}).items():
            self.longest_wait.labels(line).set(seconds)

    def set_agents(self, by_state: Mapping[str, int]) -> None:
        """Agents per state now; every known state is present (0 when none is in it)."""
        self.agents.clear()
        for state in (*AGENT_STATES, *sorted(set(by_state) - set(AGENT_STATES))):
            self.agents.labels(state).set(by_state.get(state, 0))

    def offer(self, line: str) -> None:
        self.offered.labels(line).inc()

    def answer(self, line: str) -> None:
        self.answered.labels(line).inc()

    def abandon(self, line: str) -> None:
        self.abandoned.labels(line).inc()

    def set_internals(self, *, tasks: int | None = None, ami_connected: bool | None = None,
                      redis_up: bool | None = None, spool: int | None = None, leader: bool | None = None) -> None:
        """The controller's own state; a value left out keeps its last one."""
        for gauge, value in ((self.tasks, tasks), (self.ami_connected, ami_connected), (self.redis_up, redis_up),
                             (self.spool, spool), (self.leader, leader)):
            if value is not None:
                gauge.set(float(value))

    # -- read --------------------------------------------------------------------------------

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition (text format, or OpenMetrics when ``accept`` asks) and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    async def scrape(self, accept: str = "") -> tuple[bytes, str]:
        """``refresh`` (when given), then ``render``."""
        if self.refresh is not None:
            try:
                await self.refresh()
            except Exception as exc:  # a source down (Redis): the scrape shows the last values and redis_up
                log.warning("metrics refresh failed: %r", exc)
        return self.render(accept)


def load_metrics_token(var_dir: Path, env: Mapping[str, str]) -> str:
    """The scrapers' bearer token: ``HOTLINE_METRICS_TOKEN`` when set, else the one in
    ``var/secrets.env``, generated and added there (mode 0600, the other secrets kept) the
    first time."""
    given = env.get(TOKEN_KEY, "").strip()
    if given:
        if len(given) < 16 or any(c.isspace() for c in given):
            raise SettingsError(f"{TOKEN_KEY}: at least 16 characters, no spaces (it guards the metrics)")
        return given
    path = var_dir / "secrets.env"
    lines = path.read_text().splitlines() if path.exists() else []
    stored = dict(line.split("=", 1) for line in lines if "=" in line)
    stored = {k.strip(): v.strip() for k, v in stored.items()}
    if stored.get(TOKEN_KEY):
        return stored[TOKEN_KEY]
    stored[TOKEN_KEY] = token = secrets.token_urlsafe(24)
    var_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{k}={v}\n" for k, v in sorted(stored.items())))
    os.replace(partial, path)
    return token
