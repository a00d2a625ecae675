"""recordings.store and migration 0005 on a real SQLite file and a real PostgreSQL database:
the migration creates exactly the tables of ``sql.schema`` (compared by Alembic) and goes back;
the access log and the quality checks come back filtered and newest first, times in UTC;
the database refuses a score outside 0-100 and an unknown mode; supervisor sessions open and
close once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from hotline.store.calls import MIGRATIONS, CallStore, make_engine, migrate
from recordings.model import AccessEntry, AccessQuery, RecordingPart, SupervisorSession
from recordings.quality import CheckQuery, QualityCheck
from recordings.store import RecordingStore, SupervisorSessionStore
from sql.schema import metadata
from tests.recording_files import recorded_call
from tests.unit.test_records_store import fresh_pg_database

MINE = {"recordings", "recording_access", "quality_checks", "supervisor_sessions"}
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (f"sqlite:///{tmp_path / 'db' / 's.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        for table in (*sorted(MINE), "call_legs", "call_events", "calls"):
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield engine
    finally:
        engine.dispose()


def _alembic(engine: Engine, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_migration_0005_matches_the_schema_and_goes_back(engine: Engine) -> None:
    assert MINE <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    mine = [d for d in diffs if any(name in repr(d) for name in MINE)]
    assert mine == []
    assert {i["name"] for i in inspect(engine).get_indexes("recording_access")} >= {
        "ix_recording_access_call_at", "ix_recording_access_at", "ix_recording_access_user_at"}
    _alembic(engine, "downgrade", "0004")
    assert not MINE & set(inspect(engine).get_table_names())
    migrate(engine)
    assert MINE <= set(inspect(engine).get_table_names())


def test_parts_round_trip_with_times_in_utc(engine: Engine) -> None:
    store = RecordingStore(engine)
    made = datetime(2026, 11, 30, 16, 0, tzinfo=BEIJING)
    part = RecordingPart("c1", "call", "/r/c1.wav", "wav", 1234, 2.5, made)
    assert store.index([part, part]) == 1
    assert store.index([part]) == 0  # already indexed: left as it is
    got = store.part("c1", "call")
    assert got is not None and got.created_at == made and got.created_at.tzinfo == timezone.utc
    store.mark_compressed("c1", "call", "/r/c1.ogg", "opus", 99, 2.49, made + timedelta(minutes=1))
    assert store.parts("c1") == [RecordingPart("c1", "call", "/r/c1.ogg", "opus", 99, 2.49, made,
                                               made + timedelta(minutes=1))]
    assert store.uncompressed() == [] and store.part("c1", "conference") is None
    with pytest.raises(ValueError, match="naive"):
        store.index([RecordingPart("c2", "call", "/r/c2.wav", "wav", 1, 1.0, datetime(2026, 1, 1))])


def test_pending_calls_are_the_stored_ones_with_a_recording_not_indexed(engine: Engine) -> None:
    calls, store = CallStore(engine), RecordingStore(engine)
    start = T0.timestamp()
    for i in range(4):
        calls.save(recorded_call(f"c{i}", start + i, conference=i == 2))
    calls.save(recorded_call("none", start + 5).but(recording=""))
    calls.save(recorded_call("early", start - 100))
    store.index([RecordingPart("c1", "call", "/x", "wav", 1, 1.0, T0)])
    pending = store.pending_calls(T0)
    assert [c.call_id for c in pending] == ["c0", "c2", "c3"]
    assert pending[1].attrs["conference_recording"].endswith("c2-3way.wav")
    assert [c.call_id for c in store.pending_calls(T0, limit=1, after=(pending[0].arrived_at, "c0"))] == ["c2"]


def test_the_access_log_filters_newest_first(engine: Engine) -> None:
    store = RecordingStore(engine)
    rows = [AccessEntry("c1", "call", "sam", "supervisor", "play", True, T0, "192.0.2.1"),
            AccessEntry("c1", "call", "alice", "agent", "play", False, T0 + timedelta(seconds=1), "192.0.2.2"),
            AccessEntry("c2", "conference", "sam", "supervisor", "download", True, T0 + timedelta(seconds=2), "")]
    ids = [store.log_access(r) for r in rows]
    assert ids == sorted(ids)
    everything = store.access_log(AccessQuery())
    assert [(e.call_id, e.username) for e in everything] == [("c2", "sam"), ("c1", "alice"), ("c1", "sam")]
    assert everything[1].allowed is False and everything[2].client == "192.0.2.1"
    assert [e.username for e in store.access_log(AccessQuery(call_id="c1", allowed=True))] == ["sam"]
    assert [e.call_id for e in store.access_log(AccessQuery(username="sam", since=T0 + timedelta(seconds=1)))] == ["c2"]
    assert [e.call_id for e in store.access_log(AccessQuery(until=T0 + timedelta(seconds=1)))] == ["c1"]
    assert len(store.access_log(AccessQuery(limit=1, offset=1))) == 1
    with pytest.raises(IntegrityError):
        store.log_access(AccessEntry("c1", "call", "sam", "supervisor", "listen", True, T0))  # type: ignore[arg-type]


def test_quality_checks_round_trip_and_filter(engine: Engine) -> None:
    store = RecordingStore(engine)
    CallStore(engine).save(recorded_call("c1", T0.timestamp(), agent_id="1002"))
    assert store.call_agent("c1") == "1002" and store.call_agent("nope") is None
    items = {"form": "qc", "scores": {"greeting": 5}, "vetoes": [], "passed": True}
    first = store.add_check(QualityCheck("c1", "1002", "sam", 88, items, "好", False, T0))
    second = store.add_check(QualityCheck("c1", "1002", "sue", 0, {**items, "vetoes": ["quarrel"]}, "", True,
                                          T0 + timedelta(hours=1)))
    store.add_check(QualityCheck("c9", "1003", "sam", 70, items, "", False, T0 + timedelta(hours=2)))
    assert first.id is not None and second.id is not None and first.id < second.id
    assert store.checks_for_call("c1") == [first, second]
    assert store.checks_for_call("c1")[0].items == items
    assert [c.id for c in store.checks(CheckQuery(agent_id="1002"))] == [second.id, first.id]
    window = CheckQuery(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2))
    assert [c.id for c in store.checks(window)] == [second.id]
    with pytest.raises(IntegrityError):
        store.add_check(QualityCheck("c1", "1002", "sam", 101, items, "", False, T0))


def test_supervisor_sessions_open_and_close_once(engine: Engine) -> None:
    sessions = SupervisorSessionStore(engine)
    opened = sessions.start(SupervisorSession("sam", "PJSIP/2001", "1001", "c1", "listen", "PJSIP/2001-0000001a", T0))
    other = sessions.start(SupervisorSession("sue", "PJSIP/2002", "1002", "c2", "barge", "PJSIP/2002-0000001b",
                                             T0 + timedelta(minutes=5)))
    assert opened.id is not None and other.id is not None
    assert [s.id for s in sessions.open_sessions()] == [opened.id, other.id]
    assert sessions.end(opened.id, T0 + timedelta(minutes=2), "supervisor_hangup")
    assert not sessions.end(opened.id, T0 + timedelta(minutes=3), "again")
    assert not sessions.end(9999, T0, "unknown")
    (closed,) = sessions.for_call("c1")
    assert (closed.ended_at, closed.end_reason, closed.mode) == (T0 + timedelta(minutes=2), "supervisor_hangup",
                                                                 "listen")
    assert [s.id for s in sessions.open_sessions()] == [other.id]
    assert [s.id for s in sessions.between(T0 + timedelta(minutes=1), T0 + timedelta(hours=1))] == [other.id]
    with pytest.raises(IntegrityError):
        sessions.start(SupervisorSession("sam", "PJSIP/2001", "1001", "c1", "spy", "x", T0))  # type: ignore[arg-type]
