"""scripts/lib.sh: an install step prints one line, logs everything, and a failure names
the step and the log and shows its last lines (issue 11: the install printed hundreds of
lines of apt and pip output, and an error said nothing of where to look)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from hotline.settings import PROJECT_ROOT

LIB = PROJECT_ROOT / "scripts" / "lib.sh"


def run_steps(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = f'set -euo pipefail\nsource "{LIB}"\n{body}\n'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOTLINE_INSTALL_LOG": str(tmp_path / "install.log")})


def test_a_step_prints_one_line_and_logs_its_output(tmp_path: Path) -> None:
    done = run_steps(tmp_path, 'step "packages: installing x" seq 1000 1300')
    assert done.returncode == 0
    assert done.stdout == "packages: installing x ... done\n"
    log = (tmp_path / "install.log").read_text()
    assert "packages: installing x" in log and "\n1300\n" in log


def test_a_failed_step_names_itself_and_the_log_and_stops(tmp_path: Path) -> None:
    done = run_steps(tmp_path, 'step "python env: pip" bash -c "echo the real reason >&2; exit 3"\necho never')
    assert done.returncode == 3
    assert done.stdout == "python env: pip ... FAILED (exit 3)\n"
    assert "the real reason" in done.stderr and str(tmp_path / "install.log") in done.stderr


def test_every_install_script_uses_steps_for_package_managers() -> None:
    """No apt-get, pip or debootstrap call prints to the terminal: each goes through step."""
    for script in (PROJECT_ROOT / "scripts").glob("install-*.sh"):
        for line in script.read_text().splitlines():
            code = line.split("#", 1)[0]
            if any(tool in code for tool in ("apt-get install", "pip install", "debootstrap --")):
                assert code.lstrip().startswith("step ") or "step " in code, f"{script.name}: {line}"
