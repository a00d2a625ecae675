"""Logins, sessions, cookies and CSRF, the login rate limit (hotline.api.auth, limits), in
process against the app (ASGI) and the in-memory accounts."""
from __future__ import annotations

import hashlib
from typing import AsyncIterator

import pytest

from hotline.api.app import make_app
from hotline.api.auth import COOKIE
from hotline.api.config import ApiConfig, LoginLimits
from hotline.api.limits import LoginLimiter
from tests.fakes_api import PASSWORD, World, three_role_world, bearer, client, log_in


@pytest.fixture
def world() -> World:
    return three_role_world()


@pytest.fixture
async def http(world: World) -> AsyncIterator[object]:
    async with client(make_app(world.deps())) as c:
        yield c


async def test_login_gives_a_token_a_csrf_value_and_an_httponly_strict_cookie(http, world: World) -> None:
    answer = await http.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "csrf", "role", "agent_id", "expires_at"}
    assert (body["role"], body["agent_id"]) == ("agent", "1001")
    assert len(body["token"]) >= 43 and body["csrf"]
    cookie = answer.headers["set-cookie"]
    assert f"{COOKIE}={body['token']}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert answer.headers["cache-control"] == "no-store"
    # Only the token's SHA-256 is stored, never the token.
    stored = world.users.session(hashlib.sha256(body["token"].encode()).hexdigest())
    assert stored is not None and stored.username == "alice" and stored.csrf == body["csrf"]
    assert stored.expires_at == world.clock() + 12 * 3600
    assert body["expires_at"].endswith("Z") or body["expires_at"].endswith("+00:00")
    me = await http.get("/api/v1/me", headers=bearer(body))
    assert me.status_code == 200 and me.json()["username"] == "alice"


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password"), ("nobody", PASSWORD),
                                                    ("alice", "")])
async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(http, username: str, password: str) -> None:
    answer = await http.post("/api/v1/session", json={"username": username, "password": password})
    if password == "":
        assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
        return
    assert answer.status_code == 401
    assert answer.json() == {"error": "bad_credentials", "message": "wrong user name or password"}
    assert COOKIE not in answer.headers.get("set-cookie", "")


async def test_a_disabled_user_cannot_log_in_and_loses_their_sessions(http, world: World) -> None:
    login = await log_in(http, "alice")
    world.users.set_disabled("alice", True)
    assert (await http.get("/api/v1/me", headers=bearer(login))).json()["error"] == "not_authenticated"
    answer = await http.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 401 and answer.json()["error"] == "bad_credentials"


async def test_a_session_expires_after_the_configured_hours_fixed_not_sliding(http, world: World) -> None:
    login = await log_in(http, "alice")
    world.clock.advance(11 * 3600)
    assert (await http.get("/api/v1/me", headers=bearer(login))).status_code == 200  # a use does not extend it
    world.clock.advance(3600)
    answer = await http.get("/api/v1/me", headers=bearer(login))
    assert answer.status_code == 401 and answer.json()["error"] == "session_expired"
    assert answer.headers["www-authenticate"] == "Bearer"
    again = await http.get("/api/v1/me", headers=bearer(login))  # expired sessions are deleted
    assert again.json()["error"] == "not_authenticated"


async def test_session_hours_come_from_the_config() -> None:
    world = World(config=ApiConfig(session_hours=0.5))
    world.add_user("alice", "agent", agent_id="1001")
    async with client(make_app(world.deps())) as http:
        login = await log_in(http, "alice")
        world.clock.advance(1801)
        assert (await http.get("/api/v1/me", headers=bearer(login))).json()["error"] == "session_expired"


async def test_logout_ends_the_session_and_clears_the_cookie(http) -> None:
    login = await log_in(http, "alice")
    answer = await http.delete("/api/v1/session", headers=bearer(login))
    assert answer.status_code == 204
    assert f'{COOKIE}=""' in answer.headers["set-cookie"] and "Max-Age=0" in answer.headers["set-cookie"]
    after = await http.get("/api/v1/me", headers=bearer(login))
    assert after.status_code == 401 and after.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic YTpi"},
                                     {"Cookie": f"{COOKIE}=nonsense"}])
