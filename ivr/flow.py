"""Loading and validating call flows (menus as data, under ivr/flows/).

`load_flow` reads one YAML file and either returns a fully validated `Flow`
or raises one `FlowError` listing every problem with file, line and node.
`load_flows` loads a directory and adds the checks that need all flows at
once (goto/survey targets, a dialled number claimed twice, one prompt name
with two different texts, loops that cross flows). `flow_for_dnis` picks the
flow for a dialled number.

Defaults worth knowing when writing a flow (see ivr/schema.py for all
fields): a menu without `on_timeout` or `on_invalid` sends the caller to a
person (the flow's `fallback_queue`) -- the hotline never leaves a citizen at
a dead end; `retries: 1` re-prompts once after an invalid entry; `timeout`
is in seconds; digit keys such as `"*"` must be quoted in YAML.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import yaml

from ivr._checks import check_flow, find_cycle, instant_edges
from ivr._fields import Report
from ivr._parse import parse_flow
from ivr._yaml import SourceMap, read_yaml
from ivr.schema import DEFAULT_VOCABULARY, Flow, FlowError, Vocabulary

log = logging.getLogger(__name__)

SHIPPED_FLOWS_DIR = Path(__file__).with_name("flows")
"""The flows that ship with the product (main, province, business, ...)."""

DEFAULT_FLOW = "main"
"""Flow for a dialled number no flow claims (a call is never refused)."""


def load_flow(path: Path, *, vocabulary: Vocabulary = DEFAULT_VOCABULARY, strict: bool = False) -> Flow:
    """Read and validate one flow file.

    Returns the Flow (with non-fatal findings in `warnings`, also logged).
    Raises FlowError naming file, line, node and problem for anything that
    would break a call; with `strict`, warnings are errors too.
    """
    report = Report(path.name)
    raw = _read(path, report)
    flow = parse_flow(raw, path, vocabulary, report)
    report.raise_if_any()
    check_flow(flow, _node_lines(raw), report)
    if strict:
        for warning in report.warnings:
            report.errors.append(FlowError(path.name, None, f"(strict) {warning}"))
    report.raise_if_any()
    for warning in report.warnings:
        log.warning("flow %s: %s", flow.name, warning)
    return replace(flow, warnings=tuple(report.warnings))


def load_flows(
    directory: Path = SHIPPED_FLOWS_DIR,
    *,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    strict: bool = False,
) -> dict[str, Flow]:
    """Load every `*.yaml` in `directory`; key = flow name.

    Raises one FlowError with the problems of all files, including those
    between flows, or if the directory holds no flow at all.
    """
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise FlowError(str(directory), None, "no *.yaml flow files here (a hotline needs at least one flow)")
    flows: dict[str, Flow] = {}
    errors: list[FlowError] = []
    for path in paths:
        try:
            flow = load_flow(path, vocabulary=vocabulary, strict=strict)
        except FlowError as error:
            errors.extend(error.problems)
            continue
        if flow.name in flows:
            errors.append(FlowError(path.name, None, f"flow name '{flow.name}' already used by {_file(flows[flow.name])}"))
            continue
        flows[flow.name] = flow
    if not errors:
        errors = check_between_flows(flows)
    if errors:
        first, *more = errors
        raise FlowError(first.file, first.node, first.problem, line=first.line, more=tuple(more))
    return flows


def flow_for_dnis(flows: Mapping[str, Flow], dnis: str, default: str = DEFAULT_FLOW) -> Flow:
    """The flow serving dialled number `dnis`, else the `default` flow.

    Raises KeyError only if `default` is not loaded (a deployment error).
    """
    number = dnis.strip()
    for flow in flows.values():
        if number in flow.dnis:
            return flow
    return flows[default]


def check_between_flows(flows: Mapping[str, Flow]) -> list[FlowError]:
    """Problems that only show with all flows loaded; empty when all is well."""
    errors = _missing_flow_references(flows)
    errors += _dnis_claimed_twice(flows)
    errors += _conflicting_prompt_texts(flows)
    if not errors:
        errors += _loops_across_flows(flows)
    return errors


def _missing_flow_references(flows: Mapping[str, Flow]) -> list[FlowError]:
    errors = []
    for flow in flows.values():
        for name in sorted(flow.flow_references() - set(flows)):
            errors.append(FlowError(_file(flow), None, f"refers to flow '{name}', which is not loaded"))
    return errors


def _dnis_claimed_twice(flows: Mapping[str, Flow]) -> list[FlowError]:
    owner: dict[str, Flow] = {}
    errors = []
    for flow in flows.values():
        for number in flow.dnis:
            if number in owner:
                errors.append(FlowError(_file(flow), None, f"dnis '{number}' is also served by flow '{owner[number].name}'"))
            owner.setdefault(number, flow)
    return errors


def _conflicting_prompt_texts(flows: Mapping[str, Flow]) -> list[FlowError]:
    """One sounds folder serves all flows, so a prompt name means one recording."""
    seen: dict[tuple[str, str], tuple[Flow, str]] = {}
    errors = []
    for flow in flows.values():
        for prompt in flow.prompts.values():
            for lang, utterance in prompt.texts.items():
                earlier = seen.setdefault((prompt.name, lang), (flow, utterance.text))
                if earlier[1] != utterance.text:
                    problem = f"prompt '{prompt.name}' ({lang}) has a different text in {_file(earlier[0])}; rename one"
                    errors.append(FlowError(_file(flow), None, problem))
    return errors


def _loops_across_flows(flows: Mapping[str, Flow]) -> list[FlowError]:
    starts = {name: flow.start for name, flow in flows.items()}
    edges = {}
    for flow in flows.values():
        edges.update(instant_edges(flow, starts))
    cycle = find_cycle(edges)
    if not cycle:
        return []
    loop = " -> ".join(f"{flow}.{node}" for flow, node in cycle)
    flow, node = cycle[0]
    return [FlowError(_file(flows[flow]), node, f"endless loop across flows without any menu: {loop}")]


def _read(path: Path, report: Report) -> object:
    """The strict YAML tree of `path`; unreadable or malformed files are reported."""
    try:
        return read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        report.error(None, f"cannot read the file: {error}")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        report.error(None, f"not valid YAML: {getattr(error, 'problem', None) or error}", line)
    report.raise_if_any()
    return None


def _node_lines(raw: object) -> Mapping[str, int]:
    nodes = raw.get("nodes") if isinstance(raw, SourceMap) else None
    return nodes.lines if isinstance(nodes, SourceMap) else {}


def _file(flow: Flow) -> str:
    return flow.file.name if flow.file else flow.name
