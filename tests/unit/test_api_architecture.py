"""The API's boundaries: its ports import with every I/O and web library blocked, and no
module of ``hotline/api`` reaches into the call sessions, Asterisk, the router or the
composition root (it talks to them only through ``hotline.api.ports``)."""
from __future__ import annotations

import subprocess
import sys

from hotline.settings import PROJECT_ROOT
from tests.unit.test_architecture import BLOCKED, _graph

WEB = ["fastapi", "starlette", "pydantic", "uvicorn", "argon2", "httpx"]


def test_the_ports_import_with_io_and_web_libraries_blocked() -> None:
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED + WEB!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import hotline.api, hotline.api.ports, hotline.api.config
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_the_api_reaches_the_controller_only_through_its_ports() -> None:
    forbidden = ("hotline.bootstrap", "hotline.sessions", "hotline.asterisk", "hotline.routing", "calls")
    for module, imported in _graph().items():
        if module.startswith("hotline.api"):
            assert not [m for m in imported if m.startswith(forbidden)], (module, imported)
