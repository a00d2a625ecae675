"""Call recordings: where they are written and how a reviewer finds them.

Every call that reaches a call taker is recorded by Asterisk's MixMonitor, for the daily
quality checks and the monthly assessments of call takers. It starts when the agent (or, for a
callback, the citizen) answers: ``Dial``'s ``U()`` option runs the ``hotline-record`` context on
the answering leg before the two are bridged, with the ``b`` option (only the bridged talk) and
``a`` (a later segment of the same call, e.g. after a fallback, is appended, never truncates the
first). So no file is made for calls nobody answered, and nothing is done on the way to the
agent's INVITE. The dialplan's app_queue fallback records the same way when the controller is
away (``monitor-format`` with ``MONITOR_FILENAME``: app_queue starts MixMonitor on answer).
One WAV file per call, named by the call id that is also the call record's
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


def record_on_answer(path: str) -> str:
    """The ``Dial`` option that starts the recording of ``path`` when the called leg answers."""
    if any(c in path for c in ",()^|;\n") or not path.endswith(".wav"):
        raise ValueError(f"not a recording path usable in a Dial option: {path!r}")
    return f"U(hotline-record^{path})"  # U(context^args): Gosub at s,1 of that context
