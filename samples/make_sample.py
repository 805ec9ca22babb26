"""Rebuild samples/speech_over_noise.flac and its reference labels from ../shared/data.

Two LibriSpeech test-other utterances (speakers 1688 and 3005, CC BY 4.0) are placed over the
Speech Commands "doing the dishes" background noise (CC BY 4.0) at about 10 dB SNR, with silent
stretches between them. The reference speech segments come from the clean speech's energy
(``voicecnn.data.mix.speech_labels``, the labels the training recipe uses).

Usage: python samples/make_sample.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from voicecnn.data.mix import speech_labels

RATE = 16000
HOP = 160


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).parents[1] / ".." / "shared" / "data"
    parser.add_argument("--shared", type=Path, default=default)
    args = parser.parse_args()
    root = args.shared
    utts = [
        root / "speech/librispeech/test-other/1688-142285-0004.flac",
        root / "speech/librispeech/test-other/3005-163389-0002.flac",
    ]
    noise, rate = sf.read(root / "nonspeech/noise/doing_the_dishes.flac", dtype="float32")
    assert rate == RATE
    layout = [1.2, 1.5, 1.3]  # seconds of background before, between and after the utterances
    parts: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for i, gap in enumerate(layout):
        parts.append(np.zeros(int(gap * RATE), np.float32))
        labels.append(np.zeros(int(gap * RATE) // HOP, bool))
        if i < len(utts):
            speech, rate = sf.read(utts[i], dtype="float32")
            assert rate == RATE
            speech = speech[: speech.size // HOP * HOP]
            parts.append(speech / np.abs(speech).max() * 0.5)
            labels.append(speech_labels(speech).astype(bool))
    clean = np.concatenate(parts)
    active = np.concatenate(labels)
    bg = noise[10 * RATE : 10 * RATE + clean.size]
    speech_power = (clean[np.repeat(active, HOP)] ** 2).mean()
    bg = bg * np.sqrt(speech_power / (bg**2).mean() / 10 ** (10 / 10))
    mix = (clean + bg).astype(np.float32)
    out = Path(__file__).parent
    sf.write(out / "speech_over_noise.flac", mix, RATE, subtype="PCM_16")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(int), [0]])))
    segs = [{"start": a * HOP / RATE, "end": b * HOP / RATE} for a, b in edges.reshape(-1, 2)]
    meta = {
        "audio": "speech_over_noise.flac",
        "duration_s": mix.size / RATE,
        "sources": [
            *(str(p.relative_to(root)) for p in utts), "nonspeech/noise/doing_the_dishes.flac"
        ],
        "licence": "CC BY 4.0 (LibriSpeech; Speech Commands background noise)",
        "snr_db": 10,
        "speech": segs,
    }
    (out / "speech_over_noise.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {mix.size / RATE:.2f} s, {len(segs)} reference segments")


if __name__ == "__main__":
    main()
