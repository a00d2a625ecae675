"""The routes' behaviour against the ports' fakes: agent states, the current call and every
three-party operation (only directory numbers are ever passed on), the directory, users,
health, and the one error shape for every failure."""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import httpx
import pytest

from agents.state import AgentRecord, AgentState
from hotline.api.app import make_app
from hotline.api.config import ApiConfig
from tests.fakes_api import MONDAY_22, World, three_role_world, bearer, client, log_in


@pytest.fixture
def world() -> World:
    return three_role_world()


class Desk:
    """A logged-in client: ``await desk.post(path, body)`` -> (status, body)."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http, self.headers = http, headers

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
        answer = await self.http.request(method, f"/api/v1{path}", json=body, headers=self.headers,
                                         params=params or None)
        return answer.status_code, (answer.json() if answer.content else None)

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        return await self.call("GET", path, **params)

    async def post(self, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
        return await self.call("POST", path, body, **params)


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with client(make_app(world.deps())) as c:
        yield c


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> Desk:
    return Desk(http, bearer(await log_in(http, "alice")))


@pytest.fixture
async def sam(http: httpx.AsyncClient) -> Desk:
    return Desk(http, bearer(await log_in(http, "sam")))


@pytest.fixture
async def ada(http: httpx.AsyncClient) -> Desk:
    return Desk(http, bearer(await log_in(http, "ada")))


# -- agents -------------------------------------------------------------------------------

async def test_an_agent_goes_through_a_shift(alice: Desk, world: World) -> None:
    assert (await alice.get("/agents/1001"))[1]["state"] == "logged_out"
    status, body = await alice.post("/agents/1001/login")
    assert (status, body["state"]) == (200, "available")
    assert (await alice.post("/agents/1001/login"))[1]["state"] == "available"  # idempotent
    status, body = await alice.post("/agents/1001/pause", {"reason": "meal"})
    assert (status, body["state"], body["pause_reason"]) == (200, "paused", "meal")
    status, body = await alice.post("/agents/1001/ready")
    assert (status, body["state"], body["pause_reason"]) == (200, "available", None)
    status, body = await alice.post("/agents/1001/logout")
    assert (status, body["state"]) == (200, "logged_out")
    assert [a[0] for a in world.agents.asked if a[0] != "state"] == [
        "log_in", "log_in", "pause", "ready", "log_out"]


async def test_an_agent_may_log_in_paused_for_a_listed_reason(alice: Desk) -> None:
    status, body = await alice.post("/agents/1001/login", {"paused": "training"})
    assert (status, body["state"], body["pause_reason"]) == (200, "paused", "training")


async def test_illegal_state_changes_are_409_with_the_id(alice: Desk, world: World) -> None:
    status, body = await alice.post("/agents/1001/ready")  # logged out: log in first
    assert status == 409 and body["error"] == "illegal_in_state" and "Unpause" in body["message"]
    world.agents.records["1001"] = AgentRecord("1001", AgentState.ON_CALL, since=world.clock(), call_id="c1")
    status, body = await alice.post("/agents/1001/logout")
    assert status == 409 and body["error"] == "illegal_in_state"
    status, body = await alice.post("/agents/1001/pause", {"reason": "break"})  # pending until wrap-up ends
    assert (status, body["state"], body["pause_reason"]) == (200, "on_call", "break")


async def test_pause_reasons_are_the_configured_ones() -> None:
    world = World(config=ApiConfig(pause_reasons=("lunch", "coaching")))
    world.add_user("alice", "agent", agent_id="1001")
    async with client(make_app(world.deps())) as http:
        desk = Desk(http, bearer(await log_in(http, "alice")))
        await desk.post("/agents/1001/login")
        status, body = await desk.post("/agents/1001/pause", {"reason": "meal"})
        assert status == 422 and body["error"] == "invalid_request" and "lunch" in body["message"]
        assert (await desk.post("/agents/1001/pause", {"reason": "coaching"}))[0] == 200
        assert (await desk.post("/agents/1001/pause", {"reason": "rona"}))[0] == 422  # a system reason
        schema = make_app(world.deps()).openapi()["components"]["schemas"]["PauseBody"]
        assert schema["properties"]["reason"]["enum"] == ["lunch", "coaching"]


async def test_a_supervisor_reads_every_agent_and_forces_one_out_with_a_reason(sam: Desk, world: World) -> None:
    world.agents.records["1002"] = AgentRecord("1002", AgentState.ON_CALL, since=world.clock(), call_id="c9")
    status, body = await sam.get("/agents")
    assert status == 200 and [a["agent_id"] for a in body] == ["1001", "1002", "1003", "1004"]
    assert body[1]["state"] == "on_call" and body[1]["call_id"] == "c9"
    status, body = await sam.post("/agents/1002/force-logout", {"reason": "phone dead"})
    assert (status, body["state"]) == (200, "logged_out")
    assert world.agents.asked[-1] == ("force_log_out", "1002", ("phone dead (by sam)",))
    status, body = await sam.post("/agents/1002/force-logout", {"reason": "two\nlines"})
    assert status == 422 and body["error"] == "invalid_request"
    status, body = await sam.get("/agents/9999")
    assert status == 404 and body["error"] == "not_found"
    status, body = await sam.post("/agents/1002/pause", {"reason": "break"})  # not a supervisor's act
    assert status == 403 and body["error"] == "forbidden"


# -- calls --------------------------------------------------------------------------------

async def test_the_agents_current_call(alice: Desk, sam: Desk, world: World) -> None:
    status, body = await alice.get("/agents/1001/call")
    assert status == 404 and body["error"] == "no_current_call"
    world.calls.give_call("1001", call_id="1700000000.7", caller="13912345678", queue="province", language="en")
    for desk in (alice, sam):
        status, body = await desk.get("/agents/1001/call")
        assert status == 200
        assert {k: body[k] for k in ("call_id", "caller", "queue", "language", "state", "three_party")} == {
            "call_id": "1700000000.7", "caller": "13912345678", "queue": "province", "language": "en",
            "state": "answered", "three_party": None}
        assert body["since"].startswith("2027-01-15T08:00:00")


@pytest.mark.parametrize(("steps", "expected"), [
    ([("consult", {"agency_id": "water"})], ("consult", ("water", ("053186060001", "053186060099")))),
    ([("conference", {"agency_id": "gas"})], ("conference", ("gas", ("053186080099",)))),
    ([("transfer", {"agency_id": "water", "number": "053186060099", "mode": "blind"})],
     ("transfer", ("water", ("053186060099",), "blind"))),
    ([("transfer", {"agency_id": "water"})], ("transfer", ("water", ("053186060001", "053186060099"), "blind"))),
    ([("consult", {"agency_id": "water"}), ("join", None)], ("join", ())),
    ([("conference", {"agency_id": "water"}), ("leave", None)], ("leave", ())),
    ([("consult", {"agency_id": "water"}), ("cancel", None)], ("cancel", ())),
    ([("conference", {"agency_id": "water"}), ("hangup-agency", None)], ("hangup_agency", ())),
    ([("consult", {"agency_id": "water"}), ("transfer/complete", None)], ("complete_transfer", ())),
])
async def test_every_three_party_route_reaches_the_call_desk(alice: Desk, world: World, steps: list[Any],
                                                             expected: tuple[str, tuple[Any, ...]]) -> None:
    world.calls.give_call("1001", call_id="1700000000.1")
    for path, body in steps:
        status, answer = await alice.post(f"/agents/1001/call/{path}", body)
        assert status == 200, answer
        assert answer["call_id"] == "1700000000.1"
    op, args = expected
    assert world.calls.asked[-1] == (op, "1001", "1700000000.1", args)


async def test_the_three_party_state_is_shown(alice: Desk, world: World) -> None:
    world.calls.give_call("1001")
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "water", "number": "053186060001"})
    assert body["three_party"]["state"] == "consulting"
    assert (body["three_party"]["agency_id"], body["three_party"]["number"]) == ("water", "053186060001")
    assert (await alice.get("/agents/1001/call"))[1]["three_party"]["state"] == "consulting"
    status, body = await alice.post("/agents/1001/call/join")
    assert body["three_party"]["state"] == "conference"


@pytest.mark.parametrize("path", ["consult", "conference", "transfer"])
@pytest.mark.parametrize("number", ["110", "053186080099", "12345", "053186060001"])
async def test_a_number_outside_the_agencys_directory_entry_is_never_passed_on(
        alice: Desk, world: World, path: str, number: str) -> None:
    world.calls.give_call("1001")
    status, body = await alice.post(f"/agents/1001/call/{path}", {"agency_id": "heating", "number": number})
    assert status == 422 and body["error"] == "number_not_in_directory"
    assert world.calls.asked == []


@pytest.mark.parametrize("body", [{"agency_id": "water", "number": "110;1"}, {"agency_id": "water", "number": "+861"},
                                  {"agency_id": "Water"}, {"agency_id": "water", "mode": "attended"},
                                  {"agency_id": "water", "extra": 1}, {}])
async def test_malformed_dial_bodies_are_invalid_requests(alice: Desk, world: World, body: dict[str, Any]) -> None:
    world.calls.give_call("1001")
    status, answer = await alice.post("/agents/1001/call/transfer", body)
    assert status == 422 and answer["error"] == "invalid_request"
    assert world.calls.asked == []


async def test_an_agency_not_in_the_directory(alice: Desk, world: World) -> None:
    world.calls.give_call("1001")
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "fire_brigade"})
    assert status == 422 and body["error"] == "unknown_agency"


async def test_out_of_office_hours_only_duty_lines_are_dialled_and_office_only_agencies_are_closed(
        alice: Desk, world: World) -> None:
    world.calls.give_call("1001")
    world.local_now = MONDAY_22
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "education"})
    assert status == 409 and body["error"] == "agency_closed"
    assert (await alice.post("/agents/1001/call/consult", {"agency_id": "water"}))[0] == 200
    assert world.calls.asked[-1][3] == ("water", ("053186060099",))
    await alice.post("/agents/1001/call/cancel")
    # A number picked by the call taker is dialled even out of hours: it is in the directory.
    assert (await alice.post("/agents/1001/call/consult", {"agency_id": "education", "number": "053186100001"}))[0] == 200


async def test_an_operation_the_calls_state_forbids_is_409_with_the_id(alice: Desk, world: World) -> None:
    world.calls.give_call("1001")
    for path in ("join", "leave", "cancel", "hangup-agency", "transfer/complete"):
        status, body = await alice.post(f"/agents/1001/call/{path}")
        assert status == 409 and body["error"] == "illegal_in_state", path
    await alice.post("/agents/1001/call/conference", {"agency_id": "water"})
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "gas"})
    assert status == 409 and body["error"] == "illegal_in_state"


async def test_no_call_and_someone_elses_call(alice: Desk, sam: Desk, world: World) -> None:
    status, body = await alice.post("/agents/1001/call/join")
    assert status == 404 and body["error"] == "no_current_call"
    world.calls.give_call("1001", call_id="1700000000.1")
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "water"}, call_id="1700000000.9")
    assert status == 403 and body["error"] == "not_your_call"
    assert world.calls.asked == []
    status, body = await alice.post("/agents/1001/call/consult", {"agency_id": "water"}, call_id="1700000000.1")
    assert status == 200
    status, body = await sam.post("/agents/1001/call/join")  # a supervisor reads calls, does not act on them
    assert status == 403


# -- directory ----------------------------------------------------------------------------

async def test_directory_search(alice: Desk) -> None:
    status, body = await alice.get("/directory", q="gas leak")
    assert status == 200 and [a["agency_id"] for a in body] == ["gas"]
    assert body[0]["numbers"] == [{"number": "053186080099", "hours": "24x7"}]
    assert body[0]["office_hours"] == {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"}
    utilities = {a["agency_id"] for a in (await alice.get("/directory", domain="utilities"))[1]}
    assert utilities == {"water", "heating", "gas", "power", "urban_management"}
    assert [a["agency_id"] for a in (await alice.get("/directory", category="停水"))[1]] == ["water"]
    assert (await alice.get("/directory", category="停"))[1] == []  # a category matches whole
    assert len((await alice.get("/directory"))[1]) == 14
    status, body = await alice.get("/directory/water")
    assert status == 200 and body["open_now"] is True and body["numbers_now"] == ["053186060001", "053186060099"]
    status, body = await alice.get("/directory/nothing_here")
    assert status == 404 and body["error"] == "not_found"


# -- users --------------------------------------------------------------------------------

async def test_an_admin_manages_users(ada: Desk, http: httpx.AsyncClient, world: World) -> None:
    status, body = await ada.post("/users", {"username": "bob", "role": "agent", "agent_id": "1002",
                                             "password": "a long pass phrase"})
    assert status == 201 and body["username"] == "bob" and body["agent_id"] == "1002"
    assert "password" not in str(body) and "hash" not in str(body)
    login = await log_in(http, "bob", "a long pass phrase")
    assert login["agent_id"] == "1002"
    status, body = await ada.post("/users", {"username": "bob", "role": "supervisor", "password": "x" * 8})
    assert status == 409 and body["error"] == "user_exists"
    status, body = await ada.post("/users", {"username": "carl", "role": "agent", "agent_id": "9999",
                                             "password": "x" * 8})
    assert status == 422 and body["error"] == "unknown_agent"
    status, body = await ada.post("/users", {"username": "carl", "role": "agent", "password": "x" * 8})
    assert status == 422 and body["error"] == "invalid_request"
    status, body = await ada.post("/users", {"username": "carl", "role": "admin", "password": "short"})
    assert status == 422
    status, body = await ada.get("/users")
    assert [u["username"] for u in body] == ["ada", "alice", "bob", "sam"]
    assert (await ada.call("DELETE", "/users/bob"))[0] == 204
    assert (await http.get("/api/v1/me", headers=bearer(login))).status_code == 401  # bob's session ended
    status, body = await ada.call("DELETE", "/users/bob")
    assert status == 404 and body["error"] == "not_found"
    status, body = await ada.call("DELETE", "/users/ada")
    assert status == 409 and body["error"] == "illegal_in_state"


# -- health and errors --------------------------------------------------------------------

async def test_health_says_what_answers(http: httpx.AsyncClient, world: World) -> None:
    assert (await http.get("/api/v1/health")).json() == {"ok": True, "redis": True, "db": True}
    world.agents.down = True
    assert (await http.get("/api/v1/health")).json() == {"ok": False, "redis": False, "db": True}
    world.agents.down, world.users.down = False, True
    assert (await http.get("/api/v1/health")).json() == {"ok": False, "redis": True, "db": False}


async def test_a_service_down_is_503_unavailable(alice: Desk, http: httpx.AsyncClient, world: World) -> None:
    world.agents.down = True
    answer = await http.get("/api/v1/agents/1001", headers=alice.headers)
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    assert answer.headers["retry-after"] == "5"
    world.agents.down, world.users.down = False, True
    answer = await http.get("/api/v1/me", headers=alice.headers)
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    answer = await http.post("/api/v1/session", json={"username": "alice", "password": "password-xxxx"})
    assert answer.status_code == 503


async def test_an_unexpected_exception_is_500_internal_with_an_id_in_the_log(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(_agent_id: str) -> AgentRecord:
        raise RuntimeError("a bug")

    world.agents.state = broken  # type: ignore[method-assign]
    app = make_app(world.deps())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as http:
        login = await log_in(http, "alice")
        with caplog.at_level(logging.ERROR, logger="hotline.api.errors"):
            answer = await http.get("/api/v1/agents/1001", headers=bearer(login))
    body = answer.json()
    assert answer.status_code == 500 and body["error"] == "internal" and len(body["id"]) == 12
    assert body["id"] in caplog.text and "a bug" in caplog.text
    assert "a bug" not in answer.text


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    ("GET", "/api/v1/nothing", 404, "not_found"), ("GET", "/", 404, "not_found"),
    ("PUT", "/api/v1/me", 405, "method_not_allowed"), ("POST", "/api/v1/health", 405, "method_not_allowed"),
    ("GET", "/api/v1/agents/10x1", 422, "invalid_request"), ("GET", "/api/v1/directory/Water", 422, "invalid_request"),
])
async def test_unknown_routes_wrong_methods_and_bad_paths_answer_in_the_one_shape(
        alice: Desk, method: str, path: str, status: int, error: str) -> None:
    answer = await alice.http.request(method, path, headers=alice.headers)
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["message"]
    assert answer.headers["content-type"] == "application/json"


async def test_security_headers(http: httpx.AsyncClient) -> None:
    answer = await http.get("/api/v1/health")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "server" not in answer.headers


def test_make_app_builds_independent_apps(world: World) -> None:
    one, two = make_app(world.deps()), make_app(world.deps())
    assert one.state.api is not two.state.api
    assert one.openapi()["openapi"].startswith("3.")
