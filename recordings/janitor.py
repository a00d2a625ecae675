"""``RecordingJanitor``: index finished recordings with their calls, compress them, and purge
what the retention policy lets go, once a day. The shell around ``compress``, ``retention``
and ``store``; the controller owns ``run()`` as one task.

Why it reads the calls table and not the folder: a city's hotline keeps hundreds of
thousands of files; listing them every minute does not scale, while the calls stored since
the last pass are a small range of an indexed column. The janitor keeps a watermark (the
time of its last pass) and looks at the calls that arrived since the watermark less
``overlap`` (records written late: a spool replayed after a database outage, a call recovered
by another controller), and, after a start, since ``lookback``. Calls already indexed are
skipped by the query itself, so looking twice costs nothing.

A file modified less than ``settle`` seconds ago is left for the next pass (the room of a
three-party call may still be writing). Every pass runs in one worker thread (``step``), so
the event loop and the calls never wait for ffmpeg or the database, and at most one ffmpeg
runs at a time. A WAV that cannot be compressed is reported once and kept; it is tried again
after a restart.

Run one janitor per instance (in the controller holding the router's lead, say): two would
compress the same files twice. Nothing breaks (the index ignores a part added meanwhile,
partial files are named per process, the WAV goes once), but the work is done twice and the
second logs a missing WAV.
"""
from __future__ import annotations

import asyncio
import logging
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from recordings.compress import CompressionFailed, Compressor
from recordings.files import RecordingFiles
from recordings.model import RecordingPart, part_files
from recordings.retention import PurgeReport, Retention, RetentionPolicy
from recordings.store import PendingCall, RecordingStore

log = logging.getLogger(__name__)
DAY = 86400.0


@dataclass(frozen=True)
class JanitorConfig:
    """Timings and batch sizes (seconds, counts)."""

    interval: float = 60.0           # between passes
    lookback: float = 2 * DAY        # the first pass after a start looks this far back
    overlap: float = 6 * 3600.0      # later passes look back past the watermark by this much
    settle: float = 60.0             # a file changed more recently is still being written
    purge_every: float = DAY         # the retention purge, at the first pass and then this often
    page: int = 500                  # calls read per query
    compress_per_pass: int = 50      # files compressed per pass at most (the rest: next pass)


