"""Call recordings: where they are written and how a reviewer finds them.

Every call that reaches a call taker is recorded by Asterisk's MixMonitor (started by the
call session when the call enters the queue, with the ``b`` option: only the conversation with
the agent, never the waiting music; the dialplan's app_queue fallback records the same way
when the controller is away), for the daily quality checks and the monthly assessments
of call takers. One WAV file per call, named by the call id that is also the call record's
primary key, so a record points at its recording and a recording at its record.
"""
from __future__ import annotations

from pathlib import PurePosixPath

FOLDER = "recordings"


def recording_path(instance_dir_in_root: str, call_id: str) -> str:
    """The file MixMonitor writes for ``call_id``, as Asterisk (inside its root) sees it."""
    if not call_id or "/" in call_id or call_id.startswith("."):
        raise ValueError(f"not a call id usable as a file name: {call_id!r}")
    return str(PurePosixPath(instance_dir_in_root) / FOLDER / f"{call_id}.wav")
