"""The validated, immutable form of a flow (what `load_flow` returns).

A flow file is parsed and checked once at load; the engine then trusts these
objects completely. Everything is frozen and every mapping read-only, so one
`Flow` can serve any number of concurrent calls.

Node kinds (the YAML `type:`), and where each leads:

=========  ================================================================
play       play prompts, then `next`; skipped when its `when:` is false
menu       collect digits; `choices` digit -> node, `on_timeout`,
           `on_invalid` (after `retries` re-prompts); a missing branch
           goes to a person (the flow's fallback queue)
set        set call attributes / add skills, then `next`; skipped when its
           `when:` is false
branch     first `cases` entry whose `when:` holds, else `else`
goto       continue in another flow (at its start or a named node)
queue      END: queue for a person with skills
hangup     END: play prompts, hang up
transfer   END: transfer to an agency of the directory
survey     END: hand over to a survey flow
=========  ================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, TypeAlias

from ivr.conditions import Condition

LANGUAGES: tuple[str, ...] = ("zh", "en", "ja", "ko", "ru", "fr", "de")
"""Languages the hotline serves: Mandarin plus the six foreign-language seats."""

DEFAULT_MAX_STEPS = 50
"""Instructions a run may issue before it gives up and hands over to a person."""


class FlowError(Exception):
    """A flow definition is wrong; says which file, which node, and what.

    `node` is None for problems of the file as a whole. When a file has
    several problems, the first is in `file`/`node`/`problem`/`line` and all
    of them (including the first) are in `problems`, one line each in str().
    """

    def __init__(
        self,
        file: str,
        node: str | None,
        problem: str,
        *,
        line: int | None = None,
        more: tuple[FlowError, ...] = (),
    ) -> None:
        self.file = file
        self.node = node
        self.problem = problem
        self.line = line
        self.problems: tuple[FlowError, ...] = (self, *more)
        super().__init__(self._describe_all())

    def describe(self) -> str:
        """This one problem as `file:line: node 'x': problem`."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        node = f" node '{self.node}':" if self.node else ""
        return f"{where}:{node} {self.problem}"

    def _describe_all(self) -> str:
        if len(self.problems) == 1:
            return self.describe()
        lines = [f"{len(self.problems)} problems in flow definitions:"]
        lines += [f"  {error.describe()}" for error in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names a flow may use; load-time checks against it catch typos.

    The truth about queues and skills is ``queues/queues.yaml`` and the roster, so the
    controller builds the vocabulary from them (``hotline.config.vocabulary``) and loads
    the flows with it. ``None`` means "any well-formed name": a flow read on its own (a
    unit test, a linter) is checked for shape only. `agencies` likewise (the directory is
    owned elsewhere; pass its ids to check transfers against it).
    """

    languages: tuple[str, ...] = LANGUAGES
    skills: frozenset[str] | None = None
    queues: frozenset[str] | None = None
    agencies: frozenset[str] | None = None


DEFAULT_VOCABULARY = Vocabulary()


@dataclass(frozen=True, slots=True)
class Utterance:
    """The text of one prompt for one caller language, and the voice to speak it.

    `voice` differs from the caller language for prompts such as "For
    English, press 9", which Mandarin callers hear in English.
    """

    text: str
    voice: str


@dataclass(frozen=True, slots=True)
class PromptText:
    """A catalogue entry: a prompt name and its text per caller language."""

    name: str
    texts: Mapping[str, Utterance]


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlayNode:
    """Play prompts, then go to `next`.

    A prompt name may contain `{attr}` placeholders filled from call
    attributes (e.g. `notice_{notice}`); if the filled name is not in the
    catalogue, `fallback_prompts` are played instead.
    """

    kind: ClassVar[str] = "play"
    id: str
    prompts: tuple[str, ...]
    next: str
    when: Condition | None = None
    fallback_prompts: tuple[str, ...] = ()

    def successors(self) -> tuple[str, ...]:
        return (self.next,)


@dataclass(frozen=True, slots=True)
class MenuNode:
    """Collect up to `max_digits` digits while playing prompts; branch on them."""

    kind: ClassVar[str] = "menu"
    id: str
    prompts: tuple[str, ...]
    choices: Mapping[str, str]
    max_digits: int = 1
    timeout: float = 5.0
    terminator: str | None = None
    on_timeout: str | None = None
    on_invalid: str | None = None
    retries: int = 1
    reprompt: tuple[str, ...] = ()

    def successors(self) -> tuple[str, ...]:
        branches = (self.on_timeout, self.on_invalid)
        return (*self.choices.values(), *(b for b in branches if b))


@dataclass(frozen=True, slots=True)
class SetNode:
    """Set call attributes and add skills, then go to `next`."""

    kind: ClassVar[str] = "set"
    id: str
    next: str
    attrs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    skills: frozenset[str] = frozenset()
    when: Condition | None = None

    def successors(self) -> tuple[str, ...]:
        return (self.next,)


@dataclass(frozen=True, slots=True)
class BranchNode:
    """Go to the target of the first case whose condition holds, else `otherwise`."""

    kind: ClassVar[str] = "branch"
    id: str
    cases: tuple[tuple[Condition, str], ...]
    otherwise: str

    def successors(self) -> tuple[str, ...]:
        return (*(target for _, target in self.cases), self.otherwise)


@dataclass(frozen=True, slots=True)
class GotoNode:
    """Continue in flow `flow`, at `node` or at that flow's start."""

    kind: ClassVar[str] = "goto"
    id: str
    flow: str
    node: str | None = None

    def successors(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class QueueNode:
    """End: queue for a person. Skills add to those collected in attributes.

    `priority` None means "use the `priority` attribute, else 0".
    """

    kind: ClassVar[str] = "queue"
    id: str
    queue: str
    skills: frozenset[str] = frozenset()
    priority: int | None = None

    def successors(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class HangupNode:
    """End: play prompts, then hang up."""

    kind: ClassVar[str] = "hangup"
    id: str
    prompts: tuple[str, ...]

    def successors(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class TransferNode:
    """End: transfer to an agency id of the directory."""

    kind: ClassVar[str] = "transfer"
    id: str
    agency: str

    def successors(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class SurveyNode:
    """End: hand the caller to the survey flow `flow`."""

    kind: ClassVar[str] = "survey"
    id: str
    flow: str

    def successors(self) -> tuple[str, ...]:
        return ()


Node: TypeAlias = (
    PlayNode
    | MenuNode
    | SetNode
    | BranchNode
    | GotoNode
    | QueueNode
    | HangupNode
    | TransferNode
    | SurveyNode
)

NODE_TYPES: Mapping[str, type] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            PlayNode,
            MenuNode,
            SetNode,
            BranchNode,
            GotoNode,
            QueueNode,
            HangupNode,
            TransferNode,
            SurveyNode,
        )
    }
)


# --------------------------------------------------------------------------
# Flow
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """One validated call flow.

    `dnis`: dialled numbers this flow answers. `line`: the special line the
    call belongs to (set as attribute `line` at start unless preset).
    `fallback_queue`: where every missing branch, exhausted retry and the
    step cap lead -- a person, never a dead end. `survey`: post-call survey
    flow announced in `Queue.survey`. `warnings`: non-fatal findings
    (unreachable nodes, unused prompts).
    """

    name: str
    start: str
    nodes: Mapping[str, Node]
    prompts: Mapping[str, PromptText]
    file: Path | None = None
    description: str = ""
    dnis: tuple[str, ...] = ()
    language: str = "zh"
    line: str | None = None
    fallback_queue: str = "main"
    survey: str | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    warnings: tuple[str, ...] = ()

    def flow_references(self) -> frozenset[str]:
        """Names of other flows this flow can hand over to (goto, survey)."""
        names = {n.flow for n in self.nodes.values() if isinstance(n, GotoNode | SurveyNode)}
        if self.survey:
            names.add(self.survey)
        return frozenset(names)
