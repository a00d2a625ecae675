"""The README's staffing and simulation commands, run as typed in the project folder."""
from __future__ import annotations

import subprocess

from hotline.settings import PROJECT_ROOT

HOTLINE = str(PROJECT_ROOT / ".venv" / "bin" / "hotline")


def run(*argv: str) -> str:
    done = subprocess.run(list(argv), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_the_staffing_command_of_the_readme() -> None:
    out = run(HOTLINE, "plan", "staffing", "planning/examples/holiday_week.csv", "--shrinkage", "0.3")
    assert "peak 138 agents" in out and "198 to schedule" in out, out[-1500:]


def test_the_simulate_command_of_the_readme() -> None:
    out = run(HOTLINE, "simulate", "simulator/scenarios/holiday_day.yaml", "--seed", "1", "--report")
    assert "SL15" in out and "wrong lang" in out, out[-1500:]
    lines = [line.split() for line in out.splitlines() if line.startswith("all calls")]
    assert lines and lines[0][-1] == "0", out[-1500:]  # nobody answered by an agent without the language
