"""The controller process: the one composition root that wires everything together.

Nothing connects at import time. ``Controller.start`` opens Redis and the database, loads
and validates the configuration files, starts the FastAGI server, the AMI client, the
Redis listener and the router; ``stop`` undoes it. Every background task belongs to one
TaskOwner, so failures are logged and shutdown cancels them all.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from redis.asyncio import Redis

import ivr
from acd import Assignment, QueuePolicy
from agents.roster import RosterAgent
from hotline import queue_log
from hotline.agent_desk import AgentDesk
from hotline.agi_server import AgiChannel, FastAgiServer
from hotline.ami import AmiClient
from hotline.ami_events import AmiEvent, DialBegin, DialEnd, Hangup, OriginateResult
from hotline.call_session import CallSession, CallTrack
from hotline.callback_session import run_callback
from hotline.channels import agent_of
from hotline.config import load_config
from hotline.live_keys import LiveKeys
from hotline.live_state import LiveState, QueuedCall, parse_assignment
from hotline.router_service import RouterService
from hotline.settings import Settings
from hotline.store import CallStore, RecordWriter, make_engine, migrate
from hotline.tasks import TaskOwner
from hotline.waiting_info import expected_wait_minutes, position_ahead
from outbound import CitizenNumberPolicy
from recordings import recording_path

log = logging.getLogger(__name__)
REPEAT_WINDOW_DAYS = 30
HEARTBEAT_TTL_MS = 5000


@dataclass
class Services:
    """What a call session and the router need, built once by the controller."""

    settings: Settings
    controller_id: str
    clock: Callable[[], float]
    roster: Mapping[str, RosterAgent]
    queues: Mapping[str, QueuePolicy]
    flows: Mapping[str, Any]
    live: LiveState
    store: CallStore
    writer: RecordWriter
    desk: AgentDesk
    tasks: TaskOwner
    citizen_numbers: CitizenNumberPolicy
    tracks: dict[str, CallTrack] = field(default_factory=dict)
    place_callback: Callable[[str, str], Any] = field(default=None)  # type: ignore[assignment]
    router: Any = None
    deliver: Callable[[str, str, int], None] = field(default=lambda c, a, r: None)
    withdraw: Callable[[str], None] = field(default=lambda agent_id: None)

    def fast_offer(self, call: QueuedCall) -> Assignment | None:
        """The assignment of a new call decided without reading Redis, or None: then
        ``enqueue`` it (see RouterService.fast_offer). The caller must then start
        ``confirm_offer`` (the Redis claim) once Asterisk has sent the agent's INVITE."""
        return None if self.router is None else self.router.fast_offer(call)

    def confirm_offer(self, call: QueuedCall, agent_id: str) -> "asyncio.Task[bool]":
        """Start the Redis claim of a fast offer (RouterService.confirm)."""
        assert self.router is not None
        return self.router.confirm(call, agent_id)

    async def enqueue(self, call: QueuedCall) -> None:
        """Put a call in the shared queue. When this controller leads the router, route it
        at once from the input the enqueue returned: no wake-up hop, no second read."""
        if self.router is not None and self.router.leads:
            await self.router.step(prefetched=await self.live.enqueue_and_read(call))
        else:
            await self.live.enqueue(call)

    @property
    def callbacks_enabled(self) -> bool:
        return bool(self.settings.outbound_trunk)

    async def waiting_figures(self, call: QueuedCall) -> tuple[int, int]:
        """(callers ahead, expected wait in minutes) for an announcement."""
        waiting, records = await self.live.routing_input()
        position = position_ahead(call, waiting, self.queues)
        on_shift = sum(1 for r in records
                       if r.state.value not in ("logged_out", "paused")
                       and r.agent_id in self.roster and call.language in self.roster[r.agent_id].languages)
        return position, expected_wait_minutes(position, on_shift)
    repeat_threshold: int = 3

    async def repeat_calls(self, caller: str, now: float) -> int:
        try:
            return await asyncio.to_thread(self.store.count_calls_from, caller, now - REPEAT_WINDOW_DAYS * 86400)
        except Exception:
            log.warning("repeat-caller count unavailable (database down?): assuming 0")
            return 0

    async def flags(self) -> dict[str, str]:
        try:
            return await self.live.flags()
        except Exception:
            return {}

    def prompt_path(self, name: str, language: str) -> str:
        """The file Asterisk should play, as seen inside the Asterisk root, without extension."""
        host = ivr.prompts.resolve(name, language, self.settings.instance_dir / "sounds")
        root = str(self.settings.asterisk_root)
        return host[len(root):] if host.startswith(root) else host

    def recording_path(self, call_id: str) -> str:
        return recording_path(self.settings.instance_dir_in_root, call_id)


