"""recordings.retention: the policy (most specific rule wins, validated from the environment with
the variable named), and the purge over a real database (SQLite and PostgreSQL) and real
files: it removes exactly what the policy lets go, never a recording newer than its rule or one
a quality check keeps, marks those rows purged and logs each; a dry run changes nothing. And
``hotline recordings purge [--dry-run]`` as typed."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from hotline.ops.cli import main
from hotline.settings import SettingsError
from hotline.store.calls import CallStore, make_engine, migrate
from recordings.model import AccessQuery, RecordingPart
from recordings.quality import QualityCheck
from recordings.retention import Candidate, Retention, RetentionPolicy, due, policy_from_env
from recordings.store import RecordingStore
from sql.schema import recordings, work_orders
from tests.recording_files import recorded_call
from tests.unit.db_fixtures import engine_fixture, pg_url  # noqa: F401 (fixtures)

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
POLICY = RetentionPolicy(180, {"transferred": 365}, {"04": 30, "04.03.01": 1095})
TABLES = ("recording_access", "recordings", "quality_checks", "work_orders", "work_order_days", "call_legs",
          "call_events", "calls")


# -- the policy, pure -------------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, category, days", [
    ("answered", None, 180), ("transferred", None, 365), ("answered", "04.01.02", 30),
    ("transferred", "04.01.02", 30),            # a category rule is more specific than the outcome's
    ("answered", "04.03.01", 1095),             # the longest matching prefix wins
    ("answered", "05.01.01", 180), ("answered", "040.1", 180),  # "040.1" is not under "04"
    (None, None, 180),
])
def test_the_most_specific_rule_wins(outcome: str | None, category: str | None, days: int) -> None:
    assert POLICY.days_for(outcome, category) == days
    assert POLICY.shortest_days == 30


def _candidate(age_days: float, keep: bool = False, outcome: str = "answered") -> Candidate:
    return Candidate("c", "call", "/x.ogg", "opus", 1, NOW - timedelta(days=age_days), outcome, None, keep)


def test_due_is_exactly_older_than_the_days_and_not_kept() -> None:
    policy = RetentionPolicy(180)
    assert due([_candidate(180)], policy, NOW) == [_candidate(180)]
    assert due([_candidate(179.999)], policy, NOW) == []
    assert due([_candidate(500, keep=True)], policy, NOW) == []


def test_the_policy_from_the_environment() -> None:
    policy = policy_from_env({"HOTLINE_RECORDING_DAYS": "90", "HOTLINE_RECORDING_DAYS_BY_OUTCOME": "transferred=365",
                              "HOTLINE_RECORDING_DAYS_BY_CATEGORY": "04=30, 04.03.01=1095"})
    assert policy == RetentionPolicy(90, {"transferred": 365}, {"04": 30, "04.03.01": 1095})
    assert policy_from_env({}) == RetentionPolicy(180)


@pytest.mark.parametrize("env, named", [
    ({"HOTLINE_RECORDING_DAYS": "abc"}, "HOTLINE_RECORDING_DAYS"),
    ({"HOTLINE_RECORDING_DAYS": "0"}, "HOTLINE_RECORDING_DAYS"),
    ({"HOTLINE_RECORDING_DAYS": "99999"}, "HOTLINE_RECORDING_DAYS"),
    ({"HOTLINE_RECORDING_DAYS_BY_OUTCOME": "answered"}, "HOTLINE_RECORDING_DAYS_BY_OUTCOME"),
    ({"HOTLINE_RECORDING_DAYS_BY_OUTCOME": "answered=7,answered=8"}, "HOTLINE_RECORDING_DAYS_BY_OUTCOME"),
    ({"HOTLINE_RECORDING_DAYS_BY_CATEGORY": "water=30"}, "HOTLINE_RECORDING_DAYS_BY_CATEGORY"),
    ({"HOTLINE_RECORDING_DAYS_BY_CATEGORY": "04=-1"}, "HOTLINE_RECORDING_DAYS_BY_CATEGORY"),
])
def test_an_unusable_setting_is_refused_with_its_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        policy_from_env(env)


# -- the purge, on a real database and real files -----------------------------------------------------

engine = engine_fixture(TABLES)  # on SQLite and on PostgreSQL (pg_url), these tables emptied


def _order(engine: Engine, call_id: str, category: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(work_orders).values(
            call_id=call_id, case_number=f"20260101-{abs(hash(call_id)) % 10000:04d}", caller="13800000001",
            agent_id="1001", category=category, request="r", district="lixia", urgency="normal", handling="direct",
            three_party=False, notes="", created_at=at, updated_at=at))


class World:
    """Calls, their work orders and quality checks, and their recordings (files and rows)."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine, self.folder = engine, folder
        self.store = RecordingStore(engine)

    def call(self, call_id: str, age_days: float, outcome: str = "answered", category: str | None = None,
             keep: bool | None = None, parts: tuple[str, ...] = ("call",), fmt: str = "opus",
             file: bool = True, leftover_wav: bool = False) -> list[Path]:
        made = NOW - timedelta(days=age_days)
        CallStore(self.engine).save(recorded_call(call_id, made.timestamp() - 68, outcome=outcome))
        if category:
            _order(self.engine, call_id, category, made)
        if keep is not None:
            self.store.add_check(QualityCheck(call_id, "1001", "sam", 90, {"form": "f"}, "", keep, made))
        files = []
        for part in parts:
            name = call_id + ("" if part == "call" else "-3way")
            path = self.folder / f"{name}.{'ogg' if fmt == 'opus' else 'wav'}"
            if file:
                path.write_bytes(b"audio of " + name.encode())
            if leftover_wav:
                path.with_suffix(".wav").write_bytes(b"wav left by a crash")
                files.append(path.with_suffix(".wav"))
            self.store.index([RecordingPart(call_id, part, str(path), fmt, 1000, 60.0, made,  # type: ignore[arg-type]
                                            made if fmt != "wav" else None)])
            files.append(path)
        return files


