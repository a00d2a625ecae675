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
from typing import Any, Callable

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from hotline.asterisk.agi_server import AgiChannel, FastAgiServer
from hotline.asterisk.ami import AmiClient
from hotline.asterisk.ami_events import AmiEvent, OriginateResult
from hotline.config import ConfigHolder, load_config
from hotline.live.agent_service import AgentService
from hotline.live.keys import LiveKeys
from hotline.live.listener import LiveListener
from hotline.live.redis_state import LiveState
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
from hotline.settings import Settings
from hotline.store.calls import CallStore, RecordWriter, make_engine, migrate
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)
HEARTBEAT_TTL_MS = 5000
HOUSEKEEPING_EVERY = 15.0


class Controller:
    """One controller process. Its parts exist from ``start`` until ``stop``."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.tasks = TaskOwner("controller")
        self.controller_id = f"{socket.gethostname()}-{settings.instance}-{os.getpid()}"

    async def start(self) -> None:
        s, clock, tasks, me = self.settings, self.clock, self.tasks, self.controller_id
        self.config = config = ConfigHolder(load_config(s))
        # A pooled connection that a restarted Redis closed fails once: retried on a fresh one,
        # so the first call after Redis is back is not lost to a stale socket.
        self.redis = redis = Redis.from_url(s.redis_url or DEFAULT_REDIS_URL, decode_responses=True,
                                            retry=Retry(NoBackoff(), 2), retry_on_error=[RedisConnectionError],
                                            health_check_interval=5)
        await redis.ping()
        keys = LiveKeys.for_instance(s.instance)
        self.live = live = LiveState(redis, keys)
        engine = make_engine(s.database_url)
        await asyncio.to_thread(migrate, engine)
        store = CallStore(engine)
        writer = RecordWriter(store, s.var_dir / f"spool-{s.instance}.jsonl")
        self.agents = agents = AgentService(live, clock)
        media = MediaPaths(s)
        self.ami = ami = AmiClient(s, tasks)
        callbacks = CallbackDialer(s, me, clock, live, config, agents, media, writer, ami.originate)
        registry = CallRegistry(clock, tasks, hang_up=ami.hangup, agent_answered=agents.answered,
                                orphan=callbacks.orphan_assignment)
        orphans = OrphanCalls(me, live, writer, ami.channel_ids)
        self.router = router = RouterService(me, clock, live, config, agents, tasks, registry.deliver, s.router_tick,
                                             channels=ami.channel_names, redis_back=self._redis_back,
                                             orphans=orphans.sweep)
        deps = SessionDeps(me, clock, config, live, offers=router, registry=registry, rings=registry,
                           agents=agents, facts=CallerFacts(live, store, config), media=media, records=writer,
                           tasks=tasks, place_callback=callbacks.place, callbacks_enabled=callbacks.enabled)
        self.fallback = FallbackReconciler(s.queue_log, store, writer, media.recording_path)
        listener = LiveListener(redis, keys, me, changed=self._changed, stop_ring=registry.stop_ring,
                                deliver=registry.deliver)
        self._writer, self._registry = writer, registry

        await agents.log_in_roster(config.current.roster.values())
        await live.heartbeat(me, HEARTBEAT_TTL_MS)
        tasks.spawn(self._heartbeat(), "heartbeat")
        self.agi = agi = FastAgiServer(secret=s.agi_secret)

        async def call(channel: AgiChannel) -> None:  # routes must be coroutine functions (panoramisk)
            await CallSession(deps, channel).run()

        agi.add_route("call", call)
        agi.add_route("callback", callbacks.run_session)
        await agi.start(s.agi_host, s.agi_port)
        handlers = {**registry.handlers, OriginateResult: self._originate_result(callbacks)}
        await ami.start(on_event=lambda event: self._dispatch(handlers, event), on_login=self._resync)
        tasks.spawn(listener.run(), "redis-listener")
        tasks.spawn(router.run(), "router")
        tasks.spawn(self._housekeeping(), "housekeeping")
        log.info("controller %s up: FastAGI %s:%d, AMI 127.0.0.1:%d, db %s",
                 me, s.agi_host, s.agi_port, s.ami_port, engine.url.render_as_string())

    async def stop(self) -> None:
        """Stop taking calls and events, cancel every task, close Redis."""
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
        await self.agents.log_in_roster(config.roster.values())
        await self.live.notify_changed()
        log.info("configuration reloaded: %d agents, %d queues, %d flows",
                 len(config.roster), len(config.queues), len(config.flows))
        return True

    # -- events -----------------------------------------------------------------------------
    @staticmethod
    def _dispatch(handlers: dict[type, Callable[[Any], Any]], event: AmiEvent) -> None:
        handler = handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _originate_result(self, callbacks: CallbackDialer) -> Callable[[OriginateResult], None]:
        def handle(event: OriginateResult) -> None:
            follow_up = callbacks.on_originate_result(event)
            if follow_up is not None:
                self.tasks.spawn(follow_up, f"callback-missed-{event.uniqueid}")
        return handle

    def _changed(self) -> None:
        """Someone changed the routing picture: the fast-offer mirror is stale; route now."""
        self.router.forget()
        self.router.wake.set()

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

    async def _redis_back(self) -> None:
        """Redis answers again: rebuild the agents it lost, and have every waiting session
        check its call is still in line (hotline/live/reseed.py)."""
        await reseed_agents(self.live, self.config.current.roster.values(), self.agents, self.ami.channel_names,
                            self.clock(), last_seen=self.router.last_agents)
        self._registry.resync()
        await self.live.notify_changed()

    # -- background -------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        """Tell the other controllers we are alive (calls we own are not swept)."""
        failing = False
        while True:
            await asyncio.sleep(1)
            try:
                await self.live.heartbeat(self.controller_id, HEARTBEAT_TTL_MS)
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
