"""Generate the built-in voice clips with espeak-ng and sox: python display/voice/make_clips.py.

Every clip of layso.speech.CLIP_NAMES is spoken (or, for the chime, synthesized), trimmed of
silence, brought to one loudness and written as Ogg Vorbis (WAV when sox lacks Vorbis), with a
manifest.json of file names and durations. See docs/voice.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _load_speech() -> ModuleType:
    """Load layso/speech.py alone: it is pure Python, so the app's dependencies are not needed."""
    spec = importlib.util.spec_from_file_location("layso_speech", REPO / "layso" / "speech.py")
    if spec is None or spec.loader is None:
        raise ImportError("layso/speech.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_speech = _load_speech()
CHIME: str = _speech.CHIME
CLIP_TEXTS: dict[str, str | None] = _speech.CLIP_TEXTS

DEFAULT_OUT = REPO / "display" / "static" / "voice" / "clips"
RATE = 16_000
# Slightly slow and a little low: easier for elderly listeners than espeak's 175 wpm.
SPEED_WPM = 140
PITCH = 45
TARGET_RMS_DB = -20.0  # speech loudness every clip is brought to
PEAK_CEILING_DB = -1.0  # never louder than this, so nothing clips
CHIME_PEAK_DB = -6.0  # the chime is pure tone: softer than the voice
VORBIS_QUALITY = "0"  # ~40 kbit/s at 16 kHz mono: clear speech, small files
# Spellings espeak-ng says better than the written name: it reads a lone "gi" as a bare "z".
ESPEAK_SPELLINGS: dict[str, str] = {"gi": "di"}


def _run(cmd: list[str]) -> str:
    """Run a command, failing loudly; returns stderr (where sox writes its statistics)."""
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return done.stderr


def sox_has_vorbis() -> bool:
    """True when this sox build can write Ogg Vorbis."""
    help_text = subprocess.run(["sox", "-h"], capture_output=True, text=True).stdout
    formats = next((ln for ln in help_text.splitlines() if ln.startswith("AUDIO FILE FORMATS")), "")
    return "vorbis" in formats.split()


def _levels(path: Path) -> tuple[float, float]:
    """RMS and peak amplitude (0..1) of a sound file, from `sox stat`."""
    stats = {}
    for line in _run(["sox", str(path), "-n", "stat"]).splitlines():
        key, _, value = line.partition(":")
        stats[key.strip()] = value.strip()
    peak = max(abs(float(stats["Maximum amplitude"])), abs(float(stats["Minimum amplitude"])))
    return float(stats["RMS     amplitude"]), peak


def _db(value: float) -> float:
    """Amplitude ratio in decibels."""
    return 20 * math.log10(max(value, 1e-9))


def write_chime(path: Path) -> None:
    """Two soft decaying tones (a "ding-dong"), synthesized here: no sample is downloaded."""
    tones = [(0.0, 784.0, 0.9), (0.38, 659.3, 1.1)]  # (start s, frequency Hz, length s): G5, E5
    length = int(RATE * max(start + dur for start, _, dur in tones))
    samples = [0.0] * length
    for start, freq, dur in tones:
        first = int(RATE * start)
        for i in range(int(RATE * dur)):
            t = i / RATE
            attack = min(1.0, t / 0.012)  # 12 ms rise: no click
            envelope = attack * math.exp(-t * 4.0) * min(1.0, (dur - t) / 0.05)
            wave_ = math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t)
            samples[first + i] += 0.4 * envelope * wave_
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(
            b"".join(struct.pack("<h", int(32767 * max(-1, min(1, s)))) for s in samples)
        )


def speak(text: str, voice: str, path: Path) -> None:
    """Speak `text` with espeak-ng into a WAV file."""
    _run(["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-p", str(PITCH), "-w", str(path), text])


def finish(raw: Path, out: Path, chime: bool) -> None:
    """Resample to 16 kHz mono, trim silence, set loudness and encode by `out`'s suffix."""
    trimmed = raw.with_name(raw.stem + "-trim.wav")
    trim = [] if chime else [
        "silence", "1", "0.01", "-50d", "reverse", "silence", "1", "0.01", "-50d", "reverse",
        "pad", "0.02", "0.04",
    ]  # fmt: skip
    _run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(trimmed), *trim])
    rms, peak = _levels(trimmed)
    if chime:
        gain = CHIME_PEAK_DB - _db(peak)
    else:
        gain = min(TARGET_RMS_DB - _db(rms), PEAK_CEILING_DB - _db(peak))
    encode = ["-C", VORBIS_QUALITY] if out.suffix == ".ogg" else ["-b", "16"]
    _run(["sox", str(trimmed), *encode, str(out), "gain", f"{gain:.2f}"])


def duration_ms(path: Path) -> int:
    """Length of a sound file in milliseconds."""
    return round(1000 * float(subprocess.run(
        ["sox", "--i", "-D", str(path)], check=True, capture_output=True, text=True
    ).stdout))  # fmt: skip


def make_clips(
    out_dir: Path, vi_voice: str = "vi", en_voice: str = "en", fmt: str = "auto"
) -> dict:
    """Generate every clip into `out_dir` and write its manifest.json; returns the manifest."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt install espeak-ng sox libsox-fmt-all")
    if fmt == "auto":
        fmt = "ogg" if sox_has_vorbis() else "wav"
    clips: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in sorted(CLIP_TEXTS.items()):
            raw = Path(tmp) / "raw.wav"
            if name == CHIME:
                write_chime(raw)
            else:
                speak(
                    ESPEAK_SPELLINGS.get(text or "", text or ""),
                    vi_voice if name.startswith("vi/") else en_voice,
                    raw,
                )
            out = out_dir / f"{name}.{fmt}"
            out.parent.mkdir(parents=True, exist_ok=True)
            for stale in ("ogg", "wav"):
                (out_dir / f"{name}.{stale}").unlink(missing_ok=True)
            finish(raw, out, chime=name == CHIME)
            clips[name] = {"file": f"{name}.{fmt}", "ms": duration_ms(out), "text": text}
    manifest = {
        "format": fmt,
        "voices": {"vi": vi_voice, "en": en_voice},
        "speed_wpm": SPEED_WPM,
        "clips": clips,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command line: --out DIR, --voice (Vietnamese espeak-ng voice), --en-voice, --format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--voice", default="vi", help="vi, vi-vn-x-central or vi-vn-x-south")
    parser.add_argument("--en-voice", default="en", help="espeak-ng voice for English")
    parser.add_argument("--format", choices=("auto", "ogg", "wav"), default="auto")
    args = parser.parse_args(argv)
    manifest = make_clips(args.out, args.voice, args.en_voice, args.format)
    files = [args.out / c["file"] for c in manifest["clips"].values()]
    total = sum(f.stat().st_size for f in files)
    print(f"{len(files)} clips, {total} bytes, {manifest['format']} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