async def test_no_or_unknown_token_is_not_authenticated(http, headers: dict[str, str]) -> None:
    answer = await http.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] == "not_authenticated"


async def test_the_cookie_authenticates_gets_and_needs_the_csrf_header_on_everything_else(http, world: World) -> None:
    login = await log_in(http, "alice")  # the client keeps the cookie
    assert (await http.get("/api/v1/me")).status_code == 200
    refused = await http.post("/api/v1/agents/1001/login")
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
    wrong = await http.post("/api/v1/agents/1001/login", headers={"X-CSRF-Token": login["csrf"] + "x"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "csrf_failed"
    assert world.agents.asked == []  # nothing reached the desk
    ok = await http.post("/api/v1/agents/1001/login", headers={"X-CSRF-Token": login["csrf"]})
    assert ok.status_code == 200 and ok.json()["state"] == "available"
    logout = await http.delete("/api/v1/session")
    assert logout.status_code == 403 and logout.json()["error"] == "csrf_failed"


async def test_a_bearer_token_needs_no_csrf_header(world: World) -> None:
    async with client(make_app(world.deps())) as http:
        login = await log_in(http, "alice")
        http.cookies.clear()
        answer = await http.post("/api/v1/agents/1001/login", headers=bearer(login))
        assert answer.status_code == 200


async def test_five_failures_for_a_name_lock_it_for_the_window_even_with_the_right_password(http, world: World) -> None:
    for _ in range(5):
        answer = await http.post("/api/v1/session", json={"username": "alice", "password": "wrong password"})
        assert answer.status_code == 401
    locked = await http.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["error"] == "too_many_attempts"
    assert locked.headers["retry-after"] == "300"
    assert (await http.post("/api/v1/session", json={"username": "sam", "password": PASSWORD})).status_code == 200
    world.clock.advance(300)
    assert (await http.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})).status_code == 200


async def test_failures_from_one_address_across_names_are_limited_too(world: World) -> None:
    app = make_app(world.deps())
    async with client(app, "198.51.100.7") as guesser, client(app, "198.51.100.8") as colleague:
        for i in range(20):
            answer = await guesser.post("/api/v1/session", json={"username": f"user{i}", "password": "guess-guess"})
            assert answer.status_code == 401
        locked = await guesser.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert (await colleague.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
                ).status_code == 200


async def test_a_successful_login_clears_the_names_count(http) -> None:
    for _ in range(4):
        await http.post("/api/v1/session", json={"username": "alice", "password": "wrong password"})
    await log_in(http, "alice")
    for _ in range(4):
        answer = await http.post("/api/v1/session", json={"username": "alice", "password": "wrong password"})
        assert answer.status_code == 401


async def test_a_hash_made_with_other_parameters_is_renewed_at_login(world: World) -> None:
    from argon2 import PasswordHasher
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(PASSWORD)
    world.users.add_user("olga", "supervisor", old, agent_id=None, roster=set(), now=world.clock())
    async with client(make_app(world.deps())) as http:
        await log_in(http, "olga")
    renewed = world.users.user("olga")
    assert renewed is not None and renewed.password_hash != old
    assert world.passwords.verify(renewed.password_hash, PASSWORD)


def test_the_limiter_is_a_sliding_window_with_bounded_memory() -> None:
    limiter = LoginLimiter(LoginLimits(per_username=2, per_address=3, window=10, max_keys=4))
    limiter.failed("a", "ip1", 0)
    assert limiter.retry_after("a", "ip1", 1) == 0
    limiter.failed("a", "ip1", 5)
    assert limiter.retry_after("a", "ip1", 6) == 4  # the first failure leaves the window at 10
    assert limiter.retry_after("a", "ip1", 10) == 0  # at 10 it has left: one failure in the window
    for i in range(10):
        limiter.failed(f"user{i}", f"ip{i}", 20)
    assert len(limiter._failures) == 4


async def test_the_login_body_is_validated(http) -> None:
    for body in ({}, {"username": "alice"}, {"username": "a" * 65, "password": "x"}, ["alice"]):
        answer = await http.post("/api/v1/session", json=body)
        assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
    bad_json = await http.post("/api/v1/session", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"] == "invalid_request"
