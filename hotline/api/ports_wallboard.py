"""What the wallboard routes need: the ``Wallboard`` port.

The controller backs it with ``hotline.wallboard.live.LiveWallboard`` (the live state in
Redis, the stored records through the KPI module, the live state's pub/sub); an API built
without a controller, and the tests, with ``hotline.api.wallboard_memory.InMemoryWallboard``
(state set by hand, the same assembly). The snapshot's shape is documented in
``hotline.wallboard.board`` and, field by field, in the route's response model.

Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Protocol


class Wallboard(Protocol):
    async def snapshot(self, now: float) -> dict[str, Any]:
        """The wall at ``now`` (epoch seconds): per line the waiting calls and their waits,
        today's and the last 15 minutes' KPIs with the line's target; agents by state with
        their time in state; pending callbacks; the rolling 24-hour connect rate; calls per
        category in the last hour against their usual rate; the alerts. Raises
        ``Unavailable`` when the live state does not answer."""
        ...

    def changes(self) -> AsyncIterator[None]:
        """Yields each time something the wall shows may have changed (the live state's
        pub/sub, or a poll). The route closes it (``aclose``) when the client goes; an
        iterator that ends ends the stream (the browser then reconnects)."""
        ...
