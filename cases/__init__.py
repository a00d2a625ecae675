"""Cases (办件): a work order's life after the call, from the transfer to the agency to closed.

Pure on purpose (functional core, like ``agents.state`` and ``workorders``): the case state
machine as a table (``lifecycle``), the automatic supervision flags (督办, ``supervision``),
the follow-up calls' timing and pacing (回访, ``followup``), the agencies' evaluation and
ranking (``ranking``), and the rules they all read (``rules``, from ``rules.yaml``). No
module here touches a database, a socket or the clock: ``now`` is always passed in. The
storage is ``hotline/store/cases.py``; the HTTP routes ``hotline/api/routes/cases.py``.
"""
from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
