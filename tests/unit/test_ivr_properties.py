"""Property-based: no sequence of caller events crashes a run or keeps it alive forever."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import (
    LANGUAGES,
    CallerHungUp,
    DigitsEntered,
    Finished,
    Flow,
    HungUp,
    IvrRun,
    PlayAndHangup,
    Played,
    Queue,
    StepKind,
    TimedOut,
    load_flows,
)
from hotline.settings import PROJECT_ROOT
from queues import load_queues

FLOWS = load_flows()
QUEUES = frozenset(load_queues(PROJECT_ROOT / "queues" / "queues.yaml"))

dtmf_like = st.text(alphabet="0123456789*#ABCDabcdxyz ", max_size=40)
events = st.one_of(
    dtmf_like.map(DigitsEntered),
    st.text(max_size=200).map(DigitsEntered),  # any unicode at all
    st.just(TimedOut()),
    st.just(Played()),
    st.just(HungUp()),
)
attrs = st.fixed_dictionaries(
    {},
    optional={
        "notice": st.sampled_from(["flood_warning", "heavy_snow", "", "../../etc/passwd", "{notice}"]) | st.text(max_size=20),
        "repeat_calls": st.sampled_from(["0", "3", "-1", "1e9", "nan", "inf"]) | st.text(max_size=5),
        "priority": st.text(max_size=6),
        "language": st.sampled_from(LANGUAGES),
        "skills": st.sampled_from(["", "traffic", ",,traffic,,housing"]),
    },
)


def finish(run: IvrRun, instruction: object, flow: Flow) -> tuple[Finished, int]:
    """Keep answering 'nothing happened' until the run ends; count the feeds."""
    feeds = 0
    while not isinstance(instruction, Finished):
        instruction = run.feed(TimedOut())
        feeds += 1
        assert feeds <= flow.max_steps, "run did not end within its step cap"
    return instruction, feeds


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(FLOWS)), script=st.lists(events, max_size=60), preset=attrs)
def test_any_event_sequence_ends_in_a_terminal_action(name: str, script: list[object], preset: dict[str, str]) -> None:
    flow = FLOWS[name]
    run = IvrRun(flow, preset, flows=FLOWS)
    instruction = run.start()
    hung_up = False
    for fed, event in enumerate(script, start=1):
        hung_up = hung_up or (isinstance(event, HungUp) and not run.finished)
        instruction = run.feed(event)  # type: ignore[arg-type]
        assert fed <= flow.max_steps or isinstance(instruction, Finished)
    finished, _ = finish(run, instruction, flow)

    action = finished.action
    assert isinstance(action, Queue | PlayAndHangup | CallerHungUp)
    if isinstance(action, Queue):
        assert action.queue in QUEUES and action.language in LANGUAGES and 0 <= action.priority <= 100
    if hung_up:
        assert action == CallerHungUp()
    assert run.path[-1].kind is StepKind.END
    json.dumps(run.to_dict())


@settings(max_examples=100, deadline=None)
@given(script=st.lists(events, max_size=30), preset=attrs)
def test_runs_are_deterministic(script: list[object], preset: dict[str, str]) -> None:
    def replay() -> list[dict[str, object]]:
        run = IvrRun(FLOWS["main"], preset)
        run.start()
        for event in script:
            run.feed(event)  # type: ignore[arg-type]
        return [step.to_dict() for step in run.path]

    assert replay() == replay()


@settings(max_examples=200, deadline=None)
@given(script=st.lists(events, max_size=40), preset=attrs)
def test_every_prompt_played_is_in_the_catalogue(script: list[object], preset: dict[str, str]) -> None:
    """Attribute values (e.g. a notice) can never make the shell look up an unknown file."""
    flow = FLOWS["main"]
    run = IvrRun(flow, preset)
    instructions = [run.start()] + [run.feed(event) for event in script]  # type: ignore[arg-type]
    for instruction in instructions:
        prompts = getattr(instruction, "prompts", None) or getattr(getattr(instruction, "action", None), "prompts", ())
        assert set(prompts) <= set(flow.prompts)
