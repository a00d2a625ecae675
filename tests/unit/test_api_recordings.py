"""The recordings and quality-check routes over the SQL port on a real SQLite database and a real
compressed recording (made from a WAV by the real ffmpeg): an agent's request is 403 and logged
as refused; a supervisor plays with HTTP Range (206, the exact bytes, seekable), every access
written before the bytes with who, what and from where; admins read the log; a quality check
goes in scored by the form and comes back, by call and by agent and period."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from hotline.api.app import make_app
from hotline.api.byte_ranges import Unsatisfiable, parse_range
from hotline.api.ports import Unavailable
from hotline.api.recordings_memory import InMemoryRecordings
from hotline.api.recordings_sql import SqlRecordings
from hotline.store.calls import CallStore, make_engine, migrate
from recordings.compress import Compressor
from recordings.model import AccessEntry, RecordingPart
from recordings.quality import load_form
from sql.schema import quality_checks, recording_access
from tests.fakes_api import World, bearer, client, log_in, three_role_world
from tests.recording_files import make_wav, probe, recorded_call

CALL = "1800000000.7"
URL = f"/api/v1/calls/{CALL}/recordings/call"
FULL_MARKS = {c.id: c.points for c in load_form().criteria}


@dataclasses.dataclass
class Setup:
    world: World
    sql: SqlRecordings
    audio: bytes
    http: Any
    tokens: dict[str, dict[str, str]]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    migrate(engine)
    world = three_role_world()
    CallStore(engine).save(recorded_call(CALL, world.clock() - 600, agent_id="1001"))
    CallStore(engine).save(recorded_call("1800000000.8", world.clock() - 500).but(agent_id="", outcome="abandoned",
                                                                                   answered_at=None))
    compressed = Compressor().compress(make_wav(tmp_path / f"{CALL}.wav", 6.0))
    sql = SqlRecordings(engine)
    made = datetime.fromtimestamp(world.clock() - 500, tz=timezone.utc)
    sql.store.index([RecordingPart(CALL, "call", str(compressed.path), "opus", compressed.bytes, compressed.seconds,
                                   made, made)])
    sql.store.index([RecordingPart(CALL, "conference", str(tmp_path / "gone.ogg"), "opus", 10, 3.0, made, made)])
    sql.store.mark_purged([(CALL, "conference")], made + timedelta(seconds=60), "retention")
    app = make_app(dataclasses.replace(world.deps(), recordings=sql))
    async with client(app) as http:
        tokens = {name: bearer(await log_in(http, name)) for name in ("alice", "sam", "ada")}
        yield Setup(world, sql, compressed.path.read_bytes(), http, tokens)
    engine.dispose()


def _accesses(s: Setup) -> list[dict[str, Any]]:
    with s.sql.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(recording_access).order_by(recording_access.c.id)).mappings()]


async def test_an_agent_is_refused_and_the_refusal_is_logged(setup: Setup) -> None:
    s = setup
    answer = await s.http.get(URL, headers={**s.tokens["alice"], "Range": "bytes=0-99"})
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert answer.content != s.audio[:100]
    (row,) = [r for r in _accesses(s) if r["action"] != "purge"]
    assert (row["call_id"], row["part"], row["username"], row["role"], row["action"], row["allowed"],
            row["client"]) == (CALL, "call", "alice", "agent", "play", False, "192.0.2.10")
    listing = await s.http.get(f"/api/v1/calls/{CALL}/recordings", headers=s.tokens["alice"])
    assert listing.status_code == 403


async def test_a_supervisor_plays_with_range_and_every_access_is_logged(setup: Setup) -> None:
    s = setup
    size = len(s.audio)
    head = await s.http.get(URL, headers={**s.tokens["sam"], "Range": "bytes=0-99"})
    assert head.status_code == 206
    assert head.content == s.audio[:100]
    assert head.headers["content-range"] == f"bytes 0-99/{size}"
    assert head.headers["content-length"] == "100" and head.headers["accept-ranges"] == "bytes"
    assert head.headers["content-type"].startswith("audio/ogg")
    assert head.headers["content-disposition"] == f'inline; filename="{CALL}-call.ogg"'
    seek = await s.http.get(URL, headers={**s.tokens["sam"], "Range": f"bytes={size // 2}-"})
    assert seek.status_code == 206 and seek.content == s.audio[size // 2:]
    tail = await s.http.get(URL, headers={**s.tokens["sam"], "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == s.audio[-10:]
    whole = await s.http.get(URL, headers=s.tokens["sam"])
    assert whole.status_code == 200 and whole.content == s.audio
    assert whole.headers["content-length"] == str(size)
    past = await s.http.get(URL, headers={**s.tokens["sam"], "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.json()["error"] == "range_not_satisfiable"
    assert past.headers["content-range"] == f"bytes */{size}"
    saved = await s.http.get(URL + "?download=true", headers=s.tokens["ada"])
    assert saved.status_code == 200 and saved.headers["content-disposition"].startswith("attachment;")
    rows = [r for r in _accesses(s) if r["action"] != "purge"]
    assert [(r["username"], r["role"], r["action"], r["allowed"]) for r in rows] == [
        ("sam", "supervisor", "play", True)] * 4 + [("ada", "admin", "download", True)]
    assert all(r["call_id"] == CALL and r["part"] == "call" and r["client"] == "192.0.2.10" for r in rows)
    assert rows[0]["at"].replace(tzinfo=timezone.utc).timestamp() == pytest.approx(s.world.clock())


async def test_the_served_file_is_the_whole_recording(setup: Setup, tmp_path: Path) -> None:
    s = setup
    answer = await s.http.get(URL, headers=s.tokens["sam"])
    copy = tmp_path / "copy.ogg"
    copy.write_bytes(answer.content)
    codec, seconds = probe(copy)
    assert codec == "opus" and abs(seconds - 6.0) <= 0.1


async def test_the_list_shows_each_part_and_a_purged_one_cannot_be_played(setup: Setup) -> None:
    s = setup
    answer = await s.http.get(f"/api/v1/calls/{CALL}/recordings", headers=s.tokens["sam"])
    assert answer.status_code == 200
    call, room = answer.json()
    assert (call["part"], call["format"], call["media_type"], call["available"], call["url"]) == (
        "call", "opus", "audio/ogg", True, URL)
    assert abs(call["seconds"] - 6.0) <= 0.1 and call["bytes"] == len(s.audio)
    assert (room["part"], room["available"], room["url"]) == ("conference", False, None)
    assert room["purged_at"] is not None
    gone = await s.http.get(f"/api/v1/calls/{CALL}/recordings/conference", headers=s.tokens["sam"])
    assert gone.status_code == 404 and "purged" in gone.json()["message"]
    none = await s.http.get("/api/v1/calls/1800000000.8/recordings", headers=s.tokens["sam"])
    assert none.status_code == 200 and none.json() == []
    bad = await s.http.get(f"/api/v1/calls/{CALL}/recordings/everything", headers=s.tokens["sam"])
    assert bad.status_code == 422


async def test_only_admins_read_the_access_log(setup: Setup) -> None:
    s = setup
    await s.http.get(URL, headers=s.tokens["alice"])
    await s.http.get(URL, headers={**s.tokens["sam"], "Range": "bytes=0-1"})
    assert (await s.http.get("/api/v1/recordings/access-log", headers=s.tokens["sam"])).status_code == 403
    log = await s.http.get("/api/v1/recordings/access-log", headers=s.tokens["ada"])
    assert log.status_code == 200
    assert [(e["username"], e["action"], e["allowed"]) for e in log.json()] == [
        ("sam", "play", True), ("alice", "play", False), ("retention", "purge", True)]
    refused = await s.http.get("/api/v1/recordings/access-log", params={"allowed": "false"}, headers=s.tokens["ada"])
    assert [e["username"] for e in refused.json()] == ["alice"]
    since = datetime.fromtimestamp(s.world.clock(), tz=timezone.utc).isoformat()
    recent = await s.http.get("/api/v1/recordings/access-log", params={"from": since, "call_id": CALL},
                              headers=s.tokens["ada"])
    assert [e["username"] for e in recent.json()] == ["sam", "alice"]
    naive = await s.http.get("/api/v1/recordings/access-log", params={"from": "2026-11-30T08:00:00"},
                             headers=s.tokens["ada"])
    assert naive.status_code == 422


async def test_nothing_is_served_when_the_access_cannot_be_logged(tmp_path: Path) -> None:
    class LogDown(InMemoryRecordings):
        async def log_access(self, entry: AccessEntry) -> None:
            raise Unavailable("the database does not answer")

    world = three_role_world()
    recordings = LogDown.shipped()
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS" + bytes(200))
    recordings.add_part(RecordingPart("c1", "call", str(audio), "opus", 204, 1.0, datetime.now(timezone.utc)))
    app = make_app(dataclasses.replace(world.deps(), recordings=recordings))
    async with client(app) as http:
        answer = await http.get("/api/v1/calls/c1/recordings/call", headers=bearer(await log_in(http, "sam")))
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    assert b"OggS" not in answer.content


# -- quality checks ------------------------------------------------------------------------------------

async def test_the_form_is_the_shipped_one_for_everyone(setup: Setup) -> None:
    s = setup
    answer = await s.http.get("/api/v1/quality/form", headers=s.tokens["alice"])
    assert answer.status_code == 200
    form = answer.json()
    assert sum(c["points"] for c in form["criteria"]) == 100
    assert {"greeting", "listening", "policy_accuracy", "handling", "courtesy", "work_order_quality"} <= {
        c["id"] for c in form["criteria"]}
    assert form["vetoes"] and form["pass_score"] == 80
    assert all(c["name_zh"] and c["guide_zh"] for c in form["criteria"])


async def test_a_quality_check_round_trip(setup: Setup) -> None:
    s = setup
    scores = {**FULL_MARKS, "policy_accuracy": 12, "closing": 3}
    body = {"scores": scores, "remarks": "政策口径有误：\n应答复为 5 个工作日。", "keep": True}
    answer = await s.http.post(f"/api/v1/calls/{CALL}/quality-checks", json=body, headers=s.tokens["sam"])
    assert answer.status_code == 201, answer.text
    check = answer.json()
    assert (check["score"], check["passed"], check["agent_id"], check["reviewer"], check["keep"]) == (
        90, True, "1001", "sam", True)
    assert check["scores"] == scores and check["form"] == "qc-12345-v1" and check["vetoes"] == []
    veto = await s.http.post(f"/api/v1/calls/{CALL}/quality-checks", headers=s.tokens["sam"],
                             json={"scores": FULL_MARKS, "vetoes": ["quarrel"]})
    assert veto.status_code == 201 and (veto.json()["score"], veto.json()["passed"]) == (0, False)
    listed = await s.http.get(f"/api/v1/calls/{CALL}/quality-checks", headers=s.tokens["ada"])
    assert [c["id"] for c in listed.json()] == [check["id"], veto.json()["id"]]
    assert listed.json()[0]["remarks"] == body["remarks"]
    with s.sql.store.engine.connect() as conn:
        rows = conn.execute(select(quality_checks.c.score, quality_checks.c.keep).order_by(quality_checks.c.id)).all()
    assert [tuple(r) for r in rows] == [(90, True), (0, False)]
    day = datetime.fromtimestamp(s.world.clock(), tz=timezone.utc)
    window = {"agent_id": "1001", "from": (day - timedelta(hours=1)).isoformat(),
              "to": (day + timedelta(hours=1)).isoformat()}
    found = await s.http.get("/api/v1/quality-checks", params=window, headers=s.tokens["sam"])
    assert [c["id"] for c in found.json()] == [veto.json()["id"], check["id"]]
    other = await s.http.get("/api/v1/quality-checks", params={**window, "agent_id": "1002"}, headers=s.tokens["sam"])
    assert other.json() == []
    later = await s.http.get("/api/v1/quality-checks", params={"from": (day + timedelta(hours=1)).isoformat()},
                             headers=s.tokens["sam"])
    assert later.json() == []


@pytest.mark.parametrize("body, field", [
    ({"scores": {**FULL_MARKS, "greeting": 6}}, "greeting"),                # above its points
    ({"scores": {k: v for k, v in FULL_MARKS.items() if k != "closing"}}, "closing"),   # one left out
    ({"scores": {**FULL_MARKS, "charm": 3}}, "charm"),                      # not on the form
    ({"scores": FULL_MARKS, "vetoes": ["late"]}, "vetoes"),                 # not a veto of the form
])
async def test_a_check_that_does_not_fit_the_form_is_422_naming_the_field(setup: Setup, body: dict[str, Any],
                                                                        field: str) -> None:
    s = setup
    answer = await s.http.post(f"/api/v1/calls/{CALL}/quality-checks", json=body, headers=s.tokens["sam"])
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
    assert any(field in ".".join(d["loc"]) for d in answer.json()["details"])
    assert (await s.http.get(f"/api/v1/calls/{CALL}/quality-checks", headers=s.tokens["sam"])).json() == []


async def test_who_may_check_which_call(setup: Setup) -> None:
    s = setup
    body = {"scores": FULL_MARKS}
    agent = await s.http.post(f"/api/v1/calls/{CALL}/quality-checks", json=body, headers=s.tokens["alice"])
    admin = await s.http.post(f"/api/v1/calls/{CALL}/quality-checks", json=body, headers=s.tokens["ada"])
    assert agent.status_code == admin.status_code == 403
    unknown = await s.http.post("/api/v1/calls/1800000000.99/quality-checks", json=body, headers=s.tokens["sam"])
    assert unknown.status_code == 404
    unanswered = await s.http.post("/api/v1/calls/1800000000.8/quality-checks", json=body, headers=s.tokens["sam"])
    assert unanswered.status_code == 409 and unanswered.json()["error"] == "illegal_in_state"
    assert (await s.http.get("/api/v1/quality-checks", headers=s.tokens["alice"])).status_code == 403


# -- Range headers (pure) --------------------------------------------------------------------------------

@pytest.mark.parametrize("header, size, expected", [
    (None, 100, None),
    ("bytes=0-9", 100, (0, 9)),
    ("bytes=90-", 100, (90, 99)),
    ("bytes=90-500", 100, (90, 99)),         # past the end: up to the end
    ("bytes=-10", 100, (90, 99)),
    ("bytes=-500", 100, (0, 99)),
    ("bytes=5-4", 100, None),                # invalid: ignored, the whole file
    ("bytes=0-1,5-6", 100, None),            # several ranges: ignored, the whole file
    ("items=0-1", 100, None),
    ("bytes=-", 100, None),
    ("bytes=abc", 100, None),
])
def test_range_headers(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    got = parse_range(header, size)
    assert (None if got is None else (got.start, got.end)) == expected
    if got is not None:
        assert got.length == got.end - got.start + 1 and got.content_range == f"bytes {got.start}-{got.end}/{size}"


@pytest.mark.parametrize("header, size", [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0), ("bytes=-5", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)
