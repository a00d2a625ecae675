"""The work-order routes, on two real backends of the port: the SQL one over a real SQLite
file (``SqlWorkOrders`` with the call records written by ``CallStore``) and the in-memory
one (``tests/fakes_work_orders.py``). Filing and updating on the current call (and in
wrap-up), who may read and write what (an agent never another agent's call: 403
``not_your_call``), the caller's history, the validation errors naming the field, the
supervisors' list, the taxonomy, and a database or live state that does not answer."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from agents.state import AgentRecord, AgentState
from calls.records import CallRecord
from hotline.api.app import make_app
from hotline.api.work_orders_sql import SqlWorkOrders
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import CallStore, make_engine, migrate
from tests.fakes_api import DIRECTORY, World, bearer, client, log_in, three_role_world
from tests.fakes_work_orders import CONFIG, FakeWorkOrders
from tests.unit.test_api_architecture import WEB
from tests.unit.test_architecture import BLOCKED
from workorders.taxonomy import TaxonomyError

NOW = 1_800_000_000.0            # the world's clock: Friday 2027-01-15 16:00 in China
DAY = 86400.0
ALICE_CALL, BOB_CALL = "1700000000.1", "1700000000.2"
CITIZEN, OTHER_CITIZEN = "13812345678", "13900000002"
BODY = {"category": "04.01.01", "request": "小区停水两天了", "district": "lixia", "handling": "direct"}
CASE = re.compile(r"^20270115-\d{4}$")


class Backend:
    """One implementation of the port, and how a test gives it a stored call record."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.engine = make_engine(f"sqlite:///{tmp_path / 'api.sqlite3'}")
            migrate(self.engine)
            self.calls = CallStore(self.engine)
            self.port: Any = SqlWorkOrders(self.engine, CONFIG, lambda: DIRECTORY)
        else:
            self.port = FakeWorkOrders()

    def give_call(self, call_id: str, caller: str, agent_id: str, arrived_at: float, *, agency_leg: bool = False,
                  satisfaction: str | None = None) -> None:
        if self.kind == "sqlite":
            attrs = {**({"satisfaction": satisfaction} if satisfaction else {}),
                     **({"handling": "three_party"} if agency_leg else {})}
            self.calls.save(CallRecord(call_id=call_id, caller=caller, dnis="12345", arrived_at=arrived_at,
                                       answered_at=arrived_at + 4, ended_at=arrived_at + 90, agent_id=agent_id,
                                       outcome="answered", queue="main", attrs=attrs))
        else:
            self.port.give_call(call_id, caller, agent_id, arrived_at, agency_leg=agency_leg,
                                satisfaction=satisfaction)

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


@pytest.fixture
def world() -> World:
    w = three_role_world()
    w.add_user("bob", "agent", agent_id="1002")
    w.calls.give_call("1001", call_id=ALICE_CALL, caller=CITIZEN)
    w.calls.give_call("1002", call_id=BOB_CALL, caller=OTHER_CITIZEN)
    return w


class Desk:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http, self.headers = http, headers

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        answer = await self.http.request(method, f"/api/v1{path}", json=body, headers=self.headers,
                                         params=params or None)
        return answer.status_code, answer.json() if answer.content else None

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **params)

    async def put(self, path: str, body: Any) -> tuple[int, Any]:
        return await self.call("PUT", path, body)


@pytest.fixture
async def http(world: World, backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    deps = dataclasses.replace(world.deps(), work_orders=backend.port)
    async with client(make_app(deps)) as c:
        yield c


async def desk(http: httpx.AsyncClient, username: str) -> Desk:
    return Desk(http, bearer(await log_in(http, username)))


# -- filing on the current call -----------------------------------------------------------

async def test_an_agent_files_and_updates_the_work_order_of_their_call(http: httpx.AsyncClient) -> None:
    alice = await desk(http, "alice")
    assert (await alice.get(f"/calls/{ALICE_CALL}/work-order"))[0] == 404
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY)
    assert status == 200, body
    assert CASE.match(body["case_number"]), body
    assert (body["call_id"], body["caller"], body["agent_id"]) == (ALICE_CALL, CITIZEN, "1001")
    assert body["category_path"] == {"code": "04.01.01", "path_zh": ["城市公用事业", "供水排水", "停水"],
                                     "path_en": ["Utilities", "Water and drainage", "Water outage"], "emergency": False}
    assert (body["status"], body["urgency"], body["due_at"], body["three_party"]) == ("resolved", "normal", None, False)
    assert body["created_at"] == "2027-01-15T16:00:00+08:00"
    status, again = await alice.put(f"/calls/{ALICE_CALL}/work-order",
                                    {**BODY, "handling": "transferred", "agency_id": "water", "notes": "转供水集团"})
    assert status == 200, again
    assert again["case_number"] == body["case_number"]
    assert (again["status"], again["agency_id"], again["notes"]) == ("transferred", "water", "转供水集团")
    assert again["due_at"] == "2027-01-19T16:00:00+08:00"  # Friday -> Tuesday
    status, read = await alice.get(f"/calls/{ALICE_CALL}/work-order")
    assert status == 200 and read == again


