"""From the raw YAML tree of one flow file to `ivr.schema` objects.

Shape checks only (types, ranges, names, the vocabulary); how nodes connect
is checked afterwards by `ivr._checks`. The file layout::

    name: main                 # flow name (key in load_flows)
    description: ...
    dnis: ["12345"]            # dialled numbers served (quoted strings)
    language: zh               # language callers start in
    line: main                 # attribute `line` set at start
    fallback_queue: main       # where missing branches lead: a person
    survey: survey             # post-call survey flow (optional)
    max_steps: 50              # instructions before forcing a person
    start: greeting            # first node
    prompts: {name: {lang: text | {text: ..., voice: lang}}}
    nodes: {id: {type: ..., ...}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ivr._fields import NAME, Fields, Report
from ivr._yaml import SourceMap
from ivr.digits import DTMF_SYMBOLS, is_dtmf
from ivr.schema import (
    DEFAULT_MAX_STEPS,
    BranchNode,
    Flow,
    GotoNode,
    HangupNode,
    MenuNode,
    Node,
    PlayNode,
    PromptText,
    QueueNode,
    SetNode,
    SurveyNode,
    TransferNode,
    Utterance,
    Vocabulary,
)

TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "dnis",
        "language",
        "line",
        "fallback_queue",
        "survey",
        "max_steps",
        "start",
        "prompts",
        "nodes",
    }
)

MENU_LIMITS = {"max_digits": (1, 32), "timeout": (0.5, 120.0), "retries": (0, 5)}
"""Sane ranges for menu settings; timeout in seconds."""

MAX_PRIORITY = 100


def parse_flow(raw: Any, file: Path, vocabulary: Vocabulary, report: Report) -> Flow:
    """Build a Flow from the YAML tree; problems go to `report` (not raised here)."""
    if not isinstance(raw, SourceMap):
        report.error(None, "the file must be a mapping with name, start, prompts and nodes")
        return Flow(name="", start="", nodes={}, prompts={}, file=file)
    report_duplicates(raw, (), report)
    top = Fields(raw, None, report, TOP_KEYS)
    language = _language(top, "language", vocabulary, default="zh")
    prompts = parse_catalogue(top.mapping("prompts", required=True), language, vocabulary, report)
    nodes = parse_nodes(top.mapping("nodes", required=True), vocabulary, report)
    return Flow(
        name=top.name("name", required=True),
        start=top.name("start", required=True),
        nodes=nodes,
        prompts=prompts,
        file=file,
        description=top.text("description"),
        dnis=_dnis(top),
        language=language,
        line=top.name("line") or None,
        fallback_queue=_queue(top, "fallback_queue", vocabulary, default="main"),
        survey=top.name("survey") or None,
        max_steps=top.integer("max_steps", DEFAULT_MAX_STEPS, 5, 500),
    )


# --------------------------------------------------------------------------
# Duplicated keys (which plain YAML would silently merge)
# --------------------------------------------------------------------------


def report_duplicates(value: Any, path: tuple[str, ...], report: Report) -> None:
    """Report every repeated key anywhere in the tree, naming the node."""
    if isinstance(value, SourceMap):
        for key, first, again in value.duplicates:
            node, what = _duplicate_wording(path, key)
            report.error(node, f"{what} (lines {first} and {again})", again)
        for key, child in value.items():
            report_duplicates(child, (*path, key), report)
    elif isinstance(value, list):
        for child in value:
            report_duplicates(child, path, report)


def _duplicate_wording(path: tuple[str, ...], key: str) -> tuple[str | None, str]:
    """Which node a repeated key belongs to, and how to say it."""
    if path == ("nodes",):
        return key, "node defined twice"
    if path == ("prompts",):
        return None, f"prompt '{key}' defined twice"
    node = path[1] if len(path) > 1 and path[0] == "nodes" else None
    if path[-1:] == ("choices",):
        return node, f"duplicate digit '{key}' in choices"
    return node, f"'{key}' given twice in {'.'.join(path) or 'the file'}"


# --------------------------------------------------------------------------
# Header fields
# --------------------------------------------------------------------------


def _language(fields: Fields, key: str, vocabulary: Vocabulary, default: str) -> str:
    value = fields.text(key, default=default)
    if value not in vocabulary.languages:
        fields.error(key, f"unknown language '{value}' (known: {', '.join(vocabulary.languages)})")
        return default
    return value


def _queue(fields: Fields, key: str, vocabulary: Vocabulary, default: str) -> str:
    value = fields.name(key, required=key == "queue", default=default)
    if value and vocabulary.queues is not None and value not in vocabulary.queues:
        fields.error(key, f"unknown queue '{value}' (known: {', '.join(sorted(vocabulary.queues))})")
    return value


def _dnis(fields: Fields) -> tuple[str, ...]:
    """Dialled numbers; must be quoted strings of dial symbols."""
    numbers = []
    for item in fields.items("dnis"):
        if isinstance(item, str) and item and all(c in "0123456789*#+" for c in item):
            numbers.append(item)
        else:
            fields.error("dnis", f"{item!r} is not a dialled number")
    return tuple(numbers)


# --------------------------------------------------------------------------
# Prompt catalogue
# --------------------------------------------------------------------------


def parse_catalogue(
    raw: SourceMap, language: str, vocabulary: Vocabulary, report: Report
) -> Mapping[str, PromptText]:
    """`prompts:` -> name -> PromptText; every prompt needs the flow language."""
    catalogue = {}
    for name, entry in raw.items():
        fields = Fields(SourceMap(raw.lines[name]), None, report, (), where=f"prompt '{name}': ")
        if not NAME.match(name):
            fields.error(None, "is not a valid prompt name")
        texts = _prompt_texts(entry, fields, vocabulary)
        if texts and language not in texts:
            fields.error(None, f"has no '{language}' text (the flow's language)")
        catalogue[name] = PromptText(name, MappingProxyType(texts))
    return MappingProxyType(catalogue)


def _prompt_texts(entry: Any, fields: Fields, vocabulary: Vocabulary) -> dict[str, Utterance]:
    if not isinstance(entry, SourceMap) or not entry:
        fields.error(None, "needs a text per language, e.g. {zh: ..., en: ...}")
        return {}
    texts = {}
    for lang, value in entry.items():
        if lang not in vocabulary.languages:
            fields.error(None, f"unknown language '{lang}'")
            continue
        utterance = _utterance(lang, value, fields, vocabulary)
        if utterance:
            texts[lang] = utterance
    return texts


def _utterance(lang: str, value: Any, fields: Fields, vocabulary: Vocabulary) -> Utterance | None:
    """`text` or `{text: ..., voice: <lang>}` for prompts spoken in another language."""
    if isinstance(value, str) and value.strip():
        return Utterance(value.strip(), lang)
    if isinstance(value, SourceMap):
        sub = Fields(value, None, fields.report, ("text", "voice"), where=f"{fields.where}{lang}.")
        text, voice = sub.text("text", required=True), sub.text("voice", default=lang)
        if voice not in vocabulary.languages:
            sub.error("voice", f"unknown language '{voice}'")
        return Utterance(text, voice) if text else None
    fields.error(None, f"'{lang}' must be a text or {{text: ..., voice: ...}}")
    return None


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------


def parse_nodes(raw: SourceMap, vocabulary: Vocabulary, report: Report) -> Mapping[str, Node]:
    """`nodes:` -> id -> Node; a node that cannot be built is left out (reported)."""
    nodes = {}
    for node_id, body in raw.items():
        node = _parse_node(node_id, body, raw.lines[node_id], vocabulary, report)
        if node is not None:
            nodes[node_id] = node
    return MappingProxyType(nodes)


def _parse_node(node_id: str, body: Any, line: int, vocabulary: Vocabulary, report: Report) -> Node | None:
    if not NAME.match(node_id):
        report.error(node_id, "is not a valid node id (lower-case letters, digits, _)", line)
    if not isinstance(body, SourceMap):
        report.error(node_id, "must be a mapping with a 'type'", line)
        return None
    kind = body.get("type")
    spec = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        known = ", ".join(_BUILDERS)
        report.error(node_id, f"type: {kind!r} is not a node type (known: {known})", body.lines.get("type", line))
        return None
    allowed, build = spec
    return build(node_id, Fields(body, node_id, report, {"type", *allowed}), vocabulary)


def _play(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    return PlayNode(
        id=node_id,
        prompts=f.prompt_names("prompts", required=True),
        next=f.name("next", required=True),
        when=f.condition("when"),
        fallback_prompts=f.prompt_names("fallback_prompts"),
    )


def _menu(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    max_digits = f.integer("max_digits", 1, *MENU_LIMITS["max_digits"])
    terminator = _terminator(f)
    return MenuNode(
        id=node_id,
        prompts=f.prompt_names("prompts", required=True),
        choices=_choices(f, max_digits, terminator),
        max_digits=max_digits,
        timeout=f.number("timeout", 5.0, *MENU_LIMITS["timeout"]),
        terminator=terminator,
        on_timeout=f.name("on_timeout") or None,
        on_invalid=f.name("on_invalid") or None,
        retries=f.integer("retries", 1, *MENU_LIMITS["retries"]),
        reprompt=f.prompt_names("reprompt"),
    )


def _terminator(f: Fields) -> str | None:
    value = f.raw.get("terminator")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 1 or value not in DTMF_SYMBOLS:
        f.error("terminator", f"must be one DTMF key such as '#', got {value!r}")
        return None
    return value


def _choices(f: Fields, max_digits: int, terminator: str | None) -> Mapping[str, str]:
    """digit string -> node id; digits must be DTMF keys the menu can receive."""
    raw = f.mapping("choices", required=True)
    choices = {}
    for digits, target in raw.items():
        where = Fields(SourceMap(raw.lines[digits]), f.node, f.report, (), where=f"choice '{digits}': ")
        if not is_dtmf(digits):
            where.error(None, "is not made of DTMF keys 0-9 * # A-D (quote it: '\"*\"')")
        elif len(digits) > max_digits:
            where.error(None, f"has more digits than max_digits ({max_digits}), so it can never match")
        elif terminator and terminator in digits:
            where.error(None, f"contains the terminator '{terminator}', so it can never match")
        if not isinstance(target, str) or not NAME.match(target):
            where.error(None, f"must lead to a node id, got {target!r}")
            continue
        choices[digits] = target
    return MappingProxyType(choices)


def _set(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    return SetNode(
        id=node_id,
        next=f.name("next", required=True),
        attrs=_attrs(f, vocabulary),
        skills=_skills(f, vocabulary),
        when=f.condition("when"),
    )


def _attrs(f: Fields, vocabulary: Vocabulary) -> Mapping[str, str]:
    """Attributes to set; `language` and `priority` are checked, `skills` has its own field."""
    raw = f.mapping("attrs")
    sub = Fields(raw, f.node, f.report, allowed=tuple(raw), where="attrs.")
    attrs = {}
    for key, value in raw.items():
        if not NAME.match(key) or key == "skills":
            sub.error(key, "is not a settable attribute name (use the 'skills' field for skills)")
        elif not isinstance(value, str):
            sub.error(key, "must be a single text value")
        elif key == "language" and value not in vocabulary.languages:
            sub.error(key, f"unknown language '{value}' (known: {', '.join(vocabulary.languages)})")
        elif key == "priority" and not (value.isascii() and value.isdigit() and int(value) <= MAX_PRIORITY):
            sub.error(key, f"must be a whole number from 0 to {MAX_PRIORITY}")
        else:
            attrs[key] = value
    return MappingProxyType(attrs)


def _skills(f: Fields, vocabulary: Vocabulary) -> frozenset[str]:
    skills = f.names("skills")
    for skill in skills:
        if vocabulary.skills is not None and skill not in vocabulary.skills:
            f.error("skills", f"unknown skill '{skill}' (known: {', '.join(sorted(vocabulary.skills))})")
    return frozenset(skills)


def _branch(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    cases = []
    for index, item in enumerate(f.items("cases", required=True), start=1):
        if not isinstance(item, SourceMap):
            f.error("cases", f"case {index} must be a mapping with 'when' and 'goto'")
            continue
        case = Fields(item, node_id, f.report, ("when", "goto"), where=f"case {index}: ")
        condition, target = case.condition("when"), case.name("goto", required=True)
        if condition is None and not case.has("when"):
            case.error("when", "is required")
        if condition is not None and target:
            cases.append((condition, target))
    return BranchNode(id=node_id, cases=tuple(cases), otherwise=f.name("else", required=True))


def _goto(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    return GotoNode(id=node_id, flow=f.name("flow", required=True))


def _queue_node(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    priority = f.integer("priority", -1, 0, MAX_PRIORITY)
    return QueueNode(
        id=node_id,
        queue=_queue(f, "queue", vocabulary, default=""),
        skills=_skills(f, vocabulary),
        priority=None if priority < 0 else priority,
    )


def _hangup(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    return HangupNode(id=node_id, prompts=f.prompt_names("prompts", required=True))


def _transfer(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    agency = f.name("agency", required=True)
    if agency and vocabulary.agencies is not None and agency not in vocabulary.agencies:
        f.error("agency", f"'{agency}' is not in the agency directory")
    return TransferNode(id=node_id, agency=agency)


def _survey(node_id: str, f: Fields, vocabulary: Vocabulary) -> Node:
    return SurveyNode(id=node_id, flow=f.name("flow", required=True))


_Builder = Callable[[str, Fields, Vocabulary], Node]

_BUILDERS: Mapping[str, tuple[tuple[str, ...], _Builder]] = MappingProxyType(
    {
        "play": (("prompts", "next", "when", "fallback_prompts"), _play),
        "menu": (
            ("prompts", "choices", "max_digits", "timeout", "terminator",
             "on_timeout", "on_invalid", "retries", "reprompt"),
            _menu,
        ),
        "set": (("attrs", "skills", "next", "when"), _set),
        "branch": (("cases", "else"), _branch),
        "goto": (("flow",), _goto),
        "queue": (("queue", "skills", "priority"), _queue_node),
        "hangup": (("prompts",), _hangup),
        "transfer": (("agency",), _transfer),
        "survey": (("flow",), _survey),
    }
)
"""Node type -> (fields it accepts besides `type`, builder)."""
