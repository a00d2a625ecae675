"""The vocabulary between the IVR engine and the shell that drives it.

Three families of frozen values cross the boundary, h11-style:

* events the shell *feeds* to the engine (what happened on the channel):
  `DigitsEntered`, `TimedOut`, `HungUp`, `Played`;
* instructions the engine *returns* (what the shell must do next):
  `Play`, `Collect`, `Finished`;
* the end actions carried by `Finished`: `Queue`, `PlayAndHangup`,
  `TransferToAgency`, `Survey`, `CallerHungUp`.

Nothing here performs I/O; every value is hashable and comparable so tests
can assert on whole instructions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypeAlias

# --------------------------------------------------------------------------
# Events: fed by the shell.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigitsEntered:
    """The caller typed `digits` during a `Collect` (raw, unsanitised).

    The engine copes with anything here (garbage, letters, huge strings);
    only the type is checked, because a non-string is a shell bug.
    """

    digits: str

    def __post_init__(self) -> None:
        if not isinstance(self.digits, str):
            raise TypeError(f"DigitsEntered.digits must be str, got {type(self.digits).__name__}")


@dataclass(frozen=True, slots=True)
class TimedOut:
    """A `Collect` ended without any digit."""


@dataclass(frozen=True, slots=True)
class HungUp:
    """The caller hung up; valid at any point of the run."""


@dataclass(frozen=True, slots=True)
class Played:
    """A `Play` instruction finished playing."""


Event: TypeAlias = DigitsEntered | TimedOut | HungUp | Played

# --------------------------------------------------------------------------
# End actions: carried by `Finished`.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Queue:
    """Hand the call to a person: an ACD queue plus what the agent must have.

    `priority`: larger is served first (Asterisk's QUEUE_PRIO convention).
    `survey`: name of the flow to run after the agent leg ends, or None.
    """

    queue: str
    skills: frozenset[str]
    language: str
    priority: int = 0
    survey: str | None = None


@dataclass(frozen=True, slots=True)
class PlayAndHangup:
    """Play `prompts` in `language`, then hang up."""

    prompts: tuple[str, ...]
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class TransferToAgency:
    """Transfer to an agency by its directory id; the engine never dials numbers."""

    agency: str
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class Survey:
    """Run the survey flow named `flow` now (the shell starts a new `IvrRun`)."""

    flow: str
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller left before the flow reached an action."""


Action: TypeAlias = Queue | PlayAndHangup | TransferToAgency | Survey | CallerHungUp

# --------------------------------------------------------------------------
# Instructions: returned by the engine.
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Play `prompts` (logical names) in order, without collecting digits.

    The shell answers with `Played()` (or `HungUp()`).
    """

    prompts: tuple[str, ...]
    language: str


@dataclass(frozen=True, slots=True)
class Collect:
    """Play `prompts` while collecting DTMF (barge-in), then wait for input.

    `timeout` is in SECONDS (float) and counts from the end of the prompts,
    as in Asterisk's Read(); AGI `GET DATA` wants milliseconds.
    `terminator` ends the entry early and is not part of it; None means the
    entry ends at `max_digits` or on timeout only.
    The shell answers with `DigitsEntered(...)`, `TimedOut()` or `HungUp()`.
    """

    prompts: tuple[str, ...]
    language: str
    max_digits: int
    timeout: float
    terminator: str | None = None
    interruptible: bool = True


@dataclass(frozen=True, slots=True)
class Finished:
    """The run is over; `action` says what the shell does with the call."""

    action: Action


Instruction: TypeAlias = Play | Collect | Finished

# --------------------------------------------------------------------------
# The recorded path of a run.
# --------------------------------------------------------------------------


class StepKind(StrEnum):
    """What one `PathStep` records; the values are stable (stored in reports)."""

    START = "start"
    NODE = "node"
    SKIPPED = "skipped"
    DIGITS = "digits"
    INVALID = "invalid"
    TIMEOUT = "timeout"
    LANGUAGE = "language"
    ATTR = "attr"
    FLOW = "flow"
    PROMPT_MISSING = "prompt_missing"
    IGNORED = "ignored"
    FALLBACK = "fallback"
    STEP_CAP = "step_cap"
    HANGUP = "hangup"
    END = "end"


@dataclass(frozen=True, slots=True)
class PathStep:
    """One entry of the audit trail of a run (for reports and quality checks).

    `value` depends on `kind`: the digits for DIGITS/INVALID, the language
    code for LANGUAGE, "key=value" for ATTR, the unmet condition for SKIPPED, the reason for FALLBACK, the
    action type for END.
    """

    index: int
    kind: StepKind
    flow: str
    node: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (kind as its string value)."""
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def action_to_dict(action: Action) -> dict[str, Any]:
    """A JSON-serialisable description of an end action (for call records)."""
    data = asdict(action)
    if "skills" in data:
        data["skills"] = sorted(data["skills"])
    if "prompts" in data:
        data["prompts"] = list(data["prompts"])
    data["type"] = type(action).__name__
    return data
