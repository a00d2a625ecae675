"""Failed-login counting: how long a user name or a client address must wait.

Pure (the clock is passed in) and bounded: a flood of random names cannot grow it past
``LoginLimits.max_keys`` keys; the oldest are forgotten first. Kept in the controller's
memory: a restart forgets the counts, which costs an attacker a restart of ours per five
guesses, not a bypass. Several controllers behind one address each count their own.
"""
from __future__ import annotations

from collections import OrderedDict, deque

from hotline.api.config import LoginLimits


class LoginLimiter:
    """Sliding-window counts of failed logins per key (``user:<name>``, ``addr:<ip>``)."""

    def __init__(self, limits: LoginLimits) -> None:
        self.limits = limits
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.limits.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str, now: float) -> float:
        """Seconds until a login for ``username`` from ``address`` may be tried; 0 = now."""
        waits = [0.0]
        for key, limit in ((f"user:{username}", self.limits.per_username),
                           (f"addr:{address}", self.limits.per_address)):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[len(times) - limit] + self.limits.window - now)
        return max(waits)

    def failed(self, username: str, address: str, now: float) -> None:
        for key in (f"user:{username}", f"addr:{address}"):
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            self._failures[key] = times  # moved to the newest end
        while len(self._failures) > self.limits.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        """A right password clears the name's count (not the address's: one good login
        among many guesses from one place must not reset the guessing)."""
        self._failures.pop(f"user:{username}", None)
