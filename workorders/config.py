"""The three files work orders are configured by, loaded and validated together.

Why together: a work order is checked against all three (its category, its district, the
due date of a transfer), so the shell loads them in one step at start-up and a bad file
stops it with the message of that file's validator (naming file, entry and field).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outbound.agencies import Directory
from workorders import FOLDER
from workorders.calendar import WorkCalendar, load_calendar
from workorders.districts import Districts, load_districts
from workorders.taxonomy import Taxonomy, load_taxonomy


@dataclass(frozen=True)
class WorkOrderConfig:
    taxonomy: Taxonomy
    districts: Districts
    calendar: WorkCalendar


def load_work_order_config(directory: Directory | None = None, folder: Path = FOLDER) -> WorkOrderConfig:
    """``taxonomy.yaml``, ``districts.yaml`` and ``holidays.yaml`` of ``folder``; with
    ``directory``, the taxonomy's agency ids must be in it."""
    return WorkOrderConfig(load_taxonomy(folder / "taxonomy.yaml", directory),
                           load_districts(folder / "districts.yaml"),
                           load_calendar(folder / "holidays.yaml"))
