"""One citizen call, from the AGI request to the stored record.

The FastAGI connection is the call's session: it runs the IVR (a pure engine from ivr/),
puts the call in the shared queue, holds the caller on music while the router decides,
rings the agent it is given, and writes the call record. Asterisk executes; this decides.
When anything here fails unexpectedly, the session returns WITHOUT marking the call done,
so the dialplan's app_queue fallback still serves the citizen: no call is lost to a bug.

Everything the session needs from outside comes in one ``SessionDeps``, each field a port
(``hotline.ports``) built by the bootstrap: the same session runs against Redis, the
database and Asterisk in production, and against in-memory fakes in tests/contract.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import calls
import ivr
from calls import CallState
from calls.model import QueuedCall
from calls.records import CallEvent, CallRecord
from calls.waiting import announcement_attrs
from cases.followup import case_of_call
from hotline.asterisk.agi_server import AgiChannel, ChannelGone
from hotline.config import ConfigHolder
from hotline.ports import (
    AgentEvents,
    CallerFacts,
    LiveStore,
    Media,
    OfferPath,
    PlaceCallback,
    RecordSink,
    Rings,
)
from hotline.sessions import ivr_io
from hotline.sessions.registry import CallRegistry
from hotline.tasks import TaskOwner
from recordings import record_on_answer

log = logging.getLogger(__name__)
HEARTBEAT = 2.0
SCREEN_PART = "screen"  # the saved call's field with the screen pop's extras (JSON)
DIAL_BEGIN_WAIT = 0.02  # an offer's bookkeeping waits at most this for the agent's DialBegin


@dataclass(frozen=True)
class SessionDeps:
    """What a call session needs, built once by the bootstrap (nothing is set later)."""

    controller_id: str
    clock: Callable[[], float]
    config: ConfigHolder
    live: LiveStore
    offers: OfferPath
    registry: CallRegistry
    rings: Rings
    agents: AgentEvents
    facts: CallerFacts
    media: Media
    records: RecordSink
    tasks: TaskOwner
    place_callback: PlaceCallback
    callbacks_enabled: bool
    three_party: Any = None  # hotline/three_party/rooms.ThreeParty: takes a call whose legs it moved
    agency_ring: float = 30.0  # seconds an agency's number rings (an IVR transfer to an agency)


class HandedOver(Exception):
    """The call's legs were moved to a three-party room: the session ends, the call goes on."""


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


