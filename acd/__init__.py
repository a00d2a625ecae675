"""acd: the pure routing core (automatic call distribution).

Snapshot + ``now`` in, assignments out; no I/O, no clock. The live
controller and the discrete-event simulator call the same ``route``.
"""

from acd.index import AgentIndex, fairness_key
from acd.model import (
    DEFAULT_RELAXATION,
    DEFAULT_TUNING,
    MAX_LEVEL,
    MIN_LEVEL,
    Agent,
    Assignment,
    Call,
    QueuePolicy,
    Reason,
    RelaxStep,
    Snapshot,
    SnapshotError,
    Tuning,
    skills_of,
)
from acd.router import boost_seconds, order_calls, queue_key, relax_step, route

__all__ = [
    "DEFAULT_RELAXATION",
    "DEFAULT_TUNING",
    "MAX_LEVEL",
    "MIN_LEVEL",
    "Agent",
    "AgentIndex",
    "Assignment",
    "Call",
    "QueuePolicy",
    "Reason",
    "RelaxStep",
    "Snapshot",
    "SnapshotError",
    "Tuning",
    "boost_seconds",
    "fairness_key",
    "order_calls",
    "queue_key",
    "relax_step",
    "route",
    "skills_of",
]
