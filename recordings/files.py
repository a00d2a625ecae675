"""Where a recording named in a call record is on the controller's host.

Why a check and not a plain join: the record holds the path as Asterisk sees it inside its
root (``/srv/hotline/<instance>/recordings/<call id>.wav``); the janitor compresses and
deletes what these paths name, so only files directly in the instance's recordings folder
are ever touched, whatever a record (or a hand-edited row) says.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from recordings import FOLDER


@dataclass(frozen=True)
class RecordingFiles:
    """``asterisk_root``: the root on the host; ``instance_dir_in_root``: the instance's folder
    inside it (``Settings.instance_dir_in_root``)."""

    asterisk_root: Path
    instance_dir_in_root: str

    @property
    def folder(self) -> PurePosixPath:
        return PurePosixPath(self.instance_dir_in_root) / FOLDER

    def host(self, path_in_root: str) -> Path | None:
        """The host path of a recording the record names, or None when it is not a file
        directly in the instance's recordings folder."""
        path = PurePosixPath(path_in_root)
        if not path.is_absolute() or ".." in path.parts or path.parent != self.folder or path.name.startswith("."):
            return None
        return self.asterisk_root / str(path).lstrip("/")
