"""Fixture flows and a small driver shared by the tests/unit/test_ivr_*.py files."""

from __future__ import annotations

from pathlib import Path

from ivr import DigitsEntered, HungUp, Instruction, IvrRun, Played, TimedOut

FIXTURES = Path(__file__).parent

T = TimedOut()
P = Played()
H = HungUp()


def event(step: object) -> DigitsEntered | TimedOut | Played | HungUp:
    """A script step: a string means digits typed; T, P, H are the other events."""
    return DigitsEntered(step) if isinstance(step, str) else step  # type: ignore[return-value]


def drive(run: IvrRun, *script: object) -> Instruction:
    """Start `run`, feed the script, return the last instruction."""
    instruction = run.start()
    for step in script:
        instruction = run.feed(event(step))
    return instruction
