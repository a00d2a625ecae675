"""The calls app_queue served while the controller was away, stored like any other.

When the controller is down (or a session fails), the dialplan hands the citizen to the
``hotline-fallback`` app_queue; Asterisk writes those calls to its queue_log only. After
every AMI login and every housekeeping pass, the queue_log is folded into records (pure:
``calls.queue_log``) and the ones the database does not have yet are written. One record
that cannot be stored never keeps the ones after it out.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Callable

from calls import queue_log
from hotline.ports import RecordSink
from hotline.store.calls import CallStore

log = logging.getLogger(__name__)
SETTLE = 3.0  # seconds a finished fallback call's last line must be old before it is stored


class FallbackReconciler:
    def __init__(self, queue_log_path: Path, store: CallStore, records: RecordSink,
                 recording_path: Callable[[str], str]) -> None:
        self._path = queue_log_path
        self._store = store
        self._records = records
        self._recording_path = recording_path

    async def served(self) -> dict[str, queue_log.Served]:
        """The dialplan's SERVED lines: calls an agent answered while no session held them."""
        if not self._path.exists():
            return {}
        text = await asyncio.to_thread(self._path.read_text, errors="replace")
        return queue_log.served(text.splitlines())

    async def reconcile(self) -> int:
        """Store the calls app_queue served that are not stored yet; return how many."""
        if not self._path.exists():
            return 0
        records = queue_log.fold(self._path.read_text(errors="replace").splitlines(),
                                 recording_of=self._recording_path, settled_before=time.time() - SETTLE)
        known = await asyncio.to_thread(self._store.known_ids, records.keys())
        fresh = [r for cid, r in records.items() if cid not in known]
        for record in fresh:
            try:  # one record that cannot be stored must not keep the ones after it out
                await self._records.write(record, [])
            except Exception:
                log.exception("fallback call %s could not be stored: skipped", record.call_id)
        if fresh:
            log.info("reconciled %d call(s) served by the fallback queue", len(fresh))
        return len(fresh)