class Controller:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.tasks = TaskOwner("controller")
        self.controller_id = f"{socket.gethostname()}-{settings.instance}-{os.getpid()}"
        self.sv: Services | None = None
        self.agi: FastAgiServer | None = None
        self.ami: AmiClient | None = None
        self.router: RouterService | None = None
        self.redis: Redis | None = None
        self.stopped = asyncio.Event()
        self._callback_legs: dict[str, tuple[str, str]] = {}
        self._ringing: dict[str, str] = {}  # agent id -> the agent leg our Dial is ringing
        # agent id -> until when: hang up their leg as soon as its DialBegin arrives
        self._withdraw_on_dial: dict[str, float] = {}

    async def start(self) -> None:
        s = self.settings
        config = load_config(s)
        roster, queues, flows = config.roster, config.queues, config.flows
        self.redis = Redis.from_url(s.redis_url or "redis://127.0.0.1:6379/0", decode_responses=True)
        await self.redis.ping()
        live = LiveState(self.redis, LiveKeys.for_instance(s.instance))
        engine = make_engine(s.database_url)
        await asyncio.to_thread(migrate, engine)
        store = CallStore(engine)
        writer = RecordWriter(store, s.var_dir / f"spool-{s.instance}.jsonl")
        desk = AgentDesk(live, self.clock)
        self.sv = Services(s, self.controller_id, self.clock, roster, queues, flows, live, store,
                           writer, desk, self.tasks, place_callback=self.place_callback,
                           citizen_numbers=config.citizen_numbers)
        await desk.log_in_roster(roster.values())
        await live.heartbeat(self.controller_id, HEARTBEAT_TTL_MS)
        self.tasks.spawn(self._heartbeat(), "heartbeat")
        self.router = RouterService(self.sv, tick=self.settings.router_tick)
        self.sv.router = self.router        # a new call is routed inline when we lead
        self.sv.deliver = self._deliver     # ... and handed over in-process when we own it
        self.sv.withdraw = self._withdraw_ring
        self.agi = FastAgiServer()
        self.agi.add_route("call", self._on_call)
        self.agi.add_route("callback", self._on_callback)
        await self.agi.start(s.agi_host, s.agi_port)
        self.ami = AmiClient(s, self._on_ami_event, self._on_ami_login, self.tasks)
        await self.ami.start()
        self.tasks.spawn(self._listen(), "redis-listener")
        self.tasks.spawn(self.router.run(), "router")
        self.tasks.spawn(self._housekeeping(), "housekeeping")
        log.info("controller %s up: FastAGI %s:%d, AMI 127.0.0.1:%d, db %s",
                 self.controller_id, s.agi_host, s.agi_port, s.ami_port, engine.url.render_as_string())

    async def stop(self) -> None:
        if self.agi:
            await self.agi.close()
        if self.ami:
            await self.ami.close()
        await self.tasks.close()
        if self.redis:
            await self.redis.aclose()
        self.stopped.set()

    async def reload(self) -> bool:
        """Re-read roster, queues and IVR flows. A file with an error changes nothing: the
        running configuration stays and the error is logged. Calls in progress keep the
        flow they started with; new calls get the new one."""
        assert self.sv is not None
        try:
            config = await asyncio.to_thread(load_config, self.settings)
        except Exception as exc:
            log.error("configuration NOT reloaded, the running one stays: %s", exc)
            return False
        roster, queues, flows = config.roster, config.queues, config.flows
        self.sv.roster, self.sv.queues, self.sv.flows = roster, queues, flows
        self.sv.citizen_numbers = config.citizen_numbers
        await self.sv.desk.log_in_roster(roster.values())
        await self.sv.live.notify_changed()
        log.info("configuration reloaded: %d agents, %d queues, %d flows", len(roster), len(queues), len(flows))
        return True

    # -- calls ------------------------------------------------------------------------
    async def _on_call(self, channel: AgiChannel) -> None:
        assert self.sv is not None
        await CallSession(self.sv, channel).run()

    async def _on_callback(self, channel: AgiChannel) -> None:
        assert self.sv is not None
        await run_callback(self.sv, channel)

    async def place_callback(self, call_id: str, agent_id: str) -> None:
        """Ring the agent for a callback request; the citizen is dialled once they answer."""
        assert self.sv is not None and self.ami is not None
        call = await self.sv.live.call(call_id)
        if call is None:
            await self.sv.desk.released(agent_id)
            return
        policy = self.sv.queues[call.queue]
        channel_id = f"{call_id}-cb{int(self.clock() * 1000) % 100000}"
        self._callback_legs[channel_id] = (call_id, agent_id)
        await self.sv.desk.ringing(agent_id, call_id)
        try:
            await self.ami.originate(
                f"PJSIP/{agent_id}", "hotline-callback", "s", timeout_ms=int(policy.ring_timeout * 1000),
                channel_id=channel_id, caller_id=f'"callback" <{call.caller}>',
                variables={"HOTLINE_CALLBACK_ID": call_id, "HOTLINE_CALLBACK_AGI": f"agi://{self.settings.agi_host}:{self.settings.agi_port}"})
        except Exception as exc:
            log.error("callback %s: originate to agent %s failed: %s", call_id, agent_id, exc)
            self._callback_legs.pop(channel_id, None)
            await self._callback_missed(call_id, agent_id)

    async def _callback_missed(self, call_id: str, agent_id: str) -> None:
        """The agent did not answer the callback leg: a miss, and the request waits again."""
        assert self.sv is not None
        call = await self.sv.live.call(call_id)
        await self.sv.desk.missed(agent_id, self.sv.queues[call.queue if call else "main"])
        await self.sv.live.requeue(call_id, excluded_agent=agent_id)

    # -- AMI ----------------------------------------------------------------------------
    def _on_ami_event(self, event: AmiEvent) -> None:
        assert self.sv is not None
        if isinstance(event, Hangup):
            track = self.sv.tracks.get(event.uniqueid)
            if track is not None:
                track.hangup.set()
        elif isinstance(event, DialBegin) and event.uniqueid in self.sv.tracks:
            self.sv.tracks[event.uniqueid].dialing.set()
            agent_id = agent_of(event.dest_channel)
            self._ringing[agent_id] = event.dest_channel
            if self._withdraw_on_dial.pop(agent_id, 0.0) > self.clock():
                self._hang_up_ring(agent_id, "the agent was not free after all")
        elif isinstance(event, DialEnd):
            self._ringing.pop(agent_of(event.dest_channel), None)
            self._withdraw_on_dial.pop(agent_of(event.dest_channel), None)
            track = self.sv.tracks.get(event.uniqueid)
            if track is not None and event.status == "ANSWER":
                track.answered_at = self.clock()
                agent_id = agent_of(event.dest_channel)
                self.tasks.spawn(self.sv.desk.answered(agent_id), f"answered-{agent_id}")
        elif isinstance(event, OriginateResult) and event.uniqueid in self._callback_legs:
            call_id, agent_id = self._callback_legs.pop(event.uniqueid)
            if not event.success:
                log.info("callback %s: agent %s did not answer (%s)", call_id, agent_id, event.reason)
                self.tasks.spawn(self._callback_missed(call_id, agent_id), f"callback-missed-{call_id}")

    async def _on_ami_login(self) -> None:
        """After every (re)login: drop calls whose channel vanished, reconcile the fallback."""
        assert self.sv is not None and self.ami is not None
        try:
            alive = {c.uniqueid for c in await self.ami.channels()}
        except Exception as exc:
            log.warning("resync after AMI login failed: %s", exc)
            return
        for call_id, track in list(self.sv.tracks.items()):
            if call_id not in alive:
                track.hangup.set()
        await self.reconcile_fallback()

    async def reconcile_fallback(self) -> int:
        """Store the calls app_queue served while we were away (from queue_log)."""
        assert self.sv is not None
        path = self.settings.queue_log
        if not path.exists():
            return 0
        records = queue_log.fold(path.read_text(errors="replace").splitlines(),
                                 recording_of=self.sv.recording_path)
        known = await asyncio.to_thread(self.sv.store.known_ids, records.keys())
        fresh = [r for cid, r in records.items() if cid not in known]
        for record in fresh:
            try:  # one record that cannot be stored must not keep the ones after it out
                await self.sv.writer.write(record, [])
            except Exception:
                log.exception("fallback call %s could not be stored: skipped", record.call_id)
        if fresh:
            log.info("reconciled %d call(s) served by the fallback queue", len(fresh))
        return len(fresh)

    # -- Redis ----------------------------------------------------------------------------
    async def _listen(self) -> None:
        assert self.sv is not None and self.redis is not None and self.router is not None
        lost = False
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.sv.live.changed_channel, self.sv.live.control_channel,
                                           self.sv.live.owner_channel(self.controller_id))
                    lost = False
                    async for message in pubsub.listen():
                        self._on_redis_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    log.error("Redis subscription lost (%s); retrying every second", exc)
                lost = True
                await asyncio.sleep(1)

    def _on_redis_message(self, message: dict[str, Any]) -> None:
        assert self.sv is not None and self.router is not None
        if message.get("type") != "message":
            return
        if message["channel"] == self.sv.live.changed_channel:
            self.router.forget()
            self.router.wake.set()
            return
        if message["channel"] == self.sv.live.control_channel:
            self._on_control(str(message["data"]))
            return
        parsed = parse_assignment(message["data"])
        if parsed is None:
            return
        self._deliver(*parsed)

    def _on_control(self, data: str) -> None:
        """``stop-ring <agent>``: the agent paused or logged out while one of our calls rings
        their phone: hang up that leg, so the call moves on at once instead of at the ring
        timeout."""
        verb, _, agent_id = data.partition(" ")
        if verb == "stop-ring":
            self._hang_up_ring(agent_id, "paused while ringing")

    def _withdraw_ring(self, agent_id: str) -> None:
        """A session's fast offer could not be claimed: hang up the agent's leg now, or as
        soon as its DialBegin shows which channel it is."""
        if not self._hang_up_ring(agent_id, "the agent was not free after all"):
            self._withdraw_on_dial[agent_id] = self.clock() + 2.0  # stale after that: never kept

    def _hang_up_ring(self, agent_id: str, why: str) -> bool:
        channel = self._ringing.get(agent_id)
        if not channel or self.ami is None:
            return False
        log.info("agent %s %s: withdrawing the offer (%s)", agent_id, why, channel)
        self.tasks.spawn(self.ami.action({"Action": "Hangup", "Channel": channel, "Cause": "16"}),
                         f"stop-ring-{agent_id}")
        return True

    def _deliver(self, call_id: str, agent_id: str, relax_step: int) -> None:
        """Hand an assignment to the call's session (or place the callback it stands for)."""
        assert self.sv is not None
        track = self.sv.tracks.get(call_id)
        if track is None:
            self.tasks.spawn(self._orphan_assignment(call_id, agent_id), f"orphan-{call_id}")
        else:
            track.assignment.put_nowait((agent_id, relax_step))

    async def _orphan_assignment(self, call_id: str, agent_id: str) -> None:
        """An assignment for a call with no live session here: a callback to place, or a
        call whose caller left just before (free the agent)."""
        assert self.sv is not None
        call = await self.sv.live.call(call_id)
        if call is not None and call.callback:
            await self.place_callback(call_id, agent_id)
            return
        await self.sv.live.remove_call(call_id)
        await self.sv.desk.released(agent_id)

    async def _heartbeat(self) -> None:
        """Tell the other controllers we are alive (calls we own are not swept)."""
        assert self.sv is not None
        failing = False
        while True:
            await asyncio.sleep(1)
            try:
                await self.sv.live.heartbeat(self.controller_id, HEARTBEAT_TTL_MS)
            except Exception as exc:
                if not failing:
                    log.error("heartbeat to Redis failed (logged once until it recovers): %s", exc)
                failing = True
                continue
            failing = False

    async def _housekeeping(self) -> None:
        assert self.sv is not None
        while True:
            await asyncio.sleep(15)
            try:
                await self.sv.writer.replay()
                await self.reconcile_fallback()
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
