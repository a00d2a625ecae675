"""recordings.compress with the real ffmpeg (Debian's): a WAV made with the stdlib's ``wave`` is
compressed to Opus in OGG, the result lasts as long as the WAV (measured by ffprobe and by
pydub, not by the code under test), and the WAV goes only once the compressed file was
verified and the caller's hook ran; a corrupt WAV is reported and kept; an ffmpeg without
libopus gives MP3, detected once."""
from __future__ import annotations

import os
import stat
import wave
from pathlib import Path

import pytest
from pydub import AudioSegment

from recordings.compress import MP3, OPUS, Compressed, CompressionFailed, Compressor, detect_target
from tests.recording_files import make_wav, probe


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def test_the_debian_ffmpeg_has_libopus_so_opus_is_chosen() -> None:
    assert detect_target("ffmpeg") == OPUS


def test_a_wav_is_compressed_to_opus_of_the_same_length_and_then_removed(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "1700000000.1.wav", 7.37)
    source = wav_seconds(wav)
    wav_bytes = wav.stat().st_size
    result = Compressor().compress(wav)
    assert result.path == tmp_path / "1700000000.1.ogg"
    assert result.format == "opus"
    assert not wav.exists()
    codec, duration = probe(result.path)
    assert codec == "opus"
    assert abs(duration - source) <= 0.1
    decoded = AudioSegment.from_file(str(result.path))
    assert abs(decoded.duration_seconds - source) <= 0.1
    assert abs(result.seconds - source) <= 0.1 and result.source_seconds == pytest.approx(source, abs=0.001)
    assert result.bytes == result.path.stat().st_size
    assert result.bytes < wav_bytes / 5  # 8 kHz 16-bit PCM is 128 kbit/s, the Opus file 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1700000000.1.ogg"]  # no partial file left


def test_the_wav_is_still_there_when_the_hook_runs_and_gone_after(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "c1.wav", 2.0)
    seen: list[tuple[bool, bool, float]] = []

    def hook(done: Compressed) -> None:
        seen.append((wav.exists(), done.path.exists(), probe(done.path)[1]))

    Compressor().compress(wav, before_removal=hook)
    assert len(seen) == 1
    wav_there, compressed_there, duration = seen[0]
    assert wav_there and compressed_there and abs(duration - 2.0) <= 0.1
    assert not wav.exists()


def test_a_length_mismatch_keeps_the_wav_and_leaves_no_compressed_file(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "c2.wav", 1.5)
    before = wav.read_bytes()
    hooked: list[Compressed] = []
    strict = Compressor(tolerance=-1.0)  # no length can match: the verification must refuse
    with pytest.raises(CompressionFailed, match="lasts"):
        strict.compress(wav, before_removal=hooked.append)
    assert wav.read_bytes() == before
    assert hooked == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c2.wav"]


def test_a_failing_hook_keeps_the_wav(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "c3.wav", 1.0)

    def database_down(_done: Compressed) -> None:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        Compressor().compress(wav, before_removal=database_down)
    assert wav.exists() and wav_seconds(wav) == pytest.approx(1.0)


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk" * 50, os.urandom(4096)],
                         ids=["empty", "bad-header", "noise"])
def test_a_corrupt_wav_is_reported_and_kept(tmp_path: Path, content: bytes) -> None:
    wav = tmp_path / "broken.wav"
    wav.write_bytes(content)
    with pytest.raises(CompressionFailed) as failed:
        Compressor().compress(wav)
    assert failed.value.path == wav
    assert "not a readable WAV" in failed.value.reason
    assert wav.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["broken.wav"]


def test_a_missing_wav_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CompressionFailed, match="no such file"):
        Compressor().compress(tmp_path / "gone.wav")


def _ffmpeg_without_libopus(folder: Path) -> tuple[Path, Path]:
    """A wrapper of the real ffmpeg whose encoder list lacks libopus; it counts the list's reads."""
    counter = folder / "encoder-queries"
    script = folder / "ffmpeg-no-opus"
    script.write_text(f"""#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "-encoders" ]; then
    echo x >> {counter}
    /usr/bin/ffmpeg -hide_banner -encoders | grep -v libopus
    exit 0
  fi
done
exec /usr/bin/ffmpeg "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, counter


def test_without_libopus_mp3_is_made_and_the_encoder_is_detected_once(tmp_path: Path) -> None:
    ffmpeg, counter = _ffmpeg_without_libopus(tmp_path)
    compressor = Compressor(str(ffmpeg))
    results = [compressor.compress(make_wav(tmp_path / "calls" / f"c{i}.wav", 3.0 + i)) for i in range(2)]
    assert compressor.target == MP3
    assert counter.read_text().count("x") == 1
    for i, result in enumerate(results):
        assert result.path.suffix == ".mp3" and result.format == "mp3"
        assert probe(result.path)[0] == "mp3"
        # ffprobe's MP3 duration counts the encoder's delay and padding (about 0.17 s at 8 kHz);
        # the decoded audio, what a player plays, is measured instead
        decoded = AudioSegment.from_file(str(result.path), format="mp3")
        assert abs(decoded.duration_seconds - (3.0 + i)) <= 0.1
    assert sorted(p.name for p in (tmp_path / "calls").iterdir()) == ["c0.mp3", "c1.mp3"]


def test_an_ffmpeg_that_cannot_run_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CompressionFailed, match="cannot run ffmpeg"):
        detect_target(str(tmp_path / "no-such-ffmpeg"))


def test_an_empty_recording_is_indexed_as_it_is_and_never_fails(tmp_path: Path) -> None:
    """A phone that sent no audio leaves MixMonitor's 44-byte header: nothing to compress,
    no error, and the index is told (so it is not tried again)."""
    import wave as wavmod

    from recordings.compress import Compressor

    empty = tmp_path / "c1.wav"
    with wavmod.open(str(empty), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    told = []
    result = Compressor().compress(empty, before_removal=told.append)
    assert (result.path, result.format, result.seconds) == (empty, "wav", 0.0) and empty.exists()
    assert told == [result]
