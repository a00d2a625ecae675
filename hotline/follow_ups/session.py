"""The follow-up call's FastAGI session: the citizen answered; ask them, record the answer.

Asterisk runs it on the citizen's answered leg (dialplan ``hotline-followup``). It plays
the follow-up flow (``ivr/flows/follow_up.yaml``) in the language of the citizen's original
call and reports the try to the dialler (``FollowUpDialler.finish``), which records it on
the case: a rating finishes the follow-up (satisfied closes the case, unhappy reopens it
and flags it for supervision); an answer without a rating is tried again later. The call
is recorded (the whole conversation, from the answer). A citizen who presses 0 is put
through to a call taker: the session names the hotline number (``follow_up.agent_number``)
in ``HOTLINE_FOLLOWUP_TO`` and the dialplan sends the call into the hotline's entry as a
new call from the citizen's own number.
"""
from __future__ import annotations

import logging
from typing import Callable

import ivr
from hotline.asterisk.agi_server import AgiChannel, ChannelGone
from hotline.config import ConfigHolder
from hotline.follow_ups.dialler import Attempt, FollowUpDialler
from hotline.ports import Media
from hotline.sessions import ivr_io

log = logging.getLogger(__name__)
FLOW = "follow_up"
RATINGS = {"satisfied": True, "basically_satisfied": True, "unsatisfied": False}
YES_NO = {"yes": True, "no": False}


def answers(attrs: dict[str, str]) -> tuple[bool | None, bool | None, bool]:
    """(satisfied, solved, wants a call taker) from the flow's attributes."""
    return RATINGS.get(attrs.get("satisfaction", "")), YES_NO.get(attrs.get("solved", "")), \
        attrs.get("to_agent") == "yes"


class FollowUpSession:
    """Runs the sessions of the follow-up calls this controller placed."""

    def __init__(self, dialler: FollowUpDialler, config: ConfigHolder, media: Media,
                 clock: Callable[[], float]) -> None:
        self._dialler = dialler
        self._config = config
        self._media = media
        self._clock = clock

    async def run(self, ch: AgiChannel) -> None:
        case_number = ch.arg(1)
        attempt = self._dialler.active.get(ch.uniqueid)
        if attempt is None or attempt.case_number != case_number:
            # not placed by this controller's dialler (restarted since): the case is still known
            log.warning("follow-up session %s for case %r not placed here; asking anyway", ch.uniqueid, case_number)
            attempt = Attempt(case_number, ch.uniqueid, ch.headers.get("agi_callerid", ""), "zh", self._clock(), 0)
        attempt.answered_at = self._clock()
        flow = self._config.current.flows.get(FLOW)
        attrs: dict[str, str] = {}
        to_agent_number = self._dialler.rules().follow_up.agent_number
        put_through = False
        try:
            await ch.run("EXEC", "MixMonitor", self._media.recording_path(ch.uniqueid))
            if flow is None:
                log.error("follow-up of case %s: no flow %r in ivr/flows: the citizen is not asked", case_number, FLOW)
            else:
                run = ivr.IvrRun(flow, {"language": attempt.language}, flows=self._config.current.flows)
                await ivr_io.run_flow(ch, self._media, run)
                attrs = {k: str(v) for k, v in run.attrs.items() if k in ("satisfaction", "solved", "to_agent")}
            if answers(attrs)[2] and to_agent_number not in self._config.current.dialled_numbers:
                log.error("follow-up of case %s: follow_up.agent_number %s is no hotline number (ivr/flows dnis): "
                          "the citizen is not put through", case_number, to_agent_number)
            elif answers(attrs)[2] and not ch.hung_up:
                await ch.run("SET VARIABLE", "CALLERID(num)", attempt.number, allow_dead=True)
                await ch.run("SET VARIABLE", "HOTLINE_FOLLOWUP_TO", to_agent_number, allow_dead=True)
                put_through = True
        except ChannelGone:
            pass  # the citizen hung up: what they said so far counts
        finally:
            satisfied, solved, _ = answers(attrs)
            await self._dialler.finish(attempt, "answered", self._clock(), satisfied=satisfied, solved=solved,
                                       attrs=attrs, recording=self._media.recording_path(ch.uniqueid),
                                       to_agent=put_through)