async def test_a_second_call_gets_the_next_number(http: httpx.AsyncClient, world: World) -> None:
    alice = await desk(http, "alice")
    first = (await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY))[1]["case_number"]
    world.calls.give_call("1001", call_id="1700000000.9", caller=CITIZEN)
    second = (await alice.put("/calls/1700000000.9/work-order", BODY))[1]["case_number"]
    assert (first, second) == ("20270115-0001", "20270115-0002")


async def test_an_agent_files_in_wrap_up(http: httpx.AsyncClient, world: World) -> None:
    """The call is over for the phone but the agent's record is still bound to it."""
    del world.calls.calls["1001"]
    world.agents.records["1001"] = AgentRecord("1001", AgentState.WRAP_UP, since=NOW, call_id=ALICE_CALL,
                                               wrap_until=NOW + 30)
    alice = await desk(http, "alice")
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY)
    assert status == 200 and body["agent_id"] == "1001", body


async def test_an_emergency_item_defaults_to_emergency(http: httpx.AsyncClient) -> None:
    alice = await desk(http, "alice")
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order",
                                   {**BODY, "category": "04.03.01", "handling": "transferred", "agency_id": "gas"})
    assert status == 200 and body["urgency"] == "emergency" and body["category_path"]["emergency"] is True


async def test_three_party_is_derived_from_the_live_call_unless_given(http: httpx.AsyncClient) -> None:
    alice = await desk(http, "alice")
    assert (await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY))[1]["three_party"] is False
    status, _ = await alice.call("POST", "/agents/1001/call/conference", {"agency_id": "water"})
    assert status == 200
    assert (await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY))[1]["three_party"] is True
    assert (await alice.put(f"/calls/{ALICE_CALL}/work-order", {**BODY, "three_party": False}))[1][
        "three_party"] is False


async def test_the_survey_answer_of_the_stored_call_is_kept(http: httpx.AsyncClient, backend: Backend,
                                                            world: World) -> None:
    del world.calls.calls["1001"]
    backend.give_call(ALICE_CALL, CITIZEN, "1001", NOW - 300, satisfaction="unsatisfied", agency_leg=True)
    alice = await desk(http, "alice")
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY)
    assert status == 200, body
    assert (body["satisfaction"], body["status"], body["three_party"], body["caller"]) == (
        "unsatisfied", "supervision", True, CITIZEN)
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", {**BODY, "satisfaction": "satisfied"})
    assert status == 422 and body["details"][0]["loc"] == ["body", "satisfaction"]  # never the call taker's


# -- validation: 422 with the field named -------------------------------------------------

@pytest.mark.parametrize(("change", "field", "why"), [
    ({"category": "99.99.99"}, "category", "unknown category"),
    ({"category": "04.03"}, "category", "pattern"),
    ({"district": "paris"}, "district", "unknown district"),
    ({"handling": "transferred"}, "agency_id", "required for a transferred case"),
    ({"handling": "transferred", "agency_id": "fire_brigade"}, "agency_id", "no agency 'fire_brigade'"),
    ({"request": ""}, "request", "at least 1 character"),
    ({"request": "   "}, "request", "may not be empty"),
    ({"request": "x" * 2001}, "request", "at most 2000"),
    ({"request": "gas\u0000leak"}, "request", "pattern"),
    ({"urgency": "asap"}, "urgency", "normal"),
    ({"caller": "110"}, "caller", "Extra inputs"),
])
async def test_an_invalid_order_is_422_naming_the_field(http: httpx.AsyncClient, backend: Backend,
                                                        change: dict[str, Any], field: str, why: str) -> None:
    alice = await desk(http, "alice")
    status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", {**BODY, **change})
    assert status == 422 and body["error"] == "invalid_request", body
    assert [d["loc"] for d in body["details"]] == [["body", field]], body
    assert why in body["details"][0]["msg"] and field in body["message"], body
    assert (await alice.get(f"/calls/{ALICE_CALL}/work-order"))[0] == 404  # nothing stored


