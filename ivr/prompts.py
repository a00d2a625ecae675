"""Prompt audio: from logical names to files Asterisk can play.

Layout: `<sounds_dir>/<language>/<name>.wav`, 8 kHz mono 16-bit PCM (what
Asterisk's format_wav plays as slin without transcoding). A prompt is looked
up in the caller's language first, then in the fallback language (zh), so a
missing translation plays Mandarin instead of silence.

Three jobs:

* `resolve` -- name + language -> path without extension (for the AGI shell);
* `normalise` -- any recording (mp3, 44.1 kHz stereo wav, ogg, ...) -> the
  format above, silence trimmed, loudness evened out, so prompts recorded in
  different studios sound alike on the phone;
* `generate_placeholders` -- espeak-ng speech for every catalogue text that
  has no recording yet, so a fresh install speaks from day one. A sidecar
  `<name>.placeholder.json` marks generated files: real recordings (no
  sidecar, or audio changed since generation) are never overwritten, and an
  edited text regenerates its placeholder.

Command line: `python -m ivr.prompts {generate,normalise,resolve,check}`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.schema import Flow, FlowError, Utterance

if TYPE_CHECKING:
    from pydub import AudioSegment

log = logging.getLogger(__name__)

DEFAULT_SOUNDS_DIR = Path(__file__).with_name("sounds")
FALLBACK_LANGUAGE = "zh"

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2  # bytes: 16-bit signed PCM
TARGET_DBFS = -20.0
"""Average loudness of every prompt (RMS, dB below full scale)."""
PEAK_CEILING_DBFS = -1.0
"""Gain never pushes a peak above this, so normalising cannot clip."""
SILENCE_DBFS = -50.0
"""Below this a 10 ms slice counts as silence when trimming."""
PAD_MS = 30
"""Silence kept at each end after trimming, so playback does not start on a click."""

ESPEAK_VOICES: Mapping[str, str] = {
    "zh": "cmn",
    "en": "en-us",
    "ja": "ja",
    "ko": "ko",
    "ru": "ru",
    "fr": "fr-fr",
    "de": "de",
}
"""espeak-ng voice per language code (see `espeak-ng --voices`)."""

RECORDING_EXTENSIONS = ("wav", "sln", "sln16", "gsm", "ulaw", "alaw", "g722", "g729")
"""Formats Asterisk can play; any of them counts as an existing recording."""

# Placeholders are spoken fast: they stand in for short studio recordings, and a slow
# greeting would keep Mandarin callers (who press nothing) from a person.
PLACEHOLDER_WPM = "240"
PIPELINE_VERSION = "2"
"""Part of each placeholder's hash: bump to regenerate all placeholders."""

_SAFE_PART = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PromptError(Exception):
    """Audio could not be converted or synthesised (says which file and why)."""


# --------------------------------------------------------------------------
# resolve
# --------------------------------------------------------------------------


def resolve(
    name: str,
    language: str,
    sounds_dir: Path | None = None,
    fallback: str = FALLBACK_LANGUAGE,
) -> str:
    """Path without extension of prompt `name` for a caller in `language`.

    The caller's language if a recording exists there, else the `fallback`
    language's path (returned even if that file is missing too: Asterisk
    then logs the gap and the call goes on). Raises ValueError for names or
    languages that are not plain identifiers, so an attribute value can
    never walk out of the sounds folder.
    """
    for part in (name, language, fallback):
        if not _SAFE_PART.match(part):
            raise ValueError(f"not a prompt name or language: {part!r}")
    base = sounds_dir or DEFAULT_SOUNDS_DIR
    wanted = base / language / name
    return str(wanted if has_recording(wanted) else base / fallback / name)


def has_recording(stem: Path) -> bool:
    """True if `stem` exists with any extension Asterisk can play."""
    return any(stem.with_name(f"{stem.name}.{ext}").is_file() for ext in RECORDING_EXTENSIONS)


def missing_prompts(flows: Iterable[Flow], sounds_dir: Path | None = None, fallback: str = FALLBACK_LANGUAGE) -> list[str]:
    """Prompt names with no recording even in the fallback language (would be silent)."""
    base = sounds_dir or DEFAULT_SOUNDS_DIR
    names = {prompt.name for flow in flows for prompt in flow.prompts.values()}
    return sorted(name for name in names if not has_recording(base / fallback / name))


# --------------------------------------------------------------------------
# normalise
# --------------------------------------------------------------------------


