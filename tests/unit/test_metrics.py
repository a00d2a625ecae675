"""hotline.metrics and ``GET /metrics``: the values set from outside come out in Prometheus' text
format (parsed back with prometheus_client's own parser), the service level is asked at each
scrape, each ``Metrics`` has its own registry; the route answers a scraper's token or an
admin's session only; the token is generated once into var/secrets.env beside the others."""
from __future__ import annotations

import dataclasses
import stat
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.api.app import make_app
from hotline.api.routes.metrics import install
from hotline.metrics import AGENT_STATES, Metrics, load_metrics_token
from hotline.settings import SettingsError, load_secrets
from tests.fakes_api import bearer, client, log_in, three_role_world

TOKEN = "scraper-token-" + "x" * 20


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_values_set_from_outside_are_exposed() -> None:
    metrics = Metrics(service_level=lambda: {"main": 0.82, "english": 1.0})
    metrics.set_waiting({"main": 3, "english": 0}, longest={"main": 17.5})
    metrics.set_agents({"available": 2, "on_call": 5, "paused": 1})
    for _ in range(4):
        metrics.offer("main")
    metrics.answer("main")
    metrics.abandon("main")
    metrics.set_internals(tasks=42, ami_connected=True, redis_up=False, spool=7, leader=True)
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    got = samples(body.decode())
    assert got[("hotline_calls_waiting", (("line", "main"),))] == 3
    assert got[("hotline_calls_waiting", (("line", "english"),))] == 0
    assert got[("hotline_longest_wait_seconds", (("line", "main"),))] == 17.5
    assert got[("hotline_agents", (("state", "on_call"),))] == 5
    assert got[("hotline_agents", (("state", "wrap_up"),))] == 0  # every state, 0 included
    assert {dict(k[1])["state"] for k in got if k[0] == "hotline_agents"} == set(AGENT_STATES)
    assert got[("hotline_calls_offered_total", (("line", "main"),))] == 4
    assert got[("hotline_calls_answered_total", (("line", "main"),))] == 1
    assert got[("hotline_calls_abandoned_total", (("line", "main"),))] == 1
    assert got[("hotline_service_level_15m", (("line", "main"),))] == 0.82
    assert (got[("hotline_controller_tasks", ())], got[("hotline_ami_connected", ())], got[("hotline_redis_up", ())],
            got[("hotline_record_spool_records", ())], got[("hotline_router_leader", ())]) == (42, 1, 0, 7, 1)


def test_a_line_no_longer_given_is_dropped_and_partial_internals_keep_the_rest() -> None:
    metrics = Metrics()
    metrics.set_waiting({"main": 2, "old": 1})
    metrics.set_waiting({"main": 0})
    metrics.set_internals(tasks=3, redis_up=True)
    metrics.set_internals(tasks=4)
    got = samples(metrics.render()[0].decode())
    assert ("hotline_calls_waiting", (("line", "old"),)) not in got
    assert got[("hotline_calls_waiting", (("line", "main"),))] == 0
    assert (got[("hotline_controller_tasks", ())], got[("hotline_redis_up", ())]) == (4, 1)


def test_the_service_level_is_asked_at_each_scrape_and_a_failure_does_not_break_it() -> None:
    levels = iter([{"main": 0.5}, {"main": 0.9}])
    asked = Metrics(service_level=lambda: next(levels))
    assert samples(asked.render()[0].decode())[("hotline_service_level_15m", (("line", "main"),))] == 0.5
    assert samples(asked.render()[0].decode())[("hotline_service_level_15m", (("line", "main"),))] == 0.9

    def broken() -> dict[str, float]:
        raise ConnectionError("database down")

    failing = Metrics(service_level=broken)
    failing.set_waiting({"main": 1})
    got = samples(failing.render()[0].decode())
    assert got[("hotline_calls_waiting", (("line", "main"),))] == 1
    assert not [k for k in got if k[0] == "hotline_service_level_15m"]


def test_two_metrics_objects_share_nothing() -> None:
    a, b = Metrics(), Metrics()
    a.offer("main")
    assert ("hotline_calls_offered_total", (("line", "main"),)) not in samples(b.render()[0].decode())


def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    body, content_type = Metrics().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


async def test_refresh_is_awaited_before_a_scrape() -> None:
    metrics: Metrics

    async def refresh() -> None:
        metrics.set_waiting({"main": 9})

    metrics = Metrics(refresh=refresh)
    body, _ = await metrics.scrape()
    assert samples(body.decode())[("hotline_calls_waiting", (("line", "main"),))] == 9


# -- the route -----------------------------------------------------------------------------------------

@pytest.fixture
def app() -> Any:
    world = three_role_world()
    metrics = Metrics()
    metrics.set_waiting({"main": 4})
    app = make_app(world.deps())
    install(app, metrics, TOKEN)
    return app


async def test_a_scraper_with_the_token_reads_the_metrics(app: Any) -> None:
    async with client(app) as http:
        answer = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert samples(answer.text)[("hotline_calls_waiting", (("line", "main"),))] == 4


async def test_who_else_may_read_them(app: Any) -> None:
    async with client(app) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "y" * 34})
        agent = await http.get("/metrics", headers=bearer(await log_in(http, "alice")))
        supervisor = await http.get("/metrics", headers=bearer(await log_in(http, "sam")))
        admin = await http.get("/metrics", headers=bearer(await log_in(http, "ada")))
        http.cookies.clear()
        token = (await log_in(http, "ada"))["token"]
        http.cookies.clear()
        http.cookies.set("hotline_session", token, domain="hotline.test", path="/")  # even if a browser sent it
        by_cookie = await http.get("/metrics")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "not_authenticated")
    assert wrong.status_code == 401
    assert (agent.status_code, agent.json()["error"]) == (403, "forbidden")
    assert supervisor.status_code == 403
    assert admin.status_code == 200 and "hotline_calls_waiting" in admin.text
    assert by_cookie.status_code == 401


async def test_without_a_token_only_admins_read_them() -> None:
    world = three_role_world()
    app = make_app(world.deps())
    install(app, Metrics(), "")
    async with client(app) as http:
        assert (await http.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 401
        assert (await http.get("/metrics", headers=bearer(await log_in(http, "ada")))).status_code == 200


def test_the_route_is_outside_the_api_document(app: Any) -> None:
    assert not [p for p in app.openapi()["paths"] if "metrics" in p]


# -- the token ------------------------------------------------------------------------------------------

def test_the_token_is_generated_once_and_kept_beside_the_other_secrets(tmp_path: Path) -> None:
    var = tmp_path / "var"
    others = load_secrets(var, {})
    token = load_metrics_token(var, {})
    assert len(token) >= 24
    path = var / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_metrics_token(var, {}) == token
    assert load_secrets(var, {}) == others  # the other secrets untouched
    assert f"HOTLINE_METRICS_TOKEN={token}" in path.read_text()  # and load_secrets keeps ours
    given = "z" * 30
    assert load_metrics_token(var, {"HOTLINE_METRICS_TOKEN": given}) == given


@pytest.mark.parametrize("bad", ["short", "has a space in it, long enough"])
def test_an_unusable_token_is_refused_with_its_name(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SettingsError, match="HOTLINE_METRICS_TOKEN"):
        load_metrics_token(tmp_path, {"HOTLINE_METRICS_TOKEN": bad})


def test_metrics_are_plain_objects() -> None:
    assert dataclasses.is_dataclass(Metrics) is False and Metrics().registry is not Metrics().registry