@dataclass(frozen=True)
class StepReport:
    """What one pass did."""

    indexed: int = 0
    compressed: int = 0
    failed: int = 0
    unsettled: int = 0
    purge: PurgeReport | None = None


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class RecordingJanitor:
    """Indexes, compresses and purges the recordings of ``store``'s calls (see the module)."""

    def __init__(self, store: RecordingStore, files: RecordingFiles, compressor: Compressor, retention: Retention,
                 config: JanitorConfig = JanitorConfig(), clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.files = files
        self.compressor = compressor
        self.retention = retention
        self.config = config
        self.clock = clock
        self.watermark: float | None = None   # the time of the last complete index pass
        self.next_purge: float | None = None  # None: at the next pass
        self.failed: set[tuple[str, str]] = set()
        self.last: StepReport | None = None
        self._stop: asyncio.Event | None = None

    @classmethod
    def for_instance(cls, engine: Engine, asterisk_root: Path, instance_dir_in_root: str, policy: RetentionPolicy,
                     config: JanitorConfig = JanitorConfig(), clock: Callable[[], float] = time.time,
                     ffmpeg: str = "ffmpeg") -> "RecordingJanitor":
        """The janitor of one instance's recordings (``Settings.asterisk_root``,
        ``Settings.instance_dir_in_root``) in the database of ``engine`` (migrated)."""
        store = RecordingStore(engine)
        return cls(store, RecordingFiles(asterisk_root, instance_dir_in_root), Compressor(ffmpeg),
                   Retention(store, policy), config, clock)

    # -- the loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Pass after pass, ``interval`` apart, until ``stop`` is set (or ``stop()`` is called,
        or the task is cancelled). A pass that fails (database down) is logged and retried."""
        self._stop = stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.step(self.clock())
            except (SQLAlchemyError, OSError) as exc:  # the database or the disk: expected now and then
                log.error("recordings pass failed, retried in %.0f s: %s", self.config.interval, exc)
            except Exception:  # a bug must not end the compression and the purge for good
                log.exception("recordings pass failed, retried in %.0f s", self.config.interval)
            try:
                await asyncio.wait_for(stop.wait(), self.config.interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """End ``run`` after the pass in progress."""
        if self._stop is not None:
            self._stop.set()

    async def step(self, now: float) -> StepReport:
        """One pass (index, compress, and purge when due) in a worker thread."""
        return await asyncio.to_thread(self.step_blocking, now)

    def step_blocking(self, now: float) -> StepReport:
        """One pass in the calling thread (the CLI's)."""
        indexed, unsettled = self.index_new(now)
        compressed, failed = self.compress_pending()
        purge = None
        if self.next_purge is None or now >= self.next_purge:
            purge = self.retention.purge(_at(now))
            self.next_purge = now + self.config.purge_every
        self.last = report = StepReport(indexed, compressed, failed, unsettled, purge)
        if indexed or compressed or failed or (purge and purge.purged):
            log.info("recordings: %d indexed, %d compressed, %d failed%s", indexed, compressed, failed,
                     f", {len(purge.purged)} purged" if purge else "")
        return report

    # -- the parts of a pass --------------------------------------------------------------------

    def index_new(self, now: float) -> tuple[int, int]:
        """Index the finished recordings of the calls stored since the watermark; the
        number of parts indexed and of calls left for later (files still being written)."""
        start = now - self.config.lookback if self.watermark is None else self.watermark - self.config.overlap
        after: tuple[datetime, str] | None = None
        indexed = unsettled = 0
        while True:
            page = self.store.pending_calls(_at(start), self.config.page, after)
            parts: list[RecordingPart] = []
            for call in page:
                found = self._finished_parts(call, now)
                if found is None:
                    unsettled += 1
                else:
                    parts.extend(found)
            indexed += self.store.index(parts)
            if len(page) < self.config.page:
                break
            after = (page[-1].arrived_at, page[-1].call_id)
        self.watermark = now
        return indexed, unsettled

    def _finished_parts(self, call: PendingCall, now: float) -> list[RecordingPart] | None:
        """The call's recorded parts on disk; None while one is still being written."""
        made = call.ended_at or call.arrived_at
        parts = []
        for part, named in part_files(call.recording, call.attrs):
            host = self.files.host(named)
            if host is None:
                log.warning("call %s names a recording outside the recordings folder, ignored: %r",
                            call.call_id, named)
                continue
            try:
                stat = host.stat()
            except FileNotFoundError:
                continue  # nobody answered (nothing recorded), or the file is gone
            if stat.st_mtime > now - self.config.settle:
                return None
            parts.append(RecordingPart(call.call_id, part, str(host), "wav", stat.st_size, _wav_seconds(host),
                                       made))
        return parts

    def compress_pending(self) -> tuple[int, int]:
        """Compress indexed WAV parts (at most ``compress_per_pass``); done and failed counts."""
        rows = self.store.uncompressed(self.config.compress_per_pass + len(self.failed))
        todo = [r for r in rows if (r.call_id, r.part) not in self.failed][: self.config.compress_per_pass]
        done = failed = 0
        for row in todo:
            try:
                self.compressor.compress(Path(row.path), before_removal=lambda c, row=row: self.store.mark_compressed(
                    row.call_id, row.part, str(c.path), c.format, c.bytes, c.seconds, _at(self.clock())))
                done += 1
            except CompressionFailed as exc:
                self.failed.add((row.call_id, row.part))
                failed += 1
                log.error("recording of call %s (%s) not compressed, the WAV is kept: %s", row.call_id, row.part,
                          exc.reason)
        return done, failed

    def purge(self, now: float, dry_run: bool = False) -> PurgeReport:
        """The retention purge at ``now`` (``hotline recordings purge``)."""
        return self.retention.purge(_at(now), dry_run)


def _wav_seconds(path: Path) -> float | None:
    """A WAV's length from its header (None when the header cannot be read: compression says more)."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else None
    except (wave.Error, EOFError, OSError):
        return None