# -- access -------------------------------------------------------------------------------

async def test_an_agent_cannot_touch_another_agents_live_call(http: httpx.AsyncClient, backend: Backend) -> None:
    bob = await desk(http, "bob")
    assert (await bob.put(f"/calls/{BOB_CALL}/work-order", BODY))[0] == 200
    alice = await desk(http, "alice")
    for method, path, body in (("GET", f"/calls/{BOB_CALL}/work-order", None),
                               ("PUT", f"/calls/{BOB_CALL}/work-order", BODY),
                               ("GET", f"/calls/{BOB_CALL}/history", None)):
        status, answer = await alice.call(method, path, body)
        assert (status, answer["error"]) == (403, "not_your_call"), (method, path, answer)
    status, answer = await bob.get(f"/calls/{BOB_CALL}/work-order")
    assert status == 200 and answer["request"] == BODY["request"]  # alice's PUT changed nothing


async def test_an_agent_cannot_read_another_agents_stored_call(http: httpx.AsyncClient, backend: Backend,
                                                               world: World) -> None:
    backend.give_call("1699999000.5", OTHER_CITIZEN, "1002", NOW - 2 * DAY)
    backend.give_call("1699999000.6", CITIZEN, "1001", NOW - 2 * DAY)
    alice = await desk(http, "alice")
    for path in ("/calls/1699999000.5/work-order", "/calls/1699999000.5/history", "/calls/nosuchcall/history"):
        assert (await alice.get(path))[1]["error"] == "not_your_call", path
    assert (await alice.put("/calls/1699999000.5/work-order", BODY))[0] == 403
    # her own earlier call: she may file (late) and read it
    status, body = await alice.put("/calls/1699999000.6/work-order", BODY)
    assert status == 200 and body["caller"] == CITIZEN and body["agent_id"] == "1001"
    assert (await alice.get("/calls/1699999000.6/work-order"))[0] == 200
    assert (await alice.get("/calls/1699999000.6/history"))[0] == 200


async def test_supervisors_and_admins_read_any_call_and_only_supervisors_correct(http: httpx.AsyncClient) -> None:
    bob = await desk(http, "bob")
    filed = (await bob.put(f"/calls/{BOB_CALL}/work-order", BODY))[1]
    sam, ada = await desk(http, "sam"), await desk(http, "ada")
    for staff in (sam, ada):
        assert (await staff.get(f"/calls/{BOB_CALL}/work-order"))[1]["case_number"] == filed["case_number"]
        assert (await staff.get(f"/calls/{BOB_CALL}/history"))[0] == 200
    status, body = await sam.put(f"/calls/{BOB_CALL}/work-order", {**BODY, "notes": "督办：请加快处理"})
    assert status == 200 and body["notes"] == "督办：请加快处理"
    assert (body["agent_id"], body["caller"], body["case_number"]) == ("1002", OTHER_CITIZEN, filed["case_number"])
    status, body = await ada.put(f"/calls/{BOB_CALL}/work-order", BODY)
    assert (status, body["error"]) == (403, "forbidden")
    assert (await sam.get("/calls/nosuchcall/work-order"))[1]["error"] == "not_found"
    assert (await sam.put("/calls/nosuchcall/work-order", BODY))[1]["error"] == "not_found"


async def test_a_supervisor_files_for_a_live_call_found_by_its_agent(http: httpx.AsyncClient, world: World) -> None:
    world.agents.records["1002"] = AgentRecord("1002", AgentState.ON_CALL, since=NOW, call_id=BOB_CALL)
    sam = await desk(http, "sam")
    status, body = await sam.put(f"/calls/{BOB_CALL}/work-order", BODY)
    assert status == 200 and (body["agent_id"], body["caller"]) == ("1002", OTHER_CITIZEN), body


