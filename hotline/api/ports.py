"""What the HTTP API needs from the rest of the controller, as small interfaces.

Why Protocols: the API must not know Redis, AMI or the call sessions. The controller backs
each port with its live services (``AgentDesk`` with ``AgentService`` + ``LiveState``,
``CallDesk`` with the three-party call code, ``EventFeed`` with the live state's pub/sub);
the tests back them with in-process fakes of the same shape (``tests/fakes_api.py``). The
agency directory is ``outbound.agencies.Directory`` itself (pure), and the accounts are
``hotline.api.users.UserStore`` (SQL) or ``InMemoryUserStore``.

Errors cross the boundary as the exceptions below; ``hotline.api.errors`` maps each to an
HTTP status and a stable error id. Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol

from agents.state import AgentRecord

ROLES = ("agent", "supervisor", "admin", "agency")


# -- errors the ports raise ---------------------------------------------------------------

class DeskError(Exception):
    """Base of the errors a port raises on purpose; ``error_id`` is the API's stable id."""

    error_id = "internal"

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_id is not None:
            self.error_id = error_id


class IllegalOperation(DeskError):
    """The operation is not legal in the agent's or the call's current state (HTTP 409).
    ``error_id`` defaults to ``illegal_in_state``; a desk may give a more precise one
    (e.g. ``no_consultation`` for a transfer completion with no consultation going on)."""

    error_id = "illegal_in_state"


class NoCurrentCall(DeskError):
    """The agent has no call to act on (HTTP 404 ``no_current_call``)."""

    error_id = "no_current_call"


class NotYourCall(DeskError):
    """The call named is not the agent's current call (HTTP 403 ``not_your_call``)."""

    error_id = "not_your_call"


class NotFound(DeskError):
    """No such agent (or other resource) (HTTP 404 ``not_found``)."""

    error_id = "not_found"


class Unavailable(DeskError):
    """A backing service (Redis, the database, Asterisk) does not answer (HTTP 503)."""

    error_id = "unavailable"


class UserExists(DeskError):
    """A user of that name exists already (HTTP 409 ``user_exists``)."""

    error_id = "user_exists"


class InvalidUser(DeskError):
    """A user that may not exist: bad name, role or seat (HTTP 422; ``unknown_agent`` when
    the seat is not in the roster, else ``invalid_request``)."""

    error_id = "invalid_request"


# -- the values the accounts port deals in ------------------------------------------------

@dataclass(frozen=True)
class User:
    """One API account. ``agent_id`` is set for (and only required of) the ``agent`` role,
    ``agency_id`` (an id of the agency directory) for the ``agency`` role."""

    username: str
    role: str
    agent_id: str | None
    password_hash: str
    disabled: bool
    created_at: float  # epoch seconds
    agency_id: str | None = None


@dataclass(frozen=True)
class ApiSession:
    """One login. The token itself is never stored: ``token_hash`` is its SHA-256 (hex)."""

    token_hash: str
    username: str
    created_at: float
    expires_at: float
    csrf: str


# -- the ports ----------------------------------------------------------------------------

class AgentDesk(Protocol):
    """Agent states, read and changed (``AgentService`` + ``LiveState`` in the controller).

    Every method raises ``NotFound`` for an agent id the desk does not know, ``Unavailable``
    when the live state does not answer; the changing ones raise ``IllegalOperation`` when
    the agent's state does not allow the change, and return the record after it.
    """

    async def state(self, agent_id: str) -> AgentRecord:
        """The agent's live record."""
        ...

    async def states(self) -> list[AgentRecord]:
        """Every agent's record, by agent id."""
        ...

    async def log_in(self, agent_id: str, paused: str | None = None) -> AgentRecord:
        """Start a shift (with ``paused``: logged in and paused, atomically). An agent who
        is logged in already keeps their state (the call is idempotent)."""
        ...

    async def ready(self, agent_id: str) -> AgentRecord:
        """Take calls again: a paused agent becomes available; on a call or in wrap-up, a
        pending pause is cancelled. Illegal when logged out (log in instead)."""
        ...

    async def pause(self, agent_id: str, reason: str) -> AgentRecord:
        """Stop taking calls for ``reason`` (pending until wrap-up ends when on a call)."""
        ...

    async def log_out(self, agent_id: str) -> AgentRecord:
        """End the shift; illegal on a call."""
        ...

    async def force_log_out(self, agent_id: str, reason: str) -> AgentRecord:
        """A supervisor's override: out of any state, on a call included (logged with the
        reason)."""
        ...

    async def ping(self) -> bool:
        """Whether the live state (Redis) answers; never raises."""
        ...


