"""Prompt audio pipeline: conversion, placeholders, lookup (uses ffmpeg and espeak-ng)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path
from types import MappingProxyType

import pytest

from ivr import Flow
from ivr.prompts import (
    PromptError,
    _pydub,
    espeak,
    generate_placeholders,
    main,
    missing_prompts,
    normalise,
    resolve,
)
from ivr.schema import PromptText, Utterance

AudioSegment = _pydub()


def tone(ms: int, *, volume: float = -6.0, rate: int = 44100) -> AudioSegment:
    from pydub.generators import Sine

    return Sine(440, sample_rate=rate).to_audio_segment(duration=ms, volume=volume)


def studio_recording(tmp_path: Path, fmt: str, *, volume: float = -6.0) -> Path:
    """0.5 s silence, 1 s of 440 Hz, 0.5 s silence; stereo 44.1 kHz."""
    silence = AudioSegment.silent(500, frame_rate=44100)
    audio = (silence + tone(1000, volume=volume) + silence).set_channels(2)
    path = tmp_path / f"studio.{fmt}"
    audio.export(str(path), format=fmt).close()
    return path


def read_wav(path: Path) -> tuple[int, int, int, float]:
    """(frame rate, channels, sample width, seconds) read with the stdlib only."""
    with wave.open(str(path)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes() / wav.getframerate()


@pytest.mark.parametrize("fmt", ["mp3", "wav", "ogg"])
def test_normalise_makes_a_telephone_prompt(tmp_path: Path, fmt: str) -> None:
    src = studio_recording(tmp_path, fmt)
    assert AudioSegment.from_file(str(src)).channels == 2
    dst = normalise(src, tmp_path / "out" / "welcome.wav")
    rate, channels, width, seconds = read_wav(dst)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 0.98 <= seconds <= 1.12  # 2 s in, silence trimmed to 30 ms a side
    assert AudioSegment.from_wav(str(dst)).dBFS == pytest.approx(-20.0, abs=0.5)


def test_quiet_recording_is_raised_to_the_target(tmp_path: Path) -> None:
    dst = normalise(studio_recording(tmp_path, "wav", volume=-40.0), tmp_path / "quiet.wav")
    assert AudioSegment.from_wav(str(dst)).dBFS == pytest.approx(-20.0, abs=0.5)


def test_gain_never_clips_peaks(tmp_path: Path) -> None:
    """A loud click then a long quiet tail (about -29 dBFS on average): the
    +9 dB needed for -20 dBFS would clip the click, so the gain stops at the
    peak ceiling."""
    src = tmp_path / "burst.wav"
    (tone(10, volume=-1.0) + tone(3000, volume=-45.0)).export(str(src), format="wav").close()
    audio = AudioSegment.from_wav(str(normalise(src, tmp_path / "out.wav")))
    assert audio.max_dBFS <= -0.9
    assert audio.dBFS < -25.0


def test_silent_or_broken_input_is_a_prompt_error(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    AudioSegment.silent(1000, frame_rate=8000).export(str(silent), format="wav").close()
    with pytest.raises(PromptError, match="no sound"):
        normalise(silent, tmp_path / "x.wav")
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(b"not audio at all")
    with pytest.raises(PromptError, match="garbage.mp3: cannot decode"):
        normalise(garbage, tmp_path / "y.wav")
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()


# --------------------------------------------------------------------------
# resolve
# --------------------------------------------------------------------------


def test_resolve_prefers_the_callers_language_then_falls_back(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "welcome.wav").write_bytes(b"")
    (tmp_path / "ja").mkdir()
    (tmp_path / "ja" / "welcome.sln").write_bytes(b"")
    assert resolve("welcome", "en", tmp_path) == str(tmp_path / "en" / "welcome")
    assert resolve("welcome", "ja", tmp_path) == str(tmp_path / "ja" / "welcome")
    assert resolve("welcome", "ko", tmp_path) == str(tmp_path / "zh" / "welcome")
    assert resolve("welcome", "ko", tmp_path, fallback="en") == str(tmp_path / "en" / "welcome")


@pytest.mark.parametrize(("name", "language"), [("../../etc/passwd", "zh"), ("welcome", "zh/.."), ("Welcome", "zh")])
def test_resolve_refuses_anything_but_plain_names(tmp_path: Path, name: str, language: str) -> None:
    with pytest.raises(ValueError):
        resolve(name, language, tmp_path)


# --------------------------------------------------------------------------
# placeholders
# --------------------------------------------------------------------------


def tiny_flow(hello_zh: str = "你好。") -> Flow:
    prompts = {
        "hello": PromptText("hello", {"zh": Utterance(hello_zh, "zh"), "en": Utterance("Hello.", "en")}),
        "press_9_english": PromptText("press_9_english", {"zh": Utterance("For English, press 9.", "en")}),
    }
    return Flow(name="tiny", start="x", nodes=MappingProxyType({}), prompts=MappingProxyType(prompts))


class CountingEspeak:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, text: str, voice: str, out: Path) -> None:
        self.calls.append((text, voice))
        espeak(text, voice, out)


def test_placeholders_are_generated_once_and_regenerated_when_text_changes(tmp_path: Path) -> None:
    tts = CountingEspeak()
    report = generate_placeholders([tiny_flow()], tmp_path, synthesise=tts)
    assert sorted(report.generated) == ["en/hello", "zh/hello", "zh/press_9_english"]
    assert report.untranslated == ["en/press_9_english"]
    assert ("For English, press 9.", "en") in tts.calls  # spoken in English for Mandarin callers
    assert read_wav(tmp_path / "zh" / "hello.wav")[:3] == (8000, 1, 2)
    assert (tmp_path / "zh" / "hello.placeholder.json").is_file()

    again = generate_placeholders([tiny_flow()], tmp_path, synthesise=tts)
    assert again.generated == [] and len(again.up_to_date) == 3 and len(tts.calls) == 3

    edited = generate_placeholders([tiny_flow("您好，欢迎。")], tmp_path, synthesise=tts)
    assert edited.generated == ["zh/hello"]


def test_real_recordings_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hello.gsm").write_bytes(b"a recording in another Asterisk format")
    first = generate_placeholders([tiny_flow()], tmp_path)
    assert first.recorded == ["en/hello"]
    assert not (tmp_path / "en" / "hello.wav").exists()

    recording = tmp_path / "zh" / "hello.wav"
    normalise(studio_recording(tmp_path, "mp3"), recording)  # the studio file replaces the placeholder
    studio = recording.read_bytes()
    report = generate_placeholders([tiny_flow("改过的文字。")], tmp_path)
    assert report.recorded == ["en/hello", "zh/hello"] and report.generated == []
    assert recording.read_bytes() == studio


def test_missing_prompts_lists_what_would_be_silent(tmp_path: Path) -> None:
    assert missing_prompts([tiny_flow()], tmp_path) == ["hello", "press_9_english"]
    generate_placeholders([tiny_flow()], tmp_path, ["zh"])
    assert missing_prompts([tiny_flow()], tmp_path) == []


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "t.yaml").write_text(
        "name: t\nstart: q\nnodes:\n  q: {type: hangup, prompts: [bye]}\nprompts:\n  bye: {zh: 再见。, de: Tschüss.}\n",
        encoding="utf-8",
    )
    sounds = tmp_path / "sounds"
    assert main(["generate", "--flows", str(flows), "--sounds", str(sounds)]) == 0
    assert "2 generated" in capsys.readouterr().out
    assert main(["check", "--flows", str(flows), "--sounds", str(sounds)]) == 0
    assert main(["resolve", "bye", "fr", "--sounds", str(sounds)]) == 0
    assert capsys.readouterr().out.strip() == str(sounds / "zh" / "bye")
    assert main(["check", "--flows", str(tmp_path / "nowhere"), "--sounds", str(sounds)]) == 1
    assert "no *.yaml flow files" in capsys.readouterr().err
    (flows / "broken.yaml").write_text("name: [\n", encoding="utf-8")
    assert main(["generate", "--flows", str(flows), "--sounds", str(sounds)]) == 1
    assert "broken.yaml" in capsys.readouterr().err


def test_python_dash_m_runs_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", "ivr.prompts", "--help"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "generate" in result.stdout and result.stderr == ""
