"""hotline.api.users: one contract suite run against the in-memory store, a real SQLite file
and a real PostgreSQL database (both migrated the way production migrates:
``hotline.store.calls.migrate``); the migration 0002 itself; argon2id passwords."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hotline.api.passwords import Passwords, WeakPassword, check_strength
from hotline.api.ports import Accounts, ApiSession, InvalidUser, Unavailable, UserExists
from hotline.api.users import InMemoryUserStore, UserStore
from hotline.store.calls import make_engine, migrate
from tests.unit.test_records_store import fresh_pg_database

ROSTER = {"1001", "1002"}
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Accounts]:
    if request.param == "memory":
        yield InMemoryUserStore()
        return
    url = f"sqlite:///{tmp_path / 'db' / 'users.sqlite3'}" if request.param == "sqlite" \
        else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by this module's tests
        conn.execute(text("DELETE FROM api_sessions"))
        conn.execute(text("DELETE FROM users"))
    try:
        yield UserStore(engine)
    finally:
        engine.dispose()


def session(token_hash: str = "a" * 64, username: str = "alice", expires_at: float = NOW + 3600) -> ApiSession:
    return ApiSession(token_hash, username, NOW, expires_at, "csrf-value")


# -- the contract -------------------------------------------------------------------------

def test_add_and_read_users(store: Accounts) -> None:
    alice = store.add_user("alice", "agent", "h1", agent_id="1001", roster=ROSTER, now=NOW)
    store.add_user("bob", "supervisor", "h2", agent_id=None, roster=ROSTER, now=NOW + 1.5)
    assert (alice.username, alice.role, alice.agent_id, alice.password_hash, alice.disabled) == (
        "alice", "agent", "1001", "h1", False)
    got = store.user("alice")
    assert got is not None and got == alice and got.created_at == NOW
    assert [u.username for u in store.users()] == ["alice", "bob"]
    assert store.user("bob").created_at == NOW + 1.5  # type: ignore[union-attr]
    assert store.user("nobody") is None


@pytest.mark.parametrize(("username", "role", "agent_id", "error_id"), [
    ("Alice", "agent", "1001", "invalid_request"),        # upper case
    ("a", "agent", "1001", "invalid_request"),            # too short
    ("1alice", "agent", "1001", "invalid_request"),       # starts with a digit
    ("al ice", "agent", "1001", "invalid_request"),
    ("alice", "root", None, "invalid_request"),           # unknown role
    ("alice", "agent", None, "invalid_request"),          # an agent without a seat
    ("alice", "agent", "", "invalid_request"),
    ("alice", "supervisor", "1001", "invalid_request"),   # a seat for a supervisor
    ("alice", "agent", "9999", "unknown_agent"),          # not in the roster
])
def test_users_that_may_not_exist_are_refused(store: Accounts, username: str, role: str, agent_id: str | None,
                                              error_id: str) -> None:
    with pytest.raises(InvalidUser) as caught:
        store.add_user(username, role, "h", agent_id=agent_id, roster=ROSTER, now=NOW)
    assert caught.value.error_id == error_id
    assert store.users() == []


def test_a_name_is_taken_once(store: Accounts) -> None:
    store.add_user("alice", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    with pytest.raises(UserExists):
        store.add_user("alice", "supervisor", "h2", agent_id=None, roster=ROSTER, now=NOW)
    assert store.user("alice").role == "admin"  # type: ignore[union-attr]


def test_sessions_round_trip_and_end(store: Accounts) -> None:
    store.add_user("alice", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    store.add_session(session("a" * 64))
    store.add_session(session("b" * 64, expires_at=NOW + 10))
    assert store.session("a" * 64) == session("a" * 64)
    assert store.session("c" * 64) is None
    store.delete_session("a" * 64)
    store.delete_session("a" * 64)  # gone already: no error
    assert store.session("a" * 64) is None
    assert store.delete_expired_sessions(NOW + 9) == 0
    assert store.delete_expired_sessions(NOW + 10) == 1  # expires_at itself is expired
    assert store.session("b" * 64) is None


def test_disabling_ends_the_sessions_and_enabling_does_not_bring_them_back(store: Accounts) -> None:
    store.add_user("alice", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    store.add_user("bob", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    store.add_session(session("a" * 64, "alice"))
    store.add_session(session("b" * 64, "bob"))
    assert store.set_disabled("alice", True)
    assert store.user("alice").disabled  # type: ignore[union-attr]
    assert store.session("a" * 64) is None and store.session("b" * 64) is not None
    assert store.set_disabled("alice", False) and not store.user("alice").disabled  # type: ignore[union-attr]
    assert store.session("a" * 64) is None
    assert not store.set_disabled("nobody", True)


def test_a_new_password_ends_the_sessions_unless_told_not_to(store: Accounts) -> None:
    store.add_user("alice", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    store.add_session(session("a" * 64))
    assert store.set_password("alice", "h2", end_sessions=False)
    assert store.user("alice").password_hash == "h2" and store.session("a" * 64) is not None  # type: ignore[union-attr]
    assert store.set_password("alice", "h3")
    assert store.user("alice").password_hash == "h3" and store.session("a" * 64) is None  # type: ignore[union-attr]
    assert not store.set_password("nobody", "h")


def test_deleting_a_user_deletes_their_sessions(store: Accounts) -> None:
    store.add_user("alice", "admin", "h1", agent_id=None, roster=ROSTER, now=NOW)
    store.add_session(session("a" * 64))
    assert store.delete_user("alice")
    assert store.user("alice") is None and store.session("a" * 64) is None
    assert not store.delete_user("alice")


def test_ping(store: Accounts) -> None:
    assert store.ping() is True


# -- what only one of them shows ----------------------------------------------------------

def test_the_in_memory_store_can_be_down() -> None:
    store = InMemoryUserStore()
    store.down = True
    assert store.ping() is False
    with pytest.raises(Unavailable):
        store.user("alice")


def test_a_database_that_does_not_answer_is_unavailable() -> None:
    store = UserStore(make_engine("postgresql://postgres@127.0.0.1:1/none"))  # nothing listens on port 1
    assert store.ping() is False
    with pytest.raises(Unavailable):
        store.user("alice")


def test_the_table_itself_refuses_an_agent_without_a_seat_and_unknown_roles(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate(engine)
    for values in ("'bob', 'agent', NULL", "'bob', 'root', NULL"):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(f"INSERT INTO users (username, role, agent_id, password_hash, disabled, created_at) "
                              f"VALUES ({values}, 'h', false, CURRENT_TIMESTAMP)"))
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0002_creates_the_tables_of_the_schema(tmp_path: Path, backend: str) -> None:
    def check(url: str) -> None:
        engine = make_engine(url)
        try:
            migrate(engine)
            migrate(engine)  # idempotent
            found = inspect(engine)
            assert {"users", "api_sessions"} <= set(found.get_table_names())
            assert {c["name"] for c in found.get_columns("users")} == {
                "username", "role", "agent_id", "password_hash", "disabled", "created_at",
                "agency_id"}  # agency_id: migration 0006 (agency users)
            assert {c["name"] for c in found.get_columns("api_sessions")} == {
                "token_hash", "username", "created_at", "expires_at", "csrf"}
            assert {i["name"] for i in found.get_indexes("api_sessions")} == {
                "ix_api_sessions_username", "ix_api_sessions_expires_at"}
        finally:
            engine.dispose()

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    else:
        with fresh_pg_database() as url:
            check(url)


# -- passwords ----------------------------------------------------------------------------

def test_argon2id_hashes_verify_and_unknown_users_get_the_same_work() -> None:
    passwords = Passwords.fast_for_tests()
    hashed = passwords.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "correct horse")
    assert not passwords.verify(hashed, "wrong horse")
    assert not passwords.verify(None, "correct horse")  # the dummy hash: work done, answer no
    assert passwords._dummy is not None
    assert not passwords.verify("not a hash", "x")
    assert not passwords.verify(hashed, "x" * 2000)
    assert not passwords.needs_rehash(hashed)
    assert Passwords().needs_rehash(hashed)  # production parameters differ: rehash at the next login


def test_password_strength() -> None:
    check_strength("eight ch")
    for weak in ("short", "x" * 1025):
        with pytest.raises(WeakPassword):
            check_strength(weak)
