"""The API's accounts and login sessions: ``UserStore`` on SQLAlchemy, ``InMemoryUserStore``.

Why two: the SQL store is what the controller and the ``hotline user`` command use (tables
``users`` and ``api_sessions``, migration 0002, SQLite or PostgreSQL); the in-memory one
makes the API's tests fast. ``tests/unit/test_api_users.py`` runs one contract suite
against both, so they cannot drift. Both are synchronous like ``hotline.store.calls``;
the API calls them through ``asyncio.to_thread``.

The rules a user must satisfy (``check_new_user``) are shared, and the SQL table checks the
role, the agent's seat and the agency user's agency again, whatever writes it.
"""
from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, TypeVar

from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from hotline.api.ports import ROLES, ApiSession, InvalidUser, Unavailable, User, UserExists
from sql.schema import api_sessions, users

USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
T = TypeVar("T")


def check_new_user(username: str, role: str, agent_id: str | None, roster: frozenset[str] | set[str],
                   agency_id: str | None = None, agencies: frozenset[str] | set[str] = frozenset()) -> None:
    """Raise InvalidUser unless the user may exist: a lower-case name of 2-32 characters
    (letters, digits, ``.``, ``_``, ``-``; a letter first), a known role, a seat of the
    roster for an agent (and none for the other roles), and an agency of the directory
    (``agencies``: its ids) for an agency user (and none for the other roles)."""
    if not USERNAME.fullmatch(username):
        raise InvalidUser(f"user name {username!r}: use 2-32 lower-case letters, digits, '.', '_' or '-', "
                          "starting with a letter")
    if role not in ROLES:
        raise InvalidUser(f"role {role!r}: one of {', '.join(ROLES)}")
    if role == "agent" and not agent_id:
        raise InvalidUser("an agent's account needs the agent id of their seat (--agent)")
    if role != "agent" and agent_id:
        raise InvalidUser(f"only an agent's account is bound to a seat, not a {role}'s")
    if agent_id and agent_id not in roster:
        raise InvalidUser(f"agent {agent_id} is not in the roster (agents/roster.yaml)", "unknown_agent")
    if role == "agency" and not agency_id:
        raise InvalidUser("an agency user's account needs the id of their agency (--agency)")
    if role != "agency" and agency_id:
        raise InvalidUser(f"only an agency user's account is bound to an agency, not a {role}'s")
    if agency_id and agency_id not in agencies:
        raise InvalidUser(f"agency {agency_id} is not in the agency directory (outbound/agencies.yaml)",
                          "unknown_agency")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _epoch(value: datetime) -> float:
    """SQLite gives naive datetimes (stored in UTC), PostgreSQL aware ones."""
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def _user(row: object) -> User:
    r = row._mapping  # type: ignore[attr-defined]
    return User(r["username"], r["role"], r["agent_id"], r["password_hash"], bool(r["disabled"]),
                _epoch(r["created_at"]), r["agency_id"])


def _session(row: object) -> ApiSession:
    r = row._mapping  # type: ignore[attr-defined]
    return ApiSession(r["token_hash"], r["username"], _epoch(r["created_at"]), _epoch(r["expires_at"]), r["csrf"])


