"""recordings.janitor over a real database (SQLite and PostgreSQL), real files and the real
ffmpeg: the calls stored since the watermark are indexed with their recorded parts (the room's
too), compressed, and their WAVs removed; a file still being written waits; a call written
late (inside the overlap) is found; a corrupt WAV is reported once and kept; the loop stops
when told; the purge runs once a day."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from hotline.store.calls import CallStore, make_engine, migrate
from recordings.compress import Compressor
from recordings.files import RecordingFiles
from recordings.janitor import JanitorConfig, RecordingJanitor
from recordings.retention import Retention, RetentionPolicy
from recordings.store import RecordingStore
from sql.schema import recordings
from tests.recording_files import INSTANCE_IN_ROOT, host_file, make_wav, probe, recorded_call
from tests.unit.db_fixtures import engine_fixture, pg_url  # noqa: F401 (fixtures)

NOW = 1_800_000_000.0
TABLES = ("recording_access", "recordings", "quality_checks", "supervisor_sessions", "work_orders", "call_legs",
          "call_events", "calls")


engine = engine_fixture(TABLES)  # on SQLite and on PostgreSQL (pg_url), these tables emptied


def janitor(engine: Engine, root: Path, **config: float) -> RecordingJanitor:
    store = RecordingStore(engine)
    return RecordingJanitor(store, RecordingFiles(root, INSTANCE_IN_ROOT), Compressor(),
                            Retention(store, RetentionPolicy(180)), JanitorConfig(**config),  # type: ignore[arg-type]
                            clock=lambda: NOW)


def stored_with_files(engine: Engine, root: Path, call_id: str, arrived: float, seconds: float = 2.0,
                      conference: bool = False, age: float = 3600.0) -> list[Path]:
    """A stored call and its WAV file(s), last written ``age`` seconds before NOW."""
    record = recorded_call(call_id, arrived, talk=seconds, conference=conference)
    CallStore(engine).save(record)
    paths = [make_wav(host_file(root, record.recording), seconds)]
    if conference:
        paths.append(make_wav(host_file(root, record.attrs["conference_recording"]), seconds + 1))
    for path in paths:
        os.utime(path, (NOW - age, NOW - age))
    return paths


def test_a_pass_indexes_compresses_and_removes_the_wavs(engine: Engine, tmp_path: Path) -> None:
    wav, room = stored_with_files(engine, tmp_path, "1799990000.1", NOW - 4000, seconds=2.0, conference=True)
    (solo,) = stored_with_files(engine, tmp_path, "1799990000.2", NOW - 3900, seconds=3.0)
    CallStore(engine).save(recorded_call("1799990000.3", NOW - 3800).but(outcome="abandoned", answered_at=None))
    j = janitor(engine, tmp_path)
    report = asyncio.run(j.step(NOW))
    assert (report.indexed, report.compressed, report.failed) == (3, 3, 0)
    assert not wav.exists() and not room.exists() and not solo.exists()
    store = RecordingStore(engine)
    parts = store.parts("1799990000.1")
    assert [(p.part, p.format, Path(p.path).name) for p in parts] == [
        ("call", "opus", "1799990000.1.ogg"), ("conference", "opus", "1799990000.1-3way.ogg")]
    for p, seconds in zip(parts, (2.0, 3.0)):
        assert Path(p.path).exists() and p.bytes == Path(p.path).stat().st_size
        assert abs(probe(Path(p.path))[1] - seconds) <= 0.1 and abs((p.seconds or 0) - seconds) <= 0.1
        assert p.created_at.timestamp() == pytest.approx(NOW - 4000 + 8 + 2.0)  # the call's end
        assert p.compressed_at is not None and p.purged_at is None
    assert store.parts("1799990000.3") == []  # nobody answered: nothing recorded, nothing indexed
    again = asyncio.run(j.step(NOW + 60))
    assert (again.indexed, again.compressed, again.failed) == (0, 0, 0)


def test_a_file_still_being_written_waits_for_a_later_pass(engine: Engine, tmp_path: Path) -> None:
    (wav,) = stored_with_files(engine, tmp_path, "1799990001.1", NOW - 100, age=5)
    j = janitor(engine, tmp_path, settle=60)
    first = j.step_blocking(NOW)
    assert (first.indexed, first.unsettled) == (0, 1) and wav.exists()
    assert RecordingStore(engine).parts("1799990001.1") == []
    later = j.step_blocking(NOW + 120)
    assert (later.indexed, later.compressed, later.unsettled) == (1, 1, 0) and not wav.exists()


def test_the_watermark_limits_the_scan_and_the_overlap_catches_late_records(engine: Engine, tmp_path: Path) -> None:
    j = janitor(engine, tmp_path, lookback=86400, overlap=3600)
    stored_with_files(engine, tmp_path, "1799900000.1", NOW - 2 * 86400)  # before the first look-back
    assert j.step_blocking(NOW).indexed == 0
    assert j.watermark == NOW
    # written after that pass: one arrived within the overlap, one before it
    stored_with_files(engine, tmp_path, "1799999000.1", NOW - 1800)
    stored_with_files(engine, tmp_path, "1799990000.9", NOW - 7200)
    report = j.step_blocking(NOW + 60)
    assert report.indexed == 1
    with engine.connect() as conn:
        assert set(conn.execute(select(recordings.c.call_id)).scalars()) == {"1799999000.1"}


def test_paging_goes_through_more_calls_than_a_page(engine: Engine, tmp_path: Path) -> None:
    for i in range(7):
        stored_with_files(engine, tmp_path, f"1799990100.{i}", NOW - 5000 + i, seconds=0.5)
    report = janitor(engine, tmp_path, page=3, compress_per_pass=4).step_blocking(NOW)
    assert (report.indexed, report.compressed) == (7, 4)
    assert len(RecordingStore(engine).uncompressed()) == 3


def test_a_corrupt_wav_is_reported_once_kept_and_does_not_block_the_others(engine: Engine, tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    (bad,) = stored_with_files(engine, tmp_path, "1799990200.1", NOW - 5000)
    bad.write_bytes(b"RIFF....not a wave file" * 20)
    os.utime(bad, (NOW - 3600, NOW - 3600))
    (good,) = stored_with_files(engine, tmp_path, "1799990200.2", NOW - 4000)
    j = janitor(engine, tmp_path)
    report = j.step_blocking(NOW)
    assert (report.indexed, report.compressed, report.failed) == (2, 1, 1)
    assert bad.exists() and not good.exists()
    assert "1799990200.1" in caplog.text and "the WAV is kept" in caplog.text
    row = RecordingStore(engine).part("1799990200.1", "call")
    assert row is not None and row.format == "wav" and row.compressed_at is None and Path(row.path) == bad
    assert j.step_blocking(NOW + 60).failed == 0  # not retried in this process
    assert janitor(engine, tmp_path).step_blocking(NOW + 120).failed == 1  # a new process tries it again


def test_a_record_naming_a_file_outside_the_recordings_folder_is_ignored(engine: Engine, tmp_path: Path) -> None:
    outside = make_wav(tmp_path / "etc" / "secret.wav", 1.0)
    os.utime(outside, (NOW - 3600, NOW - 3600))
    CallStore(engine).save(recorded_call("1799990300.1", NOW - 5000).but(recording="/etc/secret.wav"))
    report = janitor(engine, tmp_path).step_blocking(NOW)
    assert report.indexed == 0 and outside.exists()


def test_the_purge_runs_at_the_first_pass_and_then_once_a_day(engine: Engine, tmp_path: Path) -> None:
    j = janitor(engine, tmp_path)
    assert j.step_blocking(NOW).purge is not None
    assert j.step_blocking(NOW + 3600).purge is None
    assert j.step_blocking(NOW + 86400).purge is not None


async def test_run_passes_until_stopped(engine: Engine, tmp_path: Path) -> None:
    (wav,) = stored_with_files(engine, tmp_path, "1799990400.1", NOW - 5000)
    j = janitor(engine, tmp_path, interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(j.run(stop))
    for _ in range(200):
        if not wav.exists():
            break
        await asyncio.sleep(0.05)
    assert not wav.exists()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert task.done() and task.exception() is None


async def test_stop_ends_the_loop_and_a_failing_pass_is_retried(engine: Engine, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    j = janitor(engine, tmp_path, interval=0.02)
    calls = 0
    real = j.step_blocking

    def flaky(now: float) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk unavailable")
        return real(now)

    j.step_blocking = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(j.run())
    while calls < 3:
        await asyncio.sleep(0.02)
    j.stop()
    await asyncio.wait_for(task, 5)
    assert "recordings pass failed" in caplog.text


def test_the_compress_command_does_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from hotline.ops.cli import main

    db = tmp_path / "var" / "main.sqlite3"
    root = tmp_path / "root"
    for key, value in {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_DB_URL": f"sqlite:///{db}",
                       "HOTLINE_ASTERISK_ROOT": str(root), "HOTLINE_INSTANCE": "main"}.items():
        monkeypatch.setenv(key, value)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    now = time.time()
    record = recorded_call("1799999999.1", now - 3600, talk=2.5)
    CallStore(engine).save(record)
    wav = make_wav(host_file(root, record.recording), 2.5)
    os.utime(wav, (now - 600, now - 600))
    assert main(["recordings", "compress"]) == 0
    assert "1 indexed, 1 compressed, 0 failed" in capsys.readouterr().out
    assert not wav.exists() and abs(probe(wav.with_suffix(".ogg"))[1] - 2.5) <= 0.1
    part = RecordingStore(engine).part("1799999999.1", "call")
    assert part is not None and part.format == "opus"
    engine.dispose()
