"""AMI client: panoramisk's Manager with back-off, typed events and owned handlers.

panoramisk 1.4 reconnects at a fixed interval and fires event handlers as tasks nobody
keeps. Here reconnect delays grow (0.5 s doubling to 10 s, reset on success), every event
is turned into a typed value (hotline.asterisk.ami_events) and handed to one synchronous callback,
and each (re)login triggers ``on_login`` (the controller resyncs channel state there).
Actions carry a timeout, so a request sent while Asterisk is away fails instead of hanging.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from panoramisk import Manager

from hotline.asterisk.ami_events import (
    EVENT_CATEGORIES,
    AmiEvent,
    ChannelListed,
    DeviceStateChanged,
    parse_event,
)
from hotline.settings import Settings
from hotline.tasks import TaskOwner

log = logging.getLogger(__name__)


class AmiError(RuntimeError):
    """An AMI action failed or timed out."""


class Backoff:
    """Reconnect delays: 0.5, 1, 2, 4, 8, 10, 10 ... seconds; reset after a success."""

    def __init__(self, first: float = 0.5, cap: float = 10.0) -> None:
        self.first, self.cap, self._next = first, cap, first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class _BackoffManager(Manager):
    """panoramisk Manager whose reconnect interval follows a Backoff."""

    def __init__(self, backoff: Backoff, **config: Any) -> None:
        super().__init__(**config)
        self.backoff = backoff

    def connection_made(self, f: "asyncio.Future[Any]") -> None:
        if not f.cancelled() and f.exception() is None:
            self.backoff.reset()
        self.reconnect_timeout = self.backoff.next_delay()
        super().connection_made(f)

    def connection_lost(self, exc: Any) -> None:
        self.authenticated = False
        self.reconnect_timeout = self.backoff.next_delay()
        self._fail_unanswered()
        super().connection_lost(exc)

    def _fail_unanswered(self) -> None:
        """Fail at once every action the lost connection left unanswered.

        panoramisk keeps them to send again after a ``FullyBooted`` event: our account's
        event filter never lets that event through, so each caller waited out its whole
        timeout (the routing step's CoreShowChannels held every offer for 10 s after an
        Asterisk restart), and a resent Originate or Hangup would act on a call of before
        the restart. The caller gets an AmiError now and decides again on fresh state."""
        while self.awaiting_actions:
            action = self.awaiting_actions.popleft()
            if not action.future.done():
                action.future.set_exception(
                    AmiError(f"AMI connection lost before {action['action']} was answered"))


async def _nothing() -> None:
    return None


class AmiClient:
    """The controller's AMI session: actions out, typed events in (to ``on_event``), and
    ``on_login`` after every (re)login so the controller can resync."""

    def __init__(self, settings: Settings, tasks: TaskOwner) -> None:
        self._settings = settings
        self._tasks = tasks
        self._on_event: Callable[[AmiEvent], None] = lambda event: None
        self._on_login: Callable[[], Awaitable[None]] = _nothing
        self.logins = 0
        self.manager: _BackoffManager | None = None

    async def start(self, on_event: Callable[[AmiEvent], None], on_login: Callable[[], Awaitable[None]]) -> None:
        """Connect (in the background: Asterisk may not be up yet) and log in; from then on
        every event we use goes to ``on_event``."""
        self._on_event, self._on_login = on_event, on_login
        s = self._settings
        self.manager = _BackoffManager(
            Backoff(), loop=asyncio.get_running_loop(), host="127.0.0.1", port=s.ami_port,
            username=s.ami_user, secret=s.ami_secret, events=EVENT_CATEGORIES, ping_delay=5, ping_interval=5,
            on_login=self._logged_in, on_disconnect=self._disconnected,
        )
        self.manager.register_event("*", self._dispatch)
        self.manager.connect()

    @property
    def connected(self) -> bool:
        return bool(self.manager and self.manager.authenticated)

    def _logged_in(self, _manager: Any) -> None:
        """Logged in: resync. The session receives only the events we use: manager.conf
        filters them for our account (eventfilter lines rendered from EVENT_NAMES), so no
        Filter action is needed, and the account has no right to send one."""
        self.logins += 1
        log.info("AMI logged in (login #%d)", self.logins)
        self._tasks.spawn(self._on_login(), "ami-on-login")

    def _disconnected(self, _manager: Any, exc: Any) -> None:
        log.warning("AMI connection lost (%s); reconnecting with back-off", exc)

    def _dispatch(self, _manager: Any, message: Any) -> None:
        event = parse_event(message)
        if event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("AMI event handler failed for %r", event)

    async def action(self, fields: dict[str, str], timeout: float = 5.0, as_list: bool | None = None) -> Any:
        """Send one action and return panoramisk's reply (Message, or list for as_list)."""
        if not self.connected or self.manager is None:
            raise AmiError(f"AMI not connected: cannot send {fields.get('Action')}")
        future = self.manager.send_action(dict(fields), as_list=as_list)
        try:
            reply = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError as exc:
            raise AmiError(f"AMI {fields.get('Action')} timed out after {timeout} s") from exc
        first = reply[0] if isinstance(reply, list) and reply else reply
        if getattr(first, "response", "").lower() == "error":
            raise AmiError(f"AMI {fields.get('Action')} failed: {first.get('Message')}")
        return reply

    async def channel_ids(self) -> set[str]:
        """The Uniqueids of the channels Asterisk has now (a caller's is the call id)."""
        return {c.uniqueid for c in await self.channels()}

    async def channel_names(self) -> set[str]:
        """The names of the channels Asterisk has now (e.g. PJSIP/2001-0000001a)."""
        return {c.channel for c in await self.channels()}

    async def waiting_in_fallback(self) -> dict[str, str]:
        """Callers in the fallback queue not yet bridged to anyone: uniqueid -> channel name."""
        return {c.uniqueid: c.channel for c in await self.channels()
                if c.application == "Queue" and not c.bridged}

    async def redirect(self, channel: str, context: str, exten: str = "s", priority: int = 1) -> None:
        """Send one channel to another place in the dialplan (AMI Redirect)."""
        reply = await self.action({"Action": "Redirect", "Channel": channel, "Context": context,
                                   "Exten": exten, "Priority": str(priority)})
        if str(getattr(reply, "get", lambda *_: "")("Response", "")).lower() == "error":
            raise RuntimeError(f"Redirect of {channel} refused: {reply.get('Message', '')}")

    async def setvar(self, channel: str, name: str, value: str) -> None:
        """Set a variable on one channel (AMI Setvar)."""
        await self.action({"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value})

    async def hangup(self, channel: str) -> None:
        """End one channel (cause 16, normal clearing): a ring withdrawn."""
        await self.action({"Action": "Hangup", "Channel": channel, "Cause": "16"})

    async def channels(self) -> list[ChannelListed]:
        """The channels Asterisk has now (CoreShowChannels), for resync after a reconnect."""
        reply = await self.action({"Action": "CoreShowChannels"}, timeout=10, as_list=True)
        listed = [parse_event(m) for m in reply]
        return [e for e in listed if isinstance(e, ChannelListed)]

    async def device_states(self) -> dict[str, str]:
        """Every device's state now (DeviceStateList), e.g. {"PJSIP/2001": "UNAVAILABLE"}."""
        reply = await self.action({"Action": "DeviceStateList"}, timeout=10, as_list=True)
        listed = [parse_event(m) for m in reply]
        return {e.device: e.state for e in listed if isinstance(e, DeviceStateChanged)}

    async def originate(self, channel: str, context: str, exten: str, variables: dict[str, str],
                        caller_id: str = "", timeout_ms: int = 30000, channel_id: str = "") -> None:
        """Originate asynchronously (``Async: true``): the reply is only "queued"; the
        outcome arrives as events. Synchronous Originate replies have crashed panoramisk."""
        fields = {"Action": "Originate", "Channel": channel, "Context": context, "Exten": exten,
                  "Priority": "1", "Async": "true", "Timeout": str(timeout_ms),
                  "Variable": ",".join(f"{k}={v}" for k, v in variables.items())}
        if caller_id:
            fields["CallerID"] = caller_id
        if channel_id:
            fields["ChannelId"] = channel_id  # the new channel's Uniqueid: events can be matched
        # as_list=False: the reply is the first "successfully queued" Response. Otherwise
        # panoramisk takes an async Originate for a multi-message action and swallows the
        # OriginateResponse event into the action's reply (or times the action out when the
        # far end rings longer than the timeout), so the event never reached our handlers.
        await self.action(fields, as_list=False)

    async def close(self) -> None:
        if self.manager is not None:
            self.manager.connection_lost = lambda exc: None  # type: ignore[method-assign]
            self.manager.close()
