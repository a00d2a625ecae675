"""Work orders (工单): what a call taker files for each call, and the rules it must follow.

Pure on purpose (functional core): the taxonomy of topics (``taxonomy``), the districts
(``districts``), the working-day calendar with the public holidays (``calendar``) and the
work order value with its validation (``model``) only read their YAML files when asked
(``load_*``) and never touch a database, a socket or the clock; the shell passes ``now`` in.
The storage is ``hotline/store/work_orders.py``, the HTTP routes
``hotline/api/routes/work_orders.py``.

The data files live next to this module: ``taxonomy.yaml``, ``districts.yaml``,
``holidays.yaml`` (``FOLDER``). Each is validated strictly at start-up; every error names
the file, the entry and the field.
"""
from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
