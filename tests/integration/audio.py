"""What a recording holds, for tests that must show who was heard: the strength of given
tone frequencies (Goertzel) in a stretch of a WAV file MixMonitor or ConfBridge wrote.
Test citizens and agencies stream tones of their own frequency (``speak=<Hz>``)."""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path


def tone_levels(path: Path, start: float, end: float, freqs: tuple[float, ...]) -> dict[float, float]:
    """Each frequency's share of the stretch's energy (0..1), from ``start`` to ``end``
    seconds (negative: from the end of the file)."""
    with wave.open(str(path), "rb") as wav:
        rate, width, frames = wav.getframerate(), wav.getsampwidth(), wav.getnframes()
        assert width == 2 and wav.getnchannels() == 1, (width, wav.getnchannels())
        first = int((start if start >= 0 else frames / rate + start) * rate)
        last = int((end if end > 0 else frames / rate + end) * rate)
        first, last = max(0, first), min(frames, last)
        wav.setpos(first)
        raw = wav.readframes(max(0, last - first))
    samples = struct.unpack(f"<{len(raw) // 2}h", raw)
    total = sum(x * x for x in samples) or 1.0
    levels = {}
    for f in freqs:
        coeff = 2 * math.cos(2 * math.pi * f / rate)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        levels[f] = 2 * power / (len(samples) * total) if samples else 0.0
    return levels


def duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