class UserStore:
    """Users and sessions in the database (run ``hotline.store.calls.migrate`` first)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _db(self, work: Callable[[], T]) -> T:
        """Run ``work``; a database that does not answer becomes ``Unavailable``."""
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc

    def add_user(self, username: str, role: str, password_hash: str, *, agent_id: str | None,
                 roster: frozenset[str] | set[str], now: float, agency_id: str | None = None,
                 agencies: frozenset[str] | set[str] = frozenset()) -> User:
        check_new_user(username, role, agent_id, roster, agency_id, agencies)
        user = User(username, role, agent_id or None, password_hash, False, now, agency_id or None)

        def work() -> User:
            try:
                with self.engine.begin() as conn:
                    conn.execute(users.insert().values(
                        username=username, role=role, agent_id=user.agent_id, password_hash=password_hash,
                        disabled=False, created_at=_utc(now), agency_id=user.agency_id))
            except IntegrityError as exc:
                raise UserExists(f"user {username} exists already") from exc
            return user
        return self._db(work)

    def user(self, username: str) -> User | None:
        def work() -> User | None:
            with self.engine.connect() as conn:
                row = conn.execute(select(users).where(users.c.username == username)).first()
            return _user(row) if row else None
        return self._db(work)

    def users(self) -> list[User]:
        def work() -> list[User]:
            with self.engine.connect() as conn:
                return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]
        return self._db(work)

    def set_disabled(self, username: str, disabled: bool) -> bool:
        def work() -> bool:
            with self.engine.begin() as conn:
                done = conn.execute(update(users).where(users.c.username == username).values(disabled=disabled))
                if disabled:
                    conn.execute(delete(api_sessions).where(api_sessions.c.username == username))
            return bool(done.rowcount)
        return self._db(work)

    def set_password(self, username: str, password_hash: str, *, end_sessions: bool = True) -> bool:
        def work() -> bool:
            with self.engine.begin() as conn:
                done = conn.execute(update(users).where(users.c.username == username)
                                    .values(password_hash=password_hash))
                if end_sessions:
                    conn.execute(delete(api_sessions).where(api_sessions.c.username == username))
            return bool(done.rowcount)
        return self._db(work)

    def delete_user(self, username: str) -> bool:
        def work() -> bool:
            with self.engine.begin() as conn:
                conn.execute(delete(api_sessions).where(api_sessions.c.username == username))
                done = conn.execute(delete(users).where(users.c.username == username))
            return bool(done.rowcount)
        return self._db(work)

    def add_session(self, session: ApiSession) -> None:
        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(api_sessions.insert().values(
                    token_hash=session.token_hash, username=session.username, created_at=_utc(session.created_at),
                    expires_at=_utc(session.expires_at), csrf=session.csrf))
        self._db(work)

    def session(self, token_hash: str) -> ApiSession | None:
        def work() -> ApiSession | None:
            with self.engine.connect() as conn:
                row = conn.execute(select(api_sessions).where(api_sessions.c.token_hash == token_hash)).first()
            return _session(row) if row else None
        return self._db(work)

    def delete_session(self, token_hash: str) -> None:
        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(delete(api_sessions).where(api_sessions.c.token_hash == token_hash))
        self._db(work)

    def delete_expired_sessions(self, now: float) -> int:
        def work() -> int:
            with self.engine.begin() as conn:
                done = conn.execute(delete(api_sessions).where(api_sessions.c.expires_at <= _utc(now)))
            return int(done.rowcount)
        return self._db(work)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # whatever the driver raises, the answer is "not answering"
            return False


class InMemoryUserStore:
    """The same contract as ``UserStore``, in dicts (thread-safe: the API calls it from
    worker threads). ``down = True`` makes every call raise ``Unavailable``, like a stopped
    database."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._sessions: dict[str, ApiSession] = {}
        self._lock = threading.Lock()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise Unavailable("the database does not answer: stopped (in-memory store)")

    def add_user(self, username: str, role: str, password_hash: str, *, agent_id: str | None,
                 roster: frozenset[str] | set[str], now: float, agency_id: str | None = None,
                 agencies: frozenset[str] | set[str] = frozenset()) -> User:
        check_new_user(username, role, agent_id, roster, agency_id, agencies)
        with self._lock:
            self._check()
            if username in self._users:
                raise UserExists(f"user {username} exists already")
            self._users[username] = User(username, role, agent_id or None, password_hash, False, now,
                                         agency_id or None)
            return self._users[username]

    def user(self, username: str) -> User | None:
        with self._lock:
            self._check()
            return self._users.get(username)

    def users(self) -> list[User]:
        with self._lock:
            self._check()
            return [self._users[name] for name in sorted(self._users)]

    def _end_sessions_of(self, username: str) -> None:
        for token_hash in [h for h, s in self._sessions.items() if s.username == username]:
            del self._sessions[token_hash]

    def _change(self, username: str, **changes: object) -> bool:
        if username not in self._users:
            return False
        self._users[username] = replace(self._users[username], **changes)  # type: ignore[arg-type]
        return True

    def set_disabled(self, username: str, disabled: bool) -> bool:
        with self._lock:
            self._check()
            if disabled:
                self._end_sessions_of(username)
            return self._change(username, disabled=disabled)

    def set_password(self, username: str, password_hash: str, *, end_sessions: bool = True) -> bool:
        with self._lock:
            self._check()
            if end_sessions:
                self._end_sessions_of(username)
            return self._change(username, password_hash=password_hash)

    def delete_user(self, username: str) -> bool:
        with self._lock:
            self._check()
            self._end_sessions_of(username)
            return self._users.pop(username, None) is not None

    def add_session(self, session: ApiSession) -> None:
        with self._lock:
            self._check()
            self._sessions[session.token_hash] = session

    def session(self, token_hash: str) -> ApiSession | None:
        with self._lock:
            self._check()
            return self._sessions.get(token_hash)

    def delete_session(self, token_hash: str) -> None:
        with self._lock:
            self._check()
            self._sessions.pop(token_hash, None)

    def delete_expired_sessions(self, now: float) -> int:
        with self._lock:
            self._check()
            gone = [h for h, s in self._sessions.items() if s.expires_at <= now]
            for token_hash in gone:
                del self._sessions[token_hash]
            return len(gone)

    def ping(self) -> bool:
        return not self.down