class CallDesk(Protocol):
    """The agent's current call and its three-party operations (三方连线).

    A call view (what ``current_call`` and every operation return) is a dict with keys
    ``call_id``, ``caller``, ``queue`` (the line), ``language``, ``state``, ``since`` (epoch
    seconds) and ``three_party`` (None, or a dict with ``state``, ``agency_id``, ``number``
    and ``since``); other keys are ignored by the API.

    Every operation takes the agent and the call it acts on (the API resolves the call with
    ``current_call`` first), returns the call's view after the operation, and raises
    ``NoCurrentCall`` when the call is gone, ``NotYourCall`` when ``call_id`` is not the
    agent's, ``IllegalOperation`` (HTTP 409) when the call's state does not allow it, and
    ``Unavailable`` when Asterisk or Redis does not answer. ``numbers`` are the agency's
    directory numbers to dial, in order (one when the call taker picked it): the API has
    checked each against the directory, and nothing else may be dialled.
    """

    async def current_call(self, agent_id: str) -> dict[str, Any] | None:
        ...

    async def consult(self, agent_id: str, call_id: str, agency_id: str,
                      numbers: tuple[str, ...]) -> dict[str, Any]:
        """Caller on hold, the agent talks to the agency alone."""
        ...

    async def conference(self, agent_id: str, call_id: str, agency_id: str,
                         numbers: tuple[str, ...]) -> dict[str, Any]:
        """Dial the agency straight into a three-way conference with the caller."""
        ...

    async def join(self, agent_id: str, call_id: str) -> dict[str, Any]:
        """After a consultation: bring the caller in, three-way."""
        ...

    async def leave(self, agent_id: str, call_id: str) -> dict[str, Any]:
        """The agent leaves the conference; caller and agency stay connected."""
        ...

    async def cancel(self, agent_id: str, call_id: str) -> dict[str, Any]:
        """Abandon a consultation or a dial still ringing; back to the caller."""
        ...

    async def hangup_agency(self, agent_id: str, call_id: str) -> dict[str, Any]:
        """Drop the agency's leg; the agent stays with the caller."""
        ...

    async def transfer(self, agent_id: str, call_id: str, agency_id: str, numbers: tuple[str, ...],
                       mode: str) -> dict[str, Any]:
        """Hand the caller to the agency (``mode`` ``blind``: the agent leaves at once)."""
        ...

    async def complete_transfer(self, agent_id: str, call_id: str) -> dict[str, Any]:
        """Attended transfer: after a consultation, connect caller and agency and leave."""
        ...


class EventFeed(Protocol):
    """Live events for one agent: their state changes and their calls' events."""

    def subscribe(self, agent_id: str) -> AsyncIterator[dict[str, Any]]:
        """Events from now on, each a JSON-able dict with at least ``kind`` (e.g.
        ``agent_state``, ``call``). The API closes the iterator (``aclose``) when the
        client goes; an iterator that ends closes the stream."""
        ...


class Accounts(Protocol):
    """Users and login sessions (``users.UserStore`` on SQL, ``users.InMemoryUserStore``).

    Synchronous on purpose (the CLI uses it as it is); the API calls it in a worker thread.
    Every method raises ``Unavailable`` when the database does not answer.
    """

    def add_user(self, username: str, role: str, password_hash: str, *, agent_id: str | None,
                 roster: frozenset[str] | set[str], now: float, agency_id: str | None = None,
                 agencies: frozenset[str] | set[str] = frozenset()) -> User:
        """Create a user; raises ``InvalidUser`` (bad name or role, an agent without a seat
        or with one not in ``roster``, a seat for another role, an agency user without an
        agency of ``agencies``) or ``UserExists``."""
        ...

    def user(self, username: str) -> User | None: ...

    def users(self) -> list[User]:
        """Every user, by name."""
        ...

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (ending every session of theirs) or enable; False when no such user."""
        ...

    def set_password(self, username: str, password_hash: str, *, end_sessions: bool = True) -> bool:
        """Store a new hash (ending their sessions unless told not to); False when no such user."""
        ...

    def delete_user(self, username: str) -> bool:
        """Remove the user and their sessions; False when no such user."""
        ...

    def add_session(self, session: ApiSession) -> None: ...

    def session(self, token_hash: str) -> ApiSession | None: ...

    def delete_session(self, token_hash: str) -> None:
        """Forget the session (no error when it is gone)."""
        ...

    def delete_expired_sessions(self, now: float) -> int:
        """Forget the sessions expired at ``now``; how many."""
        ...

    def ping(self) -> bool:
        """Whether the database answers; never raises."""
        ...