def _scenario(world: World) -> tuple[set[Path], set[tuple[str, str]]]:
    """Every case of the policy; returns the files and the (call, part) rows that must go."""
    gone: set[Path] = set()
    rows: set[tuple[str, str]] = set()

    def must_go(call_id: str, files: list[Path], parts: tuple[str, ...] = ("call",)) -> None:
        gone.update(files)
        rows.update((call_id, p) for p in parts)

    must_go("old", world.call("old", 181))
    world.call("young", 179)                                     # newer than the policy
    must_go("boundary", world.call("boundary", 180))             # exactly 180 days: due
    world.call("transferred-young", 200, outcome="transferred")  # 365 days for transferred calls
    must_go("transferred-old", world.call("transferred-old", 366, outcome="transferred"))
    must_go("cat-04", world.call("cat-04", 31, category="04.01.02"))       # 30 days under 04
    world.call("cat-04-young", 29, category="04.01.02")
    world.call("cat-long", 400, category="04.03.01")             # 1095 days for that item
    world.call("kept", 181, keep=True)                           # a quality check keeps it
    must_go("checked", world.call("checked", 181, keep=False))  # a check that does not keep it
    must_go("room", world.call("room", 190, parts=("call", "conference")), ("call", "conference"))
    must_go("wav-only", world.call("wav-only", 181, fmt="wav"))  # never compressed (corrupt)
    must_go("leftover", world.call("leftover", 181, leftover_wav=True))
    rows.add(("no-file", "call"))
    world.call("no-file", 200, file=False)                       # already gone: marked purged
    return gone, rows


def _files(folder: Path) -> set[Path]:
    return set(folder.iterdir())


def _purged_rows(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(r.call_id, r.part) for r in conn.execute(
            select(recordings.c.call_id, recordings.c.part).where(recordings.c.purged_at.is_not(None)))}


