"""Real SIP peers for the demo, the tests and the benchmarks, played by SIPp.

Scenarios are rendered from the templates in hotline/ops/sipp_scenarios (SIPp's pcap DTMF and
pauses take no per-call fields, so each digit sequence gets its own file). Every SIPp runs
in its own temporary folder because it writes its error logs into the working directory.
"""
from __future__ import annotations

import functools
import math
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import jinja2

SPEECH_FILE = "speech.ulaw"  # what a speaking citizen streams, written into its work folder
SCENARIOS = Path(__file__).resolve().parent / "sipp_scenarios"


def render_scenario(name: str, **context: object) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(SCENARIOS)), undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**context)


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp not found: run scripts/install-system.sh (package sip-tester)")
    return path


@dataclass
class SippPeer:
    """A running SIPp process and its work folder."""

    proc: subprocess.Popen
    workdir: Path
    role: str

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.workdir.glob("*_errors.log"))

    def messages(self) -> str:
        """Every SIP message this peer sent or received (its -trace_msg log)."""
        return "\n".join(p.read_text(errors="replace") for p in self.workdir.glob("*_messages.log"))

    def output(self) -> str:
        log = self.workdir / "sipp.out"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@functools.cache
def ulaw_tone(seconds: float, hz: float = 425.0, amplitude: int = 8000) -> bytes:
    """Raw G.711 mu-law samples (8 kHz) of a sine tone: the "voice" a test citizen streams
    with SIPp's rtp_stream, so recordings and bridges carry real audio frames."""
    out = bytearray()
    for n in range(int(seconds * 8000)):
        sample = int(amplitude * math.sin(2 * math.pi * hz * n / 8000))
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = max(0, magnitude.bit_length() - 8)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        out.append(~(sign | (exponent << 4) | mantissa) & 0xFF)
    return bytes(out)


def _speech(speak: bool | float) -> dict[str, bytes] | None:
    """The files a speaking peer needs in its work folder (one second of tone, looped); a
    number is the tone's frequency (Hz), so a recording tells two speakers apart."""
    if not speak:
        return None
    return {SPEECH_FILE: ulaw_tone(1.0) if speak is True else ulaw_tone(1.0, hz=float(speak))}


def _start(role: str, scenario: str, args: list[str], files: dict[str, bytes] | None = None) -> SippPeer:
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{re.sub(r'[^A-Za-z0-9_.-]', '_', role)}-"))  # a caller ID may hold "/"
    (workdir / "scenario.xml").write_text(scenario)
    for name, data in (files or {}).items():
        (workdir / name).write_bytes(data)
    out = open(workdir / "sipp.out", "wb")
    # -trace_msg: every SIP message into *_messages.log, so a test can assert on what a peer
    # saw (a challenge, an INVITE that must never come) rather than on the controller's view.
    proc = subprocess.Popen([sipp_binary(), "-sf", "scenario.xml", "-trace_err", "-trace_msg", "-nostdin", *args],
                            cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return SippPeer(proc, workdir, role)


def agent_scenario(answer: bool = True, ring_ms: int = 500, hangup_after_ms: int = 0,
                   speak: bool | float = False, busy: bool = False, digits: str = "",
                   digit_delay_ms: int = 1500, inter_digit_ms: int = 1500) -> str:
    """The SIPp scenario of a phone that rings ``ring_ms`` and answers (or never does),
    hanging up itself after ``hangup_after_ms`` when that is set. The one place that fills
    the template's fields, for the tests' phones and ``hotline up``'s demo phones alike."""
    return render_scenario("agent.xml.j2", answer=answer, ring_ms=ring_ms, hangup_after_ms=hangup_after_ms,
                           speech=SPEECH_FILE if speak else "", busy=busy, digits=digits,
                           digit_delay_ms=digit_delay_ms, inter_digit_ms=inter_digit_ms)


def start_agent(port: int, media_port: int, answer: bool = True, ring_ms: int = 500,
                hangup_after_ms: int = 0, speak: bool | float = False, busy: bool = False,
                digits: str = "", digit_delay_ms: int = 1500, inter_digit_ms: int = 1500) -> SippPeer:
    """A phone on 127.0.0.1:port (a call taker's, or a citizen's for callbacks and follow-up
    calls), answering after ring_ms (or never), hanging up itself after hangup_after_ms when
    that is set; with ``speak`` it streams a tone (PCMU) from its answer to the end of each
    call; ``digits`` are pressed (SIP INFO) after the answer, the first after
    ``digit_delay_ms``, the next ones ``inter_digit_ms`` apart."""
    scenario = agent_scenario(answer, ring_ms, hangup_after_ms, speak, busy, digits, digit_delay_ms, inter_digit_ms)
    return _start(f"agent{port}", scenario, phone_args(port, media_port), _speech(speak))


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody holds now on ``host`` (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def phone_args(port: int, media_port: int) -> list[str]:
    """SIPp's address options for a phone listening on 127.0.0.1:port."""
    return ["-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media_port), "-bind_local"]


def start_caller(server_port: int, caller: str, dnis: str = "12345", digits: str = "",
                 digit_delay_ms: int = 1500, inter_digit_ms: int = 1500, hold_ms: int = 4000,
                 local_port: int = 0, media_port: int = 0, calls: int = 1, rate: float = 1.0,
                 dtmf: str = "", speak: bool | float = False, source_ip: str = "127.0.0.1",
                 callers: Sequence[str] = ()) -> SippPeer:
    """A citizen dialling ``dnis``; exits 0 when every call completed. With ``speak`` the
    citizen streams a tone (PCMU) from the end of its digits to the end of the call. It sends
    from ``source_ip`` (any 127.x address: another host, for the trunk's address check).

    DTMF goes as RFC 4733 (pcap replay) for one digit and as SIP INFO for longer sequences:
    SIPp replays every pcap with the same RTP timestamps, so a receiver rightly takes a
    second replayed digit for a repeat of the first event."""
    dtmf = dtmf or ("rfc4733" if len(digits) <= 1 else "info")
    files = dict(_speech(speak) or {})
    if callers:  # SIPp's injection file: [field0] is the next line's number, call by call
        files["callers.csv"] = ("SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers)).encode()
        caller, calls = "[field0]", len(callers)
    scenario = render_scenario("caller.xml.j2", caller=caller, dnis=dnis, digits=digits, dtmf=dtmf,
                       digit_delay_ms=digit_delay_ms, inter_digit_ms=inter_digit_ms, hold_ms=hold_ms,
                               speech=SPEECH_FILE if speak else "")
    # -l: SIPp otherwise caps the calls in progress (at 3 with these scenarios' pauses)
    args = ["-i", source_ip, "-mi", source_ip, "-m", str(calls), "-r", str(rate), "-l", str(calls),
            "-timeout", str(int(hold_ms / 1000 + calls / rate) + 60), "-timeout_error"]
    if callers:
        args += ["-inf", "callers.csv"]
    # SIPp's own default is 5060 when free, which a hotline on this host may be about to bind.
    args += ["-p", str(local_port or free_udp_port(source_ip))]
    if media_port:
        args += ["-mp", str(media_port)]
    return _start(f"caller{caller}", scenario, [*args, f"127.0.0.1:{server_port}"], files)
