"""The case routes, on two real backends of the port: ``SqlCases`` over a real SQLite file and
``InMemoryCases``. An agency user sees and acts only on its own agency's cases (403
``not_your_case`` otherwise, 404 for no case); the whole path from the transfer through the
agency's acceptance, extension and reply to the follow-up; the supervisors' actions and
the supervision list; the ranking as JSON, CSV and PNG; bad bodies; a database that does not
answer; and ``hotline user add NAME --role agency --agency ID`` logging in through the API."""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from cases.lifecycle import Accept, Reply
from cases.rules import load_rules
from hotline.api.app import make_app
from hotline.api.cases_memory import InMemoryCases
from hotline.api.cases_sql import SqlCases
from hotline.api.users import UserStore
from hotline.store.calls import make_engine, migrate
from tests.fakes_api import DIRECTORY, PASSWORD, World, bearer, client, log_in, three_role_world
from workorders.config import load_work_order_config
from workorders.model import WorkOrder, validate

CONFIG = load_work_order_config(DIRECTORY)
RULES = load_rules()
TZ = CONFIG.calendar.tz
NOW = 1_800_000_000.0  # the world's clock: Friday 2027-01-15 16:00 in China
FRIDAY = datetime.fromtimestamp(NOW, TZ)
HOUR = 3600.0
WATER, HEATING = "20270115-0001", "20270115-0002"


class Backend:
    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.engine = make_engine(f"sqlite:///{tmp_path / 'cases.sqlite3'}")
            migrate(self.engine)
            self.port: Any = SqlCases(self.engine, CONFIG, RULES)
        else:
            self.port = InMemoryCases(lambda: CONFIG, lambda: RULES)

    def close(self) -> None:
        if self.kind == "sqlite":
            self.engine.dispose()