class CallSession:
    """One call held by this controller, for as long as its FastAGI connection lasts."""

    def __init__(self, deps: SessionDeps, channel: AgiChannel, resumed: calls.Call | None = None) -> None:
        """``resumed``: the saved value of this call, taken back from the fallback queue after
        its controller died (hotline/sessions/orphans.py); the call keeps its arrival and, if
        it was in line, its place (``queued_at``), and does not hear the IVR again."""
        self.deps = deps
        self.config = deps.config.current  # the files in force when the call arrived, to its end
        self.ch = channel
        self.call_id = channel.uniqueid
        self.track = deps.registry.register(self.call_id)
        self.track.citizen_channel = channel.channel
        self.events: list[CallEvent] = []
        self.record = CallRecord(
            call_id=self.call_id, caller=channel.headers.get("agi_callerid", "unknown"),
            dnis=channel.arg(1) or channel.headers.get("agi_dnid", ""),
            arrived_at=resumed.arrived_at if resumed else self.now(),
            attrs={"controller": deps.controller_id},
        )
        self.resumed = resumed
        if resumed is not None:
            self.record = self.record.but(attrs={**self.record.attrs, "resumed_from": resumed.state.value})
        # The call's rules (calls/state.py): the session feeds each step to the machine and
        # the record's outcome is the machine's; it never decides an outcome from flags.
        self.call = calls.start(calls.Arrived(self.record.arrived_at, self.call_id, self.record.caller,
                                              self.record.dnis))
        self.track.on_answer = self._answered_now
        self._saving: "asyncio.Task[None] | None" = None  # the one task that saves the call's state
        self._unsaved = False
        self.agent_id = ""
        self.keep_in_queue = False
        self._next_announce: float | None = None
        self._queued: tuple[float, Any] | None = None
        self._resume_queued_at: float | None = None  # a resumed call's place in line
        self._policy: Any = None  # the queue's policy of the current offer
        self._recording = ""      # the call's recording file, and Dial's U() option that
        self._record_option = ""  # starts it on the agent's answer (both set when queued)

    def now(self) -> float:
        return self.deps.clock()

    def event(self, kind: str, **data: Any) -> None:
        self.events.append(CallEvent(self.call_id, self.now(), kind, data))

    def event_at(self, at: float | None, kind: str, **data: Any) -> None:
        """An event stamped with the moment it happened (e.g. the agent's answer, from DialEnd)."""
        self.events.append(CallEvent(self.call_id, self.now() if at is None else at, kind, data))

    def step(self, event: calls.Event) -> bool:
        """Feed the call's state machine; an illegal step (a late or duplicate event) is
        logged and changes nothing. True when the step was taken. Every step is saved in the
        live state (in the background, in order), so that if this controller dies a survivor
        can finish the call (hotline/sessions/orphans.py)."""
        try:
            self.call = calls.apply(self.call, event)
        except calls.IllegalTransition as exc:
            log.warning("call %s: %s", self.call_id, exc)
            return False
        self._save_soon()
        return True

    def _save_soon(self) -> None:
        self._unsaved = True
        if self._saving is None or self._saving.done():
            self._saving = self.deps.tasks.spawn(self._save(), f"save-{self.call_id}")

    async def _save(self) -> None:
        """Write the latest value until none is left unsaved (one writer: never out of order)."""
        while self._unsaved:
            self._unsaved = False
            try:
                await self.deps.live.save_call(self.deps.controller_id,
                                               {**calls.to_dict(self.call), SCREEN_PART: self._screen()})
            except Exception as exc:
                log.warning("call %s: state not saved (%s); the call goes on", self.call_id, exc)
                return

    def _screen(self) -> str:
        """What the call taker's screen pop shows beyond the call's value: the IVR path, the
        citizen's calls in the last 30 days and, for a citizen who asked for a call taker in a
        follow-up call, that case (the call taker records the answer); saved with the call,
        read by the desk."""
        screen: dict[str, Any] = {"ivr_path": list(self.record.ivr_path), "repeat_calls": self.record.repeat_calls}
        follow_up = case_of_call(self.call_id)
        if follow_up:
            screen["follow_up_case"] = follow_up
        return json.dumps(screen, ensure_ascii=False, separators=(",", ":"), default=str)

    def _answered_now(self) -> None:
        """The agent answered (AMI DialEnd): the call is talking from now, as a survivor
        would need to know if this controller died during the conversation."""
        self.track.talking = (self.agent_id, self._policy)
        self._feed_queued()
        if self.call.state is CallState.OFFERED and self.track.answered_at is not None:
            self.step(calls.Answered(self.track.answered_at))

    # -- the whole call ---------------------------------------------------------------
    async def run(self) -> None:
        self.event("arrived", caller=self.record.caller, dnis=self.record.dnis)
        completed = handed = False
        try:
            await self.ch.run("ANSWER")
            action = self._resumed_action()
            if action is None:
                action = await self._run_ivr()
            await self._act(action)
            completed = True
        except HandedOver:
            handed = True
            await self._hand_over()
        except ChannelGone:
            completed = True
            self._caller_left()
        except Exception:
            self.event("controller_error")
            # Before an answer the dialplan's fallback queue takes the caller; a call already
            # answered is never handed to it (the citizen would be served twice): it ends here.
            self._feed_queued()
            if self.track.answered_at is not None and self.call.state is CallState.OFFERED:
                self.step(calls.Answered(self.track.answered_at))
            completed = self.call.state not in (CallState.IN_IVR, CallState.QUEUED, CallState.OFFERED)
            if completed:
                log.exception("call %s: session failed after the answer; the call ends here", self.call_id)
            else:
                log.exception("call %s: session failed; the dialplan fallback takes the call", self.call_id)
                self.step(calls.FellBack(self.now(), "session failed"))
        finally:
            if not handed:  # a call handed to a three-party room keeps its saved state, for a survivor
                await self._wind_up(completed)

    def _resumed_action(self) -> Any:
        """A resumed call that was in line goes back in line, where it was; None otherwise."""
        was = self.resumed
        if was is None or was.queued_at is None or not was.queue or was.queue not in self.config.queues:
            return None
        self.event("resumed", state=was.state.value, queued_at=was.queued_at)
        self._resume_queued_at = was.queued_at
        flow = ivr.flow_for_dnis(self.config.flows, self.record.dnis)
        return ivr.Queue(was.queue, was.skills, was.language, was.priority, flow.survey if flow else None)

    async def _act(self, action: Any) -> None:
        if isinstance(action, ivr.Queue):
            await self._queue_and_connect(action)
        elif isinstance(action, ivr.PlayAndHangup):
            await self._play(action.prompts, action.language)
            self.step(calls.IvrEnded(self.now()))
            self.record = self.record.but(ended_at=self.now())
        elif isinstance(action, ivr.CallerHungUp):
            raise ChannelGone("caller hung up in the IVR")
        elif isinstance(action, ivr.TransferToAgency):
            if not await self._to_agency(action):  # never hung up on: a person takes the call
                await self._queue_and_connect(ivr.Queue("main", frozenset(), action.language or "zh"))
        else:
            # A survey as an entry action is served by a person.
            log.warning("call %s: action %r not available, routing to a person", self.call_id, action)
            await self._queue_and_connect(ivr.Queue("main", frozenset(), self.record.language or "zh"))

    async def _to_agency(self, action: Any) -> bool:
        """The IVR's transfer to an agency: its numbers open now, in the directory's order,
        through the ``hotline-agency`` context (which dials directory numbers only). True
        once one answered and the conversation is over; False when none answered."""
        agency = self.config.directory.get(action.agency)
        numbers = agency.numbers_to_try(datetime.now()) if agency is not None else ()
        for attempt, number in enumerate(numbers, 1):
            dialled = self.now()
            try:
                await self.ch.run("EXEC", "Dial", f"Local/{number}@hotline-agency/n,{int(self.deps.agency_ring)}")
            except ChannelGone:
                pass  # the citizen hung up (after talking to the agency, or while it rang): see DIALSTATUS
            self.track.answered_at = None  # the registry took the agency's DialEnd for an agent's answer
            status = (await self.ch.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data
            answered_at = None
            if status == "ANSWER":
                talked = await self.ch.run("GET VARIABLE", "ANSWEREDTIME_MS", allow_dead=True)
                ms = float(talked.data) if talked.data.replace(".", "", 1).isdigit() else 0.0
                answered_at = self.now() - ms / 1000.0
            self.events.append(CallEvent(self.call_id, dialled, "agency_leg", {
                "leg": attempt - 1, "agency": action.agency, "number": number, "mode": "ivr_transfer",
                "attempt": attempt, "dialled_at": dialled, "answered_at": answered_at, "ended_at": self.now(),
                "end": "ended" if answered_at is not None else status.lower() or "failed"}))
            if answered_at is not None:
                self.step(calls.Transferred(self.now(), action.agency))
                self.record = self.record.but(ended_at=self.now(), attrs={
                    **self.record.attrs, "handling": "transferred", "agencies": [action.agency]})
                return True
            if self.ch.hung_up:
                raise ChannelGone("caller hung up while the agency rang")
        self.event("agency_unreached", agency=action.agency, tried=len(numbers))
        return False

    # -- IVR ----------------------------------------------------------------------------
    async def _run_ivr(self) -> Any:
        flow = ivr.flow_for_dnis(self.config.flows, self.record.dnis)
        repeat = await self.deps.facts.repeat_calls(self.record.caller, self.now())
        flags = await self.deps.facts.flags()
        attrs = {"dnis": self.record.dnis, "caller": self.record.caller, "repeat_calls": str(repeat), **flags}
        self.record = self.record.but(repeat_calls=repeat)
        run = ivr.IvrRun(flow, attrs, flows=self.config.flows)
        instruction = run.start()
        try:
            while not isinstance(instruction, ivr.Finished):
                instruction = run.feed(await self._execute(instruction))
        finally:
            self.record = self.record.but(
                ivr_path=tuple(step.to_dict() for step in run.path),
                language=run.attrs.get("language", self.record.language),
                attrs={**self.record.attrs, **{k: v for k, v in run.attrs.items() if k != "caller"}},
            )
        return instruction.action

    async def _execute(self, instruction: Any) -> Any:
        try:
            if isinstance(instruction, ivr.Play):
                await self._play(instruction.prompts, instruction.language)
                return ivr.Played()
            return await self._collect(instruction)
        except ChannelGone:
            self.track.hangup.set()
            return ivr.HungUp()

    async def _play(self, prompts: tuple[str, ...], language: str) -> None:
        await ivr_io.play(self.ch, self.deps.media, prompts, language)

    async def _collect(self, c: Any) -> Any:
        """Play the prompts with barge-in, then wait for the rest of the digits."""
        return await ivr_io.collect(self.ch, self.deps.media, c)

    # -- queue, offer, talk -------------------------------------------------------------
    async def _queue_and_connect(self, action: Any) -> None:
        policy = self.config.queues[action.queue]
        # Worked out before the call is queued: nothing but the decision and the Dial line
        # stands between the queue entry and the agent's INVITE (a path costs ~60 us here).
        self._recording = self.deps.media.recording_path(self.call_id)
        self._record_option = record_on_answer(self._recording)
        queued_at = self._resume_queued_at or self.now()
        self.record = self.record.but(queue=action.queue, language=action.language,
                                      skills=",".join(sorted(action.skills)),
                                      priority=action.priority, queued_at=queued_at)
        call = QueuedCall(call_id=self.call_id, owner=self.deps.controller_id, queue=action.queue,
                          arrived_at=queued_at, language=action.language, skills=action.skills,
                          priority=action.priority, caller=self.record.caller)
        self.event("queued", queue=action.queue, language=action.language, skills=sorted(action.skills))
        self._queued = (queued_at, action)  # fed to the machine off the fast offer's path
        self._next_announce = queued_at + policy.announce_interval if policy.announce_interval > 0 else None
        fast = self.deps.offers.fast_offer(call)
        if fast is not None:
            # Decided without Redis (an idle agent, nobody else waiting): ring now, with no
            # hold music first (Dial's own plays while the agent rings); the claim is started
            # once Asterisk has sent the agent's INVITE and runs while the agent's phone rings.
            offered = await self._offer(fast.agent_id, fast.relax_step, policy,
                                        lambda: self.deps.offers.confirm(call, fast.agent_id))
        else:
            self._feed_queued()
            await self.ch.run("SET MUSIC", "on", "default")
            await self.deps.offers.enqueue(call)
            offered = False
        while not offered:
            assigned = await self._wait_for_agent(call, policy)
            if assigned is None:
                return  # the caller booked a callback: the request keeps the call's place
            offered = await self._offer(*assigned, policy)
        if action.survey and not self.ch.hung_up and action.survey in self.config.flows:
            self.step(calls.SurveyStarted(self.now()))
            await self._survey(action)

    async def _wait_for_agent(self, call: QueuedCall, policy: Any) -> tuple[str, int] | None:
        """The next assignment for the call, or None once the caller booked a callback."""
        while True:
            if not self.track.assignment.empty():  # routed inline by our enqueue: no wake-up hop
                return self.track.assignment.get_nowait()
            timeout = HEARTBEAT
            if self._next_announce is not None:
                timeout = max(0.0, min(timeout, self._next_announce - self.now()))
            getter = asyncio.ensure_future(self.track.assignment.get())
            hangup = asyncio.ensure_future(self.track.hangup.wait())
            resync = asyncio.ensure_future(self.track.resync.wait())
            done, _ = await asyncio.wait({getter, hangup, resync}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            for f in (getter, hangup, resync):
                if f not in done:
                    f.cancel()
            if getter in done:
                return getter.result()
            if hangup in done:
                raise ChannelGone("caller hung up while waiting")
            if self.track.resync.is_set():
                await self._back_in_line(call)
            elif self._next_announce is not None and self.now() >= self._next_announce:
                if await self._announce(call, policy):
                    return None
                self._next_announce = self.now() + policy.announce_interval
            else:
                await self.ch.run("CHANNEL STATUS")  # heartbeat: raises ChannelGone if the caller left

    async def _back_in_line(self, call: QueuedCall) -> None:
        """Redis came back: if it lost this call, put it back, at the place it had (its
        queue time is its place)."""
        self.track.resync.clear()
        if await self.deps.live.call(self.call_id) is None:
            log.warning("call %s: lost from the shared queue with Redis; queued again at its place", self.call_id)
            self.event("requeued_after_redis_loss")
            await self.deps.offers.enqueue(call)

    # -- while waiting: position, expected wait, callback offer ---------------------------
    async def _announce(self, call: QueuedCall, policy: Any) -> bool:
        """Position, expected wait and (once) the callback offer; True when the caller
        booked a callback (the session then ends, the call keeps its place in line)."""
        flow = self.config.flows.get("waiting")
        if flow is None:
            return False
        waited = self.now() - call.arrived_at
        due = (self.deps.callbacks_enabled and self.call.callback_offer is calls.CallbackOffer.NO
               and policy.callback_offer_after is not None and waited >= policy.callback_offer_after)
        offer = "no"
        if due:  # a number we may not dial is never offered a callback; the caller hears why
            verdict = self.config.citizen_numbers.check(call.caller)
            offer = "yes" if verdict.allowed else "refused"
            self.step(calls.CallbackOffered(self.now(), refused=not verdict.allowed))
            if not verdict.allowed:
                self.event("callback_refused", rule=verdict.rule, why=verdict.why)
        position, minutes = await self.deps.facts.waiting_figures(call)
        attrs = {"language": call.language, **announcement_attrs(position, minutes, offer)}
        self.event("announced", position=position, minutes=minutes, callback_offered=offer == "yes")
        await self.ch.run("SET MUSIC", "off")
        run = ivr.IvrRun(flow, attrs, flows=self.config.flows)
        instruction = run.start()
        while not isinstance(instruction, ivr.Finished):
            instruction = run.feed(await self._execute(instruction))
        if isinstance(instruction.action, ivr.CallerHungUp):
            raise ChannelGone("caller hung up during an announcement")
        if run.attrs.get("callback") == "yes" and self.step(calls.CallbackBooked(self.now())):
            await self._book_callback(instruction.action)
            return True
        await self.ch.run("SET MUSIC", "on", "default")
        return False

    async def _book_callback(self, action: Any) -> None:
        await self.deps.live.make_callback(self.call_id, self.deps.controller_id)
        self.keep_in_queue = True
        self.event("callback_booked", number=self.record.caller)
        self.record = self.record.but(ended_at=self.now())
        while not self.track.assignment.empty():  # an agent was assigned meanwhile: use it now
            agent_id, _ = self.track.assignment.get_nowait()
            self.deps.tasks.spawn(self.deps.place_callback(self.call_id, agent_id), f"callback-{self.call_id}")
        try:
            await self._play(action.prompts, action.language)
            await self.ch.run("HANGUP")
        except ChannelGone:
            pass

    # -- after the agent: satisfaction survey ---------------------------------------------
    async def _survey(self, action: Any) -> None:
        run = ivr.IvrRun(self.config.flows[action.survey], {"language": action.language}, flows=self.config.flows)
        instruction = run.start()
        try:
            while not isinstance(instruction, ivr.Finished):
                instruction = run.feed(await self._execute(instruction))
            if isinstance(instruction.action, ivr.PlayAndHangup):
                await self._play(instruction.action.prompts, instruction.action.language)
        finally:
            result = {k: run.attrs[k] for k in ("satisfaction", "follow_up") if k in run.attrs}
            if result:
                self.record = self.record.but(attrs={**self.record.attrs, **result})
                self.event("survey", **result)

    async def _offer(self, agent_id: str, relax_step: int, policy: Any,
                     claim: "Callable[[], asyncio.Task[bool]] | None" = None) -> bool:
        """Ring the agent; True when the call ended after being answered, False to wait again.
        ``claim`` starts the Redis claim of a fast offer, which runs while the agent's phone
        rings; if it fails, the ring is withdrawn and the call waits in line."""
        self.agent_id = agent_id
        self._policy = policy
        self.track.answered_at = None
        self.track.dialing.clear()
        offered_at = self.now()
        started: list["asyncio.Task[bool]"] = []

        def ring() -> None:
            # Runs once the Dial line is handed to the socket; the task does nothing until
            # Asterisk has sent the INVITE, so the record, the claim and the agent's
            # "ringing" state never take a core from Asterisk while it builds the agent's leg.
            started.append(self.deps.tasks.spawn(self._ringing(agent_id, relax_step, policy, offered_at, claim),
                                               f"ring-{agent_id}"))

        try:
            status = await self._dial(agent_id, policy, ring)
        finally:
            if not started:  # the Dial never left: same bookkeeping (a fast offer is confirmed), then unwind
                ring()
        ringing = started[0]
        if not await ringing:
            self.event("withdrawn", agent=agent_id, status=status, reason="not_free")
            self.step(calls.Withdrawn(self.now(), "not_free", exclude=False))
            self.agent_id = ""
            if self.ch.hung_up:
                raise ChannelGone("caller hung up while a withdrawn offer rang")
            await self.ch.run("SET MUSIC", "on", "default")
            return False  # the claim left the call waiting in line: the router offers it again
        if self.track.answered_at is not None:
            if self.call.state is CallState.OFFERED:  # DialEnd's hook did not take the step
                self.step(calls.Answered(self.track.answered_at))
            if self.deps.three_party is not None and self.deps.three_party.holds(self.call_id):
                raise HandedOver(self.call_id)  # the legs moved to a three-party room: it ends the call
            # the talk ends here; the call ends when the caller leaves (after the survey, if any)
            self.record = self.record.but(attrs={**self.record.attrs, "talk_ended_at": self.now()})
            await self.deps.agents.call_ended(agent_id, policy, self.track.answered_at)
            return True
        if status == "CANCEL" or self.ch.hung_up:
            await self.deps.agents.released(agent_id)
            self.agent_id = ""
            raise ChannelGone("caller hung up while the agent was ringing")
        missed = await self.deps.agents.missed(agent_id, policy)
        self.event("rona" if missed else "withdrawn", agent=agent_id, status=status)
        self.step(calls.Missed(self.now(), status) if missed else calls.Withdrawn(self.now(), "paused", exclude=True))
        self.agent_id = ""
        await self.deps.live.requeue(self.call_id, excluded_agent=agent_id)
        await self.ch.run("SET MUSIC", "on", "default")
        return False

    async def _ringing(self, agent_id: str, relax_step: int, policy: Any, offered_at: float,
                       claim: "Callable[[], asyncio.Task[bool]] | None") -> bool:
        """Once the agent's DialBegin came (Asterisk publishes it after handing the INVITE
        to PJSIP; at most DIAL_BEGIN_WAIT): record the offer, confirm a fast offer's claim
        (withdrawing the ring if the agent was not free after all), then mark the agent
        ringing. False when the offer was withdrawn."""
        try:
            await asyncio.wait_for(self.track.dialing.wait(), DIAL_BEGIN_WAIT)
        except asyncio.TimeoutError:
            pass  # no DialBegin (the agent's channel could not be made, or AMI is slow): go on
        self._note_relaxation(relax_step, policy)
        self._feed_queued()
        self.events.append(CallEvent(self.call_id, offered_at, "offered", {
            "agent": agent_id, "relax_step": relax_step,
            "waited": round(offered_at - (self.record.queued_at or 0), 3)}))
        self.step(calls.Offered(offered_at, agent_id, relax_step))
        if self.track.dialing.is_set():
            self.step(calls.DialBegan(self.now()))
        task = claim() if claim else None
        try:
            confirmed = task is None or await task
        except Exception:
            self.deps.rings.withdraw(agent_id)  # Redis failed under the claim: the session fails over
            raise
        if not confirmed:
            log.info("call %s: agent %s was not free after all; ring withdrawn", self.call_id, agent_id)
            self.deps.rings.withdraw(agent_id)
            return False
        await self.deps.agents.ringing(agent_id, self.call_id)
        return True

    def _note_relaxation(self, relax_step: int, policy: Any) -> None:
        """Record each skill relaxation that was in force by this offer, at the time the
        queue's policy put it in force (queued_at + step.after), once per step."""
        if not self.record.skills and not policy.line_skills:
            return
        done = {e.data.get("step") for e in self.events if e.kind == "relaxed"}
        queued = self.record.queued_at or self.record.arrived_at
        for index in range(1, relax_step + 1):
            if index in done or index >= len(policy.relaxation):
                continue
            step = policy.relaxation[index]
            self.events.append(CallEvent(self.call_id, queued + step.after, "relaxed",
                                         {"step": index, "min_level": step.min_level,
                                          "keep_line_skills": step.keep_line_skills}))

    async def _dial(self, agent_id: str, policy: Any, after_write: Callable[[], None]) -> str:
        # One AGI round trip between the assignment and the agent's INVITE: Dial's own
        # music (m) plays while the agent rings (replacing the waiting music, if any), and
        # the recording starts when the agent answers (U, see recordings/__init__.py).
        try:
            # g: when the agent hangs up first, the caller stays with us (survey, record).
            await self.ch.run("EXEC", "Dial", f"PJSIP/{agent_id},{int(policy.ring_timeout)},mg{self._record_option}",
                              after_write=after_write)
        except ChannelGone:
            return "CANCEL" if self.track.answered_at is None else "ANSWER"
        status = (await self.ch.run("GET VARIABLE", "DIALSTATUS", allow_dead=True)).data
        if status == "ANSWER" and self.track.answered_at is None:
            answered = await self.ch.run("GET VARIABLE", "ANSWEREDTIME_MS", allow_dead=True)
            ms = float(answered.data) if answered.data.replace(".", "", 1).isdigit() else 0.0
            self.track.answered_at = self.now() - ms / 1000.0
        return status

    # -- end ----------------------------------------------------------------------------
    def _feed_queued(self) -> None:
        """The machine's Queued step, once: before the enqueue, or for a fast offer once its
        Dial is out (nothing but the decision stands between queueing and the Dial line)."""
        if self.call.state is CallState.IN_IVR and self._queued is not None:
            at, action = self._queued
            self.step(calls.Queued(at, action.queue, action.language, action.skills, action.priority))

    def _left_at(self) -> float:
        """When the caller hung up: the HangupRequest's moment (AMI), not when the session
        noticed (a waiting session notices at its next check, up to 2 s later)."""
        return self.track.hung_up_at if self.track.hung_up_at is not None else self.now()

    def _caller_left(self) -> None:
        self._feed_queued()
        if self.track.answered_at is not None and self.call.state is CallState.OFFERED:
            self.step(calls.Answered(self.track.answered_at))  # answered as the caller hung up
        left = self._left_at()
        self.step(calls.CallerLeft(left))
        self.record = self.record.but(ended_at=self.record.ended_at or left)

    def _finish(self, completed: bool) -> None:
        """Take the call to its end in the machine (if the session's flow did not) and put
        the machine's outcome in the record."""
        now = self.now()
        self._feed_queued()
        if self.track.answered_at is not None and self.call.state is CallState.OFFERED:
            self.step(calls.Answered(self.track.answered_at))
        left = self.track.hung_up_at if self.track.hung_up_at is not None else now
        if self.call.state in (CallState.TALKING, CallState.SURVEY):
            self.step(calls.Ended(self.record.ended_at or left))
        elif completed and self.call.state is CallState.IN_IVR:
            self.step(calls.IvrEnded(left))
        elif completed and self.call.state in (CallState.QUEUED, CallState.OFFERED):
            self.step(calls.CallerLeft(left))
        self.record = self.record.but(outcome=self.call.outcome.value)

    async def _hand_over(self) -> None:
        """A three-party operation took the citizen and the call taker out of this session's
        Dial (hotline/three_party): the room writes the record when the legs end, from this
        one. Returning at once closes the FastAGI socket, which lets Asterisk run the redirect."""
        self.record = self.record.but(answered_at=self.track.answered_at, agent_id=self.agent_id,
                                      recording=self._recording, outcome=calls.Outcome.ANSWERED.value)
        self.event_at(self.track.answered_at, "answered", agent=self.agent_id)
        self.event("three_party_started")
        self.deps.registry.unregister(self.call_id)
        await self.deps.three_party.take_over(self.call_id, self.record, self.events)

    async def _wind_up(self, completed: bool) -> None:
        now = self.now()
        self._finish(completed)
        if self.track.answered_at is not None:
            self.record = self.record.but(answered_at=self.track.answered_at,
                                          agent_id=self.agent_id or self.record.agent_id,
                                          recording=self._recording)
            self.event_at(self.track.answered_at, "answered", agent=self.record.agent_id)
        left = self.track.hung_up_at if self.track.hung_up_at is not None else now
        self.record = self.record.but(ended_at=self.record.ended_at or left)
        self.event("ended", outcome=self.record.outcome)
        log.info("call ended: %s, queue %s, wait %s s, talk %s s, agent %s", self.record.outcome,
                 self.record.queue or "-", _secs(self.record.wait_seconds), _secs(self.record.talk_seconds),
                 self.record.agent_id or "-")
        self.deps.registry.unregister(self.call_id)
        try:
            if not self.keep_in_queue:
                await self.deps.live.remove_call(self.call_id)
            if self.agent_id and self.track.answered_at is None:
                await self.deps.agents.released(self.agent_id)
        except Exception:
            log.exception("call %s: live state clean-up failed", self.call_id)
        if completed:
            await self._mark_done()
            await self.deps.records.write(self.record, self.events)
        await self._forget_state(completed)

    async def _forget_state(self, completed: bool) -> None:
        """The record is written (or the fallback queue has the call, and queue_log stores
        it): the saved state goes, after any write still under way. A callback request keeps
        it: the call is still in line."""
        if self._saving is not None:
            await asyncio.wait({self._saving}, timeout=2.0)
        if self.keep_in_queue:
            return
        try:
            await self.deps.live.forget_call(self.call_id)
        except Exception as exc:
            log.warning("call %s: saved state not dropped (%s); the sweep will", self.call_id, exc)

    async def _mark_done(self) -> None:
        try:
            await self.ch.run("SET VARIABLE", "HOTLINE_DONE", "1", allow_dead=True)
        except ChannelGone:
            pass
