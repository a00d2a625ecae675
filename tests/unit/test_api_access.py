"""Who may call what, generated from the app's own OpenAPI document: every route but two
declares an access rule, and every route x every caller behaves as its rule says
(anonymous 401; the wrong role 403; an agent on another agent's seat 403; the right
caller neither). The callers are one of each role: agent, supervisor, admin, and an
agency's user (whose own case the matrix puts back before each request)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cases.lifecycle import Case, Transfer, apply, open_case
from hotline.api.app import make_app
from hotline.api.cases_memory import InMemoryCases
from tests.fakes_api import DIRECTORY, PASSWORD, FakeEventFeed, World, bearer, client, log_in
from workorders import FOLDER
from workorders.calendar import load_calendar

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/session")}
CALLERS = {"agent": "alice", "supervisor": "sam", "admin": "ada", "agency": "wendy"}
OWN, OTHER = "1001", "1002"
CASE_NUMBER = "20261123-0001"  # a case with the agency user's agency (water)


def _document() -> dict[str, Any]:
    return make_app(World().deps()).openapi()


DOC = _document()
OPERATIONS = [(method.upper(), path, op) for path, ops in DOC["paths"].items() for method, op in ops.items()]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example_body(op: dict[str, Any]) -> Any:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content or not op["requestBody"].get("required"):
        return None
    schema = _resolve(content["schema"])
    return schema["examples"][0]


def _path(path: str, agent_id: str) -> str:
    # call_id: the call the matrix gives the agent's own seat (an agent may act on their own calls only)
    return path.format(agent_id=agent_id, agency_id="water", username="someone", call_id="1700000000.1",
                       article_id="gas-leak-emergency", part="call", name="calls", session_id="1",
                       case_number=CASE_NUMBER)


def _water_case() -> Case:
    """The agency user's case, transferred to water (put back before each request: a case
    the matrix returned or closed would answer 403 or 409 where the rule is what is tested)."""
    calendar = load_calendar(FOLDER / "holidays.yaml")
    opened = datetime(2026, 11, 23, 10, 0, tzinfo=calendar.tz)
    case = open_case(CASE_NUMBER, "1700000000.1", opened, calendar, caller="13812345678")
    return apply(case, Transfer("water"), opened, calendar)


def test_every_route_but_health_and_login_requires_a_login_and_declares_its_roles() -> None:
    public = set()
    for method, path, op in OPERATIONS:
        if not op.get("security"):
            public.add((method, path))
            assert "x-hotline-access" not in op
            continue
        assert op["security"] == [{"bearer": []}, {"cookie": []}], (method, path)
        access = op.get("x-hotline-access")
        assert access is not None, f"{method} {path} has no access rule"
        assert access["roles"] or access["own_agent"], f"{method} {path} allows nobody"
        assert "401" in op["responses"], f"{method} {path} does not document 401"
    assert public == PUBLIC


def test_the_document_covers_the_routes_the_web_features_need() -> None:
    paths = {(m, p) for m, p, _ in OPERATIONS}
    for op in ("login", "ready", "pause", "logout", "force-logout"):
        assert ("POST", f"/api/v1/agents/{{agent_id}}/{op}") in paths
    for op in ("consult", "conference", "join", "leave", "cancel", "hangup-agency", "transfer", "transfer/complete"):
        assert ("POST", f"/api/v1/agents/{{agent_id}}/call/{op}") in paths
    assert {("GET", "/api/v1/agents/{agent_id}/events"), ("GET", "/api/v1/directory"), ("GET", "/api/v1/users"),
            ("POST", "/api/v1/users"), ("DELETE", "/api/v1/users/{username}"), ("GET", "/api/v1/me"),
            ("DELETE", "/api/v1/session"), ("GET", "/api/v1/agents/{agent_id}/call")} <= paths


def _cases() -> list[Any]:
    cases = []
    for method, path, op in OPERATIONS:
        if (method, path) in PUBLIC:
            continue
        access = op["x-hotline-access"]
        seats = [OWN, OTHER] if "{agent_id}" in path else [OWN]
        cases.append(pytest.param(method, path, None, OWN, "401", id=f"{method} {path} anonymous"))
        for role in CALLERS:
            for seat in seats:
                allowed = role in access["roles"] or (access["own_agent"] and role == "agent" and seat == OWN)
                expect = "allowed" if allowed else "403"
                label = f"{method} {path} {role}" + (f" seat {'own' if seat == OWN else 'other'}"
                                                      if len(seats) > 1 else "")
                cases.append(pytest.param(method, path, role, seat, expect, id=label))
    return cases


@pytest.fixture(scope="module")
def shared() -> tuple[World, Any, InMemoryCases]:
    """One app for the whole matrix (what one case changes never decides another's 401/403)."""
    world = World(events=FakeEventFeed(finite=True))  # event streams end: a whole answer to read
    world.add_user("alice", "agent", agent_id=OWN)
    world.add_user("sam", "supervisor")
    world.add_user("ada", "admin")
    world.users.add_user("wendy", "agency", world.passwords.hash(PASSWORD), agent_id=None, roster=set(),
                         now=world.clock(), agency_id="water", agencies=DIRECTORY.ids)
    deps = world.deps()
    assert isinstance(deps.cases, InMemoryCases)
    return world, make_app(deps), deps.cases


@pytest.mark.parametrize(("method", "path", "role", "seat", "expect"), _cases())
async def test_role_matrix(shared: tuple[World, Any, InMemoryCases], method: str, path: str, role: str | None,
                           seat: str, expect: str) -> None:
    world, app, cases = shared
    for agent_id, call_id in ((OWN, "1700000000.1"), (OTHER, "1700000000.2")):
        if agent_id not in world.calls.calls:
            world.calls.give_call(agent_id, call_id=call_id)
    cases.add(_water_case())
    op = DOC["paths"][path][method.lower()]
    async with client(app) as http:
        headers = bearer(await log_in(http, CALLERS[role])) if role else {}
        http.cookies.clear()
        answer = await http.request(method, _path(path, seat), json=_example_body(op), headers=headers)
    assert answer.status_code < 500, answer.text
    if expect == "allowed":
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert answer.status_code == int(expect), answer.text
        assert answer.json()["error"] == ("not_authenticated" if expect == "401" else "forbidden")
