"""IVR: call flows as data, a pure engine that walks them, and the prompt audio.

The controller's AGI session drives an `IvrRun` like an h11 connection:
`instr = run.start()`, execute `instr` on the channel, `instr = run.feed(event)`
with what happened, until `Finished`. See ivr/engine.py for the rules and
ivr/schema.py for the flow format; ivr/prompts.py turns prompt names into
audio files.
"""

from ivr.engine import IvrRun, IvrUsageError
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
from ivr.flow import DEFAULT_FLOW, SHIPPED_FLOWS_DIR, flow_for_dnis, load_flow, load_flows
from ivr.schema import LANGUAGES, Flow, FlowError, Vocabulary

__all__ = [
    "DEFAULT_FLOW",
    "LANGUAGES",
    "SHIPPED_FLOWS_DIR",
    "Action",
    "CallerHungUp",
    "Collect",
    "DigitsEntered",
    "Event",
    "Finished",
    "Flow",
    "FlowError",
    "HungUp",
    "Instruction",
    "IvrRun",
    "IvrUsageError",
    "PathStep",
    "Play",
    "PlayAndHangup",
    "Played",
    "Queue",
    "StepKind",
    "Survey",
    "TimedOut",
    "TransferToAgency",
    "Vocabulary",
    "action_to_dict",
    "flow_for_dnis",
    "load_flow",
    "load_flows",
    "prompts",
]


def __getattr__(name: str) -> object:
    """`ivr.prompts` on first use: keeps pydub out of processes that never
    touch audio, and lets `python -m ivr.prompts` run without a double import."""
    if name == "prompts":
        import importlib

        return importlib.import_module("ivr.prompts")
    raise AttributeError(f"module 'ivr' has no attribute {name!r}")
