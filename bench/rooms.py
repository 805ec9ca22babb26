"""Conversations in simulated rooms: real utterances with word labels, at the levels rooms give.

Users meet talkers at a distance, taking turns, over whatever else the room holds, at levels far
below a close microphone's. The ``real`` test (``real.py``) has one far-field recording; this
builds 16 such conversations from real speech with forced-aligned words:

* two talkers take turns (pools: the multilingual utterances and the disfluency clips of
  ``real.py``'s select part, other recordings than the test's), with the gaps of
  conversation: mostly 0.2-1 s, some 1-3 s, a few overlaps of up to 0.5 s;
* each talker sits somewhere in a shoebox room simulated by pyroomacoustics (image source
  method; 3-8 m by 3-7 m by 2.5-3.5 m, RT60 0.2-0.9 s, 0.5-4.5 m from the microphone), a
  simulator the recipe's training does not use (it draws its own exponential responses);
* a background the training never hears (the recipe's held-out ESC-10 fold and music, from
  ``clips/val/nonspeech/*.txt``) plays throughout at 0-20 dB under the speech;
* the whole is scaled so that the speech's active level lies between -70 and -20 dBFS
  (a whisper across a hall to a talker at the microphone) and written as 16-bit PCM.

Labels follow ``real.py``'s convention, shifted by each talker's direct-path delay: a word's
reverberant tail is not speech; a pause of 100 ms or more between words is non-speech, also
when the other talker's room tail fills it. Tried as a checkpoint-selection set, these
conversations ranked 32 models no better than the clips themselves (``selection.py``;
BENCHMARKS.md): they are a benchmark.

    python bench/rooms.py write --out DIR [--backgrounds FOLDER]   # DIR/val_rooms.jsonl
    python bench/rooms.py score [--manifest DIR/val_rooms.jsonl] [--model M ...] [--no-peers]

``write`` reads the background lists from ``DIR/clips/val/nonspeech`` (the recipe's prepared
cache) unless ``--backgrounds`` names another folder of lists. ``score`` runs every system in a
fresh process (``peers/worker.py``, one thread) and prints frame ROC-AUC, F1 and false alarms at
each system's own decision, pooled and by speech level.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real  # noqa: E402

Float32 = npt.NDArray[np.float32]
SAMPLE_RATE = real.SAMPLE_RATE
N_CONVERSATIONS = 16
TURNS = (6, 11)  # turns per conversation (range)
LEVEL_DBFS = (-70.0, -20.0)  # active speech level of a conversation
SNR_DB = (0.0, 20.0)  # speech over the background
RT60_S = (0.2, 0.9)
DISTANCE_M = (0.5, 4.5)


def gap_s(rng: np.random.Generator) -> float:
    """Silence before the next turn (negative: overlap): 60 % 0.2-1 s, 30 % 1-3 s, 10 %
    overlaps of up to 0.5 s."""
    u = rng.random()
    if u < 0.6:
        return float(rng.uniform(0.2, 1.0))
    if u < 0.9:
        return float(rng.uniform(1.0, 3.0))
    return float(-rng.uniform(0.0, 0.5))


def room_rirs(rng: np.random.Generator, talkers: int) -> tuple[list[Float32], list[float], str]:
    """Impulse responses from ``talkers`` random places to one microphone in a random room, the
    direct path's arrival time of each (s), and a description."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(3, 8), rng.uniform(3, 7), rng.uniform(2.5, 3.5)])
    rt60 = float(rng.uniform(*RT60_S))
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                       max_order=min(max_order, 40))
    mic = np.array([rng.uniform(0.5, dims[0] - 0.5), rng.uniform(0.5, dims[1] - 0.5), 0.8])
    room.add_microphone(mic)
    arrivals = []
    for _ in range(talkers):
        for _ in range(100):  # a place inside the room at the drawn distance
            d = rng.uniform(*DISTANCE_M)
            angle = rng.uniform(0, 2 * np.pi)
            src = mic + [d * np.cos(angle), d * np.sin(angle), rng.uniform(0.3, 0.9)]
            if all(0.3 < src[i] < dims[i] - 0.3 for i in range(3)):
                break
        else:  # the room is too small for that distance: the far corner
            src = np.array([dims[0] - 0.4, dims[1] - 0.4, 1.5])
        room.add_source(src)
        arrivals.append(float(np.linalg.norm(src - mic)) / room.c)
    room.compute_rir()
    # pyroomacoustics delays every response by half its fractional-delay filter
    offset = pra.constants.get("frac_delay_length") // 2 / SAMPLE_RATE
    rirs = [np.asarray(room.rir[0][k], np.float32) for k in range(talkers)]
    desc = f"{dims[0]:.1f}x{dims[1]:.1f}x{dims[2]:.1f} m, RT60 {rt60:.2f} s"
    return rirs, [a + offset for a in arrivals], desc


