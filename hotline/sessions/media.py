"""File names Asterisk plays and records, as seen inside its root (the controller runs on the
host, Asterisk in the chroot)."""
from __future__ import annotations

import ivr
from hotline.settings import Settings
from recordings import recording_path


class MediaPaths:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def prompt_path(self, name: str, language: str) -> str:
        """The prompt file Asterisk should play, inside the Asterisk root, without extension."""
        host = ivr.prompts.resolve(name, language, self._settings.instance_dir / "sounds")
        root = str(self._settings.asterisk_root)
        return host[len(root):] if host.startswith(root) else host

    def recording_path(self, call_id: str) -> str:
        return recording_path(self._settings.instance_dir_in_root, call_id)
