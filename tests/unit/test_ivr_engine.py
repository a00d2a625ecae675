"""Engine behaviour beyond the shipped flows: node kinds, robustness, misuse."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from ivr import (
    CallerHungUp,
    Collect,
    DigitsEntered,
    Finished,
    Flow,
    IvrRun,
    IvrUsageError,
    Play,
    PlayAndHangup,
    Queue,
    StepKind,
    Survey,
    TimedOut,
    TransferToAgency,
    load_flow,
)
from ivr.schema import MenuNode, PlayNode, QueueNode
from tests.unit.ivr_fixtures import FIXTURES, H, P, T, drive


@pytest.fixture(scope="module")
def features() -> Flow:
    return load_flow(FIXTURES / "features.yaml")


@pytest.fixture(scope="module")
def other() -> Flow:
    return load_flow(FIXTURES / "other.yaml")


def run_of(flow: Flow, other: Flow, **attrs: str) -> IvrRun:
    return IvrRun(flow, attrs, flows={"other": other})


def kinds(run: IvrRun) -> list[StepKind]:
    return [step.kind for step in run.path]


# --------------------------------------------------------------------------
# Node kinds
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"route": "transfer"}, Finished(TransferToAgency("water_company", "zh"))),
        ({"route": "survey"}, Finished(Survey("survey", "zh"))),
        ({"route": "rate", "language": "ko"}, Finished(Survey("survey", "ko"))),
        ({"route": "nonsense"}, Finished(PlayAndHangup(("goodbye",), "zh"))),
        ({"route": "x", "vip": "2"}, Finished(Queue("business", frozenset({"business_env"}), "zh", 9))),
        ({"route": "x", "vip": "1.5"}, Finished(PlayAndHangup(("goodbye",), "zh"))),
    ],
)
def test_branch_cases_are_tried_in_order(features: Flow, other: Flow, attrs: dict[str, str], expected: Finished) -> None:
    assert run_of(features, other, **attrs).start() == expected


def test_goto_continues_in_the_other_flow(features: Flow, other: Flow) -> None:
    run = run_of(features, other, route="other_flow")
    assert run.start() == Play(("other_hello",), "zh")
    assert run.feed(P) == Finished(Queue("province", frozenset(), "zh", 0))
    assert run.flow.name == "other"
    assert run.attrs["line"] == "province"
    assert [(s.flow, s.kind, s.value) for s in run.path if s.kind is StepKind.FLOW] == [
        ("features", StepKind.FLOW, "other")
    ]


def test_goto_target_missing_is_refused_at_construction(features: Flow) -> None:
    with pytest.raises(IvrUsageError, match=r"can hand over to \['other'\]"):
        IvrRun(features)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1234", Finished(Queue("business", frozenset({"business_env"}), "zh", 9))),
        ("1234#", Finished(Queue("business", frozenset({"business_env"}), "zh", 9))),
        ("12#99", Finished(PlayAndHangup(("goodbye",), "zh"))),
        ("123456789", Finished(Queue("business", frozenset({"business_env"}), "zh", 9))),
    ],
)
def test_multi_digit_menu_with_terminator(features: Flow, other: Flow, typed: str, expected: Finished) -> None:
    run = run_of(features, other, route="pin")
    assert run.start() == Collect(("enter_pin",), "zh", max_digits=4, timeout=3.5, terminator="#")
    assert run.feed(DigitsEntered(typed)) == expected


def test_terminator_alone_counts_as_no_entry(features: Flow, other: Flow) -> None:
    run = run_of(features, other, route="pin")
    assert drive(run, "#") == Finished(Queue("main", frozenset(), "zh", 0))
    assert StepKind.TIMEOUT in kinds(run) and StepKind.INVALID not in kinds(run)


def test_missing_branches_default_to_a_person(features: Flow, other: Flow) -> None:
    """The pin menu has neither on_timeout nor on_invalid."""
    for script in ([T], ["0000", "0000"]):
        run = run_of(features, other, route="pin")
        assert drive(run, *script) == Finished(Queue("main", frozenset(), "zh", 0))
        assert run.path[-2].kind is StepKind.FALLBACK


# --------------------------------------------------------------------------
# Bounded runs and robustness
# --------------------------------------------------------------------------


def test_step_cap_ends_at_a_person(features: Flow, other: Flow) -> None:
    """ping and pong lead to each other forever; max_steps is 8 in the fixture.

    start() takes 2 steps (route, ping); each "1" enters one menu, so the
    7th entry would be step 9: the cap.
    """
    run = run_of(features, other)
    instruction = run.start()
    fed = 0
    while not isinstance(instruction, Finished):
        instruction = run.feed(DigitsEntered("1"))
        fed += 1
    assert instruction == Finished(Queue("main", frozenset(), "zh", 0))
    assert fed == 7
    assert run.path[-2].kind is StepKind.STEP_CAP


def test_reprompts_count_towards_the_step_cap(features: Flow, other: Flow) -> None:
    flow = Flow(
        name="r",
        start="m",
        nodes=MappingProxyType({"m": MenuNode("m", ("ping",), MappingProxyType({}), retries=5)}),
        prompts=features.prompts,
        max_steps=5,
    )
    run = IvrRun(flow)
    assert drive(run, "1", "1", "1", "1") == Collect(("ping",), "zh", max_digits=1, timeout=5.0)
    assert run.feed(DigitsEntered("1")) == Finished(Queue("main", frozenset(), "zh", 0))
    assert run.path[-2].kind is StepKind.STEP_CAP


def test_hand_built_flow_with_broken_reference_falls_back(features: Flow) -> None:
    """A Flow that bypassed load_flow must still not crash a call."""
    nodes = {"p": PlayNode("p", ("ping",), next="ghost"), "q": QueueNode("q", "main")}
    run = IvrRun(Flow(name="b", start="p", nodes=MappingProxyType(nodes), prompts=features.prompts))
    assert drive(run, P) == Finished(Queue("main", frozenset(), "zh", 0))
    assert (run.path[-2].kind, run.path[-2].value) == (StepKind.FALLBACK, "unknown node 'ghost'")


def test_events_in_the_wrong_state_are_tolerated_and_recorded(features: Flow, other: Flow) -> None:
    run = run_of(features, other, route="pin")
    assert drive(run, P) == Finished(Queue("main", frozenset(), "zh", 0))  # Played while collecting = timeout
    assert StepKind.IGNORED in kinds(run)
    run = run_of(features, other, route="other_flow")
    assert drive(run, "5") == Finished(Queue("province", frozenset(), "zh", 0))  # digits during a Play


def test_hang_up_right_at_the_start(features: Flow, other: Flow) -> None:
    run = run_of(features, other)
    assert drive(run, H) == Finished(CallerHungUp())
    assert kinds(run)[-2:] == [StepKind.HANGUP, StepKind.END]


def test_after_the_end_every_event_returns_the_same_finish(features: Flow, other: Flow) -> None:
    run = run_of(features, other, route="transfer")
    finished = run.start()
    length = len(run.path)
    for event in (P, T, H, DigitsEntered("1")):
        assert run.feed(event) is finished
    assert len(run.path) == length
    assert run.finished and run.action == TransferToAgency("water_company", "zh")


def test_misuse_by_the_shell_raises(features: Flow, other: Flow) -> None:
    run = run_of(features, other)
    with pytest.raises(IvrUsageError):
        run.feed(TimedOut())
    run.start()
    with pytest.raises(IvrUsageError):
        run.start()
    with pytest.raises(TypeError):
        run.feed("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DigitsEntered(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        IvrRun(features, {"repeat_calls": 3}, flows={"other": other})  # type: ignore[dict-item]


def test_huge_garbage_is_cut_in_the_path(features: Flow, other: Flow) -> None:
    run = run_of(features, other)
    run.start()
    run.feed(DigitsEntered("x" * 100_000))
    invalid = next(s for s in run.path if s.kind is StepKind.INVALID)
    assert invalid.value == "x" * 64 + "..."


def test_run_record_is_json_serialisable(features: Flow, other: Flow) -> None:
    run = run_of(features, other, route="x", vip="3")
    run.start()
    record = json.loads(json.dumps(run.to_dict()))
    assert record["action"] == {
        "type": "Queue", "queue": "business", "skills": ["business_env"],
        "language": "zh", "priority": 9, "survey": None,
    }  # fmt: skip
    assert [step["index"] for step in record["path"]] == list(range(len(run.path)))
    assert record["path"][0] == {"index": 0, "kind": "start", "flow": "features", "node": None, "value": None}


def test_attrs_are_a_copy(features: Flow, other: Flow) -> None:
    run = run_of(features, other)
    run.attrs["language"] = "en"
    assert run.attrs["language"] == "zh"
