"""The controller process: the one composition root.

``Controller.start`` builds every part once, in dependency order, each with what it needs
passed to its constructor (nothing is set afterwards): configuration, Redis and the live
state, the database and the record writer, the agent service, the AMI client, callbacks,
the call registry, the router, the sessions' dependencies, the Redis listener and the
FastAGI server. ``stop`` undoes it; ``reload`` swaps the configuration. Nothing connects at
import time, and every background task belongs to one TaskOwner, so failures are logged and
shutdown cancels them all.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, Callable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

import calls
from hotline.api.app import make_app
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiDeps
from hotline.api.live_desk import LiveAgentDesk
from hotline.api.server import serve_api
from hotline.api.users import UserStore
from hotline.asterisk.agi_server import AgiChannel, FastAgiServer
from hotline.asterisk.ami import AmiClient
from hotline.asterisk.ami_events import AmiEvent, OriginateResult
from hotline.config import ConfigHolder, load_config
from hotline.live.agent_service import AgentService
from hotline.live.keys import LiveKeys
from hotline.live.listener import LiveListener
from hotline.live.redis_state import LiveState
from hotline.api.work_orders_sql import SqlWorkOrders
from cases.rules import case_rules_path, load_rules
from hotline.api.cases_sql import SqlCases
from hotline.api.forwarding import ForwardToHolder
from hotline.follow_ups.dialler import FollowUpDialler
from hotline.follow_ups.figures import LiveLineFigures
from hotline.follow_ups.session import FollowUpSession
from hotline.api.recordings_sql import SqlRecordings
from hotline.api.reports_sql import SqlReports
from hotline.api.routes.metrics import install as install_metrics
from hotline.logs import call_context
from hotline.metrics import load_metrics_token
from hotline.metrics_feed import MetricsFeed, spool_records
from hotline.store.kpi_source import KpiSource
from hotline.live.fallback_members import FallbackMembers
from hotline.live.phones import PhoneWatch
from hotline.live.reseed import reseed_agents
from hotline.ops.daemons import DEFAULT_REDIS_URL
from hotline.routing.router import RouterService
from hotline.sessions.call import CallSession, SessionDeps
from hotline.sessions.callback import CallbackDialer
from hotline.sessions.facts import CallerFacts
from hotline.sessions.fallback import FallbackReconciler
from hotline.sessions.media import MediaPaths
from hotline.sessions.orphans import OrphanCalls
from hotline.sessions.registry import CallRegistry
from hotline.sessions.survey_link import SurveyToWorkOrder
from hotline.sessions.take_back import FallbackTakeBack, unsaved_call
from hotline.settings import PROJECT_ROOT, Settings
from hotline.store.agent_states import AgentStateLog, AgentStateStore
from hotline.store.calls import CallStore, RecordWriter, make_engine, migrate
from hotline.supervision.spy import Supervision
from hotline.tasks import TaskOwner
from hotline.wallboard.live import ChangeFanout, LiveWallboard
from hotline.three_party.desk import LiveCallDesk
from hotline.three_party.events import AgentEvents
from hotline.three_party.rooms import ThreeParty
from knowledge.index import SqlKnowledge
from kpi.definitions import KpiRules
from recordings.janitor import RecordingJanitor
from recordings.retention import policy_from_env
from recordings.store import SupervisorSessionStore

log = logging.getLogger(__name__)
HEARTBEAT_TTL_MS = 5000
HOUSEKEEPING_EVERY = 15.0
REDIS_POOL_SIZE = 1000   # connections to Redis at most (one per command in flight)
REDIS_POOL_WAIT = 5.0    # seconds a command waits for a free connection before it fails
SHIFT_SECONDS = 12 * 3600  # how far back the agent state log is trusted when re-seeding


def knowledge_folder(settings: Settings) -> Path:
    """The articles of the configuration folder, else the shipped ones."""
    folder = settings.config_dir / "knowledge" / "articles"
    return folder if folder.is_dir() else PROJECT_ROOT / "knowledge" / "articles"


class Controller:
    """One controller process. Its parts exist from ``start`` until ``stop``."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.tasks = TaskOwner("controller")
        self.controller_id = f"{socket.gethostname()}-{settings.instance}-{os.getpid()}"
        self.wall_changes = ChangeFanout()  # the supervisors' wall streams, woken on every change

    async def start(self) -> None:
        s, clock, tasks, me = self.settings, self.clock, self.tasks, self.controller_id
        self.config = config = ConfigHolder(load_config(s))
        # A pooled connection that a restarted Redis closed fails once: retried on a fresh one,
        # so the first call after Redis is back is not lost to a stale socket. The pool waits
        # for a free connection (up to REDIS_POOL_WAIT) rather than failing: under a burst every
        # session talks to Redis at once, and redis-py's default pool raised MaxConnectionsError
        # past 100, which failed sessions (the live load benchmark's finding at 40 calls/s).
        pool = BlockingConnectionPool.from_url(
            s.redis_url or DEFAULT_REDIS_URL, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT,
            decode_responses=True, retry=Retry(NoBackoff(), 2), retry_on_error=[RedisConnectionError],
            health_check_interval=5)
        self.redis = redis = Redis.from_pool(pool)
        await redis.ping()
        keys = LiveKeys.for_instance(s.instance)
        self.live = live = LiveState(redis, keys)
        engine = make_engine(s.database_url)
        await asyncio.to_thread(migrate, engine)
        store = CallStore(engine)
        writer = RecordWriter(store, s.var_dir / f"spool-{s.instance}.jsonl")
        # the taxonomy, districts and holidays are checked now: a bad file stops the start
        self.work_orders = work_orders = SqlWorkOrders.shipped(engine, lambda: config.current.directory)
        self.state_log = state_log = AgentStateLog(AgentStateStore(engine))
        self.ami = ami = AmiClient(s, tasks)
        self.fallback_members = members = FallbackMembers(ami.action, tasks)
        self.agents = agents = AgentService(live, clock, on_change=state_log.note)
        media = MediaPaths(s)
        callbacks = CallbackDialer(s, me, clock, live, config, agents, media, writer, ami.originate)
        registry = CallRegistry(clock, tasks, hang_up=ami.hangup, agent_answered=agents.answered,
                                orphan=callbacks.orphan_assignment)
        self.fallback = FallbackReconciler(s.queue_log, store, writer, media.recording_path)
        orphans = OrphanCalls(me, live, writer, ami.channel_ids, served=self.fallback.served,
                              recording=media.recording_path)
        take_back = FallbackTakeBack(ami.waiting_in_fallback, lambda channel: ami.redirect(channel, "hotline-resume"))

        async def dead_and_fallen(now: float) -> int:
            """The leader's sweep: finish dead controllers' calls, take back fallback callers."""
            finished = await orphans.sweep(now)
            await take_back.sweep()
            return finished

        self.router = router = RouterService(me, clock, live, config, agents, tasks, registry.deliver, s.router_tick,
                                             channels=ami.channel_names, redis_back=self._redis_back,
                                             orphans=dead_and_fallen, fallback_members=members.sync)
        self.desk_events = desk_events = AgentEvents(
            live.agent, share=lambda agent_id, event: live.publish_desk_event(me, agent_id, event), tasks=tasks)
        self.phones = phones = PhoneWatch(agents, live, lambda: config.current.roster, tasks, ami.device_states)

        async def write_and_forget(record: Any, events: Any) -> None:
            await writer.write(record, events)
            await live.forget_call(record.call_id)

        self.three_party = rooms = ThreeParty(clock, tasks, ami, agents.call_ended, write_and_forget,
                                              desk_events.publish, agency_ring_seconds=int(s.agency_ring),
                                              save=live.save_call_part)
        self.supervision = supervision = Supervision(
            ami, registry, rooms, SupervisorSessionStore(engine),
            lambda: {p.agent_id for p in config.current.supervisor_phones}, clock, tasks)
        deps = SessionDeps(me, clock, config, live, offers=router, registry=registry, rings=registry,
                           agents=agents, facts=CallerFacts(live, store, config), media=media,
                           records=SurveyToWorkOrder(writer, work_orders.set_satisfaction),
                           tasks=tasks, place_callback=callbacks.place, callbacks_enabled=callbacks.enabled,
                           three_party=rooms, agency_ring=s.agency_ring)
        listener = LiveListener(redis, keys, me, changed=self._changed, stop_ring=registry.stop_ring,
                                deliver=registry.deliver, desk=desk_events.deliver)
        self._writer, self._registry = writer, registry

        tasks.spawn(state_log.run(), "agent-state-log")
        await agents.log_in_roster(config.current.roster.values(), last_seen=await self._logged_states())
        await live.heartbeat(me, HEARTBEAT_TTL_MS, s.api_url)
        tasks.spawn(self._heartbeat(), "heartbeat")
        # KPIs and reports, cases after the call, the supervisors' live wall (the live state,
        # the KPIs of the stored records, woken by changes)
        taxonomy = work_orders.config().taxonomy
        self.cases = cases = SqlCases(engine, work_orders.config(), load_rules(case_rules_path(s.config_dir)))
        rules = KpiRules(wrap_cap_seconds=max((q.wrapup_seconds for q in config.current.queues.values()), default=0.0))
        reports = SqlReports(engine, taxonomy, work_orders.config().calendar.tz, rules)
        wallboard = LiveWallboard(read_live=live.routing_input, period=reports.period,
                                  policies=lambda: config.current.queues, tz=reports.tz(), rules=reports.rules(),
                                  category_name=reports.category_name, notifications=self.wall_changes.subscribe,
                                  offered_call=live.call)
        # follow-up calls (回访), paced by the inbound lines' figures, placed by the leader
        figures = LiveLineFigures(reports.period, live.waiting, lambda: config.current.queues,
                                  lambda line: wallboard.alert_rules().service_level.goal_of(line), rules)
        dialler = FollowUpDialler(
            s, clock, config, cases, ami.originate, figures, lambda call_id: self._language_of(store, call_id),
            lambda: router.leads, writer, tick=s.follow_up_tick)
        follow_up_session = FollowUpSession(dialler, config, media, clock)
        self.agi = agi = FastAgiServer(secret=s.agi_secret)

        async def call(channel: AgiChannel) -> None:  # routes must be coroutine functions (panoramisk)
            with call_context(channel.uniqueid):  # every log line of the call names it
                await CallSession(deps, channel).run()

        async def resume(channel: AgiChannel) -> None:
            """A call taken back from the fallback queue (sessions/orphans.py): its saved value
            gives its arrival and its place in line."""
            was = await self._saved(live, channel.uniqueid)
            if was is None:
                was = unsaved_call(channel.uniqueid, channel.headers.get("agi_callerid", "unknown"),
                                   channel.arg(1), config.current.flows)
            with call_context(channel.uniqueid):
                await CallSession(deps, channel, resumed=was).run()

        agi.add_route("call", call)
        agi.add_route("resume", resume)
        agi.add_route("callback", callbacks.run_session)

        async def follow_up(channel: AgiChannel) -> None:
            with call_context(channel.uniqueid):
                await follow_up_session.run(channel)

        agi.add_route("followup", follow_up)
        await agi.start(s.agi_host, s.agi_port)
        handlers = self._join_handlers(registry.handlers,
                                       {OriginateResult: self._originate_result(callbacks, dialler)},
                                       rooms.handlers, phones.handlers, supervision.handlers)
        await ami.start(on_event=lambda event: self._dispatch(handlers, event), on_login=self._resync)
        tasks.spawn(listener.run(), "redis-listener")
        tasks.spawn(router.run(), "router")
        tasks.spawn(self._housekeeping(), "housekeeping")
        tasks.spawn(dialler.run(), "follow-up-dialler")
        # The knowledge base (知识库): the articles are indexed now and on reload.
        self.knowledge = knowledge = SqlKnowledge(
            engine, knowledge_folder(s), lambda: config.current.directory,
            known_categories=lambda: {node.code for node in taxonomy.nodes})
        await asyncio.to_thread(knowledge.rebuild)
        # recordings (index, compression, retention), Prometheus metrics
        self.janitor = RecordingJanitor.for_instance(engine, s.asterisk_root, s.instance_dir_in_root,
                                                     policy_from_env(os.environ))
        tasks.spawn(self._recordings_janitor(), "recordings-janitor")
        feed = MetricsFeed(live, KpiSource(engine), rules, clock, lambda: {
            "tasks": len(tasks), "ami_connected": ami.connected, "leader": router.leads,
            "spool": spool_records(writer.spool)}, lines=lambda: config.current.queues.keys())
        self._api_stop = asyncio.Event()
        api = make_app(ApiDeps(
            agents=LiveAgentDesk(agents, live, lambda: config.current.roster.keys(), phone_gone=phones.gone,
                                 policy_of=lambda queue: config.current.queues.get(queue),
                                 order_filed=lambda call_id: self._order_filed(work_orders, call_id)),
            calls=LiveCallDesk(live, registry, rooms, clock), events=desk_events,
            users=UserStore(engine), directory=lambda: config.current.directory,
            roster_ids=lambda: config.current.roster.keys(),
            config=ApiConfig(session_hours=s.session_hours), clock=clock,
            work_orders=work_orders, knowledge=knowledge, supervision=supervision, reports=reports,
            recordings=SqlRecordings(engine), wallboard=wallboard, cases=cases,
            forward=ForwardToHolder(me, live.call_owner, live.api_url)))
        install_metrics(api, feed.metrics, load_metrics_token(s.var_dir, os.environ))
        tasks.spawn(serve_api(api, s.http_host, s.http_port, self._api_stop), "http-api")
        log.info("controller %s up: FastAGI %s:%d, AMI 127.0.0.1:%d, db %s",
                 me, s.agi_host, s.agi_port, s.ami_port, engine.url.render_as_string())

    async def stop(self) -> None:
        """Stop taking calls and events, cancel every task, close Redis."""
        self._api_stop.set()
        await self.agi.close()
        await self.ami.close()
        await self.tasks.close()
        await self.redis.aclose()

    async def reload(self) -> bool:
        """Re-read the configuration files. A file with an error changes nothing: the
        running configuration stays and the error is logged. Calls in progress keep the
        configuration they started with; new calls get the new one."""
        try:
            config = await asyncio.to_thread(load_config, self.settings)
        except Exception as exc:
            log.error("configuration NOT reloaded, the running one stays: %s", exc)
            return False
        self.config.swap(config)
        try:
            self.cases.use_rules(await asyncio.to_thread(load_rules, case_rules_path(self.settings.config_dir)))
        except Exception as exc:
            log.error("case rules NOT reloaded, the running ones stay: %s", exc)
        try:
            await asyncio.to_thread(self.knowledge.rebuild)
        except Exception as exc:  # an article with an error: the index in force stays
            log.error("knowledge base NOT reindexed, the running index stays: %s", exc)
        await self.agents.log_in_roster(config.roster.values())
        await self.live.notify_changed()
        log.info("configuration reloaded: %d agents, %d queues, %d flows",
                 len(config.roster), len(config.queues), len(config.flows))
        return True

    # -- events -----------------------------------------------------------------------------
    @staticmethod
    def _join_handlers(*tables: Any) -> dict[type, Callable[[Any], Any]]:
        """One handler per event type, calling every table's handler for it in order."""
        joined: dict[type, list[Callable[[Any], Any]]] = {}
        for table in tables:
            for kind, handler in table.items():
                joined.setdefault(kind, []).append(handler)

        def chain(handlers: list[Callable[[Any], Any]]) -> Callable[[Any], None]:
            def run(event: Any) -> None:
                for handler in handlers:
                    handler(event)
            return run
        return {kind: chain(handlers) for kind, handlers in joined.items()}

    @staticmethod
    def _dispatch(handlers: dict[type, Callable[[Any], Any]], event: AmiEvent) -> None:
        handler = handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _originate_result(self, callbacks: CallbackDialer,
                          follow_ups: FollowUpDialler) -> Callable[[OriginateResult], None]:
        """An Originate's outcome: a callback's agent leg, or a follow-up call's citizen leg."""
        def handle(event: OriginateResult) -> None:
            for name, work in (("callback-missed", callbacks.on_originate_result(event)),
                               ("follow-up-missed", follow_ups.on_originate_result(event))):
                if work is not None:
                    self.tasks.spawn(work, f"{name}-{event.uniqueid}")
        return handle

    @staticmethod
    async def _language_of(store: CallStore, call_id: str) -> str:
        """The language of a case's original call (its follow-up speaks it)."""
        record = await asyncio.to_thread(store.get, call_id)
        return str((record or {}).get("language") or "")

    def _changed(self) -> None:
        """Someone changed the routing picture: the fast-offer mirror is stale; route now
        (and the supervisors' wall shows it)."""
        self.router.forget()
        self.router.wake.set()
        self.wall_changes.notify()

    @staticmethod
    async def _saved(live: LiveState, call_id: str) -> calls.Call | None:
        try:
            saved = await live.saved_call(call_id)
            return calls.from_dict(saved) if saved else None
        except Exception as exc:  # unreadable or Redis away: served as a new call, never dropped
            log.warning("call %s resumed without its saved state (%s)", call_id, exc)
            return None

    async def _resync(self) -> None:
        """After every AMI (re)login: calls whose channel vanished meanwhile hung up; store
        what the fallback queue served."""
        try:
            alive = {c.uniqueid for c in await self.ami.channels()}
        except Exception as exc:
            log.warning("resync after AMI login failed: %s", exc)
            return
        self._registry.vanished(alive)
        await self.fallback.reconcile()
        await self.phones.resync()
        self.fallback_members.forget()  # the next routing step sets every seat

    async def _redis_back(self) -> None:
        """Redis answers again: rebuild the agents it lost, and have every waiting session
        check its call is still in line (hotline/live/reseed.py)."""
        last_seen = {**await self._logged_states(), **self.router.last_agents}  # the leader's memory first
        await reseed_agents(self.live, self.config.current.roster.values(), self.agents, self.ami.channel_names,
                            self.clock(), last_seen=last_seen)
        self._registry.resync()
        await self.live.notify_changed()

    @staticmethod
    async def _order_filed(work_orders: SqlWorkOrders, call_id: str) -> bool:
        return await work_orders.get(call_id) is not None

    async def _logged_states(self) -> dict[str, Any]:
        """The agents' last states in the database's state log, within one shift (older
        states say nothing about who is at a desk now)."""
        return await self.state_log.last(since=self.clock() - SHIFT_SECONDS)

    async def _recordings_janitor(self) -> None:
        """Index, compress and purge recordings, on the router's leader only (one janitor per
        instance, whichever controller leads)."""
        while True:
            await asyncio.sleep(self.janitor.config.interval)
            if not self.router.leads:
                continue
            try:
                await self.janitor.step(self.clock())
            except Exception:
                log.exception("recordings pass failed; retried at the next one")

    # -- background -------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        """Tell the other controllers we are alive (calls we own are not swept)."""
        failing = False
        while True:
            await asyncio.sleep(1)
            try:
                await self.live.heartbeat(self.controller_id, HEARTBEAT_TTL_MS, self.settings.api_url)
            except Exception as exc:
                if not failing:
                    log.error("heartbeat to Redis failed (logged once until it recovers): %s", exc)
                failing = True
                continue
            failing = False

    async def _housekeeping(self) -> None:
        """Replay spooled records once the database answers; store fallback calls."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY)
            try:
                await self._writer.replay()
                await self.fallback.reconcile()
                if self.router.leads:  # cases past their deadlines flagged for supervision (督办)
                    await self.cases.sweep_overdue(self.clock())
            except Exception:
                log.exception("housekeeping failed")


async def serve(settings: Settings) -> None:
    """Run a controller until SIGINT/SIGTERM; SIGHUP reloads the configuration files."""
    controller = Controller(settings)
    await controller.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: controller.tasks.spawn(controller.reload(), "reload"))
    await stop.wait()
    log.info("controller stopping")
    await controller.stop()
