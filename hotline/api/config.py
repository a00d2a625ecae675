"""The API's own knobs, as data: session length, pause reasons, login limits, cookies.

Why here and not in ``hotline.settings``: only two of them come from the environment
(``HOTLINE_SESSION_HOURS``, and the listening address); the rest are product decisions that
a later configuration file may change (the pause reasons a call taker may pick, say). The
controller builds one ``ApiConfig`` from its Settings; tests build their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# What a call taker may give as the reason of a pause. System reasons (``rona`` after
# ring-no-answers) are set by the controller and are not in this list.
DEFAULT_PAUSE_REASONS: tuple[str, ...] = ("break", "meal", "training", "meeting", "after_call_work", "technical")


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per ``window`` seconds, per user name and per client address.

    The address limit is higher than the name limit on purpose: a contact centre's desks
    often reach the server from one NAT address, and a few typos on the floor must not lock
    everyone out. A login refused by a limit is not checked (no hashing work) and answers
    429 with Retry-After."""

    per_username: int = 5
    per_address: int = 20
    window: float = 300.0
    max_keys: int = 10_000  # names and addresses remembered at most (oldest forgotten first)


@dataclass(frozen=True)
class ApiConfig:
    """``session_hours``: a login lasts that long from the moment it was made (a fixed
    expiry, not sliding: nothing is written on every request, and a stolen token has a
    bounded life). ``secure_cookies``: set the cookie's Secure flag (turn it on behind
    HTTPS; the default listener is plain HTTP on 127.0.0.1). ``heartbeat_seconds``: the SSE
    stream's comment line when no event came (proxies close silent connections)."""

    session_hours: float = 12.0
    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    secure_cookies: bool = False
    heartbeat_seconds: float = 15.0
    title: str = "12345 hotline API"