def normalise(
    src: Path,
    dst: Path,
    *,
    target_dbfs: float = TARGET_DBFS,
    silence_dbfs: float = SILENCE_DBFS,
    pad_ms: int = PAD_MS,
) -> Path:
    """Convert `src` (any format ffmpeg reads) into a telephone prompt at `dst`.

    Result: WAV, 8 kHz, mono, 16-bit; leading/trailing silence trimmed to
    `pad_ms`; gain set so the average level is `target_dbfs`, unless that
    would push a peak over PEAK_CEILING_DBFS (then as loud as the peaks
    allow). Written atomically (a half-written prompt is never played).
    Returns `dst`. Raises PromptError if `src` is unreadable or silent.
    """
    audio = trim_silence(decode(src), silence_dbfs, pad_ms)
    if len(audio) <= 2 * pad_ms or audio.dBFS == float("-inf"):
        raise PromptError(f"{src}: no sound above {silence_dbfs} dBFS")
    audio = audio.apply_gain(_gain(audio, target_dbfs))
    _write_wav(audio, dst)
    return dst


def decode(src: Path) -> AudioSegment:
    """Decode with ffmpeg straight to 8 kHz mono 16-bit.

    ffmpeg resamples with a proper anti-alias filter; pydub's own
    resampling (audioop.ratecv) does not filter, and pydub reads .wav files
    without ffmpeg at all, so it is bypassed here on purpose.
    """
    segment = _pydub()
    command = [
        segment.converter, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", str(src), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
        "-acodec", "pcm_s16le", "-f", "s16le", "-",
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PromptError(f"{src}: cannot run ffmpeg: {error}") from error
    if result.returncode != 0 or not result.stdout:
        detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no audio"]
        raise PromptError(f"{src}: cannot decode: {detail[0]}")
    return segment(data=result.stdout, sample_width=SAMPLE_WIDTH, frame_rate=SAMPLE_RATE, channels=1)


def trim_silence(audio: AudioSegment, silence_dbfs: float = SILENCE_DBFS, pad_ms: int = PAD_MS) -> AudioSegment:
    """`audio` without leading/trailing silence, keeping `pad_ms` at each end."""
    from pydub.silence import detect_leading_silence

    start = detect_leading_silence(audio, silence_threshold=silence_dbfs)
    end = len(audio) - detect_leading_silence(audio.reverse(), silence_threshold=silence_dbfs)
    if end <= start:
        return audio[:0]
    return audio[max(start - pad_ms, 0) : min(end + pad_ms, len(audio))]


def _gain(audio: AudioSegment, target_dbfs: float) -> float:
    """dB to add: reach the target average, but never clip a peak."""
    return min(target_dbfs - audio.dBFS, PEAK_CEILING_DBFS - audio.max_dBFS)


def _write_wav(audio: AudioSegment, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f".{dst.name}.partial")
    audio.export(str(partial), format="wav").close()
    os.replace(partial, dst)


def _pydub() -> type[AudioSegment]:
    """pydub, imported on first use (it imports audioop, deprecated in 3.11+)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment
    return AudioSegment


# --------------------------------------------------------------------------
# placeholders
# --------------------------------------------------------------------------

Synthesiser = Callable[[str, str, Path], None]
"""(text, language of the voice, output wav) -> None; raises PromptError."""


def espeak(text: str, voice_language: str, out: Path) -> None:
    """Speak `text` with espeak-ng's voice for `voice_language` into `out` (wav)."""
    voice = ESPEAK_VOICES.get(voice_language)
    if voice is None:
        raise PromptError(f"no espeak-ng voice for language '{voice_language}'")
    command = ["espeak-ng", "-b", "1", "-s", PLACEHOLDER_WPM, "-v", voice, "-w", str(out), "--stdin"]
    try:
        result = subprocess.run(command, input=text.encode(), capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PromptError(f"cannot run espeak-ng: {error}") from error
    if result.returncode != 0 or not out.is_file():
        raise PromptError(f"espeak-ng failed for {voice}: {result.stderr.decode(errors='replace').strip()}")


@dataclass
class PlaceholderReport:
    """What `generate_placeholders` did, as `<language>/<name>` entries."""

    generated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.generated)} generated, {len(self.up_to_date)} up to date, "
            f"{len(self.recorded)} real recordings kept, {len(self.untranslated)} without text "
            f"(fall back to {FALLBACK_LANGUAGE})"
        )


def generate_placeholders(
    flows: Mapping[str, Flow] | Iterable[Flow],
    sounds_dir: Path | None = None,
    languages: Sequence[str] | None = None,
    *,
    synthesise: Synthesiser = espeak,
) -> PlaceholderReport:
    """Synthesise every catalogue prompt that has no recording, per language.

    `languages` None means every language some catalogue has text for.
    Idempotent: a placeholder whose text, voice and pipeline are unchanged
    is skipped; a real recording is never touched. Raises PromptError if
    synthesis fails (nothing half-written is left behind).
    """
    base = sounds_dir or DEFAULT_SOUNDS_DIR
    texts = dict(_catalogue_texts(flows))
    wanted = list(languages) if languages is not None else sorted({lang for lang, _ in texts})
    names = sorted({name for _, name in texts})
    report = PlaceholderReport()
    for lang in wanted:
        for name in names:
            _place_one(base, lang, name, texts.get((lang, name)), synthesise, report)
    log.debug("prompts: %s", report.summary())
    return report


