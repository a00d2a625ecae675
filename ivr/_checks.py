"""How the nodes of a flow connect: references, prompts, loops, dead nodes.

Run after parsing, on shape-valid objects. Errors are what would break or
trap a call (a branch to nowhere, a prompt nobody can record, a loop the
caller cannot leave); warnings are what is merely untidy (a node nothing
leads to, a prompt nothing plays), so an author can park a node while
editing. `load_flow(..., strict=True)` turns warnings into errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from ivr._fields import PLACEHOLDER, Report
from ivr.schema import (
    BranchNode,
    Flow,
    GotoNode,
    HangupNode,
    MenuNode,
    Node,
    PlayNode,
    SetNode,
)

K = TypeVar("K")
GraphKey = tuple[str, str]
"""(flow name, node id): nodes of several flows in one graph."""


def check_flow(flow: Flow, lines: Mapping[str, int], report: Report) -> None:
    """All checks of one flow on its own; problems go to `report`."""
    if flow.start not in flow.nodes:
        report.error(None, f"start: unknown node '{flow.start}'")
        return
    _check_references(flow, lines, report)
    used = _check_prompts(flow, lines, report)
    if report.errors:
        return
    cycle = find_cycle(instant_edges(flow, {flow.name: flow.start}))
    if cycle:
        _report_cycle(cycle, lines, report)
    _warn_unreachable(flow, lines, report)
    _warn_unused_prompts(flow, used, report)


# --------------------------------------------------------------------------
# References between nodes
# --------------------------------------------------------------------------


def labelled_targets(node: Node) -> Iterator[tuple[str, str]]:
    """(field label, target node id) for every same-flow branch of `node`."""
    if isinstance(node, PlayNode | SetNode):
        yield "next", node.next
    elif isinstance(node, MenuNode):
        yield from ((f"choice '{digits}'", target) for digits, target in node.choices.items())
        yield from ((label, t) for label, t in (("on_timeout", node.on_timeout), ("on_invalid", node.on_invalid)) if t)
    elif isinstance(node, BranchNode):
        yield from ((f"case {i}", target) for i, (_, target) in enumerate(node.cases, start=1))
        yield "else", node.otherwise


def _check_references(flow: Flow, lines: Mapping[str, int], report: Report) -> None:
    for node in flow.nodes.values():
        for label, target in labelled_targets(node):
            if target not in flow.nodes:
                report.error(node.id, f"{label} leads to unknown node '{target}'", lines.get(node.id))


# --------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------


def prompt_uses(node: Node) -> Iterator[tuple[str, str]]:
    """(field, prompt name or template) for every prompt a node can play."""
    fields: dict[str, Sequence[str]] = {}
    if isinstance(node, PlayNode):
        fields = {"prompts": node.prompts, "fallback_prompts": node.fallback_prompts}
    elif isinstance(node, MenuNode):
        fields = {"prompts": node.prompts, "reprompt": node.reprompt}
    elif isinstance(node, HangupNode):
        fields = {"prompts": node.prompts}
    for field, names in fields.items():
        yield from ((field, name) for name in names)


def template_pattern(template: str) -> re.Pattern[str]:
    """The catalogue names a prompt template such as `notice_{notice}` can fill to."""
    parts = PLACEHOLDER.split(template)
    literal = [re.escape(part) if i % 2 == 0 else r".+" for i, part in enumerate(parts)]
    return re.compile("".join(literal))


def _check_prompts(flow: Flow, lines: Mapping[str, int], report: Report) -> set[str]:
    """Every prompt played must be in the catalogue; returns the names used."""
    used: set[str] = set()
    for node in flow.nodes.values():
        for field, name in prompt_uses(node):
            matches = _catalogue_matches(flow, name)
            if not matches:
                problem = f"{field}: prompt '{name}' is not in the prompts catalogue"
                if PLACEHOLDER.search(name):
                    problem = f"{field}: prompt template '{name}' matches no prompt in the catalogue"
                report.error(node.id, problem, lines.get(node.id))
            used |= matches
    return used


def _catalogue_matches(flow: Flow, name: str) -> set[str]:
    if not PLACEHOLDER.search(name):
        return {name} if name in flow.prompts else set()
    pattern = template_pattern(name)
    return {known for known in flow.prompts if pattern.fullmatch(known)}


def _warn_unused_prompts(flow: Flow, used: set[str], report: Report) -> None:
    for name in sorted(set(flow.prompts) - used):
        report.warn(None, f"prompt '{name}' is never played")


# --------------------------------------------------------------------------
# Graph: loops without a menu, nodes nothing leads to
# --------------------------------------------------------------------------


def instant_edges(flow: Flow, starts: Mapping[str, str]) -> dict[GraphKey, list[GraphKey]]:
    """Edges that need no caller input (everything but a menu's branches).

    A `goto` leads to the start of its flow when that flow is in `starts`.
    A cycle made only of these edges would never wait for the caller.
    """
    edges: dict[GraphKey, list[GraphKey]] = {}
    for node in flow.nodes.values():
        if isinstance(node, MenuNode):
            continue
        targets = [(flow.name, target) for target in node.successors()]
        if isinstance(node, GotoNode) and node.flow in starts:
            targets.append((node.flow, starts[node.flow]))
        edges[(flow.name, node.id)] = targets
    return edges


def find_cycle(edges: Mapping[K, Sequence[K]]) -> list[K] | None:
    """One cycle of the directed graph as [a, b, ..., a], or None (iterative DFS)."""
    done: set[K] = set()
    for root in edges:
        if root in done:
            continue
        trail, stack = [root], [iter(edges.get(root, ()))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                done.add(trail.pop())
                stack.pop()
            elif child in trail:
                return trail[trail.index(child):] + [child]
            elif child not in done:
                trail.append(child)
                stack.append(iter(edges.get(child, ())))
    return None


def _report_cycle(cycle: list[GraphKey], lines: Mapping[str, int], report: Report) -> None:
    loop = " -> ".join(node for _, node in cycle)
    first = cycle[0][1]
    report.error(first, f"endless loop without any menu: {loop}", lines.get(first))


def reachable(flow: Flow) -> set[str]:
    """Node ids reachable from the start (following every branch)."""
    seen, todo = {flow.start}, [flow.start]
    while todo:
        for target in flow.nodes[todo.pop()].successors():
            if target not in seen and target in flow.nodes:
                seen.add(target)
                todo.append(target)
    return seen


def _warn_unreachable(flow: Flow, lines: Mapping[str, int], report: Report) -> None:
    for node_id in sorted(set(flow.nodes) - reachable(flow)):
        report.warn(node_id, "unreachable: no branch leads here", lines.get(node_id))
