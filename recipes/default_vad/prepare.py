"""Fetch the data of the default VAD recipe and write its train/validation split.

Installs the Debian packages it reads (Asterisk prompts, Fish Fillets Czech dialogue, Wesnoth
music, other game soundtracks, effects and player cries, FluidSynth and its soundfont),
downloads two PyPI source packages for their labelled recordings (pyannote.audio's
``sample.wav`` + ``.rttm``; pocketsphinx's LibriVox ``.wav`` + ``.lab``), unpacks just those
files and the games' cries, renders its MIDI tunes, and writes to the cache directory
``split.json`` (the file lists), ``sources.json`` (licences), and what
``voicecnn train recipes/default_vad/config.toml`` reads: clip lists in named groups under
``clips/train`` and ``clips/val``, ``rirs.txt`` and ``val_real.jsonl``. Audio is read in place
(``/usr/share``, ``shared/data``) or unpacked into the cache, never into the
repository.

    python recipes/default_vad/prepare.py [--out ~/.cache/voicecnn/default_vad]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voicecnn.audio import audio_duration_s
from voicecnn.errors import AudioError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = Path("~/.cache/voicecnn/default_vad").expanduser()
APT_PACKAGES = (
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-es-wav",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-ru-wav",
    "fillets-ng-data",
    "fillets-ng-data-cs",
    "wesnoth-1.16-music",
    "asterisk-moh-opsound-wav",
    "lincity-ng-data",
    "colobot-common-sounds",
    "frozen-bubble-data",
    "warzone2100-music",
    "xmoto-data",
    "extremetuxracer-data",
    "fretsonfire-songs-muldjord",
    "fretsonfire-songs-sectoid",
    "openarena-081-players",
    "nexuiz-data",
    "fluidsynth",
    "fluid-soundfont-gm",
)
ASTERISK = Path("/usr/share/asterisk/sounds")
ASTERISK_TRAIN = ("en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June")
ASTERISK_VAL = "ru_RU_f_IvrvoiceRU"
# Prompts whose transcript is bracketed non-speech (tones, beeps, monkey screeches).
ASTERISK_NONSPEECH = {"ascending-2tone", "descending-2tone", "beep", "beeperr", "tt-monkeys"}
FILLETS = Path("/usr/share/games/fillets-ng/sound")
WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music")
WESNOTH_TRAIN_TRACKS = 16
WESNOTH_VAL_EVERY = 5
# More music and sound effects as training negatives (none of them in bench/): instrumental
# music on hold, game soundtracks, game effects. Lincity's effect sounds are left out (some are
# crowds and voices).
MUSIC_MORE = (
    "/usr/share/asterisk/moh/*.wav",
    "/usr/share/games/lincity-ng/music/default/*.ogg",
    "/usr/share/games/colobot/music/*.ogg",
    "/usr/share/games/frozen-bubble/snd/*zik*.ogg",
)
# Four hours of instrumental game soundtracks (orchestral, electronic, rock): a large pool of
# music negatives (measured as a stage-3 lever; weight 0 in the bundled stages).
MUSIC_GAMES = (
    "/usr/share/games/warzone2100/music/albums/*/*.opus",
    "/usr/share/games/xmoto/Textures/Musics/*.ogg",
    "/usr/share/games/etr/music/*.ogg",
)
# Rock and metal lead guitar: the guitar stems of the Frets on Fire songs (Muldjord, Sectoid),
# and Sectoid's instrumental backing stems (Muldjord's backing stems carry growled vocals: left
# out). The one benchmark track the nets call speech has a gliding, bending lead; these stems
# were measured as negatives against it (BENCHMARKS.md, stage 3).
FOF = "/usr/share/games/fretsonfire/data/songs"
MUSIC_ROCK = (f"{FOF}/*/*/guitar.ogg", f"{FOF}/sectoid/*/song.ogg")
# Non-verbal human (and creature) vocalisations: the OpenArena player models' pain, death, jump,
# fall, gasp and drowning cries (16 characters, 191 clips, 2.9 min), unpacked from the game's
# pk3 (a zip). Their taunts are left out: some are words. Hedgewars' voices stay the benchmark's.
# Weight 0 in stages 1-3, 1.5 in stage 4 (stage4.toml; measured in BENCHMARKS.md).
OPENARENA_PLAYERS = Path("/usr/share/games/openarena/baseoa/pak2-players.pk3")
CRIES = ("pain", "death", "jump", "fall", "gasp", "drown")
# More voices of the same kind: the Nexuiz player models' cries (9 characters, 105 clips,
# 2.9 min; the same names, most under sound/player/MODEL/player/; their team calls and taunts
# are words). Weight 0 in every stage: measured in stage 4 (BENCHMARKS.md), not kept.
NEXUIZ_DATA = Path("/usr/share/games/nexuiz/data/data.pk3")
# Rendered MIDI music: generated tunes whose lead (sax, violin, flute, trumpet, synth lead,
# distorted guitar...) glides into notes, bends and vibrates, mostly over chords and bass (drums
# at times), played by FluidSynth through the FluidR3 General MIDI soundfont: real instrument
# samples with voice-like pitch movement (the synthetic leads of ``voicecnn.data.mix.melody``
# are sums of harmonics). Voice-like programs (choir, voice oohs, synth voice, "Lead 6 (voice)",
# "Pad 4 (choir)") are never drawn. Weight 0 in every bundled stage (measured in BENCHMARKS.md).
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MIDI_PIECES = 48
MIDI_PIECE_S = 40.0
MIDI_SEED = 20261122
# General MIDI programs (0-based) of the lead: accordion, harmonica, overdriven and distortion
# guitar, violin, viola, cello, trumpet, trombone, French horn, the four saxophones, oboe, English
# horn, bassoon, clarinet, piccolo, flute, recorder, pan flute, shakuhachi, whistle, ocarina,
# synth leads (square, saw, calliope, chiff, charang, fifths, bass + lead), sitar, bagpipe,
# fiddle, shanai.
MIDI_LEADS = (21, 22, 29, 30, 40, 41, 42, 56, 57, 60, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73,
              74, 75, 77, 78, 79, 80, 81, 82, 83, 84, 86, 87, 104, 109, 110, 111)
# Chords: pianos, organs, guitars, strings, pads (not the choir pad).
MIDI_CHORDS = (0, 1, 4, 5, 16, 17, 19, 24, 25, 26, 27, 48, 49, 50, 88, 89, 90, 92, 94, 95)
MIDI_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 3, 5, 7, 9, 10),
               (0, 2, 4, 7, 9), (0, 3, 5, 6, 7, 10), (0, 1, 4, 5, 7, 8, 10))
EFFECTS = ("/usr/share/games/frozen-bubble/snd/*.ogg", "/usr/share/games/colobot/sounds/*.wav")
ESC_VAL_FOLD = "5"

SOURCES: dict[str, dict[str, str]] = {
    "librispeech": {
        "licence": "CC BY 4.0",
        "origin": "shared/data (LibriSpeech, Panayotov et al.)",
    },
    "fsdd": {"licence": "CC BY-SA 4.0", "origin": "shared/data (Free Spoken Digit Dataset)"},
    "ljspeech": {"licence": "public domain", "origin": "shared/data (LJ Speech, K. Ito)"},
    "misc": {
        "licence": "CC BY 4.0 / CMU ARCTIC (BSD-style) / public domain",
        "origin": "shared/data speech/misc",
    },
    "asterisk": {
        "licence": "CC BY-SA 3.0 (en, es, fr: Allison Smith, June Wallack); CC BY 3.0 (ru: Maxim)",
        "origin": "Debian asterisk-core-sounds-*-wav",
    },
    "fillets_cs": {"licence": "GPL-2", "origin": "Debian fillets-ng-data-cs"},
    "esc10": {"licence": "CC BY 3.0", "origin": "shared/data (ESC-10, K. J. Piczak)"},
    "music_nature": {
        "licence": "CC BY 3.0 / CC BY 4.0 / public domain",
        "origin": "shared/data (librosa and MTG sms-tools examples)",
    },
    "noise": {"licence": "CC BY 4.0", "origin": "shared/data (Speech Commands background noise)"},
    "wesnoth_music": {"licence": "GPL-2+", "origin": "Debian wesnoth-1.16-music"},
    "rir": {"licence": "CC BY 4.0", "origin": "shared/data (MTG sms-tools)"},
    "music_more": {
        "licence": "CC BY-SA 3.0; GPL-2+; GPL-3+; GPL-2",
        "origin": "Debian asterisk-moh-opsound-wav, lincity-ng-data (music), "
        "colobot-common-sounds (music), frozen-bubble-data (music)",
    },
    "music_games": {
        "licence": "GPL-2+",
        "origin": "Debian warzone2100-music, xmoto-data (music), extremetuxracer-data (music)",
    },
    "music_rock": {
        "licence": "CC BY-SA 3.0 (Muldjord); MIT (Sectoid)",
        "origin": "Debian fretsonfire-songs-muldjord (guitar stems), "
        "fretsonfire-songs-sectoid (guitar and backing stems)",
    },
    "vocalisations": {
        "licence": "GPL-2",
        "origin": "Debian openarena-081-players (player pain, death, jump, fall, gasp sounds)",
    },
    "cries_nexuiz": {
        "licence": "GPL-2+",
        "origin": "Debian nexuiz-data (player pain, death, jump, fall, gasp sounds)",
    },
    "music_midi": {
        "licence": "generated tunes; FluidR3_GM soundfont MIT",
        "origin": "prepare.py's MIDI tunes rendered by Debian fluidsynth with fluid-soundfont-gm",
    },
    "effects": {
        "licence": "GPL-2; GPL-3+",
        "origin": "Debian frozen-bubble-data, colobot-common-sounds (sounds)",
    },
    "pyannote_sample": {"licence": "MIT", "origin": "PyPI pyannote.audio wheel, sample.wav + rttm"},
    "pocketsphinx_librivox": {
        "licence": "BSD-2-Clause (package); LibriVox audio public domain",
        "origin": "PyPI pocketsphinx sdist, test/data/librivox *.wav + .lab",
    },
    "synthetic": {"licence": "generated", "origin": "coloured noise, hum, tones, clicks, RIRs"},
}


def ensure_apt(packages: tuple[str, ...]) -> None:
    """Install the missing Debian packages (``apt-get install --no-install-recommends``)."""
    missing = [
        p
        for p in packages
        if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
        ).stdout.strip()
        != "install ok installed"
    ]
    if not missing:
        return
    print(f"apt-get install {' '.join(missing)}", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], check=True)


def _pip_download(spec: list[str], dest: Path) -> Path:
    """``pip download --no-deps`` into ``dest``; returns the downloaded file."""
    before = set(dest.iterdir())
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *spec],
        check=True,
    )
    new = set(dest.iterdir()) - before
    return new.pop() if new else max(dest.iterdir(), key=lambda p: p.stat().st_mtime)


def rttm_segments(text: str) -> list[list[float]]:
    """``[start, end]`` seconds of every SPEAKER turn of an RTTM file."""
    segs = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            segs.append([start, start + dur])
    return segs


def lab_segments(text: str) -> list[list[float]]:
    """Speech ``[start, end]`` seconds from Audacity point labels (``t t speech|silence``).

    Each line switches the state to its label from that time on.
    """
    segs: list[list[float]] = []
    start: float | None = None
    for line in text.splitlines():
        t, _, state = line.split()
        if state == "speech":
            start = float(t)
        elif start is not None:
            segs.append([start, float(t)])
            start = None
    return segs


def fetch_real(out: Path) -> list[dict[str, Any]]:
    """Unpack the real labelled recordings into ``out/real``; return them with speech segments."""
    real = out / "real"
    real.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(["pyannote.audio"], Path(tmp))
        with zipfile.ZipFile(wheel) as z:
            for name in ("sample.wav", "sample.rttm"):
                (real / f"pyannote_{name}").write_bytes(z.read(f"pyannote/audio/sample/{name}"))
        # --no-binary for this package only: its build dependencies may still be wheels.
        sdist = _pip_download(["--no-binary", "pocketsphinx", "pocketsphinx"], Path(tmp))
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/test/data/librivox/" in member.name and member.isfile():
                    f = tar.extractfile(member)
                    assert f is not None
                    (real / f"pocketsphinx_{Path(member.name).name}").write_bytes(f.read())
    items.append(
        {
            "name": "pyannote_sample",
            "path": str(real / "pyannote_sample.wav"),
            "segments": rttm_segments((real / "pyannote_sample.rttm").read_text()),
        }
    )
    for lab in sorted(real.glob("pocketsphinx_*.lab")):
        items.append(
            {
                "name": lab.stem,
                "path": str(lab.with_suffix(".wav")),
                "segments": lab_segments(lab.read_text()),
            }
        )
    return items


def unpack_cries(out: Path, pk3: Path, group: str) -> list[str]:
    """The player models' non-verbal sounds in ``pk3`` as ``out/GROUP/MODEL_NAME``.

    Every ``.wav`` or ``.ogg`` at ``sound/player/MODEL/NAME`` (OpenArena) or
    ``sound/player/MODEL/player/NAME`` (Nexuiz) whose name starts with one of :data:`CRIES`
    (not the taunts, nor footsteps); returns their sorted paths.
    """
    dest = out / group
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    with zipfile.ZipFile(pk3) as z:
        for name in z.namelist():
            parts = name.split("/")
            if (
                parts[:2] == ["sound", "player"]
                and (len(parts) == 4 or (len(parts) == 5 and parts[3] == "player"))
                and parts[-1].lower().endswith((".wav", ".ogg"))
                and parts[-1].lower().startswith(CRIES)
            ):
                path = dest / f"{parts[2]}_{parts[-1].lower()}"
                path.write_bytes(z.read(name))
                paths.append(str(path))
    return sorted(paths)


def _varlen(n: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_file(events: list[tuple[float, int, bytes]], bpm: float) -> bytes:
    """A one-track Standard MIDI File of ``(seconds, order, message)`` events at ``bpm``.

    Events at one time are written by ``order`` (note-offs before note-ons).
    """
    tpq = 480
    ticks_per_s = tpq * bpm / 60
    track, now = bytearray(), 0
    track += b"\x00\xff\x51\x03" + round(60e6 / bpm).to_bytes(3, "big")
    for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tick = round(t * ticks_per_s)
        track += _varlen(tick - now) + msg
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
    return header + tpq.to_bytes(2, "big") + b"MTrk" + len(track).to_bytes(4, "big") + track


def midi_tune(
    rng: np.random.Generator, seconds: float = MIDI_PIECE_S
) -> tuple[bytes, dict[str, Any]]:
    """A random tune as MIDI bytes, and what was drawn.

    A lead line (channel 0) walks a scale in phrases with breaths between them; a share of its
    notes glide in from up to two semitones away (pitch bend), long notes vibrate (4.5-7 Hz,
    up to half a semitone) and some bend up at their end. Chords (channel 1), a bass (2) and
    drums (9) join in most tunes; one in five is the lead alone.
    """
    bpm = float(rng.uniform(70, 160))
    beat = 60 / bpm
    bar = 4 * beat
    root = int(rng.integers(0, 12))
    scale = MIDI_SCALES[int(rng.integers(len(MIDI_SCALES)))]
    lead = int(rng.choice(MIDI_LEADS))
    solo = rng.random() < 0.2
    drums = not solo and rng.random() < 0.7
    p_glide, vib_depth = float(rng.uniform(0.1, 0.7)), float(rng.uniform(0.0, 0.5))
    vib_rate, p_bend = float(rng.uniform(4.5, 7.0)), float(rng.uniform(0.0, 0.3))
    center = int(rng.integers(57, 74))
    ev: list[tuple[float, int, bytes]] = []

    def cc(t: float, ch: int, ctrl: int, val: int) -> None:
        ev.append((t, 1, bytes([0xB0 | ch, ctrl, val])))

    def bend(t: float, semitones: float) -> None:  # range +-2 semitones (the GM default)
        v = int(np.clip(8192 + semitones / 2 * 8191, 0, 16383))
        ev.append((t, 2, bytes([0xE0, v & 0x7F, v >> 7])))

    def note(t: float, dur: float, ch: int, pitch: int, vel: int) -> None:
        ev.append((t, 3, bytes([0x90 | ch, pitch, vel])))
        ev.append((t + dur, 0, bytes([0x80 | ch, pitch, 0])))

    for ch, prog, vol in ((0, lead, rng.integers(100, 128)), (1, rng.choice(MIDI_CHORDS),
                          rng.integers(45, 90)), (2, rng.integers(32, 40), rng.integers(65, 100))):
        ev.append((0.0, 0, bytes([0xC0 | ch, int(prog)])))
        cc(0.0, ch, 7, int(vol))
    cc(0.0, 9, 7, int(rng.integers(60, 100)))

    def pitch_of(degree: int) -> int:
        octave, step = divmod(degree, len(scale))
        return root + 12 * octave + scale[step]

    n_bars = int(np.ceil(seconds / bar))
    # accompaniment: a chord on a scale degree per bar, its root in the bass
    for b in range(n_bars):
        t0, deg = b * bar, int(rng.choice([0, 3, 4, 5, 0, 4, 1, 2]))
        if not solo:
            for k in (0, 2, 4):
                note(t0, bar * 0.95, 1, 48 + pitch_of(deg + k) % 24, int(rng.integers(50, 80)))
            for q in range(4 if rng.random() < 0.5 else 2):  # every beat, or the first two
                vel = int(rng.integers(70, 100))
                note(t0 + q * beat, beat * 0.9, 2, 36 + pitch_of(deg) % 12, vel)
        if drums:
            for q in range(8):
                t = t0 + q * beat / 2
                note(t, 0.05, 9, 42, int(rng.integers(40, 80)))
                if q in (0, 4):
                    note(t, 0.1, 9, 36, int(rng.integers(80, 120)))
                if q in (2, 6):
                    note(t, 0.1, 9, 38, int(rng.integers(70, 110)))
    # lead: phrases of 2-4 bars, rests between
    t, deg = float(rng.uniform(0, bar)), int(rng.integers(0, len(scale)))
    base = center - center % 12
    while t < seconds - 1.0:
        phrase_end = t + bar * int(rng.integers(2, 5))
        while t < phrase_end:
            dur = beat * float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0, 3.0]))
            deg = int(np.clip(deg + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), -7, 10))
            pitch = int(np.clip(base + pitch_of(deg), 40, 96))
            legato = float(rng.uniform(0.85, 1.02))
            if rng.random() < p_glide:  # slide in from above or below
                start = float(rng.choice([-2, -1, 1, 2]) * rng.uniform(0.5, 1.0))
                glide = min(float(rng.uniform(0.05, 0.2)), dur / 2)
                for s in np.arange(0, glide, 0.01):
                    bend(t + s, start * (1 - s / glide))
            bend(t + min(0.2, dur / 2), 0.0)
            if dur > 0.35 and vib_depth > 0.05:
                for s in np.arange(0.15, dur, 0.015):
                    bend(t + s, vib_depth * np.sin(2 * np.pi * vib_rate * (s - 0.15)))
            if dur > 0.3 and rng.random() < p_bend:  # bend up a tone at the end
                for s in np.arange(dur * 0.6, dur, 0.01):
                    bend(t + s, 2.0 * (s - dur * 0.6) / (dur * 0.4))
            note(t, dur * legato, 0, pitch, int(rng.integers(70, 120)))
            t += dur
            bend(t - 0.005, 0.0)
        t += beat * float(rng.choice([0.5, 1.0, 1.5, 2.0]))
    drawn = {"bpm": round(bpm, 1), "lead": lead, "solo": solo, "drums": drums}
    return midi_file(ev, bpm), drawn


def render_midi_music(
    out: Path, n: int = MIDI_PIECES, seed: int = MIDI_SEED, soundfont: Path = SOUNDFONT
) -> list[str]:
    """Render ``n`` tunes of :func:`midi_tune` to ``out/music_midi/tune_NNN.flac`` (16 kHz mono).

    Tune ``i`` draws from ``(seed, i)``, so the set repeats; files already rendered are kept.
    Returns their sorted paths.
    """
    dest = out / "music_midi"
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = dest / f"tune_{i:03d}.flac"
        if not path.exists():
            midi, _ = midi_tune(np.random.default_rng([seed, i]))
            with tempfile.TemporaryDirectory() as tmp:
                mid, wav = Path(tmp) / "t.mid", Path(tmp) / "t.wav"
                mid.write_bytes(midi)
                subprocess.run(
                    ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "16000", "-F", str(wav),
                     str(soundfont), str(mid)],
                    check=True, capture_output=True,
                )
                audio, sr = sf.read(wav, dtype="float32", always_2d=True)
            mono = audio.mean(axis=1)
            mono = mono[: int(np.nonzero(np.abs(mono) > 1e-4)[0].max(initial=0)) + 1]
            mono *= 0.9 / max(float(np.abs(mono).max()), 1e-6)
            partial = path.with_suffix(".part.flac")
            sf.write(partial, mono, sr)
            partial.replace(path)
        paths.append(str(path))
    return paths


def _glob(patterns: tuple[str, ...]) -> list[str]:
    """Absolute glob patterns -> sorted matching files."""
    return sorted(str(p) for pat in patterns for p in Path("/").glob(pat.lstrip("/")))


def _manifest() -> list[dict[str, str]]:
    with (SHARED / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


def build_split(real: list[dict[str, Any]], made: dict[str, list[str]]) -> dict[str, Any]:
    """File lists for training and validation, split by speaker / voice / fold / track.

    ``made`` holds the negative groups written into the cache (unpacked cries, rendered tunes).
    """
    rows = _manifest()

    def shared(pred: Callable[[dict[str, str]], bool]) -> list[str]:
        return [str(SHARED / r["path"]) for r in rows if pred(r)]

    libri_val_speakers = {
        r["speaker"] for r in rows if r["set"] == "librispeech" and "test-other" in r["path"]
    }

    def esc_fold(row: dict[str, str]) -> str:
        return Path(row["path"]).name.split("-")[0]

    def asterisk(voice: str) -> list[str]:
        return sorted(
            str(p)
            for p in (ASTERISK / voice).rglob("*.wav")
            if p.parent.name != "silence" and p.stem not in ASTERISK_NONSPEECH
        )

    tracks = sorted(str(p) for p in WESNOTH.glob("*.ogg"))
    val_tracks = tracks[::WESNOTH_VAL_EVERY]
    train_tracks = [t for t in tracks if t not in val_tracks][:WESNOTH_TRAIN_TRACKS]
    fillets = sorted(str(p) for p in FILLETS.glob("*/cs/*.ogg") if "-x-" not in p.name)
    return {
        "train": {
            "speech": {
                "librispeech": shared(
                    lambda r: r["set"] == "librispeech" and r["speaker"] not in libri_val_speakers
                ),
                "fsdd": shared(lambda r: r["set"] == "fsdd"),
                "ljspeech": shared(lambda r: r["set"] == "ljspeech"),
                "misc": shared(lambda r: r["set"] == "misc"),
                "asterisk": [f for v in ASTERISK_TRAIN for f in asterisk(v)],
                "fillets_cs": fillets,
            },
            "negatives": {
                "esc10": shared(lambda r: r["set"] == "esc10" and esc_fold(r) != ESC_VAL_FOLD),
                "music": shared(lambda r: r["set"] == "music_nature") + train_tracks,
                "noise": shared(lambda r: r["set"] == "noise"),
                "music_more": _glob(MUSIC_MORE),
                "music_games": _glob(MUSIC_GAMES),
                "music_rock": _glob(MUSIC_ROCK),
                **made,
                "effects": [f for f in _glob(EFFECTS) if "zik" not in Path(f).name],
            },
            "rirs": shared(lambda r: r["role"] == "rir"),
        },
        "val": {
            "speech": {
                "librispeech_test_other": shared(
                    lambda r: r["set"] == "librispeech" and r["speaker"] in libri_val_speakers
                ),
                "asterisk_ru": asterisk(ASTERISK_VAL),
            },
            "backgrounds": {
                "esc10_fold5": shared(lambda r: r["set"] == "esc10" and esc_fold(r) == ESC_VAL_FOLD)
            },
            "music": val_tracks,
            "real": real,
        },
    }


def _merged(segments: list[list[float]]) -> list[list[float]]:
    """Overlapping or touching segments (two talkers) merged into one speech region."""
    out: list[list[float]] = []
    for start, end in sorted(segments):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def _has_audio(path: str) -> bool:
    """Whether the file decodes to at least one sample (a few Asterisk prompts are empty)."""
    try:
        return audio_duration_s(path) > 0
    except AudioError:
        return False


def write_lists(split: dict[str, Any], out: Path) -> None:
    """The split as ``voicecnn train`` reads it: clip lists in named groups, RIRs, real audio.

    ``clips/train`` and ``clips/val`` each hold ``speech/GROUP.txt`` and ``nonspeech/GROUP.txt``
    (one absolute audio path per line; see ``voicecnn.data.mix_clips.scan_mix_clip_groups``);
    ``rirs.txt`` lists the real impulse responses; ``val_real.jsonl`` is a manifest of the
    real labelled recordings.
    """

    def write(path: Path, files: list[str]) -> None:
        usable = [f for f in files if _has_audio(f)]
        if len(usable) < len(files):
            print(f"{path.name}: left out {len(files) - len(usable)} empty or unreadable file(s)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{f}\n" for f in usable))

    tr, val = split["train"], split["val"]
    for part, speech, nonspeech in (
        ("train", tr["speech"], tr["negatives"]),
        ("val", val["speech"], {**val["backgrounds"], "music": val["music"]}),
    ):
        root = out / "clips" / part
        for kind in ("speech", "nonspeech"):
            for old in (root / kind).glob("*.txt"):
                old.unlink()
        for name, files in speech.items():
            write(root / "speech" / f"{name}.txt", files)
        for name, files in nonspeech.items():
            write(root / "nonspeech" / f"{name}.txt", files)
    write(out / "rirs.txt", tr["rirs"])
    lines = [
        json.dumps({"audio": r["path"], "segments": _merged(r["segments"]), "name": r["name"]})
        for r in val["real"]
    ]
    (out / "val_real.jsonl").write_text("".join(f"{line}\n" for line in lines))


def main() -> None:
    """Parse arguments, fetch everything, write the split, the clip lists and the sources."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache directory")
    args = ap.parse_args()
    out = args.out.expanduser().resolve()
    if out.is_relative_to(REPO):
        ap.error(f"--out must be outside the repository ({REPO})")
    out.mkdir(parents=True, exist_ok=True)
    ensure_apt(APT_PACKAGES)
    made = {
        "vocalisations": unpack_cries(out, OPENARENA_PLAYERS, "vocalisations"),
        "cries_nexuiz": unpack_cries(out, NEXUIZ_DATA, "cries_nexuiz"),
        "music_midi": render_midi_music(out),
    }
    split = build_split(fetch_real(out), made)
    (out / "split.json").write_text(json.dumps(split, indent=1))
    (out / "sources.json").write_text(json.dumps(SOURCES, indent=1))
    write_lists(split, out)
    for part in ("train", "val"):
        for kind, groups in split[part].items():
            if isinstance(groups, dict):
                print(part, kind, {k: len(v) for k, v in groups.items()})
            else:
                print(part, kind, len(groups))
    print(
        f"wrote {out / 'split.json'}, {out / 'clips'}, {out / 'rirs.txt'}, {out / 'val_real.jsonl'}"
    )


if __name__ == "__main__":
    main()
