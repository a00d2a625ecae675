"""Schemathesis fuzzes every operation of the app's own OpenAPI document, in process (ASGI),
once as an agent and once as a supervisor, admin or agency user (whichever the operation is
for): no
answer is a 5xx, every 4xx carries an error id, and status codes, content types and bodies
conform to the document. Examples are limited so the whole run stays well under a minute.

The fakes keep state across cases (a case may log an agent in, create a user, end a
call); each case puts back what the next one needs: the callers' sessions, a call on each
seat. Event streams end by themselves (``FakeEventFeed(finite=True)``).
"""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from hotline.api.app import make_app
from hotline.api.auth import token_hash
from hotline.api.ports import ApiSession
from tests.fakes_api import DIRECTORY, FakeEventFeed, World

WORLD = World(events=FakeEventFeed(finite=True))
WORLD.add_user("alice", "agent", agent_id="1001")
WORLD.add_user("sam", "supervisor")
WORLD.add_user("ada", "admin")
TOKENS = {"alice": "agent-token-" + "a" * 32, "sam": "supervisor-token-" + "s" * 32, "ada": "admin-token-" + "d" * 32,
          "wendy": "agency-token-" + "w" * 32}
ROLES = {"alice": "agent", "sam": "supervisor", "ada": "admin", "wendy": "agency"}
APP = make_app(WORLD.deps())
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


def _restore() -> None:
    for username, token in TOKENS.items():
        if WORLD.users.user(username) is None:
            role = ROLES[username]
            WORLD.users.add_user(username, role, WORLD.passwords.hash("password-xxxx"),
                                 agent_id="1001" if role == "agent" else None, roster={"1001"}, now=WORLD.clock(),
                                 agency_id="water" if role == "agency" else None, agencies=DIRECTORY.ids)
        WORLD.users.set_disabled(username, False)
        if WORLD.users.session(token_hash(token)) is None:
            WORLD.users.add_session(ApiSession(token_hash(token), username, WORLD.clock(), WORLD.clock() + 3600, "c"))
    for agent_id, call_id in (("1001", "1700000000.1"), ("1002", "1700000000.2")):
        if agent_id not in WORLD.calls.calls:
            WORLD.calls.give_call(agent_id, call_id=call_id)


def _staff_for(case: Any) -> str:
    roles = (case.operation.definition.raw.get("x-hotline-access") or {}).get("roles", [])
    return {("admin",): "ada", ("agency",): "wendy"}.get(tuple(roles), "sam")


def error_bodies_have_an_id(_ctx: Any, response: Any, _case: Any) -> bool | None:
    """Every 4xx/5xx answer is ``{"error": <id>, "message": ...}``."""
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], response.text
        assert isinstance(body.get("message"), str), response.text
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _run(case: Any, caller: str) -> None:
    _restore()
    params = case.path_parameters or {}
    if "agent_id" in params and hash(repr(case.body)) % 2 == 0:  # half the cases on a real seat
        params["agent_id"] = "1001" if caller == "alice" else "1002"
    response = case.call(headers={"Authorization": f"Bearer {TOKENS[caller]}"})
    case.validate_response(response, checks=CHECKS, additional_checks=[error_bodies_have_an_id])


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fuzz_as_an_agent(case: Any) -> None:
    _run(case, "alice")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fuzz_as_supervisor_or_admin(case: Any) -> None:
    _run(case, _staff_for(case))