# -- history ------------------------------------------------------------------------------

async def test_history_is_only_that_callers_within_the_window(http: httpx.AsyncClient, backend: Backend) -> None:
    backend.give_call("h40", CITIZEN, "1003", NOW - 40 * DAY)
    backend.give_call("h10", CITIZEN, "1003", NOW - 10 * DAY)
    backend.give_call("h2", CITIZEN, "1001", NOW - 2 * DAY)
    backend.give_call("x3", OTHER_CITIZEN, "1001", NOW - 3 * DAY)
    sam = await desk(http, "sam")
    assert (await sam.put("/calls/h10/work-order", {**BODY, "category": "04.04.01", "notes": "已联系热力"}))[0] == 200
    assert (await sam.put("/calls/x3/work-order", {**BODY, "request": "别人的事"}))[0] == 200
    alice = await desk(http, "alice")
    status, body = await alice.get(f"/calls/{ALICE_CALL}/history")
    assert status == 200, body
    assert (body["caller"], body["days"], body["since"]) == (CITIZEN, 30, "2026-12-16T16:00:00+08:00")
    assert [c["call_id"] for c in body["calls"]] == ["h2", "h10"]  # newest first; not h40, not x3
    h2, h10 = body["calls"]
    assert h2["work_order"] is None
    order = h10["work_order"]
    assert CASE.match(order["case_number"])
    assert (order["category"]["code"], order["category"]["path_zh"], order["status"], order["notes"]) == (
        "04.04.01", ["城市公用事业", "供热", "供暖不热"], "resolved", "已联系热力")
    assert order["request"] == BODY["request"]
    assert [c["call_id"] for c in (await alice.get(f"/calls/{ALICE_CALL}/history", days=5))[1]["calls"]] == ["h2"]
    assert [c["call_id"] for c in (await alice.get(f"/calls/{ALICE_CALL}/history", days=60))[1]["calls"]] == [
        "h2", "h10", "h40"]
    for days in (0, 366, "x"):
        assert (await alice.get(f"/calls/{ALICE_CALL}/history", days=days))[0] == 422


async def test_a_withheld_number_has_no_history(http: httpx.AsyncClient, backend: Backend, world: World) -> None:
    world.calls.give_call("1001", call_id="anon.1", caller="anonymous")
    backend.give_call("anon.0", "anonymous", "1003", NOW - DAY)
    alice = await desk(http, "alice")
    status, body = await alice.get("/calls/anon.1/history")
    assert status == 200 and body["calls"] == []


# -- the supervisors' list ----------------------------------------------------------------

async def test_the_list_is_for_supervisors_and_admins_with_filters(http: httpx.AsyncClient, world: World) -> None:
    alice, bob = await desk(http, "alice"), await desk(http, "bob")
    await alice.put(f"/calls/{ALICE_CALL}/work-order", {**BODY, "category": "04.03.01", "handling": "transferred",
                                                       "agency_id": "gas"})
    await bob.put(f"/calls/{BOB_CALL}/work-order", {**BODY, "district": "tianqiao"})
    status, body = await alice.get("/work-orders")
    assert (status, body["error"]) == (403, "forbidden")
    for name in ("sam", "ada"):
        staff = await desk(http, name)
        status, body = await staff.get("/work-orders")
        assert status == 200 and [o["call_id"] for o in body] == [BOB_CALL, ALICE_CALL]  # newest number first
        assert [o["call_id"] for o in (await staff.get("/work-orders", category="04.03"))[1]] == [ALICE_CALL]
        assert [o["call_id"] for o in (await staff.get("/work-orders", district="tianqiao"))[1]] == [BOB_CALL]
        assert [o["call_id"] for o in (await staff.get("/work-orders", status="transferred"))[1]] == [ALICE_CALL]
        assert [o["call_id"] for o in (await staff.get("/work-orders", agent_id="1002"))[1]] == [BOB_CALL]
        assert len((await staff.get("/work-orders", since="2027-01-15", until="2027-01-15"))[1]) == 2
        assert (await staff.get("/work-orders", until="2027-01-14"))[1] == []
        assert (await staff.get("/work-orders", since="1900-01-01"))[0] == 422
        assert (await staff.get("/work-orders", category="4"))[0] == 422
    world.clock.advance(5 * DAY)  # past the transfer's due date
    sam = await desk(http, "sam")
    assert [o["call_id"] for o in (await sam.get("/work-orders", status="overdue"))[1]] == [ALICE_CALL]


