"""Logins, sessions and who may do what.

- A login (``log_in``) checks the password with argon2id and returns a random token
  (``secrets.token_urlsafe(32)``) and a CSRF value; only the token's SHA-256 is stored.
  Sessions expire ``session_hours`` after the login (fixed, not sliding); logout deletes
  the session. Failed logins are limited per user name and per client address
  (``limits.LoginLimiter``): past the limit the answer is 429 with Retry-After, and no
  password is checked. An unknown user costs the same argon2 work as a known one.
- The token is accepted as ``Authorization: Bearer <token>`` or as the HttpOnly,
  SameSite=Strict cookie ``hotline_session`` (a browser's EventSource cannot send headers).
  With the cookie, every request other than GET/HEAD/OPTIONS must carry ``X-CSRF-Token``
  equal to the session's CSRF value (403 ``csrf_failed``): a cookie rides along on
  requests other sites make a browser send; a header that a script had to read from the
  login's answer does not.
- Roles: ``agent`` (bound to one seat: acts on itself and its own call only),
  ``supervisor`` (reads every agent and call, forces an agent out), ``admin`` (users),
  ``agency`` (an agency's staff, outside the hotline: bound to one agency of the directory,
  it reads and acts on its own agency's cases only, under ``/agency/...``, where it also
  finds who it is and its logout; ``Allow()`` means any *hotline* user, never an agency's).
  The roles are disjoint on purpose (least privilege: an admin manages accounts, not
  calls). Each route declares its access with ``Allow`` or ``AllowAgent`` as a dependency;
  ``app.make_app`` copies that declaration into the OpenAPI document
  (``x-hotline-access``), where a test checks that every route has one.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError
from hotline.api.ports import ApiSession, User
from hotline.api.users import USERNAME

log = logging.getLogger(__name__)

COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AGENT_ID_PATTERN = r"^[0-9]{3,8}$"  # the roster's agent ids
HOTLINE_ROLES = ("agent", "supervisor", "admin")  # what ``Allow()`` lets in: not the agency role

_bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="the token from POST /api/v1/session")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, scheme_name="cookie",
                       description="set by POST /api/v1/session; needs X-CSRF-Token on every non-GET request")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling, and how they proved it."""

    username: str
    role: str
    agent_id: str | None
    token_hash: str
    expires_at: float
    via: str  # "bearer" or "cookie"
    agency_id: str | None = None  # the agency role's agency


@dataclass(frozen=True)
class Login:
    """A successful login: the token is shown once, here, and never stored."""

    token: str
    session: ApiSession
    user: User


# -- login and logout ---------------------------------------------------------------------

def _too_many(wait: float) -> ApiError:
    seconds = max(1, int(wait + 0.999))
    return ApiError(429, "too_many_attempts", f"too many failed logins; try again in {seconds} s",
                    {"Retry-After": str(seconds)})


