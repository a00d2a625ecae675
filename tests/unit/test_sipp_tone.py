"""hotline.ops.sipp.ulaw_tone: the audio a speaking test citizen streams must be real G.711 mu-law."""
from __future__ import annotations

import math

from hotline.ops.sipp import ulaw_tone


def ulaw_to_linear(byte: int) -> int:
    """The G.711 decoder, written from the standard's table, independent of the encoder."""
    u = ~byte & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return -(magnitude - 0x84) if sign else magnitude - 0x84


def test_tone_decodes_to_the_sine_within_quantisation() -> None:
    samples = ulaw_tone(0.1, hz=425.0, amplitude=8000)
    assert len(samples) == 800  # 8 kHz
    for n, byte in enumerate(samples):
        expected = 8000 * math.sin(2 * math.pi * 425.0 * n / 8000)
        assert abs(ulaw_to_linear(byte) - expected) <= max(64, abs(expected) / 16), n


def test_silence_and_full_scale_stay_in_range() -> None:
    assert set(ulaw_tone(0.01, amplitude=0)) == {0xFF}  # mu-law zero
    loud = [ulaw_to_linear(b) for b in ulaw_tone(0.05, amplitude=32767)]
    assert max(loud) > 30000 and min(loud) < -30000
