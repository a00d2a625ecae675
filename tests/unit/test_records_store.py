"""calls.records (wait/talk rules) and hotline.store.calls on a real SQLite file and a real
PostgreSQL database (a throw-away database per module, dropped afterwards)."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import inspect, text

from calls.records import CallEvent, CallRecord
from hotline.store.calls import MIGRATIONS, CallStore, RecordWriter, make_engine, migrate

PG_ADMIN = "postgresql://postgres@127.0.0.1/test"
PG_DOWN = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1


# -- records ---------------------------------------------------------------------------

def rec(**kw: Any) -> CallRecord:
    base: dict[str, Any] = dict(call_id="c1", caller="13800000001", dnis="12345", arrived_at=100.0)
    base.update(kw)
    return CallRecord(**base)


@pytest.mark.parametrize("kw, wait, talk", [
    (dict(queued_at=130.0, answered_at=138.0, ended_at=200.0), 8.0, 62.0),      # IVR, then queue
    (dict(answered_at=104.0, ended_at=110.0), 4.0, 6.0),                        # no IVR: from arrival
    (dict(queued_at=130.0, ended_at=150.0), 20.0, None),                        # abandoned in queue
    (dict(ended_at=125.0), None, None),                                         # hung up in the IVR: no wait
    (dict(queued_at=130.0, answered_at=138.0, ended_at=220.0, attrs={"talk_ended_at": 200.0}), 8.0, 62.0),  # survey
    (dict(queued_at=130.0), None, None),                                        # still waiting
    (dict(), None, None),
    (dict(queued_at=130.0, answered_at=129.0, ended_at=128.0), 0.0, 0.0),       # clock skew: never < 0
    (dict(answered_at=104.0), 4.0, None),                                       # still talking
])
def test_wait_and_talk_seconds(kw: dict[str, float], wait: float | None, talk: float | None) -> None:
    record = rec(**kw)
    assert record.wait_seconds == wait
    assert record.talk_seconds == talk


def test_but_returns_a_changed_copy() -> None:
    original = rec()
    changed = original.but(outcome="answered", agent_id="1001")
    assert (changed.outcome, changed.agent_id) == ("answered", "1001")
    assert (original.outcome, original.agent_id) == ("in_progress", "")


# -- fixtures --------------------------------------------------------------------------

@contextmanager
def fresh_pg_database() -> Iterator[str]:
    name = f"hl_unittest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://postgres@127.0.0.1/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'calls.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by this module's tests
        conn.execute(text("DELETE FROM call_events"))
        conn.execute(text("DELETE FROM calls"))
    try:
        yield CallStore(engine)
    finally:
        engine.dispose()


def epoch(value: datetime) -> float:
    """SQLite gives naive datetimes (stored in UTC), PostgreSQL aware ones."""
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


FULL = CallRecord(
    call_id="1700000000.5", caller="13800000001", dnis="12345", arrived_at=1700000000.25,
    queue="main", language="zh", skills="social_insurance,housing", priority=1, repeat_calls=2,
    queued_at=1700000030.5, answered_at=1700000038.0, ended_at=1700000100.0, agent_id="1001",
    outcome="answered", ivr_path=({"node": "welcome", "digits": "1"}, {"node": "pension", "digits": ""}),
    recording="/srv/hotline/main/recordings/1700000000.5.wav", attrs={"dnis": "12345", "vip": "no"},
)
EVENTS = [CallEvent("1700000000.5", 1700000030.5, "queued", {"queue": "main"}),
          CallEvent("1700000000.5", 1700000031.0, "offered", {"agent": "1001", "step": 0}),
          CallEvent("1700000000.5", 1700000038.0, "answered", {})]


# -- migrations ------------------------------------------------------------------------

def head_revision() -> str:
    """The newest revision in sql/migrations (one head: the chain never forks)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads
    return heads[0]