async def log_in(api: ApiRuntime, username: str, password: str, address: str) -> Login:
    """Check the password and open a session; raise ApiError 429 (limited) or 401
    ``bad_credentials`` (unknown user, wrong password or disabled account: one answer for
    all three, so it does not tell which names exist)."""
    deps = api.deps
    wait = api.limiter.retry_after(username, address, deps.clock())
    if wait > 0:
        log.warning("login for %r from %s refused: rate limit", username, address)
        raise _too_many(wait)
    # A name no account can have is an unknown user: same work, same answer, no database look-up.
    user = await api.accounts(deps.users.user, username) if USERNAME.fullmatch(username) else None
    ok = await api.accounts(deps.passwords.verify, user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        api.limiter.failed(username, address, deps.clock())
        log.warning("login for %r from %s failed", username, address)
        raise ApiError(401, "bad_credentials", "wrong user name or password")
    api.limiter.succeeded(username)
    if deps.passwords.needs_rehash(user.password_hash):  # hashed with older parameters
        new_hash = await api.accounts(deps.passwords.hash, password)
        await api.accounts(deps.users.set_password, username, new_hash, end_sessions=False)
    return await _open_session(api, user)


async def _open_session(api: ApiRuntime, user: User) -> Login:
    now = api.deps.clock()
    token = secrets.token_urlsafe(32)
    session = ApiSession(token_hash(token), user.username, now, now + api.deps.config.session_hours * 3600,
                         secrets.token_urlsafe(24))
    await api.accounts(api.deps.users.delete_expired_sessions, now)
    await api.accounts(api.deps.users.add_session, session)
    log.info("user %s (%s) logged in", user.username, user.role)
    return Login(token, session, user)


async def log_out(api: ApiRuntime, principal: Principal) -> None:
    await api.accounts(api.deps.users.delete_session, principal.token_hash)
    log.info("user %s logged out", principal.username)


# -- every request ------------------------------------------------------------------------

async def check_session(api: ApiRuntime, token_hash_: str) -> tuple[ApiSession, User]:
    """The live session and its user, or ApiError 401 (``session_expired`` when it has
    run out, which also deletes it; ``not_authenticated`` otherwise)."""
    def load() -> tuple[ApiSession | None, User | None]:
        session = api.deps.users.session(token_hash_)
        return session, api.deps.users.user(session.username) if session else None

    session, user = await api.accounts(load)
    if session is None or user is None or user.disabled:
        raise ApiError(401, "not_authenticated", "not logged in (or logged out)", {"WWW-Authenticate": "Bearer"})
    if session.expires_at <= api.deps.clock():
        await api.accounts(api.deps.users.delete_session, token_hash_)
        raise ApiError(401, "session_expired", "the session has expired: log in again",
                       {"WWW-Authenticate": "Bearer"})
    return session, user


async def authenticated(
    request: Request,
    api: Annotated[ApiRuntime, Depends(runtime)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """Dependency: the caller, from the bearer token (preferred) or the session cookie."""
    token, via = (bearer.credentials, "bearer") if bearer else (cookie, "cookie")
    if not token:
        raise ApiError(401, "not_authenticated", "log in first: POST /api/v1/session", {"WWW-Authenticate": "Bearer"})
    hashed = token_hash(token)
    session, user = await check_session(api, hashed)
    if via == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), session.csrf.encode()):
            raise ApiError(403, "csrf_failed", f"a request authenticated by the cookie needs the {CSRF_HEADER} "
                                               "header given at login")
    return Principal(user.username, user.role, user.agent_id, hashed, session.expires_at, via, user.agency_id)


# -- access rules, one per route ----------------------------------------------------------

class Allow:
    """Dependency: the caller must hold one of ``roles`` (``Allow()``: any logged-in hotline
    user, ``HOTLINE_ROLES``; an agency's staff only where a route names the agency role)."""

    def __init__(self, *roles: str) -> None:
        self.roles = frozenset(roles)
        self.own_agent = False

    async def __call__(self, principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in (self.roles or HOTLINE_ROLES):
            raise ApiError(403, "forbidden", f"not allowed for the {principal.role} role")
        return principal

    def access(self) -> dict[str, object]:
        """The declaration ``make_app`` writes into the OpenAPI document."""
        return {"roles": sorted(self.roles) or list(HOTLINE_ROLES), "own_agent": self.own_agent}


@dataclass(frozen=True)
class AgentAccess:
    """The caller and the agent (from the path) they may act on."""

    principal: Principal
    agent_id: str


class AllowAgent(Allow):
    """Dependency for ``/agents/{agent_id}/...``: a caller holding one of ``roles`` acting
    on any seat, or (``own=True``) an agent acting on their own seat."""

    def __init__(self, *roles: str, own: bool = True) -> None:
        super().__init__(*roles)
        self.own_agent = own

    async def __call__(  # type: ignore[override]
        self,
        principal: Annotated[Principal, Depends(authenticated)],
        agent_id: Annotated[str, Path(pattern=AGENT_ID_PATTERN, description="the agent's id (roster)")],
    ) -> AgentAccess:
        if principal.role in self.roles:
            return AgentAccess(principal, agent_id)
        if self.own_agent and principal.role == "agent" and principal.agent_id == agent_id:
            return AgentAccess(principal, agent_id)
        own = self.own_agent and principal.role == "agent"
        raise ApiError(403, "forbidden", "an agent may act on their own seat only" if own
                       else f"not allowed for the {principal.role} role")

    def access(self) -> dict[str, object]:
        return {"roles": sorted(self.roles), "own_agent": self.own_agent}