# -- the taxonomy -------------------------------------------------------------------------

async def test_every_user_reads_the_taxonomy_and_the_districts(http: httpx.AsyncClient) -> None:
    for name in ("alice", "sam", "ada"):
        status, body = await (await desk(http, name)).get("/taxonomy")
        assert status == 200
        items = [i for c in body["classes"] for s in c["subclasses"] for i in s["items"]]
        assert len(items) == len(CONFIG.taxonomy.leaves())
        assert {"district_id": "lixia", "name_zh": "历下区", "name_en": "Lixia District"} in body["districts"]
    status, body = await (await desk(http, "alice")).get("/taxonomy", q="燃气")
    assert [i["code"] for c in body["classes"] for s in c["subclasses"] for i in s["items"]] == [
        "04.03.01", "04.03.02", "04.03.03"]
    assert body["classes"][0]["subclasses"][0]["items"][0]["agencies"] == ["gas"]


# -- backing services that do not answer --------------------------------------------------

async def test_a_database_that_does_not_answer_is_503() -> None:
    world = three_role_world()
    world.calls.give_call("1001", call_id=ALICE_CALL, caller=CITIZEN)
    port = FakeWorkOrders()
    async with client(make_app(dataclasses.replace(world.deps(), work_orders=port))) as http:
        alice = await desk(http, "alice")
        port.down = True
        status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY)
        assert (status, body["error"]) == (503, "unavailable")
        status, body = await alice.get("/calls/1699999000.5/work-order")  # not live: the database decides
        assert (status, body["error"]) == (503, "unavailable")


async def test_a_lost_live_state_still_lets_an_agent_reach_their_stored_call(http: httpx.AsyncClient,
                                                                             backend: Backend, world: World) -> None:
    backend.give_call("1699999000.6", CITIZEN, "1001", NOW - DAY)
    alice = await desk(http, "alice")
    world.calls.down = world.agents.down = True
    assert (await alice.put("/calls/1699999000.6/work-order", BODY))[0] == 200
    status, body = await alice.get(f"/calls/{BOB_CALL}/work-order")  # cannot tell whether it is hers
    assert (status, body["error"]) == (503, "unavailable")


async def test_the_default_port_files_with_the_shipped_files() -> None:
    """An ApiDeps built without work_orders (every existing construction) files in memory."""
    world = three_role_world()
    world.calls.give_call("1001", call_id=ALICE_CALL, caller=CITIZEN)
    async with client(make_app(world.deps())) as http:
        alice = await desk(http, "alice")
        status, body = await alice.put(f"/calls/{ALICE_CALL}/work-order", BODY)
        assert status == 200 and body["case_number"] == "20270115-0001"


async def test_the_sql_port_for_the_composition_root(tmp_path: Path) -> None:
    """``SqlWorkOrders.shipped(engine, directory)``: the shipped files, validated against the
    directory in force at start-up (a taxonomy naming an agency it lacks stops the start)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'boot.sqlite3'}")
    try:
        migrate(engine)
        port = SqlWorkOrders.shipped(engine, lambda: DIRECTORY)
        assert port.config().taxonomy.get("04.03.01").agencies == ("gas",)  # type: ignore[union-attr]
        order = await port.save("c1", BODY, caller=CITIZEN, agent_id="1001", live_agency_leg=False, now=NOW)
        assert order.case_number == "20270115-0001" and await port.get_by_case("20270115-0001") == order
        assert await port.set_satisfaction("c1", "satisfied") is True
        assert (await port.get("c1")).satisfaction == "satisfied"  # type: ignore[union-attr]
        smaller = dataclasses.replace(DIRECTORY, agencies=tuple(a for a in DIRECTORY.agencies if a.agency_id != "gas"))
        with pytest.raises(TaxonomyError, match="gas not in the agency directory"):
            SqlWorkOrders.shipped(engine, lambda: smaller)
    finally:
        engine.dispose()


def test_the_port_imports_with_io_and_web_libraries_blocked() -> None:
    """Like hotline.api.ports: the routes' port knows no database, web or event-loop library."""
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED + WEB!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import hotline.api.ports_work_orders
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