def _catalogue_texts(flows: Mapping[str, Flow] | Iterable[Flow]) -> Iterator[tuple[tuple[str, str], Utterance]]:
    """((language, prompt name), utterance) over all flows."""
    for flow in flows.values() if isinstance(flows, Mapping) else flows:
        for prompt in flow.prompts.values():
            for lang, utterance in prompt.texts.items():
                yield (lang, prompt.name), utterance


def _place_one(
    base: Path, lang: str, name: str, utterance: Utterance | None, synthesise: Synthesiser, report: PlaceholderReport
) -> None:
    """Decide for one prompt in one language, and generate it when needed."""
    entry = f"{lang}/{name}"
    if utterance is None:
        report.untranslated.append(entry)
        return
    stem = base / lang / name
    digest = _text_digest(utterance)
    state = _placeholder_state(stem, digest)
    if state != "generate":
        (report.recorded if state == "recorded" else report.up_to_date).append(entry)
        return
    _synthesise_to(stem, utterance, digest, synthesise)
    report.generated.append(entry)


def _placeholder_state(stem: Path, digest: str) -> str:
    """'recorded' (a real recording, keep), 'current' (placeholder up to date) or 'generate'."""
    wav, sidecar = stem.with_suffix(".wav"), _sidecar(stem)
    if not has_recording(stem):
        return "generate"
    meta = _read_sidecar(sidecar)
    if not wav.is_file() or meta is None or meta.get("audio_sha256") != _file_digest(wav):
        return "recorded"
    return "current" if meta.get("text_sha256") == digest else "generate"


def _synthesise_to(stem: Path, utterance: Utterance, digest: str, synthesise: Synthesiser) -> None:
    wav = stem.with_suffix(".wav")
    with tempfile.TemporaryDirectory(prefix="ivr-tts-") as scratch:
        raw = Path(scratch) / "speech.wav"
        synthesise(utterance.text, utterance.voice, raw)
        normalise(raw, wav)
    meta = {
        "text": utterance.text,
        "voice": utterance.voice,
        "text_sha256": digest,
        "audio_sha256": _file_digest(wav),
    }
    _sidecar(stem).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _text_digest(utterance: Utterance) -> str:
    material = f"{PIPELINE_VERSION}\n{utterance.voice}\n{utterance.text}"
    return hashlib.sha256(material.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sidecar(stem: Path) -> Path:
    return stem.with_name(f"{stem.name}.placeholder.json")


def _read_sidecar(path: Path) -> dict[str, str] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


# --------------------------------------------------------------------------
# command line (also called by `hotline prompts`)
# --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ivr.prompts ...`; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.run(args)
    except (PromptError, FlowError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ivr.prompts", description="Prompt audio for the IVR.")
    commands = parser.add_subparsers(required=True, metavar="command")
    generate = commands.add_parser("generate", help="synthesise placeholders for prompts without recordings")
    _add_dirs(generate)
    generate.add_argument("--language", action="append", help="only this language (repeatable)")
    generate.set_defaults(run=_cli_generate)
    check = commands.add_parser("check", help="list prompts with no recording even in the fallback language")
    _add_dirs(check)
    check.set_defaults(run=_cli_check)
    convert = commands.add_parser("normalise", help="convert a recording to an 8 kHz mono prompt")
    convert.add_argument("src", type=Path)
    convert.add_argument("dst", type=Path)
    convert.set_defaults(run=_cli_normalise)
    where = commands.add_parser("resolve", help="print the file Asterisk would play")
    where.add_argument("name")
    where.add_argument("language")
    where.add_argument("--sounds", type=Path, default=DEFAULT_SOUNDS_DIR)
    where.set_defaults(run=_cli_resolve)
    return parser


def _add_dirs(parser: argparse.ArgumentParser) -> None:
    from ivr.flow import SHIPPED_FLOWS_DIR

    parser.add_argument("--flows", type=Path, default=SHIPPED_FLOWS_DIR, help="folder of flow YAML files")
    parser.add_argument("--sounds", type=Path, default=DEFAULT_SOUNDS_DIR, help="sounds folder")


def _cli_generate(args: argparse.Namespace) -> int:
    from ivr.flow import load_flows

    report = generate_placeholders(load_flows(args.flows), args.sounds, args.language)
    print(report.summary())
    return 0


def _cli_normalise(args: argparse.Namespace) -> int:
    print(normalise(args.src, args.dst))
    return 0


def _cli_resolve(args: argparse.Namespace) -> int:
    print(resolve(args.name, args.language, args.sounds))
    return 0


def _cli_check(args: argparse.Namespace) -> int:
    from ivr.flow import load_flows

    missing = missing_prompts(load_flows(args.flows).values(), args.sounds)
    for name in missing:
        print(f"missing: {FALLBACK_LANGUAGE}/{name}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
