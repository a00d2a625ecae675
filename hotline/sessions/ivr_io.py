"""An IVR run's instructions, played on an AGI channel.

Why a module of its own: the citizen's call (``sessions.call``) and the follow-up call the
hotline places (``hotline.follow_ups.session``) both run IVR flows (``ivr.IvrRun``): the
same prompts with barge-in, the same digit collection, the same hang-up handling.
"""
from __future__ import annotations

from typing import Any

import ivr
from hotline.asterisk.agi_server import AgiChannel, ChannelGone
from hotline.ports import Media

DIGITS = "0123456789*#"


async def play(ch: AgiChannel, media: Media, prompts: tuple[str, ...], language: str) -> None:
    """Play ``prompts`` in ``language``, without barge-in."""
    for name in prompts:
        await ch.run("STREAM FILE", media.prompt_path(name, language), "")


async def collect(ch: AgiChannel, media: Media, c: Any) -> Any:
    """Play the prompts of a ``Collect`` with barge-in, then wait for the rest of the digits."""
    digits = ""
    for name in c.prompts[:-1]:
        result = await ch.run("STREAM FILE", media.prompt_path(name, c.language), DIGITS)
        if result.digit:
            digits = result.digit
            break
    if not digits and c.prompts:
        result = await ch.run("STREAM FILE", media.prompt_path(c.prompts[-1], c.language), DIGITS)
        digits = result.digit
    while len(digits) < c.max_digits and (not c.terminator or not digits.endswith(c.terminator)):
        result = await ch.run("WAIT FOR DIGIT", int(c.timeout * 1000))
        if not result.digit:
            break
        digits += result.digit
    if c.terminator and digits.endswith(c.terminator):
        digits = digits[: -len(c.terminator)]
    return ivr.DigitsEntered(digits) if digits else ivr.TimedOut()


async def execute(ch: AgiChannel, media: Media, instruction: Any) -> Any:
    """One instruction of a run; the caller's hang-up becomes ``ivr.HungUp``."""
    try:
        if isinstance(instruction, ivr.Play):
            await play(ch, media, instruction.prompts, instruction.language)
            return ivr.Played()
        return await collect(ch, media, instruction)
    except ChannelGone:
        return ivr.HungUp()


async def run_flow(ch: AgiChannel, media: Media, run: Any) -> Any:
    """Run ``run`` (an ``ivr.IvrRun``) to its end and play its closing prompts, if any;
    returns the ``ivr.Finished``. A hang-up ends it early (the run sees ``HungUp``)."""
    instruction = run.start()
    while not isinstance(instruction, ivr.Finished):
        instruction = run.feed(await execute(ch, media, instruction))
    if isinstance(instruction.action, ivr.PlayAndHangup):
        try:
            await play(ch, media, instruction.action.prompts, instruction.action.language)
        except ChannelGone:
            pass
    return instruction
