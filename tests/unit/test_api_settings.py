"""The API's settings from the environment: where it listens and how long a login lasts."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotline.ops.daemons import settings_env
from hotline.settings import SettingsError, from_env


def test_defaults(tmp_path: Path) -> None:
    settings = from_env({"HOTLINE_VAR_DIR": str(tmp_path)})
    assert (settings.http_host, settings.http_port, settings.session_hours) == ("127.0.0.1", 8345, 12.0)


def test_values_and_what_a_child_process_is_given(tmp_path: Path) -> None:
    settings = from_env({"HOTLINE_VAR_DIR": str(tmp_path), "HOTLINE_HTTP_HOST": "0.0.0.0",
                         "HOTLINE_HTTP_PORT": "18345", "HOTLINE_SESSION_HOURS": "8.5"})
    assert (settings.http_host, settings.http_port, settings.session_hours) == ("0.0.0.0", 18345, 8.5)
    assert from_env(settings_env(settings)) == settings


@pytest.mark.parametrize(("name", "value"), [
    ("HOTLINE_HTTP_HOST", "local host"), ("HOTLINE_HTTP_HOST", "a/b"), ("HOTLINE_SESSION_HOURS", "0"),
    ("HOTLINE_SESSION_HOURS", "-1"), ("HOTLINE_SESSION_HOURS", "nan"), ("HOTLINE_SESSION_HOURS", "721"),
    ("HOTLINE_SESSION_HOURS", "twelve"), ("HOTLINE_HTTP_PORT", "70000"),
])
def test_bad_values_are_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        from_env({"HOTLINE_VAR_DIR": str(tmp_path), name: value})