@pytest.fixture(params=["sqlite", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(request.param, tmp_path)
    try:
        yield b
    finally:
        b.close()


def add_agency_user(world: World, username: str, agency_id: str) -> None:
    world.users.add_user(username, "agency", world.passwords.hash(PASSWORD), agent_id=None, roster=set(),
                         now=world.clock(), agency_id=agency_id, agencies=DIRECTORY.ids)


@pytest.fixture
def world() -> World:
    w = three_role_world()
    add_agency_user(w, "wendy", "water")
    add_agency_user(w, "harry", "heating")
    return w


def order(number: str, agency_id: str | None = "water", at: datetime = FRIDAY, **fields: Any) -> WorkOrder:
    draft: dict[str, Any] = {"call_id": f"call-{number}", "caller": "13812345678", "agent_id": "1001", "now": at,
                             "category": "04.01.01", "request": "经十路123号停水", "district": "lixia",
                             "handling": "transferred" if agency_id else "direct", "agency_id": agency_id}
    draft.update(fields)
    result = validate(draft, CONFIG.taxonomy, DIRECTORY, CONFIG.districts, CONFIG.calendar)
    assert isinstance(result, WorkOrder), result
    return dataclasses.replace(result, case_number=number)


@pytest.fixture
async def http(world: World, backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    await backend.port.open_case_for(order(WATER))
    await backend.port.open_case_for(order(HEATING, "heating", category="04.04.01", caller="13900000002"))
    deps = dataclasses.replace(world.deps(), cases=backend.port)
    async with client(make_app(deps)) as c:
        yield c


class User:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http, self.headers = http, headers

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        answer = await self.http.request(method, f"/api/v1{path}", json=body, headers=self.headers,
                                         params=params or None)
        return answer.status_code, answer.json() if answer.content else None

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **params)

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.call("POST", path, body)


async def as_user(http: httpx.AsyncClient, username: str) -> User:
    return User(http, bearer(await log_in(http, username)))


# -- an agency sees and acts on its own cases only --------------------------------------------

async def test_an_agency_user_sees_only_its_own_agencys_cases(http: httpx.AsyncClient) -> None:
    wendy, harry = await as_user(http, "wendy"), await as_user(http, "harry")
    status, listed = await wendy.get("/agency/cases")
    assert status == 200 and [c["case_number"] for c in listed] == [WATER]
    assert (listed[0]["state"], listed[0]["agency_id"], listed[0]["request"]) == ("transferred", "water", "经十路123号停水")
    assert (listed[0]["accept_due"], listed[0]["reply_due"]) == ("2027-01-19T16:00:00+08:00",
                                                                 "2027-01-22T16:00:00+08:00")
    assert listed[0]["allowed"] == ["Accept", "Flag", "Return", "Unflag"]
    assert [c["case_number"] for c in (await harry.get("/agency/cases"))[1]] == [HEATING]
    for method, path, body in (("GET", f"/agency/cases/{HEATING}", None),
                               ("POST", f"/agency/cases/{HEATING}/accept", None),
                               ("POST", f"/agency/cases/{HEATING}/extend", {"reason": "忙", "days": 2}),
                               ("POST", f"/agency/cases/{HEATING}/reply", {"result": "已处理"}),
                               ("POST", f"/agency/cases/{HEATING}/return", {"reason": "不归我们管"})):
        status, error = await wendy.call(method, path, body)
        assert (status, error["error"]) == (403, "not_your_case"), (path, error)
    status, heating = await harry.get(f"/agency/cases/{HEATING}")
    assert (status, heating["state"]) == (200, "transferred")  # untouched by wendy's attempts
    assert (await wendy.post("/agency/cases/20270115-0099/accept"))[0] == 404


async def test_the_hotline_roles_are_refused_on_the_agency_routes_and_agencies_on_theirs(
        http: httpx.AsyncClient) -> None:
    sam, wendy = await as_user(http, "sam"), await as_user(http, "wendy")
    assert (await sam.post(f"/agency/cases/{WATER}/accept"))[1]["error"] == "forbidden"
    for path in ("/cases", f"/cases/{WATER}", "/supervision-list", "/reports/agency-ranking", "/me", "/directory"):
        status, error = await wendy.get(path)
        assert (status, error["error"]) == (403, "forbidden"), path
    status, me = await wendy.get("/agency/me")
    assert status == 200 and (me["username"], me["agency_id"], me["name_en"]) == (
        "wendy", "water", DIRECTORY.get("water").name_en)  # type: ignore[union-attr]


async def test_an_agency_logs_out_and_its_token_stops_working(http: httpx.AsyncClient) -> None:
    wendy = await as_user(http, "wendy")
    assert (await wendy.call("DELETE", "/agency/session"))[0] == 204
    status, error = await wendy.get("/agency/cases")
    assert (status, error["error"]) == (401, "not_authenticated")


# -- the whole path ---------------------------------------------------------------------------

async def test_accept_extend_grant_reply_then_the_follow_up_is_scheduled(http: httpx.AsyncClient,
                                                                          world: World) -> None:
    wendy, sam = await as_user(http, "wendy"), await as_user(http, "sam")
    world.clock.advance(HOUR)
    status, accepted = await wendy.post(f"/agency/cases/{WATER}/accept")
    assert status == 200 and (accepted["state"], accepted["accepted_at"], accepted["accepted_late"]) == (
        "accepted", "2027-01-15T17:00:00+08:00", False)
    status, asked = await wendy.post(f"/agency/cases/{WATER}/extend", {"reason": "需要更换主管道", "days": 3})
    assert status == 200 and (asked["state"], asked["pending_extension_days"]) == ("extension_requested", 3)
    status, granted = await sam.post(f"/cases/{WATER}/extension", {"grant": True, "note": "同意"})
    assert status == 200 and (granted["state"], granted["reply_due"], granted["extension_days"]) == (
        "extended", "2027-01-27T16:00:00+08:00", 3)
    status, again = await wendy.post(f"/agency/cases/{WATER}/extend", {"reason": "再延", "days": 1})
    assert (status, again["error"]) == (409, "illegal_in_state")
    assert "1 extension(s) granted already" in again["message"]
    world.clock.advance(24 * HOUR)
    wendy, sam = await as_user(http, "wendy"), await as_user(http, "sam")  # a login lasts 12 hours
    status, replied = await wendy.post(f"/agency/cases/{WATER}/reply", {"result": "  已更换阀门，恢复供水  "})
    assert status == 200 and (replied["state"], replied["result"], replied["replied_late"]) == (
        "replied", "已更换阀门，恢复供水", False)
    status, detail = await sam.get(f"/cases/{WATER}")
    assert status == 200
    assert [(e["kind"], e["actor"], e["state"]) for e in detail["events"]] == [
        ("open", "system", "open"), ("transfer", "system", "transferred"), ("accept", "wendy", "accepted"),
        ("ask_for_more_time", "wendy", "extension_requested"), ("grant_more_time", "sam", "extended"),
        ("reply", "wendy", "replied")]
    [follow_up] = detail["follow_ups"]
    assert (follow_up["reason"], follow_up["state"]) == ("reply", "scheduled")
    assert follow_up["next_attempt_at"] == "2027-01-16T18:00:00+08:00"  # the reply at 17:00 + 60 min


async def test_a_refused_extension_and_an_illegal_reply(http: httpx.AsyncClient) -> None:
    wendy, sam = await as_user(http, "wendy"), await as_user(http, "sam")
    status, error = await wendy.post(f"/agency/cases/{WATER}/reply", {"result": "已处理"})
    assert (status, error["error"]) == (409, "illegal_in_state")
    assert "Reply is illegal in state transferred" in error["message"] and "legal: Accept" in error["message"]
    await wendy.post(f"/agency/cases/{WATER}/accept")
    await wendy.post(f"/agency/cases/{WATER}/extend", {"reason": "人手不足", "days": 2})
    status, error = await sam.post(f"/cases/{WATER}/extension", {"grant": False})
    assert (status, error["error"]) == (422, "invalid_request")  # a refusal needs its note
    status, refused = await sam.post(f"/cases/{WATER}/extension", {"grant": False, "note": "请按期办结"})
    assert status == 200 and (refused["state"], refused["reply_due"]) == ("accepted", "2027-01-22T16:00:00+08:00")


async def test_a_returned_case_leaves_the_agency_and_is_transferred_again(http: httpx.AsyncClient) -> None:
    harry, sam, wendy = await as_user(http, "harry"), await as_user(http, "sam"), await as_user(http, "wendy")
    status, returned = await harry.post(f"/agency/cases/{HEATING}/return", {"reason": "属于供水问题"})
    assert status == 200 and (returned["state"], returned["agency_id"]) == ("open", None)
    assert (await harry.get(f"/agency/cases/{HEATING}"))[1]["error"] == "not_your_case"
    status, error = await sam.post(f"/cases/{HEATING}/transfer", {"agency_id": "nowhere"})
    assert (status, error["error"]) == (422, "unknown_agency")
    status, moved = await sam.post(f"/cases/{HEATING}/transfer", {"agency_id": "water"})
    assert status == 200 and (moved["state"], moved["agency_id"]) == ("transferred", "water")
    assert [c["case_number"] for c in (await wendy.get("/agency/cases"))[1]] == [HEATING, WATER]


async def test_the_overdue_filter_of_an_agency(http: httpx.AsyncClient, world: World) -> None:
    wendy = await as_user(http, "wendy")
    assert (await wendy.get("/agency/cases", overdue="true"))[1] == []
    world.clock.advance(4 * 24 * HOUR)  # Tuesday 16:00: the acceptance was due
    wendy = await as_user(http, "wendy")
    status, late = await wendy.get("/agency/cases", overdue="true")
    assert status == 200 and [(c["case_number"], c["overdue"]) for c in late] == [(WATER, ["accept"])]
    assert (await wendy.get("/agency/cases", state="accepted"))[1] == []


# -- supervisors ------------------------------------------------------------------------------

async def test_supervision_by_hand_with_a_note_and_what_the_agency_sees(http: httpx.AsyncClient) -> None:
    sam, ada, wendy = await as_user(http, "sam"), await as_user(http, "ada"), await as_user(http, "wendy")
    status, error = await ada.post(f"/cases/{WATER}/supervise", {"note": "admins read only"})
    assert (status, error["error"]) == (403, "forbidden")
    status, flagged = await sam.post(f"/cases/{WATER}/supervise", {"note": "市领导批示，请三日内办结"})
    assert status == 200 and flagged["supervision"] == ["manual"]
    status, listed = await ada.get("/supervision-list")
    assert status == 200 and [e["case"]["case_number"] for e in listed] == [WATER]
    assert [(n["actor"], n["data"]) for n in listed[0]["notes"]] == [
        ("sam", {"reason": "manual", "note": "市领导批示，请三日内办结"})]
    status, seen = await wendy.get(f"/agency/cases/{WATER}")
    assert status == 200 and seen["supervision"] == ["manual"]
    assert [e["kind"] for e in seen["events"]] == ["open", "transfer"]  # the note is the hotline's
    assert seen["events"][0]["data"] == {} and seen["follow_ups"] == []
    status, cleared = await sam.post(f"/cases/{WATER}/unsupervise", {"note": "已办结"})
    assert status == 200 and cleared["supervision"] == [] and (await sam.get("/supervision-list"))[1] == []


async def test_reopen_and_close(http: httpx.AsyncClient) -> None:
    sam, wendy = await as_user(http, "sam"), await as_user(http, "wendy")
    status, error = await sam.post(f"/cases/{WATER}/close", {"reason": "x"})
    assert (status, error["error"]) == (409, "illegal_in_state")
    await wendy.post(f"/agency/cases/{WATER}/accept")
    await wendy.post(f"/agency/cases/{WATER}/reply", {"result": "已处理"})
    status, reopened = await sam.post(f"/cases/{WATER}/reopen", {"reason": "市民来电反映仍未恢复供水"})
    assert status == 200 and (reopened["state"], reopened["reopen_count"]) == ("reopened", 1)
    await wendy.post(f"/agency/cases/{WATER}/accept")
    await wendy.post(f"/agency/cases/{WATER}/reply", {"result": "已彻底修复"})
    status, closed = await sam.post(f"/cases/{WATER}/close", {"reason": "市民满意"})
    assert status == 200 and (closed["state"], closed["close_reason"]) == ("closed", "市民满意")
    status, found = await sam.get("/cases", state="closed", agency_id="water")
    assert status == 200 and [c["case_number"] for c in found] == [WATER]


@pytest.mark.parametrize(("path", "body"), [
    (f"/agency/cases/{WATER}/extend", {"reason": "   ", "days": 2}),
    (f"/agency/cases/{WATER}/extend", {"reason": "ok", "days": 0}),
    (f"/agency/cases/{WATER}/reply", {"result": ""}),
    (f"/agency/cases/{WATER}/reply", {"result": "a\x00b"}),
    (f"/agency/cases/{WATER}/reply", {"result": "ok", "extra": 1}),
    (f"/agency/cases/{WATER}/return", {"reason": "x" * 2001}),
])
async def test_bad_bodies_are_422_naming_the_field(http: httpx.AsyncClient, path: str, body: Any) -> None:
    wendy = await as_user(http, "wendy")
    status, error = await wendy.post(path, body)
    assert (status, error["error"]) == (422, "invalid_request"), error
    assert error["details"], error


# -- the ranking -----------------------------------------------------------------------------

async def test_the_agency_ranking_as_json_csv_and_png(http: httpx.AsyncClient, backend: Backend,
                                                      world: World) -> None:
    wendy, harry = await as_user(http, "wendy"), await as_user(http, "harry")
    for i in (3, 4):  # two more water cases: three in all
        await backend.port.open_case_for(order(f"20270115-000{i}", caller=f"1390000000{i}"))
    for number in (WATER, "20270115-0003", "20270115-0004"):
        await wendy.post(f"/agency/cases/{number}/accept")
        await wendy.post(f"/agency/cases/{number}/reply", {"result": "已处理"})
    await harry.post(f"/agency/cases/{HEATING}/accept")
    world.clock.advance(8 * 24 * HOUR)  # heating's reply is overdue now
    ada = await as_user(http, "ada")
    params = {"from": "2027-01-01T00:00:00", "to": "2027-02-01T00:00:00"}
    status, ranking = await ada.get("/reports/agency-ranking", **params)
    assert status == 200, ranking
    assert (ranking["start"], ranking["end"], ranking["min_cases"]) == (
        "2027-01-01T00:00:00+08:00", "2027-02-01T00:00:00+08:00", 3)
    rows = {a["agency_id"]: a for a in ranking["agencies"]}
    assert set(rows) == set(DIRECTORY.ids)  # every agency of the directory is listed
    water, heating = rows["water"], rows["heating"]
    assert (water["rank"], water["received"], water["replied_on_time"], water["completion_rate"], water["score"]) == (
        1, 3, 3, 1.0, 100.0)
    assert (heating["rank"], heating["received"], heating["replied_late"], heating["score"]) == (None, 1, 1, None)
    assert ranking["agencies"][0]["agency_id"] == "water"
    answer = await ada.http.get("/api/v1/reports/agency-ranking", params={**params, "format": "csv"},
                                headers=ada.headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="agency-ranking-20270101-20270131.csv"' in answer.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert lines[0]["agency_id"] == "water" and lines[0]["rank"] == "1" and lines[0]["score"] == "100.0"
    assert next(r for r in lines if r["agency_id"] == "heating")["satisfaction_rate"] == ""  # none, not 0
    png = await ada.http.get("/api/v1/reports/agency-ranking", params={**params, "format": "png"},
                             headers=ada.headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 5000
    status, error = await ada.get("/reports/agency-ranking", **{"from": "2027-02-01T00:00:00",
                                                                "to": "2027-01-01T00:00:00"})
    assert (status, error["error"]) == (422, "invalid_request")


async def test_the_ranking_defaults_to_the_current_month(http: httpx.AsyncClient) -> None:
    status, ranking = await (await as_user(http, "sam")).get("/reports/agency-ranking")
    assert status == 200 and (ranking["start"], ranking["end"]) == ("2027-01-01T00:00:00+08:00",
                                                                    "2027-02-01T00:00:00+08:00")
    assert {a["agency_id"]: a["received"] for a in ranking["agencies"] if a["received"]} == {"water": 1, "heating": 1}


# -- a database that does not answer ------------------------------------------------------------

async def test_a_database_that_does_not_answer_is_503(world: World, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gone.sqlite3'}")
    (tmp_path / "gone.sqlite3").mkdir()  # a directory where the file should be: nothing opens it
    deps = dataclasses.replace(world.deps(), cases=SqlCases(engine, CONFIG, RULES))
    async with client(make_app(deps)) as http:
        status, error = await (await as_user(http, "wendy")).get("/agency/cases")
    assert (status, error["error"]) == (503, "unavailable")
    engine.dispose()


# -- the command line ---------------------------------------------------------------------------

def run_cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path / "var"),
           "HOTLINE_DB_URL": f"sqlite:///{tmp_path / 'var' / 'api.sqlite3'}", "HOTLINE_NEW_PASSWORD": PASSWORD}
    return subprocess.run([str(Path(sys.executable).parent / "hotline"), "user", *argv], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)


async def test_an_agency_user_added_on_the_command_line_reads_its_cases(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "add", "wendy", "--role", "agency", "--agency", "water")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "user wendy added: agency of agency water"
    unknown = run_cli(tmp_path, "add", "nora", "--role", "agency", "--agency", "nowhere")
    assert unknown.returncode == 2 and "agency nowhere is not in the agency directory" in unknown.stderr
    missing = run_cli(tmp_path, "add", "nora", "--role", "agency")
    assert missing.returncode == 2 and "--agency" in missing.stderr
    wrong = run_cli(tmp_path, "add", "sam", "--role", "supervisor", "--agency", "water")
    assert wrong.returncode == 2 and "only an agency user's account is bound to an agency" in wrong.stderr
    listed = run_cli(tmp_path, "list")
    assert [line.split() for line in listed.stdout.splitlines()] == [["wendy", "agency", "water", "active"]]

    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'api.sqlite3'}")
    try:
        cases = SqlCases(engine, CONFIG, RULES)
        await cases.open_case_for(order(WATER))
        world = World()
        world.users = UserStore(engine)  # type: ignore[assignment]
        async with client(make_app(dataclasses.replace(world.deps(), cases=cases))) as http:
            login = await log_in(http, "wendy", PASSWORD)
            assert login["role"] == "agency"
            answer = await http.get("/api/v1/agency/cases", headers=bearer(login))
            assert answer.status_code == 200 and [c["case_number"] for c in answer.json()] == [WATER]
    finally:
        engine.dispose()




# -- the port's shell steps, on both backends -------------------------------------------------

async def test_both_ports_run_follow_ups_and_sweep_overdue_cases_alike(backend: Backend) -> None:
    port = backend.port
    await port.open_case_for(order(WATER))
    await port.open_case_for(order(HEATING, "heating", category="04.04.01", caller="13900000002"))
    await port.act(WATER, Accept(), NOW + HOUR, "wendy")
    await port.act(WATER, Reply("已处理"), NOW + 2 * HOUR, "wendy")
    assert await port.due_follow_ups(NOW + 2 * HOUR) == []
    [due] = await port.due_follow_ups(NOW + 3 * HOUR)
    assert (due.case_number, due.next_attempt_at) == (WATER, datetime(2027, 1, 15, 19, 0, tzinfo=TZ))
    tried, case = await port.record_attempt(WATER, "answered", NOW + 3 * HOUR, satisfied=False, solved=False)
    assert (tried.state, case.state.value, case.supervision) == ("done", "reopened", ("unhappy",))
    assert [e.kind for e in await port.events(WATER)][-2:] == ["follow_up_attempt", "follow_up_done"]
    assert await port.sweep_overdue(NOW + 3 * HOUR) == []
    flagged = await port.sweep_overdue(NOW + 4 * 24 * HOUR)  # Tuesday 16:00: heating's acceptance was due
    assert [(c.case_number, c.supervision) for c in flagged] == [(HEATING, ("overdue",))]
    assert await port.sweep_overdue(NOW + 4 * 24 * HOUR + HOUR) == []  # flagged once; the reopened one is not due
    assert [e.case.case_number for e in await port.supervision_list()] == [WATER, HEATING]


async def test_a_follow_up_made_by_a_person_is_recorded_on_the_case(http: httpx.AsyncClient, world: World) -> None:
    """人工回访: the call taker the citizen asked for (or a manual call) records the answer; the
    same rules as the dialler's (an unhappy citizen reopens the case and flags it)."""
    wendy, sam, alice = await as_user(http, "wendy"), await as_user(http, "sam"), await as_user(http, "alice")
    status, error = await alice.post(f"/cases/{WATER}/follow-up", {"satisfied": True})
    assert (status, error["error"]) == (404, "not_found")  # nothing scheduled yet
    await wendy.post(f"/agency/cases/{WATER}/accept")
    await wendy.post(f"/agency/cases/{WATER}/reply", {"result": "已处理"})
    status, error = await alice.post(f"/cases/{WATER}/follow-up", {"outcome": "busy", "satisfied": True})
    assert (status, error["error"]) == (422, "invalid_request")
    status, case = await alice.post(f"/cases/{WATER}/follow-up", {"outcome": "no_answer"})
    assert status == 200 and case["state"] == "replied"  # tried again later
    status, case = await alice.post(f"/cases/{WATER}/follow-up", {"satisfied": False, "solved": False})
    assert status == 200 and (case["state"], case["reopen_count"]) == ("reopened", 1)
    assert "unhappy" in case["supervision"]
    status, detail = await sam.get(f"/cases/{WATER}")
    attempts = [(e["actor"], e["data"]["outcome"]) for e in detail["events"] if e["kind"] == "follow_up_attempt"]
    assert attempts == [("alice", "no_answer"), ("alice", "answered")]
    status, error = await wendy.post(f"/cases/{WATER}/follow-up", {"satisfied": True})
    assert status == 403  # an agency never rates its own case
