"""A real softphone for tests: Debian's baresip (package baresip-core, installed by
scripts/install-system.sh), registered as an agent with that agent's own password,
answering every call by itself and sending a tone of its own frequency from a WAV file, so a
recording shows the call taker's voice."""
from __future__ import annotations

import math
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import wave
from pathlib import Path


HOST = "127.0.0.3"  # an agent's PC, not the carrier


def tone_wav(path: Path, hz: float, seconds: float = 120.0, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * hz * n / rate)))
                                 for n in range(int(seconds * rate))))


class Baresip:
    """One baresip process, one account: ``sip:<agent>@127.0.0.1:<hotline's SIP port>``."""

    def __init__(self, agent_id: str, password: str, registrar_port: int, own_port: int,
                 tone_hz: float = 700.0, host: str = "", dial: str = "") -> None:
        """``host``: the address it sends from (default: an agent's PC; 127.0.0.1 is the
        carrier, so a citizen). ``dial``: a SIP URI to call at once, without registering (a
        citizen's phone). Every call's received audio is written to ``received()``'s files."""
        self.agent_id = agent_id
        host = host or HOST
        self.dir = Path(tempfile.mkdtemp(prefix=f"baresip-{agent_id}-"))
        (self.dir / "dump").mkdir()
        tone_wav(self.dir / "voice.wav", tone_hz)
        modules = "/usr/lib/baresip/modules"
        (self.dir / "config").write_text("\n".join([
            "poll_method epoll",
            # from a loopback address of its own: 127.0.0.1 is the carrier's (trunk, identified by IP)
            f"net_interface {host}",
            f"sip_listen {host}:{own_port}",
            f"snd_path {self.dir / 'dump'}",
            f"audio_source aufile,{self.dir / 'voice.wav'}",
            "audio_player aubridge,nowhere",
            "audio_alert aubridge,nowhere",
            "ausrc_srate 8000", "ausrc_channels 1", "auplay_srate 8000", "auplay_channels 1",
            f"rtp_ports {own_port + 100}-{own_port + 199}",
            f"module_path {modules}",
            "module g711.so", "module aufile.so", "module aubridge.so", "module sndfile.so",
            "module_app account.so", "module_app menu.so",
            "",
        ]))
        registering = "regint=0" if dial else "regint=60"
        (self.dir / "accounts").write_text(
            f"<sip:{agent_id}@127.0.0.1:{registrar_port};transport=udp>;auth_pass={password};"
            f"answermode=auto;{registering};audio_codecs=PCMU;medianat=;mwi=no\n")
        (self.dir / "contacts").write_text("")
        self.log = self.dir / "baresip.log"
        out = open(self.log, "wb")
        argv = [shutil.which("baresip") or "/usr/bin/baresip", "-f", str(self.dir)]
        if dial:
            argv += ["-e", f"/dial {dial}"]
        self.proc = subprocess.Popen(argv,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()

    def received(self) -> list[Path]:
        """The WAV files of the audio this phone received (sndfile's ``-dec`` dumps), per call."""
        return sorted(p for p in (self.dir / "dump").glob("*.wav") if "dec" in p.name)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_output(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                return text in self.output()
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """Gone without a word (a crashed PC, a pulled cable): no un-REGISTER."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Closed as a user closes it (see ``terminate``), and its files removed."""
        self.terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    def terminate(self) -> None:
        """Closed as a user closes it: calls end with a BYE, baresip un-registers (REGISTER
        with expires 0); the received-audio files stay."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
