"""Real recordings with speech labels made independently of any energy rule.

The validation that predicts real-world quality: real recordings (``shared/data`` §6), labelled
from human utterance annotations, forced alignments of their transcripts, or the boundaries of
the pieces they were concatenated from, never from the signal's energy. Each recording belongs to
one of two parts, split by source and speaker:

``test`` (the benchmark's ``real*`` sets; no recipe reads them)
  mfa_conversation  a two-speaker conversation (52 s, the two channels mixed down), utterance
                    intervals annotated by the Montreal Forced Aligner maintainers
  mfa_read          three read recordings with hesitations (77 s, one speaker, healthy and with a
                    cold), word intervals force-aligned by MFA
  voices_farfield   one LibriSpeech utterance replayed in a real room and recorded by four
                    microphones (close to wall-mounted) with babble, music or TV playing (VOiCES);
                    words aligned by pocketsphinx on the close microphone
  ina_musanmix      music, noise, then read speech, concatenated (MUSAN); the pieces' boundaries
                    and pauses from inaSpeechSegmenter's reference segmentation
``select`` (checkpoint selection: ``python bench/real.py select --out DIR``)
  mfa_multilingual  ten utterances of two other speakers (US and UK English), words aligned by
                    pocketsphinx
  mfa_disfluency    short clips of "montreal forced aligner" said with breaths, laughs,
                    hesitations, internal silences, whisper, creak; words aligned by pocketsphinx

Label convention (what an annotator marking speech would follow):

1. Speech runs from the start of a word's first sound to the end of its last one (a stop's
   release and a fricative's hiss included; the room's reverberation after it is not).
2. Filled pauses ("um", "uh") and hesitated or cut-off words are speech.
3. A silence between words of 100 ms or more is non-speech (a pause); a shorter gap (a stop
   closure, the joint between two words) belongs to the speech around it.
4. Breaths, laughter, coughs, lip smacks and background sounds outside words are non-speech,
   also when they come from the talker; an overlap of talkers is speech.
5. Frame ``t`` (10 ms) is speech when its centre lies inside a speech interval.

Levels: every test recording is scored as recorded (set ``real``), 20 dB quieter (``real_m20``)
and 20 dB louder (``real_p20``, clipped at full scale as an overdriven input would be), with the
same labels: a detector whose decisions depend on the input level loses on one of them.

    python bench/real.py list                  # the recordings and their speech share
    python bench/real.py select --out DIR      # DIR/val_select.jsonl + level copies (training)
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

SAMPLE_RATE = 16000


def _find_shared() -> Path:
    """``shared/data`` beside the checkout (or beside a folder above it: worktrees)."""
    for folder in Path(__file__).resolve().parents[1:]:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED = _find_shared()
MFA = SHARED / "speech" / "mfa_tests"
VOICES = SHARED / "speech" / "voices_farfield"
INA = SHARED / "mixed" / "ina_musanmix"
MIN_PAUSE_S = 0.1  # rule 3: shorter silences between words are speech
LEVELS_DB = {"": 0.0, "_m20": -20.0, "_p20": 20.0}  # set-name suffix -> gain
# Words of the disfluency transcripts that are not words (rule 4) or mark a hesitation.
NONWORD = re.compile(r"^\[.*\]$")
HESITATION = re.compile(r"^<hes-(.*)>$")

Float32 = npt.NDArray[np.float32]
Segments = list[tuple[float, float]]


@dataclass(frozen=True)
class Recording:
    """One real recording and its speech intervals.

    Attributes:
        name: Unique name, prefixed by its source (``mfa_read_cold_corpus``).
        part: ``"test"`` or ``"select"``.
        wave: 16 kHz mono float32 audio, as recorded.
        segments: Speech intervals in seconds, sorted and disjoint.
        source: Path of the audio file.
        labels_from: How the intervals were made.
    """

    name: str
    part: str
    wave: Float32
    segments: Segments
    source: str
    labels_from: str


def load(path: Path) -> Float32:
    """A file as float32 mono at 16 kHz (channels mixed down)."""
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = x.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def apply_convention(words: Segments, min_pause_s: float = MIN_PAUSE_S) -> Segments:
    """Word (or utterance) intervals -> speech intervals: overlaps merged, gaps shorter than
    ``min_pause_s`` bridged (rule 3)."""
    out: list[list[float]] = []
    for start, end in sorted(words):
        if end <= start:
            continue
        if out and start - out[-1][1] < min_pause_s - 1e-6:  # 1e-6: float times
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def textgrid_words(path: Path, tier: str | None = None) -> Segments:
    """Non-empty intervals of one interval tier of a Praat TextGrid (every tier: their union)."""
    from voicecnn.data.annotations import read_textgrid

    return [(s.start, s.end) for s in read_textgrid(path, tier)]


def align_words(wave: Float32, transcript: str) -> Segments:
    """Word intervals of ``transcript`` in ``wave`` by pocketsphinx forced alignment (US English
    acoustic model; silences, breaths and noises fall in its silence and filler units).

    Raises:
        SystemExit: pocketsphinx missing, or a word not in its dictionary.
    """
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise SystemExit("forced alignment needs pocketsphinx: pip install pocketsphinx") from None
    pcm = (np.clip(wave, -1, 1) * 32767).astype(np.int16)
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    transcript = " ".join(_known(decoder, w) for w in transcript.split())
    try:
        decoder.set_align_text(transcript)
    except RuntimeError as e:
        raise SystemExit(f"cannot align {transcript!r}: {e}") from None
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    words = []
    for seg in decoder.seg() or []:
        word = seg.word.split("(")[0]
        if word.startswith(("<", "[")) or word in ("sil", "+noise+"):
            continue
        words.append((seg.start_frame / 100, (seg.end_frame + 1) / 100))
    if not words:
        raise SystemExit(f"pocketsphinx aligned no word of {transcript!r}")
    return words


def _known(decoder: object, word: str) -> str:
    """``word``, or two dictionary words it is made of (``overwatch`` -> ``over watch``);
    the word itself when no split is known (the alignment then fails and says so)."""
    lookup = decoder.lookup_word  # type: ignore[attr-defined]
    if lookup(word) is not None:
        return word
    for cut in range(2, len(word) - 1):
        if lookup(word[:cut]) is not None and lookup(word[cut:]) is not None:
            return f"{word[:cut]} {word[cut:]}"
    return word


def _transcript_words(text: str) -> str:
    """A disfluency transcript as plain words: bracketed noises dropped, hesitations kept."""
    out = []
    for tok in text.lower().split():
        if NONWORD.match(tok):
            continue
        hes = HESITATION.match(tok)
        out.append(hes.group(1) if hes else tok)
    return " ".join(out)


def test_recordings() -> list[Recording]:
    """The ``test`` part: conversation, read speech, far-field, music/noise/speech mixture."""
    out = []
    conv = MFA / "conversation_2spk" / "michaelandsickmichael"
    turns = textgrid_words(conv.with_suffix(".TextGrid"))
    out.append(Recording("mfa_conversation", "test", load(conv.with_suffix(".wav")),
                         apply_convention(turns), str(conv.with_suffix(".wav")),
                         "utterance intervals of the two speakers' TextGrid tiers"))
    for tg in sorted((MFA / "read_wordaligned").glob("*.TextGrid")):
        words = textgrid_words(tg, "words")
        out.append(Recording(f"mfa_read_{tg.stem}", "test", load(tg.with_suffix(".wav")),
                             apply_convention(words), str(tg.with_suffix(".wav")),
                             "MFA word alignment (TextGrid tier 'words')"))
    with (VOICES / "transcripts.csv").open() as f:
        text = {r["fileName"]: r["trnscrpt"].strip() for r in csv.DictReader(f)}
    wavs = sorted(VOICES.glob("*.wav"))
    close = next(p for p in wavs if "-none-" in p.name)
    words = apply_convention(align_words(load(close), text[close.stem]))
    for path in wavs:
        parts = path.stem.split("-")  # ...-rm1-babb-...-mc12-lav-wal-dg090
        kind, mic = parts[4], parts[8:11]  # none / babb / musi / tele; microphone, place
        out.append(Recording(f"voices_farfield_{kind}_{'_'.join(mic)}", "test", load(path),
                             words, str(path),
                             "pocketsphinx word alignment of the close microphone's recording"))
    rows = list(csv.DictReader((INA / "musanmix-smn-gender.csv").open(), delimiter="\t"))
    speech = [(float(r["start"]), float(r["stop"])) for r in rows
              if r["labels"] in ("male", "female")]
    out.append(Recording("ina_musanmix", "test", load(INA / "musanmix.wav"),
                         apply_convention(speech), str(INA / "musanmix.wav"),
                         "inaSpeechSegmenter's reference segmentation (speech rows)"))
    return out


def select_recordings() -> list[Recording]:
    """The ``select`` part: other speakers and sources than the test part."""
    out = []
    for lab in sorted((MFA / "multilingual_ipa").glob("*.lab")):
        wave = load(lab.with_suffix(".flac"))
        try:
            words = align_words(wave, lab.read_text().strip().lower())
        except SystemExit as e:  # an out-of-dictionary word: the clip is left out
            print(f"left out {lab.stem}: {e}", file=sys.stderr)
            continue
        out.append(Recording(f"mfa_multilingual_{lab.stem}", "select", wave,
                             apply_convention(words), str(lab.with_suffix(".flac")),
                             "pocketsphinx word alignment of the transcript"))
    for lab in sorted((MFA / "disfluency_laugh_breath").glob("*.lab")):
        text = _transcript_words(lab.read_text())
        if not text:
            continue
        wave = load(lab.with_suffix(".flac"))
        try:
            words = align_words(wave, text)
        except SystemExit as e:  # an out-of-dictionary word: the clip is left out
            print(f"left out {lab.stem}: {e}", file=sys.stderr)
            continue
        out.append(Recording(f"mfa_disfluency_{lab.stem}", "select", wave,
                             apply_convention(words), str(lab.with_suffix(".flac")),
                             "pocketsphinx word alignment of the transcript"))
    return out


def rms_dbfs(x: npt.NDArray[np.floating[Any]]) -> float:
    """RMS level of ``x`` in dBFS (-200 for silence)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def at_level(wave: Float32, gain_db: float) -> Float32:
    """``wave`` scaled by ``gain_db``, clipped at full scale."""
    return np.clip(wave * np.float32(10 ** (gain_db / 20)), -1.0, 1.0).astype(np.float32)