def check_migrated_twice(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
        migrate(engine)  # idempotent: no error, nothing duplicated
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
        tables = set(inspect(engine).get_table_names())
        assert {"calls", "call_events", "call_legs", "agent_states", "alembic_version"} <= tables
        CallStore(engine).save(rec())
        migrate(engine)
        assert CallStore(engine).get("c1") is not None  # a re-run keeps the data
    finally:
        engine.dispose()


def test_migrate_twice_sqlite(tmp_path: Path) -> None:
    check_migrated_twice(f"sqlite:///{tmp_path / 'new' / 'dir' / 'x.sqlite3'}")
    assert (tmp_path / "new" / "dir" / "x.sqlite3").exists()


def test_migrate_twice_postgresql() -> None:
    with fresh_pg_database() as url:
        check_migrated_twice(url)


# -- the store -------------------------------------------------------------------------

def test_save_get_and_events(store: CallStore) -> None:
    store.save(FULL, EVENTS)
    row = store.get(FULL.call_id)
    assert row is not None
    assert {k: row[k] for k in ("caller", "dnis", "source", "queue", "language", "skills", "priority",
                                "repeat_calls", "agent_id", "outcome", "recording")} == {
        "caller": "13800000001", "dnis": "12345", "source": "controller", "queue": "main",
        "language": "zh", "skills": "social_insurance,housing", "priority": 1, "repeat_calls": 2,
        "agent_id": "1001", "outcome": "answered", "recording": FULL.recording}
    assert epoch(row["arrived_at"]) == FULL.arrived_at
    assert epoch(row["queued_at"]) == FULL.queued_at
    assert epoch(row["answered_at"]) == FULL.answered_at
    assert epoch(row["ended_at"]) == FULL.ended_at
    assert row["wait_seconds"] == 7.5 and row["talk_seconds"] == 62.0
    assert row["ivr_path"] == [{"node": "welcome", "digits": "1"}, {"node": "pension", "digits": ""}]
    assert row["attrs"] == {"dnis": "12345", "vip": "no"}
    events = store.events(FULL.call_id)
    assert [(e["kind"], e["data"]) for e in events] == [
        ("queued", {"queue": "main"}), ("offered", {"agent": "1001", "step": 0}), ("answered", {})]
    assert [epoch(e["at"]) for e in events] == [1700000030.5, 1700000031.0, 1700000038.0]
    assert store.get("no-such-call") is None and store.events("no-such-call") == []


def test_unfinished_record_has_nulls(store: CallStore) -> None:
    store.save(rec(call_id="c9"))
    row = store.get("c9")
    assert row is not None
    assert (row["queued_at"], row["answered_at"], row["ended_at"]) == (None, None, None)
    assert (row["wait_seconds"], row["talk_seconds"], row["outcome"]) == (None, None, "in_progress")


def test_save_replaces_the_record_and_appends_events(store: CallStore) -> None:
    store.save(rec(outcome="in_progress"), [CallEvent("c1", 101.0, "arrived")])
    store.save(rec(outcome="abandoned", queued_at=100.0, ended_at=120.0, agent_id=""),
               [CallEvent("c1", 120.0, "abandoned")])
    row = store.get("c1")
    assert row is not None and row["outcome"] == "abandoned" and row["wait_seconds"] == 20.0
    assert len(store.recent()) == 1
    assert [e["kind"] for e in store.events("c1")] == ["arrived", "abandoned"]


def test_agency_legs_become_rows_of_their_own(store: CallStore) -> None:
    busy = {"leg": 0, "agency": "water", "number": "96001", "mode": "consult", "attempt": 1,
            "dialled_at": 110.0, "answered_at": None, "ended_at": 112.5, "end": "busy"}
    joined = {"leg": 1, "agency": "water", "number": "96002", "mode": "consult", "attempt": 2,
              "dialled_at": 113.0, "answered_at": 115.0, "ended_at": 160.0, "end": "agency_hung_up"}
    events = [CallEvent("c1", 110.0, "agency_leg", busy), CallEvent("c1", 113.0, "agency_leg", joined)]
    store.save(rec(outcome="answered", ended_at=170.0), events)
    store.save(rec(outcome="answered", ended_at=170.0), events)  # written again (a replay): no doubles
    legs = store.legs("c1")
    assert [(lg["leg"], lg["agency_id"], lg["number"], lg["attempt"], lg["end_reason"]) for lg in legs] == [
        (0, "water", "96001", 1, "busy"), (1, "water", "96002", 2, "agency_hung_up")]
    assert legs[0]["answered_at"] is None and epoch(legs[1]["answered_at"]) == 115.0
    assert epoch(legs[1]["dialled_at"]) == 113.0 and epoch(legs[1]["ended_at"]) == 160.0
    assert store.legs("no-such-call") == []


def test_count_calls_from_window(store: CallStore) -> None:
    for i, t in enumerate((1000.0, 2000.0, 3000.0)):
        store.save(rec(call_id=f"a{i}", caller="13800000001", arrived_at=t))
    store.save(rec(call_id="b0", caller="13900000002", arrived_at=2500.0))
    assert store.count_calls_from("13800000001", 0.0) == 3
    assert store.count_calls_from("13800000001", 2000.0) == 2  # inclusive
    assert store.count_calls_from("13800000001", 2000.5) == 1
    assert store.count_calls_from("13800000001", 3000.5) == 0
    assert store.count_calls_from("13900000002", 0.0) == 1
    assert store.count_calls_from("nobody", 0.0) == 0


def test_known_ids_and_recent(store: CallStore) -> None:
    store.save(rec(call_id="x1", arrived_at=10.0))
    store.save(rec(call_id="x2", arrived_at=30.0))
    store.save(rec(call_id="x3", arrived_at=20.0))
    assert store.known_ids(["x1", "x3", "y", "x1"]) == {"x1", "x3"}
    assert store.known_ids([]) == set()
    assert store.known_ids(iter(["x2"])) == {"x2"}
    assert [r["call_id"] for r in store.recent()] == ["x2", "x3", "x1"]
    assert [r["call_id"] for r in store.recent(limit=1)] == ["x2"]


# -- the writer and its spool ----------------------------------------------------------

def spool_lines(spool: Path) -> list[str]:
    return [line for line in spool.read_text().splitlines() if line.strip()] if spool.exists() else []


async def test_writer_spools_while_database_is_down_then_replays(store: CallStore, tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    down = CallStore(make_engine(PG_DOWN))
    try:
        offline = RecordWriter(down, spool)
        assert await offline.write(FULL, EVENTS) is False
        assert await offline.write(rec(call_id="c2", ended_at=130.0, outcome="abandoned"), []) is False
        assert await offline.replay() == 0  # still down: nothing replayed, nothing lost
    finally:
        down.engine.dispose()
    assert len(spool_lines(spool)) == 2
    assert store.get(FULL.call_id) is None

    writer = RecordWriter(store, spool)
    assert await writer.replay() == 2
    assert spool_lines(spool) == []
    row = store.get(FULL.call_id)
    assert row is not None and row["agent_id"] == "1001" and row["talk_seconds"] == 62.0
    assert row["ivr_path"] == [dict(s) for s in FULL.ivr_path] and row["attrs"] == FULL.attrs
    assert [e["kind"] for e in store.events(FULL.call_id)] == ["queued", "offered", "answered"]
    c2 = store.get("c2")
    assert c2 is not None and c2["outcome"] == "abandoned"
    assert await writer.replay() == 0


async def test_successful_write_replays_the_spool(store: CallStore, tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    down = CallStore(make_engine(PG_DOWN))
    try:
        assert await RecordWriter(down, spool).write(rec(call_id="old"), []) is False
    finally:
        down.engine.dispose()
    assert await RecordWriter(store, spool).write(rec(call_id="new"), []) is True
    assert store.known_ids(["old", "new"]) == {"old", "new"}
    assert spool_lines(spool) == []


async def test_corrupt_spool_line_goes_to_bad(store: CallStore, tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    good = json.dumps({"record": {"call_id": "g1", "caller": "1", "dnis": "12345", "arrived_at": 5.0,
                                  "ivr_path": []}, "events": [{"call_id": "g1", "at": 5.0, "kind": "arrived", "data": {}}]})
    corrupt = ['{"record": {"call_id": "x"', '{"record": {"no_such_field": 1}, "events": []}', "[1, 2]"]
    spool.write_text("\n".join([corrupt[0], good, corrupt[1], "", corrupt[2]]) + "\n")
    writer = RecordWriter(store, spool)
    assert await writer.replay() == 4
    assert spool_lines(spool) == []
    assert Path(f"{spool}.bad").read_text().splitlines() == corrupt
    assert store.known_ids(["g1", "x"]) == {"g1"}
    assert [e["kind"] for e in store.events("g1")] == ["arrived"]


async def test_record_rejected_by_postgresql_does_not_block_the_spool(pg_url: str, tmp_path: Path) -> None:
    """A caller id longer than the column is a DataError on PostgreSQL: retrying cannot
    help, so the line must go to .bad instead of holding every later record back."""
    spool = tmp_path / "spool.jsonl"
    down = CallStore(make_engine(PG_DOWN))
    try:
        offline = RecordWriter(down, spool)
        assert await offline.write(rec(call_id="long", caller="9" * 100), []) is False
        assert await offline.write(rec(call_id="after"), []) is False
    finally:
        down.engine.dispose()
    engine = make_engine(pg_url)
    try:
        migrate(engine)
        store = CallStore(engine)
        assert await RecordWriter(store, spool).replay() == 2
        assert store.known_ids(["long", "after"]) == {"after"}
        assert spool_lines(spool) == []
        assert '"call_id": "long"' in Path(f"{spool}.bad").read_text()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM calls"))
        engine.dispose()


@pytest.mark.parametrize("bad_time", [float("nan"), float("inf"), -float("inf"), 1e12, 1e18])
async def test_record_with_an_impossible_time_is_set_aside_not_raised(store: CallStore, tmp_path: Path,
                                                                      bad_time: float) -> None:
    """datetime refuses these with ValueError, OverflowError or (1e18, past time_t) OSError;
    the writer must neither raise (that stopped the fallback reconciliation at the record)
    nor spool it as if the database were down (that blocked the spool for good)."""
    spool = tmp_path / "spool.jsonl"
    writer = RecordWriter(store, spool)
    assert await writer.write(rec(call_id="bad", ended_at=bad_time), []) is False
    assert await writer.write(rec(call_id="late", arrived_at=1700000000.0),
                              [CallEvent("late", bad_time, "queued")]) is False
    assert spool_lines(spool) == []
    assert [json.loads(line)["record"]["call_id"] for line in Path(f"{spool}.bad").read_text().splitlines()] == [
        "bad", "late"]
    assert await writer.write(rec(call_id="good"), []) is True
    assert store.known_ids(["bad", "late", "good"]) == {"good"}


async def test_record_rejected_by_postgresql_on_write_is_set_aside(pg_url: str, tmp_path: Path) -> None:
    """The database answers but refuses the record (too long a caller id, a NUL): it is
    not down, so the record goes straight to .bad instead of the spool."""
    spool = tmp_path / "spool.jsonl"
    engine = make_engine(pg_url)
    try:
        migrate(engine)
        writer = RecordWriter(CallStore(engine), spool)
        assert await writer.write(rec(call_id="long", caller="9" * 100), []) is False
        assert await writer.write(rec(call_id="nul", caller="1\x002"), []) is False
        assert spool_lines(spool) == []  # the database is up: nothing to replay later
        assert len(Path(f"{spool}.bad").read_text().splitlines()) == 2
        assert await writer.write(rec(call_id="after"), []) is True
        assert CallStore(engine).known_ids(["long", "nul", "after"]) == {"after"}
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM calls"))
        engine.dispose()
