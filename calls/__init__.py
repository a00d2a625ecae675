"""calls: the pure rules of a citizen call (no I/O, no clock).

``calls.state`` is the call's state machine: closed vocabularies, typed events, the
transition table and a frozen ``Call`` value that stores as a flat str->str hash.
Everything in its ``__all__`` is re-exported here.
"""

from calls import state
from calls.state import *  # noqa: F403

__all__ = list(state.__all__)