def write_select(out: Path) -> Path:
    """Write the ``select`` recordings at the three levels as WAV files under ``out/real_select``
    and their manifest ``out/val_select.jsonl`` (one line per file and level; the format of
    ``voicecnn train``'s ``data.val``); return the manifest's path."""
    folder = out / "real_select"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for rec in select_recordings():
        for suffix, gain in LEVELS_DB.items():
            path = folder / f"{rec.name}{suffix}.wav"
            sf.write(path, at_level(rec.wave, gain), SAMPLE_RATE, subtype="PCM_16")
            lines.append(json.dumps({"audio": str(path), "segments": [list(s) for s in
                                                                      rec.segments],
                                     "name": f"{rec.name}{suffix}"}))
    manifest = out / "val_select.jsonl"
    manifest.write_text("".join(f"{line}\n" for line in lines))
    return manifest


def main() -> None:
    """``list`` the recordings, or write the ``select`` part for training."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print every recording with its speech share")
    sel = sub.add_parser("select", help="write the checkpoint-selection manifest")
    sel.add_argument("--out", type=Path, default=Path("~/.cache/voicecnn/default_vad"))
    args = parser.parse_args()
    if args.command == "select":
        print(f"wrote {write_select(args.out.expanduser())}")
        return
    for rec in test_recordings() + select_recordings():
        dur = rec.wave.size / SAMPLE_RATE
        share = sum(b - a for a, b in rec.segments) / dur
        peak = 20 * np.log10(np.abs(rec.wave).max() + 1e-12)
        print(f"{rec.part:6s} {rec.name:44s} {dur:5.1f} s  speech {share:4.0%}  "
              f"{len(rec.segments):3d} segments  peak {peak:5.1f} dBFS")


if __name__ == "__main__":
    main()
