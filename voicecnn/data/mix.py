"""Seedable mixing and augmentation for VAD training data.

Every function is pure: randomness comes only from the ``numpy.random.Generator`` passed in,
so a seed reproduces a mixture exactly. Waveforms are float32 mono at ``sample_rate`` Hz; frame
labels use the model's framing (frame ``t`` covers samples ``[t * hop, (t + 1) * hop)``).

Labels come from the *clean* speech (before noise and filters; before reverberation too, unless
``MixCfg.reverb_labels = "wet"``) and are tight: only gaps shorter than ``max_gap_s`` are filled,
longer pauses stay non-speech.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr
from scipy import signal

from voicecnn.detection.segments import clean_mask
from voicecnn.errors import ConfigError

__all__ = [
    "MixCfg",
    "Source",
    "babble",
    "clicks",
    "coloured_noise",
    "hum",
    "make_mixture",
    "random_crop",
    "reverberate",
    "rms_db",
    "speech_labels",
    "synthetic_rir",
    "telephone",
    "tones",
]

F32 = npt.NDArray[np.float32]
_EPS = 1e-12


@dataclass(frozen=True)
class Source:
    """One clean clip with its frame labels (all zeros for non-speech).

    Attributes:
        wave: Float32 mono samples.
        labels: Float32 frame labels, ``len(wave) // hop`` of them.
    """

    wave: F32
    labels: F32


def rms_db(wave: npt.NDArray[np.floating], mask: npt.NDArray[np.bool_] | None = None) -> float:
    """RMS level in dB (re full scale 1.0) of ``wave``, or of its samples where ``mask``."""
    x = wave if mask is None else wave[mask]
    if x.size == 0:
        return -120.0
    return float(10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)) + _EPS))


def _unit_rms(x: npt.NDArray[np.floating]) -> F32:
    """``x`` scaled to unit RMS, as float32."""
    return np.asarray(x / (np.sqrt(np.mean(x**2)) + _EPS), dtype=np.float32)


def speech_labels(
    wave: F32,
    *,
    hop: int = 160,
    sample_rate: int = 16000,
    rel_db: float = -35.0,
    abs_floor_db: float = -75.0,
    max_gap_s: float = 0.1,
    min_speech_s: float = 0.03,
) -> F32:
    """Frame labels of a clean speech clip from its energy relative to its own peak.

    A frame is speech when the energy of a 20 ms window around it is within ``rel_db`` of the
    clip's loudest frame (and above ``abs_floor_db``). Gaps shorter than ``max_gap_s`` are then
    filled and bursts shorter than ``min_speech_s`` dropped; longer pauses stay non-speech.

    Returns:
        Float32 labels in {0, 1}, shape ``(len(wave) // hop,)``.
    """
    n = len(wave) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.square(wave[: n * hop].astype(np.float64)).reshape(n, hop).mean(axis=1)
    smooth = np.convolve(frames, np.ones(2) / 2, mode="same")
    db = 10.0 * np.log10(smooth + _EPS)
    mask = (db > db.max() + rel_db) & (db > abs_floor_db)
    mask = clean_mask(
        mask,
        min_gap=max(1, round(max_gap_s * sample_rate / hop)),
        min_run=max(1, round(min_speech_s * sample_rate / hop)),
    )
    return mask.astype(np.float32)


def random_crop(src: Source, n_frames: int, rng: np.random.Generator, hop: int = 160) -> Source:
    """A random crop of at most ``n_frames`` frames, aligned to the frame grid."""
    total = len(src.labels)
    if total <= n_frames:
        return Source(src.wave[: total * hop], src.labels)
    t0 = int(rng.integers(0, total - n_frames + 1))
    return Source(src.wave[t0 * hop : (t0 + n_frames) * hop], src.labels[t0 : t0 + n_frames])


def coloured_noise(n: int, rng: np.random.Generator, exponent: float) -> F32:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown, -1 blue).

    Normalised to unit RMS.
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-exponent / 2.0)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return _unit_rms(x)


def hum(n: int, rng: np.random.Generator, sample_rate: int = 16000) -> F32:
    """Mains hum or machine drone: a 50/60 Hz (or random) fundamental with decaying harmonics."""
    f0 = float(rng.choice([50.0, 60.0, rng.uniform(80.0, 400.0)]))
    t = np.arange(n) / sample_rate
    x = np.zeros(n)
    for k in range(1, int(rng.integers(2, 12))):
        if f0 * k >= sample_rate / 2:
            break
        x += rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
    x += 0.05 * rng.standard_normal(n)
    return _unit_rms(x)


def tones(n: int, rng: np.random.Generator, sample_rate: int = 16000) -> F32:
    """Beeps, dual tones (DTMF-like) and sweeps switched on and off at random."""
    t = np.arange(n) / sample_rate
    kind = int(rng.integers(0, 3))
    if kind == 0:
        x = np.sin(2 * np.pi * rng.uniform(300, 4000) * t)
    elif kind == 1:
        x = np.sin(2 * np.pi * rng.uniform(600, 1700) * t) + np.sin(
            2 * np.pi * rng.uniform(600, 1700) * t
        )
    else:
        f = rng.uniform(100, 1000) * np.exp(t * rng.uniform(-1.0, 1.0))
        x = np.sin(2 * np.pi * np.cumsum(f) / sample_rate)
    period = int(rng.uniform(0.1, 2.0) * sample_rate)
    duty = rng.uniform(0.2, 1.0)
    gate = (np.arange(n) % period) < duty * period
    x = x * gate
    return _unit_rms(x)


def clicks(n: int, rng: np.random.Generator, sample_rate: int = 16000) -> F32:
    """Impulsive knocks and handling noise: short decaying filtered bursts at random times."""
    x = np.zeros(n)
    for _ in range(int(rng.integers(1, 12))):
        length = int(rng.uniform(0.005, 0.15) * sample_rate)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 5))
        lo = rng.uniform(50, 2000)
        sos = signal.butter(
            2,
            [lo, min(lo * rng.uniform(2, 8), sample_rate / 2 - 100)],
            btype="band",
            fs=sample_rate,
            output="sos",
        )
        burst = signal.sosfilt(sos, burst) * rng.uniform(0.1, 1.0)
        at = int(rng.integers(0, max(1, n - length)))
        x[at : at + length] += burst[: n - at]
    return _unit_rms(x)


def babble(speech: Sequence[Source], n: int, rng: np.random.Generator, n_talkers: int = 6) -> F32:
    """Crowd babble: ``n_talkers`` random speech crops summed at random levels, unit RMS."""
    x = np.zeros(n, dtype=np.float64)
    for _ in range(n_talkers):
        src = speech[int(rng.integers(len(speech)))]
        if len(src.wave) == 0:
            continue
        w = np.resize(src.wave, n)  # tile short clips
        w = np.roll(w, int(rng.integers(n)))
        x += w / (np.sqrt(np.mean(w.astype(np.float64) ** 2)) + _EPS) * rng.uniform(0.3, 1.0)
    return _unit_rms(x)


def synthetic_rir(
    rng: np.random.Generator,
    sample_rate: int = 16000,
    rt60_s: tuple[float, float] = (0.15, 1.0),
    drr_db: tuple[float, float] = (-6.0, 12.0),
) -> F32:
    """A room impulse response: a direct path, early reflections and an exponential tail.

    The tail is noise decaying by 60 dB over a random RT60, low-passed more as it decays; the
    direct-to-reverberant ratio sets how distant the talker sounds (low DRR = far-field).
    """
    rt60 = rng.uniform(*rt60_s)
    n = int(min(rt60, 2.0) * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    sos = signal.butter(1, rng.uniform(2000, 7000), fs=sample_rate, output="sos")
    tail = signal.sosfilt(sos, tail)
    for _ in range(int(rng.integers(2, 8))):  # a few discrete early reflections
        at = int(rng.uniform(0.002, 0.04) * sample_rate)
        if at < n:
            tail[at] += rng.uniform(-0.5, 0.5) * np.exp(-6.9 * at / sample_rate / rt60) * 5
    tail[0] = 0.0
    tail_energy = np.sum(tail**2) + _EPS
    direct = np.sqrt(tail_energy * 10 ** (rng.uniform(*drr_db) / 10))
    rir = tail
    rir[0] = direct
    return np.asarray(rir / np.sqrt(np.sum(rir**2)), dtype=np.float32)


def reverberate(wave: F32, rir: F32, *, tail: bool = False) -> F32:
    """Convolve with ``rir`` (aligned on its strongest tap), keeping the RMS.

    The result has the length of ``wave``, or with ``tail`` also the reverberation that rings on
    after its end (``len(rir) - 1`` samples past the strongest tap). The RMS over the span of
    ``wave`` is kept either way.
    """
    if len(wave) == 0:
        return wave
    lag = int(np.argmax(np.abs(rir)))
    y = signal.fftconvolve(wave, rir)[lag : None if tail else lag + len(wave)]
    span = y[: len(wave)]
    gain = np.sqrt((np.mean(wave.astype(np.float64) ** 2) + _EPS) / (np.mean(span**2) + _EPS))
    return np.asarray(y * gain, dtype=np.float32)


def telephone(wave: F32, rng: np.random.Generator, sample_rate: int = 16000) -> F32:
    """Telephone channel: 300-3400 Hz band-pass, 8 kHz down/up-sampling, optional mu-law."""
    sos = signal.butter(
        4,
        [rng.uniform(200, 400), rng.uniform(3200, 3500)],
        btype="band",
        fs=sample_rate,
        output="sos",
    )
    y = signal.sosfilt(sos, wave).astype(np.float32)
    y8 = soxr.resample(y, sample_rate, 8000)
    if rng.random() < 0.5:
        mu = 255.0
        peak = np.max(np.abs(y8)) + _EPS
        q = np.sign(y8) * np.log1p(mu * np.abs(y8 / peak)) / np.log1p(mu)
        q = np.round(q * 127) / 127
        y8 = (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu * peak).astype(np.float32)
    y = soxr.resample(y8, 8000, sample_rate)
    out = np.zeros(len(wave), dtype=np.float32)
    m = min(len(y), len(wave))
    out[:m] = y[:m]
    return out


@dataclass(frozen=True)
class MixCfg:
    """Probabilities and ranges of :func:`make_mixture`.

    Attributes:
        seconds: Mixture length.
        hop: Samples per label frame.
        sample_rate: Sample rate.
        p_speech: Chance that a mixture contains speech at all.
        max_utterances: Most speech crops placed in one mixture (they may overlap).
        snr_db: Speech-to-background range (speech RMS over its active samples).
        p_clean: Chance that a speech mixture is a clean recording instead: the background
            sits ``clean_snr_db`` below the speech, under the clips' own low-level tails and
            floors (which their labels call non-speech), as in studio or close-talk audio.
        clean_snr_db: Speech-to-background range of those clean mixtures.
        level_dbfs: Overall mixture RMS range after everything (quiet levels included).
        p_floor: Chance of a recording chain's noise floor added after the level is set: a
            mixture brought down to -70 dBFS keeps the hiss a real quiet recording has instead
            of falling into silence.
        floor_dbfs: RMS range of that floor (coloured noise), in dB relative to full scale.
        label_db: How far below an utterance's loudest frame (within its crop) its speech labels
            reach (positive dB); frames further down are non-speech. At 35 the clips' own labels
            are kept as they are (they use 35 dB); fewer dB end speech sooner, leaving breaths
            and decays out.
        p_real_bg: Chance of a real non-speech background.
        p_synth_bg: Chance of a synthetic background (coloured noise, hum, tones, clicks).
        p_babble: Chance of low-level babble under the speech.
        babble_below_db: How far below the speech the babble sits.
        p_reverb: Chance of reverberating each utterance (synthetic or real RIR).
        rt60_s: Reverberation time range of the synthetic rooms (the RIR stops at 2 s).
        reverb_tails: Keep the reverberation that rings on after an utterance's crop ends
            instead of cutting it with the crop.
        reverb_labels: Labels of a reverberated utterance: ``"dry"``, those of the dry speech
            (every bit of reverberation is non-speech), or ``"wet"``, those plus the frames of
            the reverberant speech within ``wet_label_db`` of its loudest
            (:func:`speech_labels`; at the default 35 dB, the rule the dry clips are labelled
            by, so a room's tail counts as speech as long as a clip's own recorded
            reverberation would; fewer dB end the wet labels sooner in the decay).
        wet_label_db: How far below the reverberant utterance's loudest frame ``"wet"``
            labels reach (positive dB).
        p_real_rir: Among reverberated utterances, chance of using a real RIR.
        p_telephone: Chance of the telephone channel on the whole mixture.
    """

    seconds: float = 4.0
    hop: int = 160
    sample_rate: int = 16000
    p_speech: float = 0.75
    max_utterances: int = 3
    snr_db: tuple[float, float] = (-5.0, 30.0)
    p_clean: float = 0.0
    clean_snr_db: tuple[float, float] = (40.0, 70.0)
    level_dbfs: tuple[float, float] = (-55.0, -12.0)
    p_floor: float = 0.0
    floor_dbfs: tuple[float, float] = (-90.0, -65.0)
    label_db: float = 35.0
    p_real_bg: float = 0.85
    p_synth_bg: float = 0.4
    p_babble: float = 0.1
    babble_below_db: tuple[float, float] = (12.0, 30.0)
    p_reverb: float = 0.5
    rt60_s: tuple[float, float] = (0.15, 1.0)
    reverb_tails: bool = False
    reverb_labels: str = "dry"
    wet_label_db: float = 35.0
    p_real_rir: float = 0.15
    p_telephone: float = 0.15

    def __post_init__(self) -> None:
        if self.reverb_labels not in ("dry", "wet"):
            raise ConfigError(f"augment.reverb_labels = {self.reverb_labels!r}: use 'dry' or 'wet'")
        if not 0.0 < self.wet_label_db <= 80.0:
            raise ConfigError(
                f"augment.wet_label_db = {self.wet_label_db!r}: use a number of dB in (0, 80]"
            )
        if not 0.0 < self.label_db <= 80.0:
            raise ConfigError(
                f"augment.label_db = {self.label_db!r}: use a number of dB in (0, 80]"
            )

    @property
    def n_frames(self) -> int:
        """Label frames per mixture."""
        return int(round(self.seconds * self.sample_rate / self.hop))


def _synthetic_background(n: int, rng: np.random.Generator, sample_rate: int) -> F32:
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return coloured_noise(n, rng, float(rng.uniform(-1.0, 2.0)))
    if kind == 1:
        return hum(n, rng, sample_rate)
    if kind == 2:
        return tones(n, rng, sample_rate)
    return clicks(n, rng, sample_rate)


def _place(canvas: npt.NDArray[np.float64], clip: F32, at: int) -> None:
    """Add ``clip`` into ``canvas`` starting at sample ``at`` (truncated at the end)."""
    m = min(len(clip), len(canvas) - at)
    canvas[at : at + m] += clip[:m]


def _pick(
    groups: Sequence[Sequence[Source]], weights: Sequence[float] | None, rng: np.random.Generator
) -> Source:
    """A group by weight (uniform when ``None``), then a clip of it uniformly."""
    if weights is None:
        group = groups[int(rng.integers(len(groups)))]
    else:
        p = np.asarray(weights, dtype=np.float64)
        group = groups[int(rng.choice(len(groups), p=p / p.sum()))]
    return group[int(rng.integers(len(group)))]


def _background(
    negatives: Sequence[Sequence[Source]],
    weights: Sequence[float] | None,
    n: int,
    rng: np.random.Generator,
    cfg: MixCfg,
) -> npt.NDArray[np.float64]:
    """Sum of a real negative crop (tiled if short) and/or a synthetic one, unit RMS (or zeros)."""
    bg = np.zeros(n)
    if negatives and rng.random() < cfg.p_real_bg:
        src = _pick(negatives, weights, rng)
        crop = random_crop(src, n // cfg.hop, rng, cfg.hop).wave
        if len(crop) and rng.random() < 0.5 and len(crop) < n:
            crop = np.resize(crop, n)
        if len(crop):
            _place(bg, crop, int(rng.integers(0, n - len(crop) + 1)))
        bg /= np.sqrt(np.mean(bg**2)) + _EPS
    if rng.random() < cfg.p_synth_bg or not bg.any():
        synth = _synthetic_background(n, rng, cfg.sample_rate) * 10 ** (
            rng.uniform(-25.0, 5.0) / 20
        )
        bg += synth
    return bg


def make_mixture(
    speech: Sequence[Sequence[Source]],
    negatives: Sequence[Sequence[Source]],
    rng: np.random.Generator,
    cfg: MixCfg,
    rirs: Sequence[F32] = (),
    speech_weights: Sequence[float] | None = None,
    negative_weights: Sequence[float] | None = None,
) -> tuple[F32, F32]:
    """One training mixture: speech crops at random offsets over a background.

    Args:
        speech: Groups of clean speech sources (a group is picked by weight, then a clip).
        negatives: Groups of non-speech sources (labels ignored).
        rng: Random generator; the only source of randomness.
        cfg: Mixing settings.
        rirs: Real room impulse responses to draw from (besides synthetic ones).
        speech_weights: Sampling weight of each speech group (``None``: uniform).
        negative_weights: Sampling weight of each negative group (``None``: uniform).

    Returns:
        ``(wave, labels)``: float32 samples in [-1, 1] of ``cfg.n_frames * cfg.hop`` samples and
        float32 frame labels of ``cfg.n_frames`` frames.
    """
    t_total = cfg.n_frames
    n = t_total * cfg.hop
    labels = np.zeros(t_total, dtype=np.float32)
    fg = np.zeros(n)
    if speech and rng.random() < cfg.p_speech:
        for i in range(int(rng.integers(1, cfg.max_utterances + 1))):
            src = _pick(speech, speech_weights, rng)
            want = int(rng.integers(max(1, t_total // 8), t_total + 1))
            crop = random_crop(src, want, rng, cfg.hop)
            if not crop.labels.any():
                continue
            t0 = int(rng.integers(0, t_total - len(crop.labels) + 1))
            wave = crop.wave.astype(np.float32)
            utt = crop.labels
            # label_db draws nothing: mixtures of other configs stay as they were
            if cfg.label_db < 35.0:
                tight = speech_labels(
                    wave, hop=cfg.hop, sample_rate=cfg.sample_rate, rel_db=-cfg.label_db
                )
                utt = np.minimum(utt, tight[: len(utt)])
                if not utt.any():
                    continue
            if rng.random() < cfg.p_reverb:
                use_real = rirs and rng.random() < cfg.p_real_rir
                rir = (
                    rirs[int(rng.integers(len(rirs)))]
                    if use_real
                    else synthetic_rir(rng, cfg.sample_rate, cfg.rt60_s)
                )
                wave = reverberate(wave, rir, tail=cfg.reverb_tails)
                if cfg.reverb_labels == "wet":
                    wet = speech_labels(
                        wave, hop=cfg.hop, sample_rate=cfg.sample_rate, rel_db=-cfg.wet_label_db
                    )
                    utt = np.maximum(np.pad(utt, (0, len(wet) - len(utt))), wet)
            active = np.zeros(len(wave), dtype=bool)  # a tail past the labels is not speech
            active[: len(utt) * cfg.hop] = np.repeat(utt > 0, cfg.hop)
            level = rms_db(wave, active)
            gain_db = (0.0 if i == 0 else rng.uniform(-10.0, 0.0)) - level
            _place(fg, wave * 10 ** (gain_db / 20), t0 * cfg.hop)
            span = utt[: t_total - t0]
            labels[t0 : t0 + len(span)] = np.maximum(labels[t0 : t0 + len(span)], span)
    bg = _background(negatives, negative_weights, n, rng, cfg)
    if labels.any():
        active = np.repeat(labels > 0, cfg.hop)
        speech_db = rms_db(fg, active)
        bg_db = rms_db(bg)
        # p_clean draws only when set, so mixtures of configs without it stay as they were
        clean = cfg.p_clean > 0 and rng.random() < cfg.p_clean
        snr_db = rng.uniform(*(cfg.clean_snr_db if clean else cfg.snr_db))
        bg *= 10 ** ((speech_db - snr_db - bg_db) / 20)
        if not clean and rng.random() < cfg.p_babble:
            bab = babble(speech[int(rng.integers(len(speech)))], n, rng)
            fg += bab * 10 ** ((speech_db - rng.uniform(*cfg.babble_below_db)) / 20)
    x = (fg + bg).astype(np.float32)
    if rng.random() < cfg.p_telephone:
        x = telephone(x, rng, cfg.sample_rate)
    x *= 10 ** ((rng.uniform(*cfg.level_dbfs) - rms_db(x)) / 20)
    # p_floor draws only when set, so mixtures of configs without it stay as they were
    if cfg.p_floor > 0 and rng.random() < cfg.p_floor:
        floor = coloured_noise(n, rng, float(rng.uniform(0.0, 1.5)))
        x = x + floor * np.float32(10 ** (rng.uniform(*cfg.floor_dbfs) / 20))
    return np.clip(x, -1.0, 1.0).astype(np.float32), labels