def test_purge_removes_exactly_what_the_policy_says(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    world = World(engine, folder)
    gone, rows = _scenario(world)
    before = _files(folder)
    report = Retention(world.store, POLICY).purge(NOW)
    assert {(c.call_id, c.part) for c in report.purged} == rows
    assert report.missing == 1 and not report.dry_run
    assert _files(folder) == before - gone
    assert _purged_rows(engine) == rows
    purged_at = world.store.part("old", "call")
    assert purged_at is not None and purged_at.purged_at == NOW
    log = world.store.access_log(AccessQuery(limit=500))
    assert {(e.call_id, e.part) for e in log} == rows
    assert {(e.action, e.username, e.role, e.allowed) for e in log} == {("purge", "retention", "system", True)}
    # a second purge finds nothing more; a day later the 29-day-old order's recording is due
    assert Retention(world.store, POLICY).purge(NOW).purged == ()
    later = Retention(world.store, POLICY).purge(NOW + timedelta(days=1))
    assert {(c.call_id, c.part) for c in later.purged} == {("cat-04-young", "call"), ("young", "call")}


def test_a_dry_run_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    world = World(engine, folder)
    _gone, rows = _scenario(world)
    before = {p: p.read_bytes() for p in _files(folder)}
    report = Retention(world.store, POLICY).purge(NOW, dry_run=True)
    assert report.dry_run and {(c.call_id, c.part) for c in report.purged} == rows
    assert {p: p.read_bytes() for p in _files(folder)} == before
    assert _purged_rows(engine) == set()
    assert world.store.access_log(AccessQuery()) == []


def test_a_file_that_cannot_be_removed_keeps_its_row_for_next_time(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    world = World(engine, folder)
    world.call("old", 181)
    blocked = folder / "blocked.ogg"
    blocked.mkdir()  # unlink() of a folder fails: stands for a file we may not remove
    world.store.index([RecordingPart("blocked", "call", str(blocked), "opus", 1, 1.0, NOW - timedelta(days=200))])
    report = Retention(world.store, RetentionPolicy(180)).purge(NOW)
    assert [c.call_id for c in report.purged] == ["old"]
    assert _purged_rows(engine) == {("old", "call")} and blocked.exists()


# -- the command ------------------------------------------------------------------------------------------

def test_the_purge_command_dry_run_then_purge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "var" / "main.sqlite3"
    for key, value in {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_DB_URL": f"sqlite:///{db}",
                       "HOTLINE_ASTERISK_ROOT": str(tmp_path / "root"), "HOTLINE_RECORDING_DAYS": "30"}.items():
        monkeypatch.setenv(key, value)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    store = RecordingStore(engine)
    folder = tmp_path / "recordings"
    folder.mkdir()
    now = datetime.fromtimestamp(time.time(), tz=timezone.utc)
    for call_id, age in (("1700000000.1", 31), ("1700000000.2", 29)):
        path = folder / f"{call_id}.ogg"
        path.write_bytes(b"x" * 2000)
        store.index([RecordingPart(call_id, "call", str(path), "opus", 2000, 1.0, now - timedelta(days=age))])
    assert main(["recordings", "purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would purge 1700000000.1 call" in out and "1700000000.2" not in out
    assert "would purge 1 recording(s)" in out and "30 days" in out
    assert (folder / "1700000000.1.ogg").exists() and _purged_rows(engine) == set()
    assert main(["recordings", "purge"]) == 0
    assert "purged 1 recording(s)" in capsys.readouterr().out
    assert not (folder / "1700000000.1.ogg").exists() and (folder / "1700000000.2.ogg").exists()
    assert _purged_rows(engine) == {("1700000000.1", "call")}
    monkeypatch.setenv("HOTLINE_RECORDING_DAYS", "soon")
    assert main(["recordings", "purge"]) == 2
    assert "HOTLINE_RECORDING_DAYS" in capsys.readouterr().err
    engine.dispose()
