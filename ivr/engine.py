"""The IVR engine: one call's walk through a flow, as a pure state machine.

Rules of this module (everything that decides what a caller hears lives here):

* No I/O, no clock, no randomness: the shell feeds events, the engine
  returns instructions. The same run replays identically in tests.
* The run is always in one of four states. Which event is expected in which
  state is the table `_TRANSITIONS`; the few harmless mismatches a real
  channel produces are the table `_TOLERATED` (recorded, never fatal).
* Every path ends: a menu without a branch, retries used up, a broken
  reference or more than `max_steps` instructions all end at a person
  (`Queue` on the flow's fallback queue). `HungUp` ends the run from any
  state. After the end, every event returns the same `Finished`.
* Caller input is never trusted (see ivr.digits): garbage is an invalid
  entry, not an exception.
* Misuse by the shell (feeding before `start()`, starting twice) raises
  `IvrUsageError`: that is a bug to fix, not a caller to route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from ivr._fields import PLACEHOLDER
from ivr.digits import for_record, menu_entry
from ivr.events import (
    Action,
    CallerHungUp,
    Collect,
    DigitsEntered,
    Event,
    Finished,
    HungUp,
    Instruction,
    PathStep,
    Play,
    Played,
    PlayAndHangup,
    Queue,
    StepKind,
    Survey,
    TimedOut,
    TransferToAgency,
    action_to_dict,
)
from ivr.schema import (
    BranchNode,
    Flow,
    GotoNode,
    HangupNode,
    MenuNode,
    PlayNode,
    QueueNode,
    SetNode,
    SurveyNode,
    TransferNode,
)

MAX_PRIORITY = 100
"""Priorities from attributes are clamped to 0..MAX_PRIORITY."""


class IvrUsageError(RuntimeError):
    """The shell drove the run illegally (a bug in the caller of this API)."""


class _State(Enum):
    IDLE = "idle"  # created, start() not called yet
    PLAYING = "playing"  # a Play is out; waiting for Played
    COLLECTING = "collecting"  # a Collect is out; waiting for digits/timeout
    FINISHED = "finished"  # Finished returned; the run is over


class IvrRun:
    """One caller's run through a flow.

    `attrs` are preset by the shell (dnis, caller, repeat_calls, notice, and
    possibly language); the flow adds language, skills, line, priority...
    `flows` is needed only when the flow hands over to other flows (`goto`).
    """

    def __init__(
        self,
        flow: Flow,
        attrs: Mapping[str, str] | None = None,
        *,
        flows: Mapping[str, Flow] | None = None,
    ) -> None:
        self._flows = {**(flows or {}), flow.name: flow}
        _require_flows(flow, self._flows)
        self._flow = flow
        self._attrs = _checked_attrs(attrs or {})
        self._attrs.setdefault("language", flow.language)
        if flow.line:
            self._attrs.setdefault("line", flow.line)
        self._max_steps = flow.max_steps
        self._steps = 0
        self._state = _State.IDLE
        self._path: list[PathStep] = []
        self._menu: MenuNode | None = None
        self._after_play = ""
        self._invalid_entries = 0
        self._finished: Finished | None = None

    # ----------------------------------------------------------------- API

    @property
    def attrs(self) -> dict[str, str]:
        """A copy of the call attributes set so far."""
        return dict(self._attrs)

    @property
    def path(self) -> tuple[PathStep, ...]:
        """Everything that happened, in order (see `PathStep.to_dict`)."""
        return tuple(self._path)

    @property
    def flow(self) -> Flow:
        """The flow the run is in now (changes on `goto`)."""
        return self._flow

    @property
    def action(self) -> Action | None:
        """The end action once finished, else None."""
        return self._finished.action if self._finished else None

    @property
    def finished(self) -> bool:
        """True once an end action was returned; later events change nothing."""
        return self._finished is not None

    def start(self) -> Instruction:
        """Begin the run at the flow's start node; returns the first instruction."""
        if self._state is not _State.IDLE:
            raise IvrUsageError("start() called twice")
        self._record(StepKind.START, value=self._attrs.get("dnis"))
        return self._enter(self._flow.start)

    def feed(self, event: Event) -> Instruction:
        """Tell the run what happened; returns what to do next.

        Never raises for caller behaviour; raises IvrUsageError before
        start() and TypeError for something that is not an Event.
        """
        if not isinstance(event, DigitsEntered | TimedOut | HungUp | Played):
            raise TypeError(f"not an IVR event: {event!r}")
        if self._state is _State.IDLE:
            raise IvrUsageError("feed() before start()")
        if self._finished is not None:
            return self._finished
        if isinstance(event, HungUp):
            return self._hang_up()
        event = self._tolerate(event)
        return _TRANSITIONS[(self._state, type(event))](self, event)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record of the run (for the call record and QA)."""
        return {
            "flow": self._flow.name,
            "attrs": dict(self._attrs),
            "path": [step.to_dict() for step in self._path],
            "action": action_to_dict(self._finished.action) if self._finished else None,
        }

    # --------------------------------------------------------- transitions

    def _tolerate(self, event: Event) -> Event:
        """Map the harmless mismatches of `_TOLERATED`; record that we did."""
        replacement = _TOLERATED.get((self._state, type(event)))
        if replacement is None:
            return event
        self._record(StepKind.IGNORED, node=self._node_id(), value=type(event).__name__)
        return replacement()

    def _on_played(self, event: Played) -> Instruction:
        return self._enter(self._after_play)

    def _on_digits(self, event: DigitsEntered) -> Instruction:
        menu = self._current_menu()
        entry = menu_entry(event.digits, menu.max_digits, menu.terminator)
        if not entry:
            return self._on_timeout(TimedOut())
        target = menu.choices.get(entry)
        if target is not None:
            self._record(StepKind.DIGITS, node=menu.id, value=entry)
            return self._enter(target)
        return self._on_invalid(menu, event.digits)

    def _on_invalid(self, menu: MenuNode, raw: str) -> Instruction:
        self._invalid_entries += 1
        self._record(StepKind.INVALID, node=menu.id, value=for_record(raw))
        if self._invalid_entries > menu.retries:
            return self._leave_menu(menu.on_invalid, "invalid")
        if not self._take_step():
            return self._fall_back("step_cap", StepKind.STEP_CAP)
        return self._collect(menu, menu.reprompt or menu.prompts)

    def _on_timeout(self, event: TimedOut) -> Instruction:
        menu = self._current_menu()
        self._record(StepKind.TIMEOUT, node=menu.id)
        return self._leave_menu(menu.on_timeout, "timeout")

    def _leave_menu(self, target: str | None, reason: str) -> Instruction:
        """Follow a menu's timeout/invalid branch, or go to a person if it has none."""
        if target is None:
            return self._fall_back(reason)
        return self._enter(target)

    def _hang_up(self) -> Instruction:
        self._record(StepKind.HANGUP, node=self._node_id())
        return self._finish(CallerHungUp())

    # --------------------------------------------------------------- nodes

    def _enter(self, node_id: str) -> Instruction:
        """Walk instant nodes (set, branch, goto, skipped plays) to the next instruction."""
        target = node_id
        while True:
            if not self._take_step():
                return self._fall_back("step_cap", StepKind.STEP_CAP)
            node = self._flow.nodes.get(target)
            if node is None:
                return self._fall_back(f"unknown node '{target}'")
            self._record(StepKind.NODE, node=node.id)
            outcome = _ENTER[type(node)](self, node)
            if isinstance(outcome, str):
                target = outcome
                continue
            return outcome

    def _enter_play(self, node: PlayNode) -> Instruction | str:
        if not self._applies(node):
            return node.next
        prompts = self._fill(node.prompts, node.fallback_prompts, node.id)
        if not prompts:
            return node.next
        self._state, self._after_play, self._menu = _State.PLAYING, node.next, None
        return Play(prompts, self._language())

    def _enter_menu(self, node: MenuNode) -> Instruction:
        self._menu, self._invalid_entries = node, 0
        return self._collect(node, node.prompts)

    def _enter_set(self, node: SetNode) -> str:
        if not self._applies(node):
            return node.next
        for key, value in node.attrs.items():
            self._set_attr(key, value, node.id)
        if node.skills:
            skills = sorted(self._skills() | node.skills)
            self._set_attr("skills", ",".join(skills), node.id)
        return node.next

    def _enter_branch(self, node: BranchNode) -> str:
        for condition, target in node.cases:
            if condition.holds(self._attrs):
                return target
        return node.otherwise

    def _enter_goto(self, node: GotoNode) -> str:
        self._record(StepKind.FLOW, node=node.id, value=node.flow)
        self._flow = self._flows[node.flow]
        if self._flow.line:
            self._attrs.setdefault("line", self._flow.line)
        return self._flow.start

    def _enter_queue(self, node: QueueNode) -> Instruction:
        return self._finish(self._queue(node.queue, node.skills, node.priority))

    def _enter_hangup(self, node: HangupNode) -> Instruction:
        prompts = self._fill(node.prompts, (), node.id)
        return self._finish(PlayAndHangup(prompts, self._language()))

    def _enter_transfer(self, node: TransferNode) -> Instruction:
        return self._finish(TransferToAgency(node.agency, self._language()))

    def _enter_survey(self, node: SurveyNode) -> Instruction:
        return self._finish(Survey(node.flow, self._language()))

    # ------------------------------------------------------------- helpers

    def _applies(self, node: PlayNode | SetNode) -> bool:
        """Whether a node's `when:` holds; a skipped node is recorded as such."""
        if node.when is None or node.when.holds(self._attrs):
            return True
        self._record(StepKind.SKIPPED, node=node.id, value=f"not {node.when.describe()}")
        return False

    def _collect(self, menu: MenuNode, prompts: tuple[str, ...]) -> Collect:
        self._state = _State.COLLECTING
        return Collect(
            prompts=self._fill(prompts, (), menu.id),
            language=self._language(),
            max_digits=menu.max_digits,
            timeout=menu.timeout,
            terminator=menu.terminator,
        )

    def _fill(self, names: tuple[str, ...], fallback: tuple[str, ...], node_id: str) -> tuple[str, ...]:
        """Prompt names with `{attr}` filled; a name missing from the catalogue
        is recorded and replaced by `fallback` (itself never filled)."""
        prompts: list[str] = []
        for name in names:
            filled = PLACEHOLDER.sub(lambda m: self._attrs.get(m[1], ""), name)
            if filled in self._flow.prompts:
                prompts.append(filled)
                continue
            self._record(StepKind.PROMPT_MISSING, node=node_id, value=for_record(filled))
            prompts.extend(p for p in fallback if p in self._flow.prompts)
        return tuple(prompts)

    def _set_attr(self, key: str, value: str, node_id: str) -> None:
        if key == "language" and value != self._attrs.get("language"):
            self._record(StepKind.LANGUAGE, node=node_id, value=value)
        else:
            self._record(StepKind.ATTR, node=node_id, value=f"{key}={value}")
        self._attrs[key] = value

    def _fall_back(self, reason: str, kind: StepKind = StepKind.FALLBACK) -> Instruction:
        """End at a person: the current flow's fallback queue."""
        self._record(kind, node=self._node_id(), value=reason)
        return self._finish(self._queue(self._flow.fallback_queue))

    def _queue(self, queue: str, skills: frozenset[str] = frozenset(), priority: int | None = None) -> Queue:
        if priority is None:
            priority = _clamped_priority(self._attrs.get("priority", ""))
        return Queue(queue, self._skills() | skills, self._language(), priority, self._flow.survey)

    def _finish(self, action: Action) -> Finished:
        self._record(StepKind.END, node=self._node_id(), value=type(action).__name__)
        self._state, self._finished = _State.FINISHED, Finished(action)
        return self._finished

    def _take_step(self) -> bool:
        """Count one instruction-worth of work; False once the cap is reached."""
        self._steps += 1
        return self._steps <= self._max_steps

    def _current_menu(self) -> MenuNode:
        assert self._menu is not None, "COLLECTING always has a menu"
        return self._menu

    def _skills(self) -> frozenset[str]:
        raw = self._attrs.get("skills", "")
        return frozenset(s.strip() for s in raw.split(",") if s.strip())

    def _language(self) -> str:
        return self._attrs["language"]

    def _node_id(self) -> str | None:
        last_node = next((s for s in reversed(self._path) if s.kind is StepKind.NODE), None)
        return last_node.node if last_node else None

    def _record(self, kind: StepKind, *, node: str | None = None, value: str | None = None) -> None:
        self._path.append(PathStep(len(self._path), kind, self._flow.name, node, value))


