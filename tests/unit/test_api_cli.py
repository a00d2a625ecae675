"""``hotline user ...`` run the way a person types it (the installed ``.venv/bin/hotline``,
the instance's folder and database given by the environment), then the API logging in
against the SQLite file the command wrote."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline.api.app import make_app
from hotline.api.users import UserStore
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import make_engine
from tests.fakes_api import World, bearer, client, log_in

HOTLINE = str(Path(sys.executable).parent / "hotline")
PASSWORD = "correct horse battery"


def run(tmp_path: Path, *argv: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path / "var"),
           "HOTLINE_DB_URL": f"sqlite:///{tmp_path / 'var' / 'api.sqlite3'}"}
    env.pop("HOTLINE_NEW_PASSWORD", None)
    if password is not None:
        env["HOTLINE_NEW_PASSWORD"] = password
    return subprocess.run([HOTLINE, "user", *argv], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)


def store(tmp_path: Path) -> UserStore:
    return UserStore(make_engine(f"sqlite:///{tmp_path / 'var' / 'api.sqlite3'}"))


async def test_a_user_added_on_the_command_line_logs_in_through_the_api(tmp_path: Path) -> None:
    done = run(tmp_path, "add", "alice", "--role", "supervisor")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "user alice added: supervisor"
    assert PASSWORD not in done.stdout + done.stderr
    agent = run(tmp_path, "add", "bob", "--role", "agent", "--agent", "1002")
    assert agent.returncode == 0 and agent.stdout.strip() == "user bob added: agent of agent 1002"

    world = World()
    world.users = store(tmp_path)  # type: ignore[assignment]
    async with client(make_app(world.deps())) as http:
        login = await log_in(http, "alice", PASSWORD)
        assert login["role"] == "supervisor"
        assert (await http.get("/api/v1/agents", headers=bearer(login))).status_code == 200
        bob = await log_in(http, "bob", PASSWORD)
        assert bob["agent_id"] == "1002"
        wrong = await http.post("/api/v1/session", json={"username": "alice", "password": "not it at all"})
        assert wrong.status_code == 401

    listed = run(tmp_path, "list", password=None)
    assert listed.returncode == 0
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["alice", "supervisor", "-", "active"], ["bob", "agent", "1002", "active"]]
    assert "argon2" not in listed.stdout


def test_the_seat_is_checked_against_the_roster_and_names_are_unique(tmp_path: Path) -> None:
    unknown = run(tmp_path, "add", "bob", "--role", "agent", "--agent", "9999")
    assert unknown.returncode == 2 and "9999 is not in the roster" in unknown.stderr
    missing = run(tmp_path, "add", "bob", "--role", "agent")
    assert missing.returncode == 2 and "--agent" in missing.stderr
    assert run(tmp_path, "add", "carl", "--role", "admin").returncode == 0
    again = run(tmp_path, "add", "carl", "--role", "supervisor")
    assert again.returncode == 2 and "exists already" in again.stderr
    bad_role = run(tmp_path, "add", "dora", "--role", "root")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def test_without_a_password_or_a_terminal_nothing_is_added(tmp_path: Path) -> None:
    done = run(tmp_path, "add", "alice", "--role", "admin", password=None)
    assert done.returncode == 2 and "HOTLINE_NEW_PASSWORD" in done.stderr
    short = run(tmp_path, "add", "alice", "--role", "admin", password="short")
    assert short.returncode == 2 and "at least 8" in short.stderr
    assert store(tmp_path).users() == []


def test_disable_and_passwd(tmp_path: Path) -> None:
    assert run(tmp_path, "add", "alice", "--role", "admin").returncode == 0
    old_hash = store(tmp_path).user("alice").password_hash  # type: ignore[union-attr]
    changed = run(tmp_path, "passwd", "alice", password="another long one")
    assert changed.returncode == 0 and "changed" in changed.stdout
    users = store(tmp_path)
    assert users.user("alice").password_hash != old_hash  # type: ignore[union-attr]
    disabled = run(tmp_path, "disable", "alice", password=None)
    assert disabled.returncode == 0 and users.user("alice").disabled  # type: ignore[union-attr]
    for action in ("disable", "passwd"):
        nobody = run(tmp_path, action, "zed")
        assert nobody.returncode == 1 and "no user zed" in nobody.stderr


def _converse(fd: int, answers: list[tuple[bytes, bytes]], deadline: float) -> bytes:
    """Answer each prompt on the terminal; return everything the program wrote."""
    seen = b""
    pending = list(answers)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the program exited: the terminal is gone
            break
        if not chunk:
            break
        seen += chunk
        if pending and pending[0][0] in seen.split(b"\n")[-1]:
            os.write(fd, pending.pop(0)[1])
    return seen


@pytest.mark.parametrize(("second", "added"), [(PASSWORD, True), ("a different one", False)])
def test_on_a_terminal_the_password_is_typed_twice_and_never_echoed(tmp_path: Path, second: str, added: bool) -> None:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path / "var"),
           "HOTLINE_DB_URL": f"sqlite:///{tmp_path / 'var' / 'api.sqlite3'}"}
    env.pop("HOTLINE_NEW_PASSWORD", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session of its own on the new terminal, like a login shell
        os.chdir(PROJECT_ROOT)
        os.execve(HOTLINE, [HOTLINE, "user", "add", "alice", "--role", "admin"], env)
    try:
        seen = _converse(fd, [(b"new password for alice:", PASSWORD.encode() + b"\n"),
                              (b"again:", second.encode() + b"\n")], time.monotonic() + 60)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert PASSWORD.encode() not in seen and second.encode() not in seen
    assert os.waitstatus_to_exitcode(status) == (0 if added else 2), seen
    assert (b"user alice added: admin" in seen) is added
    assert (store(tmp_path).user("alice") is not None) is added
