"""Helpers of the recordings tests: real WAV files (stdlib ``wave``), the length of an audio
file measured independently of ``recordings.compress`` (ffprobe), and a stored call that
names its recording the way the call session does."""
from __future__ import annotations

import json
import math
import struct
import subprocess
import wave
from pathlib import Path

from calls.records import CallRecord
from recordings import recording_path

RATE = 8000


def make_wav(path: Path, seconds: float, rate: int = RATE) -> Path:
    """A mono 16-bit WAV of ``seconds``: a voice-like mix of tones that changes every 0.25 s."""
    frames = int(round(seconds * rate))
    samples = bytearray()
    for i in range(frames):
        pitch = 180 + 40 * ((i // (rate // 4)) % 5)
        value = 6000 * math.sin(2 * math.pi * pitch * i / rate) + 2000 * math.sin(2 * math.pi * 3 * pitch * i / rate)
        samples += struct.pack("<h", int(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(samples))
    return path


def probe(path: Path) -> tuple[str, float]:
    """(codec name, duration in seconds) as ffprobe reports them."""
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
                           "-of", "json", str(path)], capture_output=True, text=True, check=True)
    info = json.loads(done.stdout)
    return info["streams"][0]["codec_name"], float(info["format"]["duration"])


INSTANCE_IN_ROOT = "/srv/hotline/main"


def recorded_call(call_id: str, arrived_at: float, talk: float = 60.0, agent_id: str = "1001",
                  outcome: str = "answered", conference: bool = False) -> CallRecord:
    """A stored call's record naming its recording (and the room's) as the session does."""
    main = recording_path(INSTANCE_IN_ROOT, call_id)
    attrs = {"conference_recording": main[: -len(".wav")] + "-3way.wav"} if conference else {}
    return CallRecord(call_id=call_id, caller="13800000001", dnis="12345", arrived_at=arrived_at,
                      queued_at=arrived_at + 5, answered_at=arrived_at + 8, ended_at=arrived_at + 8 + talk,
                      agent_id=agent_id, outcome=outcome, recording=main, attrs=attrs)


def host_file(asterisk_root: Path, path_in_root: str) -> Path:
    return asterisk_root / path_in_root.lstrip("/")
