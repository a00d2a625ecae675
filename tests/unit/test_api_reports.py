"""The report routes: who may call them (supervisors and admins; an agent 403), the shapes
they answer (KPIs with their definitions, grouped every way; the daily report as JSON and
CSV; PNG charts), the periods they refuse, and the same answer from the in-memory port and
from ``SqlReports`` over a real SQLite file (and 503 when the database does not answer)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hotline.api.app import make_app
from hotline.api.reports_memory import InMemoryReports
from hotline.api.reports_sql import SqlReports
from hotline.store.agent_states import AgentStateStore
from hotline.store.calls import CallStore, make_engine, migrate
from hotline.store.work_orders import WorkOrderStore
from kpi import export
from kpi.definitions import KPIS
from tests import kpi_scenario as s
from tests.fakes_api import DIRECTORY, World, bearer, client, log_in, three_role_world
from tests.unit.test_kpi_definitions import EXPECTED
from tests.unit.test_kpi_report import png_size
from workorders import FOLDER
from workorders.taxonomy import load_taxonomy

DAY = "2026-11-30"
ROUTES = ["/api/v1/reports/kpis", f"/api/v1/reports/daily?date={DAY}", f"/api/v1/reports/daily.csv?date={DAY}",
          f"/api/v1/reports/chart/calls.png?date={DAY}"]


def memory_reports() -> InMemoryReports:
    reports = InMemoryReports.shipped()
    orders = {o.call_id: o for o in s.orders()}
    for record, events in s.calls():
        reports.add_call(record, events, orders.get(record.call_id))
    reports.add_states(s.states())
    return reports


def sqlite_reports(tmp_path: Path) -> tuple[SqlReports, Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reports.sqlite3'}")
    migrate(engine)
    store = CallStore(engine)
    for record, events in s.calls():
        store.save(record, events)
    taxonomy = load_taxonomy(FOLDER / "taxonomy.yaml")
    orders = WorkOrderStore(engine, taxonomy, s.TZ)
    for order in s.orders():
        orders.save(order)
    AgentStateStore(engine).append(s.states())
    return SqlReports(engine, taxonomy, s.TZ), engine


def app_with(world: World, reports: Any) -> Any:
    return make_app(dataclasses.replace(world.deps(), reports=reports))


async def get(app: Any, user: str, path: str) -> Any:
    async with client(app) as http:
        headers = bearer(await log_in(http, user))
        return await http.get(path, headers=headers)


@pytest.fixture
def world() -> World:
    return three_role_world()


@pytest.mark.parametrize("path", ROUTES)
async def test_supervisors_and_admins_only(world: World, path: str) -> None:
    app = app_with(world, memory_reports())
    assert (await get(app, "alice", path)).status_code == 403
    assert (await get(app, "alice", path)).json()["error"] == "forbidden"
    assert (await get(app, "sam", path)).status_code == 200
    assert (await get(app, "ada", path)).status_code == 200
    async with client(app) as http:
        assert (await http.get(path)).status_code == 401


async def test_kpis_of_the_day_with_their_definitions(world: World) -> None:
    answer = await get(app_with(world, memory_reports()), "sam",
                       f"/api/v1/reports/kpis?from={DAY}T00:00:00&to=2026-12-01T00:00:00")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["start"] == "2026-11-30T00:00:00+08:00" and body["by"] == "period"
    assert [d["key"] for d in body["definitions"]] == [k.key for k in KPIS]
    connect = next(d for d in body["definitions"] if d["key"] == "connect_rate")
    assert connect["denominator"] == "offered - callbacks_requested" and "GB/T 33358" in connect["rule"]
    values = body["rows"][0]["values"]
    for key, expected in EXPECTED.items():
        assert values[key] == pytest.approx(expected, abs=1e-12), key
    assert body["rules"]["short_abandon_seconds"] == 5.0
    assert body["rolling_24h"]["partial"] is True and body["rolling_24h"]["worst"]["live_offered"] == 7


@pytest.mark.parametrize("by, groups", [
    ("line", ["business", "main"]), ("language", ["en", "zh"]), ("agent", ["1001", "1002", "1003"]),
    ("agency", ["housing", "traffic_police", "water"]), ("category", ["-", "01", "04", "05"]),
    ("skill", ["-", "housing", "social_insurance"]), ("district", ["-", "lixia"]),
])
async def test_kpis_grouped(world: World, by: str, groups: list[str]) -> None:
    body = (await get(app_with(world, memory_reports()), "sam", f"/api/v1/reports/kpis?from={DAY}&by={by}")).json()
    assert [r["group"] for r in body["rows"]] == groups
    if by == "agency":
        water = next(r for r in body["rows"] if r["group"] == "water")
        assert water["name"] == DIRECTORY.get("water").name_zh and water["extra"]["orders_transferred_to"] == 1
    if by == "category":
        assert next(r for r in body["rows"] if r["group"] == "04")["name"] == "城市公用事业"
    if by == "agent":
        assert next(r for r in body["rows"] if r["group"] == "1003")["extra"]["rona"] == 1


async def test_kpis_by_quarter_hour(world: World) -> None:
    body = (await get(app_with(world, memory_reports()), "sam",
                      f"/api/v1/reports/kpis?from={DAY}&by=interval&interval=15m")).json()
    assert len(body["rows"]) == 96
    nine = next(r for r in body["rows"] if r["name"] == "2026-11-30T09:00:00+08:00")
    assert nine["values"]["arrived"] == 7


async def test_the_daily_report_json_and_csv(world: World) -> None:
    app = app_with(world, memory_reports())
    body = (await get(app, "sam", f"/api/v1/reports/daily?date={DAY}")).json()
    assert body["title"] == "12345热线运行报告 2026-11-30" and body["previous_start"] == "2026-11-29T00:00:00+08:00"
    handling = {f["key"]: f["value"] for f in body["handling"]}
    assert (handling["work_orders"], handling["orders_direct"], handling["orders_transferred"]) == (5, 3, 2)
    assert body["categories"][0] == {"code": "04", "zh": "城市公用事业", "en": body["categories"][0]["en"], "count": 3,
                                     "share": 0.6, "previous": 0, "change": None}
    csv = await get(app, "sam", f"/api/v1/reports/daily.csv?date={DAY}")
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="report-2026-11-30.csv"' in csv.headers["content-disposition"]
    rows = {(r["section"], r["key"]): r for r in export.read_csv(csv.text)}
    assert export.parse_value(rows[("totals", "answered")]["value"]) == 5
    year = (await get(app, "sam", f"/api/v1/reports/daily?date={DAY}&compare=year")).json()
    assert year["previous_start"] == "2025-11-30T00:00:00+08:00"


async def test_charts_are_pngs(world: World) -> None:
    app = app_with(world, memory_reports())
    for name in ("calls", "categories"):
        answer = await get(app, "sam", f"/api/v1/reports/chart/{name}.png?date={DAY}")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert png_size(answer.content) == (1000, 500)
    week = await get(app, "sam", "/api/v1/reports/chart/calls.png?from=2026-11-24&to=2026-12-01")
    assert week.status_code == 200 and png_size(week.content) == (1000, 500)
    assert (await get(app, "sam", f"/api/v1/reports/chart/pie.png?date={DAY}")).status_code == 422


@pytest.mark.parametrize("query", [
    "from=2026-11-30&to=2026-11-29",                   # backwards
    "from=2026-01-01&to=2027-06-01",                   # more than 366 days
    "from=1999-12-31&to=2000-01-02",                   # outside the years served
    "from=2026-01-01&to=2026-12-01&by=interval&interval=15m",  # too many rows
])
async def test_periods_refused(world: World, query: str) -> None:
    answer = await get(app_with(world, memory_reports()), "sam", f"/api/v1/reports/kpis?{query}")
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request", answer.text


async def test_sql_and_memory_ports_answer_the_same(world: World, tmp_path: Path) -> None:
    reports, engine = sqlite_reports(tmp_path)
    try:
        for path in (f"/api/v1/reports/kpis?from={DAY}&by=agent", f"/api/v1/reports/daily?date={DAY}",
                     f"/api/v1/reports/kpis?from={DAY}&by=interval&interval=1h"):
            sql = await get(app_with(world, reports), "ada", path)
            memory = await get(app_with(world, memory_reports()), "ada", path)
            assert sql.status_code == 200, sql.text
            assert json.loads(sql.text) == json.loads(memory.text), path
    finally:
        engine.dispose()


async def test_a_database_that_does_not_answer_is_503(world: World) -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")
    try:
        reports = SqlReports(engine, load_taxonomy(FOLDER / "taxonomy.yaml"), s.TZ)
        answer = await get(app_with(world, reports), "sam", f"/api/v1/reports/kpis?from={DAY}")
        assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    finally:
        engine.dispose()


async def test_the_default_port_has_no_calls_and_does_no_work_until_asked(world: World) -> None:
    body = (await get(make_app(world.deps()), "sam", "/api/v1/reports/kpis")).json()
    assert body["rows"][0]["values"]["arrived"] == 0 and body["rows"][0]["values"]["connect_rate"] is None
