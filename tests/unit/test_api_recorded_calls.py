"""The supervisors' list of recorded calls (``GET /api/v1/recordings``, the review page's
source) over the in-memory port and the SQL port on SQLite and PostgreSQL, with one scenario
and one expected answer for all three: only stored calls with an indexed part, newest first;
filtered by arrival, agent, line, outcome and whether a quality check exists; each call with
its parts (a purged one without a URL) and its checks; the caller masked but the last 4
digits; paged; supervisors and admins only (an agent 403); a database that does not answer
503."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest

from calls.records import CallRecord
from hotline.api.app import make_app
from hotline.api.models_recordings import mask_caller
from hotline.api.recordings_memory import InMemoryRecordings
from hotline.api.recordings_sql import SqlRecordings
from hotline.store.calls import CallStore, make_engine, migrate
from recordings.model import RecordingPart
from recordings.quality import load_form
from tests.fakes_api import bearer, client, log_in, three_role_world
from tests.unit.db_fixtures import pg_url  # noqa: F401 (fixture)

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)   # 10:00 in Beijing
DAY_FROM, DAY_TO = datetime(2026, 11, 29, 16, 0, tzinfo=timezone.utc), datetime(2026, 11, 30, 16, 0,
                                                                                 tzinfo=timezone.utc)
FULL_MARKS = {c.id: c.points for c in load_form().criteria}
TABLES = ("quality_checks", "recording_access", "recordings", "call_legs", "call_events", "calls")


def _record(call_id: str, minutes: float, agent_id: str, caller: str, line: str = "main",
            outcome: str = "answered", recording: bool = True) -> CallRecord:
    arrived = (T0 + timedelta(minutes=minutes)).timestamp()
    answered = arrived + 12.5 if agent_id else None
    return CallRecord(call_id=call_id, caller=caller, dnis="12345", arrived_at=arrived, queue=line, language="zh",
                      queued_at=arrived + 4.0, answered_at=answered,
                      ended_at=(answered + 61.25) if answered is not None else arrived + 20.0,
                      agent_id=agent_id, outcome=outcome,
                      recording=f"/srv/recordings/{call_id}.wav" if recording else "")


# c4 arrived the day before; c5 names a recording nobody indexed yet; c6 was abandoned (no recording)
RECORDS = [_record("1800000000.1", 0, "1001", "13800001111"),
           _record("1800000000.2", 10, "1002", "13900002222", line="province"),
           _record("1800000000.3", 20, "1001", "02066663333", outcome="transferred"),
           _record("1800000000.4", -1440, "1001", "13700004444"),
           _record("1800000000.5", 30, "1003", "13600005555"),
           _record("1800000000.6", 40, "", "13500006666", outcome="abandoned", recording=False)]


def _parts() -> list[RecordingPart]:
    def part(call_id: str, name: str, seconds: float, purged: bool = False) -> RecordingPart:
        made = T0 + timedelta(hours=1)
        return RecordingPart(call_id, name, f"/srv/recordings/{call_id}-{name}.ogg", "opus", 4000, seconds,  # type: ignore[arg-type]
                             made, made, made + timedelta(days=1) if purged else None)

    return [part("1800000000.1", "call", 61.2), part("1800000000.2", "call", 61.2),
            part("1800000000.2", "conference", 30.0, purged=True), part("1800000000.3", "call", 61.2),
            part("1800000000.4", "call", 61.2)]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def recordings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The scenario's calls and parts in the port named by the parameter."""
    if request.param == "memory":
        port = InMemoryRecordings.shipped()
        for record in RECORDS:
            port.add_record(record)
        for p in _parts():
            port.add_part(p)
        yield port
        return
    url = (f"sqlite:///{tmp_path / 'db' / 'r.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        from sqlalchemy import text
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    for record in RECORDS:
        CallStore(engine).save(record)
    sql = SqlRecordings(engine)
    parts = _parts()
    sql.store.index(p for p in parts if p.purged_at is None)
    for p in parts:
        if p.purged_at is not None:
            sql.store.index([dataclasses.replace(p, purged_at=None)])
            sql.store.mark_purged([(p.call_id, p.part)], p.purged_at, "retention")
    try:
        yield sql
    finally:
        engine.dispose()


@dataclasses.dataclass
class Setup:
    http: Any
    tokens: dict[str, dict[str, str]]
    recordings: Any


@pytest.fixture
async def setup(recordings: Any) -> AsyncIterator[Setup]:
    world = three_role_world()
    app = make_app(dataclasses.replace(world.deps(), recordings=recordings))
    async with client(app) as http:
        tokens = {name: bearer(await log_in(http, name)) for name in ("alice", "sam", "ada")}
        yield Setup(http, tokens, recordings)


async def _ids(s: Setup, **params: Any) -> list[str]:
    answer = await s.http.get("/api/v1/recordings", params=params, headers=s.tokens["sam"])
    assert answer.status_code == 200, answer.text
    return [c["call_id"] for c in answer.json()]


def _at(minutes: float, plus: float = 0.0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=plus)


async def test_the_recorded_calls_newest_first_with_their_parts_and_the_caller_masked(setup: Setup) -> None:
    s = setup
    answer = await s.http.get("/api/v1/recordings", headers=s.tokens["sam"])
    assert answer.status_code == 200, answer.text
    calls = answer.json()
    assert [c["call_id"] for c in calls] == ["1800000000.3", "1800000000.2", "1800000000.1", "1800000000.4"]
    third, second, first, _ = calls
    assert {k: first[k] for k in ("caller", "dnis", "line", "language", "agent_id", "outcome", "checked", "checks")} == {
        "caller": "*******1111", "dnis": "12345", "line": "main", "language": "zh", "agent_id": "1001",
        "outcome": "answered", "checked": False, "checks": []}
    assert datetime.fromisoformat(first["arrived_at"]) == _at(0)
    assert datetime.fromisoformat(first["answered_at"]) == _at(0, 12.5)
    assert datetime.fromisoformat(first["ended_at"]) == _at(0, 73.75)
    assert first["wait_seconds"] == pytest.approx(8.5) and first["talk_seconds"] == pytest.approx(61.25)
    assert (third["caller"], third["outcome"]) == ("*******3333", "transferred")
    (call,) = first["parts"]
    assert (call["part"], call["format"], call["media_type"], call["available"], call["seconds"], call["url"]) == (
        "call", "opus", "audio/ogg", True, 61.2, "/api/v1/calls/1800000000.1/recordings/call")
    room_call, room = second["parts"]
    assert (room_call["part"], room_call["available"]) == ("call", True)
    assert (room["part"], room["available"], room["url"]) == ("conference", False, None)
    assert room["purged_at"] is not None
    assert "13900002222" not in answer.text and "13800001111" not in answer.text  # nowhere in full


async def test_the_filters_and_the_paging(setup: Setup) -> None:
    s = setup
    day = {"from": DAY_FROM.isoformat(), "to": DAY_TO.isoformat()}
    assert await _ids(s, **day) == ["1800000000.3", "1800000000.2", "1800000000.1"]
    beijing = timezone(timedelta(hours=8))  # the same day, named in another zone
    assert await _ids(s, **{"from": DAY_FROM.astimezone(beijing).isoformat(),
                            "to": _at(10).astimezone(beijing).isoformat()}) == ["1800000000.1"]
    assert await _ids(s, agent_id="1001") == ["1800000000.3", "1800000000.1", "1800000000.4"]
    assert await _ids(s, line="province") == ["1800000000.2"]
    assert await _ids(s, outcome="transferred") == ["1800000000.3"]
    assert await _ids(s, agent_id="1001", line="main", **day) == ["1800000000.3", "1800000000.1"]
    assert await _ids(s, agent_id="1003") == []  # its recording is not indexed yet
    assert await _ids(s, limit=2) == ["1800000000.3", "1800000000.2"]
    assert await _ids(s, limit=2, offset=1) == ["1800000000.2", "1800000000.1"]
    assert await _ids(s, offset=4) == []


async def test_checked_or_not_and_the_checks_listed(setup: Setup) -> None:
    s = setup
    scores = {**FULL_MARKS, "policy_accuracy": 12}
    posted = await s.http.post("/api/v1/calls/1800000000.1/quality-checks", json={"scores": scores},
                               headers=s.tokens["sam"])
    assert posted.status_code == 201, posted.text
    vetoed = await s.http.post("/api/v1/calls/1800000000.1/quality-checks",
                               json={"scores": FULL_MARKS, "vetoes": ["quarrel"]}, headers=s.tokens["sam"])
    assert vetoed.status_code == 201, vetoed.text
    assert await _ids(s, checked="false") == ["1800000000.3", "1800000000.2", "1800000000.4"]
    answer = await s.http.get("/api/v1/recordings", params={"checked": "true"}, headers=s.tokens["ada"])
    (checked,) = answer.json()
    assert checked["call_id"] == "1800000000.1" and checked["checked"] is True
    assert [(c["id"], c["reviewer"], c["score"], c["passed"]) for c in checked["checks"]] == [
        (posted.json()["id"], "sam", 92, True), (vetoed.json()["id"], "sam", 0, False)]


async def test_who_may_list_and_what_is_refused(setup: Setup) -> None:
    s = setup
    s.http.cookies.clear()  # the logins' cookies: only the bearer tokens from here
    assert (await s.http.get("/api/v1/recordings")).status_code == 401
    agent = await s.http.get("/api/v1/recordings", headers=s.tokens["alice"])
    assert agent.status_code == 403 and agent.json()["error"] == "forbidden"
    assert (await s.http.get("/api/v1/recordings", headers=s.tokens["ada"])).status_code == 200
    for bad in ({"agent_id": "abc"}, {"line": "main line"}, {"outcome": "Answered!"}, {"limit": 0},
                {"limit": 501}, {"from": "2026-11-30T08:00:00"}, {"from": "1999-12-31T23:00:00+00:00"},
                {"checked": "maybe"}):
        answer = await s.http.get("/api/v1/recordings", params=bad, headers=s.tokens["sam"])
        assert answer.status_code == 422 and answer.json()["error"] == "invalid_request", bad


async def test_a_database_that_does_not_answer_is_503() -> None:
    world = three_role_world()
    port = InMemoryRecordings.shipped()
    port.down = True
    app = make_app(dataclasses.replace(world.deps(), recordings=port))
    async with client(app) as http:
        answer = await http.get("/api/v1/recordings", headers=bearer(await log_in(http, "sam")))
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"


@pytest.mark.parametrize("number, shown", [("13812345678", "*******5678"), ("02066663333", "*******3333"),
                                           ("12345", "*2345"), ("1234", "****"), ("", "")])
def test_a_caller_is_masked_but_the_last_4_digits(number: str, shown: str) -> None:
    assert mask_caller(number) == shown