# ------------------------------------------------------------------ tables

_TRANSITIONS: Mapping[tuple[_State, type], Callable[[IvrRun, Any], Instruction]] = {
    (_State.PLAYING, Played): IvrRun._on_played,
    (_State.COLLECTING, DigitsEntered): IvrRun._on_digits,
    (_State.COLLECTING, TimedOut): IvrRun._on_timeout,
}
"""(state, event type) -> handler. HungUp is handled before, in every state."""

_TOLERATED: Mapping[tuple[_State, type], type] = {
    (_State.PLAYING, DigitsEntered): Played,  # keys pressed during a Play: the play ended
    (_State.PLAYING, TimedOut): Played,
    (_State.COLLECTING, Played): TimedOut,  # prompts ended with no entry
}
"""Events that arrive in the wrong state on real channels, and what they mean there."""

_ENTER: Mapping[type, Callable[[IvrRun, Any], Instruction | str]] = {
    PlayNode: IvrRun._enter_play,
    MenuNode: IvrRun._enter_menu,
    SetNode: IvrRun._enter_set,
    BranchNode: IvrRun._enter_branch,
    GotoNode: IvrRun._enter_goto,
    QueueNode: IvrRun._enter_queue,
    HangupNode: IvrRun._enter_hangup,
    TransferNode: IvrRun._enter_transfer,
    SurveyNode: IvrRun._enter_survey,
}
"""Node type -> what entering it does: an instruction, or the next node id."""


def _require_flows(flow: Flow, flows: Mapping[str, Flow]) -> None:
    """A goto to a flow the run cannot reach is a wiring bug: fail at once,
    not in the middle of a call. Follows gotos transitively."""
    todo, seen, missing = [flow], {flow.name}, set()
    while todo:
        for node in todo.pop().nodes.values():
            if isinstance(node, GotoNode) and node.flow not in seen:
                seen.add(node.flow)
                if node.flow in flows:
                    todo.append(flows[node.flow])
                else:
                    missing.add(node.flow)
    if missing:
        raise IvrUsageError(f"flow '{flow.name}' can hand over to {sorted(missing)}: pass them in flows=")


def _checked_attrs(attrs: Mapping[str, str]) -> dict[str, str]:
    for key, value in attrs.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"attrs must map str to str, got {key!r}: {value!r}")
    return dict(attrs)


def _clamped_priority(raw: str) -> int:
    """An attribute priority as an int in 0..MAX_PRIORITY; garbage counts as 0."""
    try:
        return min(max(int(raw), 0), MAX_PRIORITY)
    except ValueError:
        return 0
