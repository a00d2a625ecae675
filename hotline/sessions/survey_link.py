"""The post-call survey's answer onto the call's work order.

Why: the call taker files the work order during wrap-up, while the citizen is still in the
survey; the order is saved before the answer exists. When the call's record is written (with
``attrs.satisfaction``), the answer is set on the order too, so the order says how the
citizen rated the call (an order filed later picks it up from the record itself).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Iterable

from calls.records import CallEvent, CallRecord
from hotline.ports import RecordSink

log = logging.getLogger(__name__)


class SurveyToWorkOrder:
    """A ``RecordSink`` that writes through ``records`` and then sets the survey's answer."""

    def __init__(self, records: RecordSink, set_satisfaction: Callable[[str, str], Awaitable[bool]]) -> None:
        self._records = records
        self._set = set_satisfaction

    async def write(self, record: CallRecord, events: Iterable[CallEvent]) -> bool:
        written = await self._records.write(record, list(events))
        answer = record.attrs.get("satisfaction")
        if answer not in (None, ""):
            try:
                await self._set(record.call_id, str(answer))
            except Exception as exc:  # the record is safe; the order shows no rating until re-saved
                log.warning("call %s: survey answer not set on its work order (%s)", record.call_id, exc)
        return written
