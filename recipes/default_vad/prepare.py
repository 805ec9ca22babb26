"""Fetch the data of the default VAD recipe and write its train/validation split.

Installs the Debian packages it reads (Asterisk prompts, Fish Fillets Czech dialogue, Wesnoth
music, other game soundtracks, effects and player cries), downloads two PyPI source packages
for their labelled recordings (pyannote.audio's ``sample.wav`` + ``.rttm``; pocketsphinx's
LibriVox ``.wav`` + ``.lab``), unpacks just those files and the games' cries, and writes to the
cache directory ``split.json`` (the file lists), ``sources.json`` (licences), and what
``voicecnn train recipes/default_vad/config.toml`` reads: clip lists in named groups under
``clips/train`` and ``clips/val`` (and ``clips/train_permissive``, the permissively licensed
sources only, which ``permissive.toml`` trains on), ``rirs.txt``, ``val_real.jsonl`` and
``val_select.jsonl`` (``bench/real.py select``: real recordings with word-level labels at three
levels, for checkpoint selection from stage 5 on; it needs ``pocketsphinx``) and
``val_rooms.jsonl`` (``bench/rooms.py``: those talkers taking turns in rooms simulated by
``pyroomacoustics`` over held-out backgrounds, a benchmark that no training run reads). Audio is
read in place (``/usr/share``, ``shared/data``) or unpacked into the cache, never into the
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

from voicecnn.errors import AudioError
from voicecnn.io.audio import audio_duration_s, load_audio

REPO = Path(__file__).resolve().parents[2]
# shared/data beside the checkout, or beside a folder above it (a git worktree's)
SHARED = next(
    (d / "shared" / "data" for d in REPO.parents if (d / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data",
)
DEFAULT_OUT = Path("~/.cache/voicecnn/default_vad").expanduser()
APT_PACKAGES = (
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-es-wav",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-ru-wav",
    "asterisk-core-sounds-it-wav",
    "asterisk-prompt-it-menardi-wav",
    "klettres-data",
    "fillets-ng-data",
    "fillets-ng-data-cs",
    "wesnoth-1.16-music",
    "asterisk-moh-opsound-wav",
    "lincity-ng-data",
    "colobot-common-sounds",
    "frozen-bubble-data",
    "fretsonfire-songs-muldjord",
    "fretsonfire-songs-sectoid",
    "openarena-081-players",
)
ASTERISK = Path("/usr/share/asterisk/sounds")
ASTERISK_TRAIN = ("en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June")
ASTERISK_VAL = "ru_RU_f_IvrvoiceRU"
# More voices (group "voices_more", weight 0 before stage 11): the two Italian Asterisk voices
# (one male) and KLettres' letters and syllables in 20 languages (18 decode whole), one
# speaker each.
ASTERISK_IT = ("it_IT_m_Carlo", "it_IT_f_Menardi")
KLETTRES = "/usr/share/klettres/*/*/*.ogg"
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
    "voices_more": {
        "licence": "CC BY-SA 3.0 (Asterisk it: Carlo, Menardi); GPL-2+ (KLettres)",
        "origin": "Debian asterisk-core-sounds-it-wav, asterisk-prompt-it-menardi-wav, "
        "klettres-data",
    },
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
    "music_rock": {
        "licence": "CC BY-SA 3.0 (Muldjord); MIT (Sectoid)",
        "origin": "Debian fretsonfire-songs-muldjord (guitar stems), "
        "fretsonfire-songs-sectoid (guitar and backing stems)",
    },
    "vocalisations": {
        "licence": "GPL-2",
        "origin": "Debian openarena-081-players (player pain, death, jump, fall, gasp sounds)",
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


def _any(_path: str) -> bool:
    return True


# The permissive-only variant (``voicecnn train recipes/default_vad/permissive.toml``): the
# training groups it keeps and, in a group of mixed licences, which of its files. Kept are
# sources whose licence puts no copyleft or share-alike term on a work made from them (CC BY,
# public domain, BSD-style, MIT: attribution at most, given in the model card); left out are
# GPL (Fish Fillets dialogue, Wesnoth and other game music and effects, the player cries) and
# CC BY-SA (FSDD, the Asterisk prompts, music on hold, Muldjord's stems). Validation audio only
# ranks checkpoints and is the same in both variants.
PERMISSIVE_TRAIN: dict[str, Callable[[str], bool]] = {
    "librispeech": _any,
    "ljspeech": _any,
    "misc": _any,
    "esc10": _any,
    "music": lambda path: not path.startswith(f"{WESNOTH}/"),  # music_nature, not Wesnoth
    "noise": _any,
    "music_rock": lambda path: "/songs/sectoid/" in path,  # MIT, not Muldjord's CC BY-SA
}


def permissive(train: dict[str, Any]) -> dict[str, Any]:
    """The permissively licensed part of a split's ``train`` part (see
    :data:`PERMISSIVE_TRAIN`): groups left out, mixed groups filtered file by file."""

    def keep(groups: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {
            name: [f for f in files if PERMISSIVE_TRAIN[name](f)]
            for name, files in groups.items()
            if name in PERMISSIVE_TRAIN
        }
        return {name: files for name, files in out.items() if files}

    return {
        "speech": keep(train["speech"]),
        "negatives": keep(train["negatives"]),
        "rirs": list(train["rirs"]),
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

    Every ``.wav`` or ``.ogg`` at ``sound/player/MODEL/NAME`` (OpenArena's layout) whose name
    starts with one of :data:`CRIES` (not the taunts, nor footsteps); returns their sorted
    paths.
    """
    dest = out / group
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    with zipfile.ZipFile(pk3) as z:
        for name in z.namelist():
            parts = name.split("/")
            if (
                parts[:2] == ["sound", "player"]
                and len(parts) == 4
                and parts[-1].lower().endswith((".wav", ".ogg"))
                and parts[-1].lower().startswith(CRIES)
            ):
                path = dest / f"{parts[2]}_{parts[-1].lower()}"
                path.write_bytes(z.read(name))
                paths.append(str(path))
    return sorted(paths)


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
    # a validation track voicecnn refuses to read would stop every run at its first evaluation
    # (Debian's northerners.ogg decodes 0.13 s short of its header); the split stays as it was
    val_tracks = _readable(val_tracks, "validation music")
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
                # KLettres' Arabic and Malayalam files are truncated: 548 left out
                "voices_more": _readable(
                    [f for v in ASTERISK_IT for f in asterisk(v)] + _glob((KLETTRES,)),
                    "voices_more"),
            },
            "negatives": {
                "esc10": shared(lambda r: r["set"] == "esc10" and esc_fold(r) != ESC_VAL_FOLD),
                "music": shared(lambda r: r["set"] == "music_nature") + train_tracks,
                "noise": shared(lambda r: r["set"] == "noise"),
                "music_more": _glob(MUSIC_MORE),
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


def _readable(files: list[str], group: str) -> list[str]:
    """``files`` that voicecnn reads whole (it refuses truncated files, and a file it refuses
    would stop the run that draws it); one line says how many were left out, and the first."""
    kept, first = [], ""
    for f in files:
        try:
            load_audio(f)
        except AudioError as e:
            first = first or str(e)
        else:
            kept.append(f)
    if len(kept) < len(files):
        print(f"{group}: left out {len(files) - len(kept)} of {len(files)} files that do "
              f"not decode whole (first: {first})", file=sys.stderr)
    return kept


def write_lists(split: dict[str, Any], out: Path) -> None:
    """The split as ``voicecnn train`` reads it: clip lists in named groups, RIRs, real audio.

    ``clips/train``, ``clips/train_permissive`` (:func:`permissive`) and ``clips/val`` each hold
    ``speech/GROUP.txt`` and ``nonspeech/GROUP.txt`` (one absolute audio path per line; see
    ``voicecnn.data.mix_clips.scan_mix_clip_groups``);
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
    free = permissive(tr)
    for part, speech, nonspeech in (
        ("train", tr["speech"], tr["negatives"]),
        ("train_permissive", free["speech"], free["negatives"]),
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
    }
    split = build_split(fetch_real(out), made)
    (out / "split.json").write_text(json.dumps(split, indent=1))
    (out / "sources.json").write_text(json.dumps(SOURCES, indent=1))
    write_lists(split, out)
    # the real recordings with word-level labels that checkpoint selection reads from stage 5
    # on (bench/real.py: its "select" part, at three levels; the benchmark keeps the rest)
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "real.py"), "select", "--out", str(out)], check=True
    )
    # the same talkers taking turns in simulated rooms over held-out backgrounds: a benchmark
    # (bench/rooms.py score); no training run reads it
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "rooms.py"), "write", "--out", str(out)], check=True
    )
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