def active_level_db(wave: Float32, segments: Sequence[tuple[float, float]]) -> float:
    """RMS level (dBFS) of ``wave`` inside ``segments``."""
    parts = [wave[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] for a, b in segments]
    return real.rms_dbfs(np.concatenate([p for p in parts if p.size] or [np.zeros(1, np.float32)]))


def background(paths: Sequence[Path], n: int, rng: np.random.Generator) -> Float32:
    """``n`` samples of held-out non-speech: random files, each cut at a random point, end to
    end with 50 ms fades."""
    out = np.zeros(0, np.float32)
    fade = int(0.05 * SAMPLE_RATE)
    while out.size < n:
        x = real.load(paths[int(rng.integers(len(paths)))])
        if x.size < 2 * fade or not np.any(x):
            continue
        start = int(rng.integers(max(1, x.size - (n - out.size))))
        x = x[start : start + n - out.size].copy()
        ramp = np.linspace(0, 1, min(fade, x.size // 2), dtype=np.float32)
        x[: ramp.size] *= ramp
        x[x.size - ramp.size :] *= ramp[::-1]
        out = np.concatenate([out, x])
    return out[:n]


def conversation(
    pools: Sequence[Sequence[real.Recording]],
    backgrounds: Sequence[Path],
    rng: np.random.Generator,
    name: str,
) -> real.Recording:
    """One conversation of the two pools' talkers in a random room (see the module docstring)."""
    rirs, arrivals, room = room_rirs(rng, len(pools))
    turns = int(rng.integers(TURNS[0], TURNS[1] + 1))
    placed: list[tuple[int, real.Recording, int]] = []  # talker, utterance, start sample
    t = int(rng.uniform(0.5, 1.5) * SAMPLE_RATE)
    who = int(rng.integers(len(pools)))
    for _ in range(turns):
        rec = pools[who][int(rng.integers(len(pools[who])))]
        placed.append((who, rec, t))
        t = max(placed[-1][2] + SAMPLE_RATE // 2,
                t + rec.wave.size + int(gap_s(rng) * SAMPLE_RATE))
        who = (who + 1) % len(pools)
    n = t + int(1.0 * SAMPLE_RATE) + max(r.size for r in rirs)
    speech = np.zeros(n, np.float64)
    words: list[tuple[float, float]] = []
    for k, rec, start in placed:
        wet = np.convolve(rec.wave, rirs[k])
        speech[start : start + wet.size] += wet
        shift = start / SAMPLE_RATE + arrivals[k]
        words += [(a + shift, b + shift) for a, b in rec.segments]
    segments = real.apply_convention(words)
    wave = speech.astype(np.float32)
    speech_db = active_level_db(wave, segments)
    noise = background(backgrounds, n, rng)
    noise_db = 10 * np.log10(np.mean(np.square(noise, dtype=np.float64)) + 1e-20)
    snr = float(rng.uniform(*SNR_DB))
    mix = wave + noise * np.float32(10 ** ((speech_db - snr - noise_db) / 20))
    level = float(rng.uniform(*LEVEL_DBFS))
    mix *= np.float32(10 ** ((level - active_level_db(mix, segments)) / 20))
    peak = float(np.abs(mix).max())
    if peak > 0.99:  # a loud talker near the microphone: kept under full scale
        mix *= np.float32(0.99 / peak)
        level += 20 * np.log10(0.99 / peak)
    pcm = np.round(mix * 32767) / 32767  # as a 16-bit recording holds it
    return real.Recording(name, "select", pcm.astype(np.float32), segments, "",
                          f"{room}; SNR {snr:.0f} dB; speech at {level:.0f} dBFS; labels: "
                          "word alignments shifted by the direct path")


def conversations(
    recordings: Sequence[real.Recording], backgrounds: Sequence[Path], n: int = N_CONVERSATIONS,
    seed: int = 0,
) -> list[real.Recording]:
    """``n`` conversations of the multilingual and disfluency talkers (seeded)."""
    pools = [[r for r in recordings if r.name.startswith(p)]
             for p in ("mfa_multilingual", "mfa_disfluency")]
    if not all(pools):
        raise SystemExit("rooms: both the multilingual and the disfluency clips are needed")
    if not backgrounds:
        raise SystemExit("rooms: no background files")
    rng = np.random.default_rng(seed)
    return [conversation(pools, backgrounds, rng, f"rooms_conversation_{i:02d}")
            for i in range(n)]


def background_files(folder: Path) -> list[Path]:
    """The files listed in ``folder/*.txt`` (the recipe's held-out non-speech lists)."""
    return [Path(line) for txt in sorted(folder.glob("*.txt"))
            for line in txt.read_text().split("\n") if line.strip()]


def write_rooms(out: Path, backgrounds: Sequence[Path], n: int = N_CONVERSATIONS) -> Path:
    """Write the conversations as WAV files under ``out/real_rooms`` and their manifest
    ``out/val_rooms.jsonl`` (the format of ``voicecnn train``'s ``data.val``)."""
    folder = out / "real_rooms"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for rec in conversations(real.select_recordings(), backgrounds, n):
        path = folder / f"{rec.name}.wav"
        sf.write(path, rec.wave, SAMPLE_RATE, subtype="PCM_16")
        lines.append(json.dumps({"audio": str(path), "segments": [list(s) for s in rec.segments],
                                 "name": rec.name, "note": rec.labels_from}))
    manifest = out / "val_rooms.jsonl"
    manifest.write_text("".join(f"{line}\n" for line in lines))
    return manifest


LEVEL_BANDS = ((-70.0, -45.0), (-45.0, -20.0))  # quiet and ordinary rooms, dBFS


def score_manifest(manifest: Path, out_dir: Path) -> dict[str, float | None]:
    """ROC-AUC, F1 and false alarms of one system's outputs (``out_dir``, the worker's npz
    files) on the manifest's conversations: pooled, and per band of speech level."""
    import run
    from peers.grid import GRID_HOP, segments_to_mask

    by: dict[str, tuple[list[npt.NDArray[np.bool_]], list[Float32], list[npt.NDArray[np.bool_]]]]
    by = {}
    for line in manifest.read_text().splitlines():
        rec = json.loads(line)
        data = np.load(out_dir / f"{rec['name']}.npz")
        wave, _ = sf.read(rec["audio"], dtype="float32")
        labels = segments_to_mask([tuple(s) for s in rec["segments"]], wave.size // GRID_HOP)
        n = min(labels.size, data["probs"].size)
        level = active_level_db(wave, [tuple(s) for s in rec["segments"]])
        keys = ["pooled", *(f"{lo:.0f}..{hi:.0f} dBFS" for lo, hi in LEVEL_BANDS
                           if lo <= level < hi)]
        for key in keys:
            lab, prob, dec = by.setdefault(key, ([], [], []))
            lab.append(labels[:n])
            prob.append(data["probs"][:n])
            dec.append(data["speech"][:n].astype(bool))
    out: dict[str, float | None] = {}
    for key, (lab, prob, dec) in by.items():
        y = np.concatenate(lab)
        out[f"{key} ROC-AUC"] = run.roc_auc(y, np.concatenate(prob))
        if key == "pooled":
            d = run.decision_scores(y, np.concatenate(dec))
            out["pooled F1"], out["pooled false alarms"] = d["f1"], d["fa_rate"]
    return out


def score(manifest: Path, models: Sequence[str], peers: bool) -> str:
    """Every system on the manifest's conversations, as a Markdown table."""
    import run

    lines = manifest.read_text().splitlines()
    files = {rec["name"]: rec["audio"] for rec in map(json.loads, lines)}
    root = manifest.parent / "rooms_outputs"
    root.mkdir(parents=True, exist_ok=True)
    (root / "files.json").write_text(json.dumps(files))
    rows = {}
    for system in run.systems(models, peers):
        out_dir = root / system.slug
        run.run_outputs(system, root / "files.json", out_dir, next(iter(files.values())),
                        stream_s=1, quiet=True)
        rows[system.label] = score_manifest(manifest, out_dir)
    cols = sorted({c for r in rows.values() for c in r}, key=lambda c: (not c.startswith(
        "pooled"), c))
    minutes = sum(sf.info(p).duration for p in files.values()) / 60
    return (f"{len(files)} conversations ({minutes:.1f} min); {run.machine()}\n\n"
            + run._table(["system", *cols],
                         [[k, *(run._f(r.get(c)) for c in cols)] for k, r in rows.items()],
                         align="r"))


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wr = sub.add_parser("write", help="write the conversations and their manifest")
    wr.add_argument("--out", type=Path, default=Path("~/.cache/voicecnn/default_vad"))
    wr.add_argument("--backgrounds", type=Path, default=None,
                    help="folder of lists of non-speech files (default: OUT/clips/val/nonspeech)")
    wr.add_argument("-n", type=int, default=N_CONVERSATIONS)
    sc = sub.add_parser("score", help="score systems on the conversations")
    sc.add_argument("--manifest", type=Path,
                    default=Path("~/.cache/voicecnn/default_vad/val_rooms.jsonl"))
    sc.add_argument("--model", action="append", help="voicecnn model(s): bundled name or "
                    ".safetensors path (repeatable; default: the bundled default)")
    sc.add_argument("--no-peers", action="store_true", help="voicecnn models only")
    args = parser.parse_args()
    if args.command == "score":
        print(score(args.manifest.expanduser(), args.model or ["vad_cnn2d_s"], not args.no_peers))
        return
    out = args.out.expanduser()
    files = background_files(args.backgrounds or out / "clips" / "val" / "nonspeech")
    print(f"wrote {write_rooms(out, files, args.n)}")


if __name__ == "__main__":
    main()
