"""The load's SIP peers, played by SIPp: a crowd of citizens, and one phone for a pool of call
takers, both with RTP.

Rendered from the product's own SIPp templates (hotline/ops/sipp_scenarios, through
``hotline.ops.sipp``), but started without ``-trace_msg``: at tens of calls a second the
message log would cost SIPp more than the calls. What each peer did is read from SIPp's
statistics file instead (``-trace_stat``, rewritten every second): calls created,
completed and failed, with the kind of failure.

- **citizens**: one SIPp places ``calls`` calls at ``rate`` a second to ``dnis``, each from its
  own number (an injection file, so the records and AMI events tell the citizens apart),
  streams a tone (PCMU) from the answer, and hangs up ``hold_ms`` after the answer unless
  the hotline hangs up first;
- **call takers**: one SIPp answers every agent's call (all pool agents' contacts point at
  it), rings ``ring_ms``, streams a tone, and hangs up ``talk_ms`` after its answer unless
  the citizen hangs up first. One SIPp process sends every call's RTP from one socket.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hotline.ops.sipp import SPEECH_FILE, agent_scenario, free_udp_port, phone_args, render_scenario, sipp_binary, \
    ulaw_tone

STATS = "stats.csv"


@dataclass
class Peer:
    """A running SIPp and its work folder."""

    proc: subprocess.Popen
    workdir: Path
    role: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        """Stop it and remove its work folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def stats(self) -> dict[str, str]:
        """SIPp's last statistics line, by column name ({} before the first one)."""
        return last_stats((self.workdir / STATS).read_text(errors="replace") if (self.workdir / STATS).exists()
                          else "")

    def errors(self, tail: int = 2000) -> str:
        return "\n".join(p.read_text(errors="replace")[-tail:] for p in self.workdir.glob("*_errors.log"))

    def output(self, tail: int = 2000) -> str:
        path = self.workdir / "sipp.out"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def last_stats(text: str) -> dict[str, str]:
    """The last row of a SIPp ``-trace_stat`` file (semicolon-separated, a header row first)."""
    rows = [row for row in csv.reader(text.splitlines(), delimiter=";") if row]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def count(stats: dict[str, str], column: str) -> int:
    """A cumulative counter of the statistics row (``SuccessfulCall(C)`` ...), 0 if absent."""
    try:
        return int(stats.get(column, "0") or 0)
    except ValueError:
        return 0


FAILURE_COLUMNS = ("FailedCallRejected", "FailedMaxUDPRetrans", "FailedUnexpectedMessage", "FailedTimeoutOnRecv",
                   "FailedTimeoutOnSend", "FailedCannotSendMessage", "FailedOutboundCongestion", "FailedCmdNotSent")


def failures(stats: dict[str, str]) -> dict[str, int]:
    """The kinds of failed calls SIPp counted, the non-zero ones."""
    out = {name: count(stats, f"{name}(C)") for name in FAILURE_COLUMNS}
    return {k: v for k, v in out.items() if v}


def _start(role: str, scenario: str, args: Sequence[str], files: dict[str, bytes]) -> Peer:
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-load-{role}-"))
    (workdir / "scenario.xml").write_text(scenario)
    for name, data in files.items():
        (workdir / name).write_bytes(data)
    with open(workdir / "sipp.out", "wb") as out:
        proc = subprocess.Popen([sipp_binary(), "-sf", "scenario.xml", "-nostdin", "-trace_err",
                                 "-trace_stat", "-stf", STATS, "-fd", "1", *args],
                                cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Peer(proc, workdir, role)


def start_call_takers(port: int, media_port: int, talk_ms: int, ring_ms: int = 300) -> Peer:
    """The pool's phone on 127.0.0.1:``port``: answers every call after ``ring_ms``, talks
    (a 600 Hz tone) and hangs up after ``talk_ms``."""
    scenario = agent_scenario(answer=True, ring_ms=ring_ms, hangup_after_ms=talk_ms, speak=True)
    return _start("takers", scenario, phone_args(port, media_port), {SPEECH_FILE: ulaw_tone(1.0, hz=600.0)})


def start_citizens(server_port: int, callers: Sequence[str], rate: float, dnis: str, hold_ms: int,
                   media_port: int) -> Peer:
    """``len(callers)`` citizens at ``rate`` a second to ``dnis``, each speaking (a 425 Hz tone)
    and staying ``hold_ms`` after the hotline's answer."""
    scenario = render_scenario("caller.xml.j2", caller="[field0]", dnis=dnis, digits="", dtmf="rfc4733",
                               digit_delay_ms=0, inter_digit_ms=0, hold_ms=hold_ms, speech=SPEECH_FILE)
    calls = len(callers)
    injection = "SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers)
    files = {SPEECH_FILE: ulaw_tone(1.0), "callers.csv": injection.encode()}
    args = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", str(calls), "-r", f"{rate:g}", "-l", str(calls),
            "-timeout", str(int(hold_ms / 1000 + calls / rate) + 90), "-timeout_error", "-inf", "callers.csv",
            "-p", str(free_udp_port()), "-mp", str(media_port), f"127.0.0.1:{server_port}"]
    return _start("citizens", scenario, args, files)
