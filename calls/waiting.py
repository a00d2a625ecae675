"""What a waiting caller is told: position in line and expected wait (pure functions).

Position counts the waiting calls that the router would serve before this one and that
compete for the same agents (same language), using the router's own queue-order key, so
the announcement never contradicts the order calls are actually answered in.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

from acd import DEFAULT_TUNING, QueuePolicy, queue_key
from calls.model import QueuedCall
from calls.snapshot import to_acd_call

MAX_SPOKEN_POSITION = 9
MAX_SPOKEN_MINUTES = 5
DEFAULT_HANDLE_SECONDS = 240.0  # talk + wrap-up of a typical 12345 call


def position_ahead(me: QueuedCall, waiting: Iterable[QueuedCall], queues: Mapping[str, QueuePolicy]) -> int:
    """How many waiting calls of the same language are ahead of ``me`` in queue order."""
    mine = queue_key(to_acd_call(me), queues[me.queue], DEFAULT_TUNING)
    return sum(
        1 for other in waiting
        if other.call_id != me.call_id and other.language == me.language and other.queue in queues
        and queue_key(to_acd_call(other), queues[other.queue], DEFAULT_TUNING) < mine
    )


def expected_wait_minutes(position: int, agents_on_shift: int, handle_seconds: float = DEFAULT_HANDLE_SECONDS) -> int:
    """A cautious estimate: the callers ahead and this one, shared among the agents on shift."""
    seconds = (position + 1) * handle_seconds / max(1, agents_on_shift)
    return max(1, math.ceil(seconds / 60))


def announcement_attrs(position: int, minutes: int, offer_callback: str) -> dict[str, str]:
    """Attributes for the ``waiting`` IVR flow (ivr/flows/waiting.yaml). ``offer_callback``
    is "yes" (offer it now), "refused" (it would be offered now, but the caller's number may
    not be dialled: tell them why, once) or "no"."""
    if offer_callback not in ("yes", "refused", "no"):
        raise ValueError(f"offer_callback must be yes, refused or no, not {offer_callback!r}")
    return {
        "position": str(position) if position <= MAX_SPOKEN_POSITION else "many",
        "wait": str(minutes) if minutes <= MAX_SPOKEN_MINUTES else "long",
        "offer_callback": offer_callback,
    }
