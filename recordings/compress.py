"""Compress a finished call's WAV to Opus in OGG (or MP3 when the ffmpeg has no libopus).

Why: MixMonitor writes 8 kHz 16-bit WAV, about 58 MB per hour of talk; Opus at 24 kbit/s
keeps speech clear at a twentieth of that, and browsers play it. Why so careful: the WAV is
the only copy of a conversation the hotline may have to produce, so it is removed only
after the compressed file was written completely (fsync, atomic rename), decoded back with
ffmpeg, and found as long as the WAV within ``tolerance`` (0.1 s); the caller's
``before_removal`` (the janitor indexes the new file) runs before the WAV goes, so a crash
at any point leaves a file the index names. A WAV that cannot be read is reported
(``CompressionFailed``) and kept.

Blocking by design (pydub runs ffmpeg as a child process): the janitor calls it in its
worker thread, off the event loop and the call path; ffmpeg is held to one thread
(``-threads 1``) so a compression never takes both cores from Asterisk. The encoder is
detected once per ``Compressor`` (``ffmpeg -encoders``), on first use, not at import.
"""
from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

TOLERANCE = 0.1      # seconds the compressed file's length may differ from the WAV's
VERIFY_RATE = 8000   # the compressed file is decoded back to this rate, mono, 16 bit, to be measured


