"""Flow files are validated at load: every problem names file, line and node."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr import FlowError, Vocabulary, load_flow, load_flows
from tests.unit.ivr_fixtures import FIXTURES


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def flow_text(nodes: str, prompts: str = "welcome: {zh: 您好。}", header: str = "") -> str:
    """A small flow file with the given nodes (YAML, already indented by 2)."""
    return f"name: t\nstart: greeting\n{header}nodes:\n{textwrap.indent(textwrap.dedent(nodes), '  ')}prompts:\n  {prompts}\n"


GOOD_NODES = """\
greeting:
  type: menu
  prompts: [welcome]
  choices: {"1": person}
person:
  type: queue
  queue: main
"""


# What hotline.config builds from queues/queues.yaml and the roster for the shipped files.
SHIPPED_NAMES = Vocabulary(skills=frozenset({"traffic", "social_insurance", "public_security", "utilities",
                                             "education", "housing", "business_env"}),
                           queues=frozenset({"main", "province", "business"}))


def load_error(tmp_path: Path, text: str, **kwargs: object) -> FlowError:
    path = write(tmp_path, "t.yaml", text)
    kwargs.setdefault("vocabulary", SHIPPED_NAMES)
    with pytest.raises(FlowError) as caught:
        load_flow(path, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --------------------------------------------------------------------------
# The three classic mistakes, as fixture files
# --------------------------------------------------------------------------


def test_unknown_node_names_file_line_node_and_target() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(FIXTURES / "unknown_node.yaml")
    error = caught.value
    assert str(error) == "unknown_node.yaml:4: node 'greeting': choice '2' leads to unknown node 'nowhere'"
    assert (error.file, error.node, error.line) == ("unknown_node.yaml", "greeting", 4)


def test_duplicate_digit_is_caught_although_yaml_would_merge_it() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(FIXTURES / "duplicate_digit.yaml")
    assert str(caught.value) == (
        "duplicate_digit.yaml:9: node 'greeting': duplicate digit '1' in choices (lines 8 and 9)"
    )


def test_missing_prompt_names_the_prompt_and_the_catalogue() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(FIXTURES / "missing_prompt.yaml")
    assert str(caught.value) == (
        "missing_prompt.yaml:4: node 'greeting': prompts: prompt 'press_1_for_help' is not in the prompts catalogue"
    )


def test_loop_without_any_menu_is_an_error() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(FIXTURES / "endless_loop.yaml")
    assert caught.value.node == "hello"
    assert "endless loop without any menu: hello -> mark -> hello" in str(caught.value)


# --------------------------------------------------------------------------
# Table of single mistakes: (nodes or whole text, expected node, expected text)
# --------------------------------------------------------------------------

BROKEN = {
    "typo in a field name": (
        flow_text(GOOD_NODES.replace("choices:", "timout: 3\n  choices:")),
        "greeting",
        "timout: unknown field (expected one of:",
    ),
    "unknown node type": (
        flow_text(GOOD_NODES.replace("type: queue", "type: queeu")),
        "person",
        "type: 'queeu' is not a node type",
    ),
    "choice longer than max_digits": (
        flow_text(GOOD_NODES.replace('{"1": person}', '{"12": person}')),
        "greeting",
        "choice '12': has more digits than max_digits (1)",
    ),
    "choice is not DTMF": (
        flow_text(GOOD_NODES.replace('{"1": person}', '{"X": person}')),
        "greeting",
        "choice 'X': is not made of DTMF keys",
    ),
    "choice contains the terminator": (
        flow_text(GOOD_NODES.replace('choices: {"1": person}', 'max_digits: 3\n  terminator: "#"\n  choices: {"1#": person}')),
        "greeting",
        "contains the terminator '#'",
    ),
    "timeout not a number": (
        flow_text(GOOD_NODES.replace("choices:", "timeout: fast\n  choices:")),
        "greeting",
        "timeout: must be a number from 0.5 to 120, got 'fast'",
    ),
    "unknown language": (
        flow_text(GOOD_NODES + "lang: {type: set, attrs: {language: xx}, next: person}\n"),
        "lang",
        "attrs.language: unknown language 'xx'",
    ),
    "priority attribute not a number": (
        flow_text(GOOD_NODES + "prio: {type: set, attrs: {priority: high}, next: person}\n"),
        "prio",
        "attrs.priority: must be a whole number from 0 to 100",
    ),
    "unknown skill": (
        flow_text(GOOD_NODES.replace("queue: main", "queue: main\n  skills: [trafic]")),
        "person",
        "unknown skill 'trafic'",
    ),
    "unknown queue": (
        flow_text(GOOD_NODES.replace("queue: main", "queue: mian")),
        "person",
        "queue: unknown queue 'mian'",
    ),
    "bad condition": (
        flow_text(GOOD_NODES + "x: {type: set, when: {attr: a, bigger: 3}, attrs: {b: c}, next: person}\n"),
        "x",
        "when: needs 'attr: <name>' and at most one of",
    ),
    "template prompt matches nothing": (
        flow_text(GOOD_NODES + 'n: {type: play, prompts: ["notice_{notice}"], next: person}\n'),
        "n",
        "prompt template 'notice_{notice}' matches no prompt in the catalogue",
    ),
    "menu without choices": (
        flow_text(GOOD_NODES.replace('choices: {"1": person}', "on_timeout: person")),
        "greeting",
        "choices: is required",
    ),
    "required field missing": (
        flow_text(GOOD_NODES + "n: {type: play, prompts: [welcome]}\n"),
        "n",
        "next: is required",
    ),
    "node defined twice": (
        flow_text(GOOD_NODES + "person: {type: queue, queue: main}\n"),
        "person",
        "node defined twice (lines 8 and 11)",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_definition_fails_with_node_and_problem(tmp_path: Path, case: str) -> None:
    text, node, problem = BROKEN[case]
    error = load_error(tmp_path, text)
    assert error.file == "t.yaml"
    assert any(e.node == node and problem in str(e) for e in error.problems), str(error)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (flow_text(GOOD_NODES, header="").replace("start: greeting", "start: hello"), "start: unknown node 'hello'"),
        (flow_text(GOOD_NODES, prompts="welcome: {en: Hello.}"), "prompt 'welcome': has no 'zh' text"),
        (flow_text(GOOD_NODES, prompts="welcome: {zh: {text: Hi, voice: klingon}}"), "unknown language 'klingon'"),
        (flow_text(GOOD_NODES, header="max_steps: 1000\n"), "max_steps: must be a whole number from 5 to 500"),
        (flow_text(GOOD_NODES, header="dnis: [12a45]\n"), "'12a45' is not a dialled number"),
        ("- just\n- a list\n", "the file must be a mapping"),
        ("name: t\nnodes: {a: [unclosed\n", "not valid YAML"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, problem: str) -> None:
    assert problem in str(load_error(tmp_path, text))


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = flow_text(GOOD_NODES.replace("queue: main", "queue: mian\n  skills: [trafic]"))
    error = load_error(tmp_path, text)
    assert len(error.problems) == 2
    assert str(error).startswith("2 problems in flow definitions:")


def test_yaml_scalars_stay_as_written(tmp_path: Path) -> None:
    """010 stays '010' (not octal 8) and unquoted digit keys are fine."""
    nodes = GOOD_NODES.replace('choices: {"1": person}', "max_digits: 3\n  choices: {010: person, 1: person}")
    flow = load_flow(write(tmp_path, "t.yaml", flow_text(nodes, header="dnis: [012345]\n")))
    assert set(flow.nodes["greeting"].choices) == {"010", "1"}  # type: ignore[union-attr]
    assert flow.dnis == ("012345",)


def test_without_a_vocabulary_queues_and_skills_are_checked_for_shape_only(tmp_path: Path) -> None:
    """A flow read on its own names queues and skills that only queues.yaml and the roster
    can confirm; the controller loads flows with the vocabulary built from them."""
    flow = load_flow(write(tmp_path, "t.yaml", flow_text(GOOD_NODES.replace("queue: main", "queue: night"))))
    assert flow.nodes["person"].queue == "night"  # type: ignore[union-attr]


def test_transfer_checked_against_the_agency_directory(tmp_path: Path) -> None:
    text = flow_text(GOOD_NODES + "agency: {type: transfer, agency: gas_co}\n")
    vocabulary = Vocabulary(agencies=frozenset({"water_co"}))
    assert "'gas_co' is not in the agency directory" in str(load_error(tmp_path, text, vocabulary=vocabulary))


def test_unreachable_node_is_a_warning_and_strict_makes_it_an_error(tmp_path: Path) -> None:
    text = flow_text(GOOD_NODES + "orphan: {type: hangup, prompts: [welcome]}\n")
    flow = load_flow(write(tmp_path, "t.yaml", text))
    assert flow.warnings == ("t.yaml:11: node 'orphan': unreachable: no branch leads here",)
    assert "(strict) t.yaml:11: node 'orphan': unreachable" in str(load_error(tmp_path, text, strict=True))


def test_unused_prompt_is_a_warning(tmp_path: Path) -> None:
    text = flow_text(GOOD_NODES, prompts="welcome: {zh: 您好。}\n  spare: {zh: 多余。}")
    assert load_flow(write(tmp_path, "t.yaml", text)).warnings == ("t.yaml: prompt 'spare' is never played",)


def test_menu_without_timeout_or_invalid_branch_is_valid(tmp_path: Path) -> None:
    """Missing branches are not errors: they default to a person (see engine tests)."""
    flow = load_flow(write(tmp_path, "t.yaml", flow_text(GOOD_NODES)))
    menu = flow.nodes["greeting"]
    assert (menu.on_timeout, menu.on_invalid, flow.fallback_queue) == (None, None, "main")  # type: ignore[union-attr]


# --------------------------------------------------------------------------
# Checks between flows (load_flows)
# --------------------------------------------------------------------------


def flow_file(name: str, extra_nodes: str = "", header: str = "", prompts: str = "") -> str:
    nodes = GOOD_NODES.replace("greeting:", "greeting:").replace("prompts: [welcome]", f"prompts: [{name}_hi]")
    catalogue = f"{name}_hi: {{zh: 你好。}}" + (f"\n  {prompts}" if prompts else "")
    return flow_text(nodes + extra_nodes, prompts=catalogue, header=header).replace("name: t", f"name: {name}")


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (
            {"a": flow_file("a", header="survey: nosuch\n")},
            "a.yaml: refers to flow 'nosuch', which is not loaded",
        ),
        (
            {"a": flow_file("a", header='dnis: ["12345"]\n'), "b": flow_file("b", header='dnis: ["12345"]\n')},
            "b.yaml: dnis '12345' is also served by flow 'a'",
        ),
        (
            {
                "a": flow_file("a", prompts="bye: {zh: 再见。}", extra_nodes="x: {type: hangup, prompts: [bye]}\n"),
                "b": flow_file("b", prompts="bye: {zh: 拜拜。}", extra_nodes="x: {type: hangup, prompts: [bye]}\n"),
            },
            "b.yaml: prompt 'bye' (zh) has a different text in a.yaml; rename one",
        ),
        (
            {"a": flow_file("a"), "a2": flow_file("a")},
            "a2.yaml: flow name 'a' already used by a.yaml",
        ),
    ],
)
def test_problems_between_flows(tmp_path: Path, files: dict[str, str], problem: str) -> None:
    for stem, text in files.items():
        write(tmp_path, f"{stem}.yaml", text)
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path)
    assert problem in str(caught.value)


def test_loop_across_flows_without_a_menu(tmp_path: Path) -> None:
    prompts = "hi: {zh: 你好。}"
    write(tmp_path, "a.yaml", "name: a\nstart: go\nnodes:\n  go: {type: goto, flow: b}\nprompts:\n  " + prompts)
    write(tmp_path, "b.yaml", "name: b\nstart: hi\nnodes:\n  hi: {type: play, prompts: [hi], next: go}\n"
          "  go: {type: goto, flow: a}\nprompts:\n  " + prompts)
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path)
    assert "endless loop across flows without any menu: a.go -> b.hi -> b.go -> a.go" in str(caught.value)


def test_errors_of_several_files_come_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", flow_text(GOOD_NODES.replace("queue: main", "queue: x")).replace("name: t", "name: a"))
    write(tmp_path, "b.yaml", flow_text(GOOD_NODES.replace("type: menu", "type: manu")).replace("name: t", "name: b"))
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path, vocabulary=SHIPPED_NAMES)
    assert [e.file for e in caught.value.problems] == ["a.yaml", "b.yaml"]


def test_a_directory_without_flows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="no \\*.yaml flow files here"):
        load_flows(tmp_path)


def test_a_missing_file_is_a_flow_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match=r"^nope.yaml: cannot read the file"):
        load_flow(tmp_path / "nope.yaml")