class CompressionFailed(Exception):
    """The file could not be compressed (unreadable WAV, encoder failure, length mismatch);
    the WAV is untouched."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """What recordings are compressed to."""

    format: str     # as the index names it: opus | mp3
    container: str  # ffmpeg's muxer
    codec: str      # ffmpeg's encoder
    bitrate: str
    suffix: str
    options: tuple[str, ...] = ()


OPUS = Target("opus", "ogg", "libopus", "24k", ".ogg", ("-application", "voip"))
MP3 = Target("mp3", "mp3", "libmp3lame", "32k", ".mp3")


@dataclass(frozen=True)
class Compressed:
    """A verified compressed recording (the WAV it came from is gone once this is returned)."""

    path: Path
    format: str
    bytes: int
    seconds: float          # measured by decoding the compressed file
    source_seconds: float   # the WAV's length


def detect_target(ffmpeg: str = "ffmpeg") -> Target:
    """Opus when ``ffmpeg`` has libopus, else MP3 (libmp3lame); CompressionFailed when neither."""
    try:
        done = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompressionFailed(Path(ffmpeg), f"cannot run ffmpeg: {exc}") from exc
    names = {line.split()[1] for line in done.stdout.splitlines() if len(line.split()) > 1}
    for target in (OPUS, MP3):
        if target.codec in names:
            return target
    raise CompressionFailed(Path(ffmpeg), "this ffmpeg has neither libopus nor libmp3lame")


class Compressor:
    """Compresses WAV files with ``ffmpeg`` (a name on PATH or a path) to ``target``
    (default: detected at first use)."""

    def __init__(self, ffmpeg: str = "ffmpeg", target: Target | None = None, tolerance: float = TOLERANCE,
                 timeout: float = 900.0) -> None:
        self.ffmpeg = ffmpeg
        self.tolerance = tolerance
        self.timeout = timeout
        self._target = target
        self._lock = threading.Lock()

    @property
    def target(self) -> Target:
        with self._lock:
            if self._target is None:
                self._target = detect_target(self.ffmpeg)
                log.info("recordings are compressed to %s (%s)", self._target.format, self._target.codec)
            return self._target

    def output_for(self, wav: Path) -> Path:
        return wav.with_suffix(self.target.suffix)

    def compress(self, wav: Path, before_removal: Callable[[Compressed], None] | None = None) -> Compressed:
        """Compress ``wav`` beside itself, verify, call ``before_removal``, remove the WAV.
        CompressionFailed (WAV kept, no partial file left) when any step fails; an
        exception from ``before_removal`` propagates and keeps the WAV too."""
        target = self.target
        partial = wav.with_name(f".{wav.stem}{target.suffix}.{os.getpid()}.{threading.get_ident()}.part")
        if _empty_wav(wav):
            # nothing was recorded (a phone that sent no audio: MixMonitor wrote the header only):
            # nothing to compress, and never worth a retry; the WAV stays as it is
            empty = Compressed(wav, "wav", wav.stat().st_size, 0.0, 0.0)
            if before_removal is not None:
                before_removal(empty)  # indexed as it is: not tried again
            return empty
        source_seconds = self._encode(wav, target, partial)
        try:
            seconds = self.duration(partial)
            if abs(seconds - source_seconds) > self.tolerance:
                raise CompressionFailed(wav, f"compressed file lasts {seconds:.3f} s, the WAV {source_seconds:.3f} s")
            _fsync(partial)
            final = wav.with_suffix(target.suffix)
            os.replace(partial, final)
            _fsync(final.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        result = Compressed(final, target.format, final.stat().st_size, seconds, source_seconds)
        if before_removal is not None:
            before_removal(result)
        wav_bytes = wav.stat().st_size if wav.exists() else 0
        wav.unlink(missing_ok=True)
        log.info("recording %s compressed to %s: %.1f s, %d -> %d bytes", wav.name, final.name, seconds,
                 wav_bytes, result.bytes)
        return result

    def _encode(self, wav: Path, target: Target, partial: Path) -> float:
        """Read the WAV with pydub and write the compressed file to ``partial``; the WAV's length."""
        from pydub import AudioSegment  # imported here: pydub looks for ffmpeg when imported

        try:
            audio = AudioSegment.from_wav(str(wav))
        except FileNotFoundError:
            raise CompressionFailed(wav, "no such file") from None
        except Exception as exc:  # pydub raises what its parser or ffmpeg met: the bytes are untrusted
            raise CompressionFailed(wav, f"not a readable WAV: {type(exc).__name__}: {_tail(exc)}") from exc
        audio.converter = self.ffmpeg
        try:
            handle = audio.export(str(partial), format=target.container, codec=target.codec, bitrate=target.bitrate,
                                  parameters=["-threads", "1", *target.options])
            handle.close()
        except Exception as exc:
            partial.unlink(missing_ok=True)
            raise CompressionFailed(wav, f"the encoder failed: {type(exc).__name__}: {_tail(exc)}") from exc
        return float(audio.duration_seconds)

    def duration(self, path: Path) -> float:
        """The length of ``path`` in seconds, by decoding it whole (a truncated or damaged file
        is shorter, or fails): CompressionFailed when ffmpeg cannot decode it."""
        command = [self.ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                   "-ar", str(VERIFY_RATE), "-f", "s16le", "-threads", "1", "-"]
        total = 0
        try:
            with tempfile.TemporaryFile() as errors, \
                    subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as proc:
                watchdog = threading.Timer(self.timeout, proc.kill)  # a stuck decoder never holds the janitor
                watchdog.start()
                try:
                    assert proc.stdout is not None
                    while chunk := proc.stdout.read(1 << 16):
                        total += len(chunk)
                    proc.wait()
                finally:
                    watchdog.cancel()
                errors.seek(0)
                err = " ".join(errors.read()[-600:].decode(errors="replace").split())
        except OSError as exc:
            raise CompressionFailed(path, f"cannot decode it back: {exc}") from exc
        if proc.returncode != 0:
            raise CompressionFailed(path, f"cannot decode it back (ffmpeg exit {proc.returncode}): {err}")
        return total / 2 / VERIFY_RATE


def _empty_wav(wav: Path) -> bool:
    """A readable WAV header with no samples (MixMonitor's 44 bytes when no frame came); a
    file that is not a WAV at all is not empty but broken (the encoder reports it)."""
    try:
        with wave.open(str(wav), "rb") as header:
            return header.getnframes() == 0
    except (wave.Error, EOFError, OSError):
        return False


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entry list) to disk: the WAV is deleted next."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def _tail(exc: BaseException) -> str:
    """The end of an error's text on one line (ffmpeg's banner comes first, the cause last)."""
    return " ".join(str(exc).split())[-300:]
