"""The mixer behind VAD training data: labels, levels and the clean-recording option."""

from __future__ import annotations

import numpy as np
import pytest

from voicecnn.data.mix import (
    MixCfg,
    Source,
    hum,
    make_mixture,
    melody,
    reverberate,
    rms_db,
    speech_labels,
    synthetic_rir,
)
from voicecnn.errors import ConfigError

SR, HOP = 16000, 160


def burst(rng: np.random.Generator) -> Source:
    """0.5 s of silence, 1 s of a voiced-like harmonic tone, 0.5 s of silence, with labels."""
    t = np.arange(SR) / SR
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    tone *= 1 + 0.01 * rng.standard_normal(SR)
    wave = np.concatenate([np.zeros(SR // 2), 0.3 * tone, np.zeros(SR // 2)]).astype(np.float32)
    return Source(wave, speech_labels(wave))


def ending(rng: np.random.Generator) -> Source:
    """The burst cut where the tone ends: a crop of it ends with the speech."""
    dry = burst(rng)
    return Source(dry.wave[: 3 * SR // 2], dry.labels[:150])


def white(rng: np.random.Generator) -> Source:
    wave = (0.1 * rng.standard_normal(4 * SR)).astype(np.float32)
    return Source(wave, np.zeros(len(wave) // HOP, np.float32))


def quiet_cfg(**kw: object) -> MixCfg:
    """One dry utterance over a real background at a fixed level: only the SNR varies."""
    base: dict[str, object] = {
        "p_speech": 1.0,
        "max_utterances": 1,
        "level_dbfs": (-20.0, -20.0),
        "p_real_bg": 1.0,
        "p_synth_bg": 0.0,
        "p_babble": 0.0,
        "p_reverb": 0.0,
        "p_telephone": 0.0,
    }
    return MixCfg(**(base | kw))  # type: ignore[arg-type]


def speech_to_background_db(wave: np.ndarray, labels: np.ndarray) -> float:
    active = np.repeat(labels > 0, HOP)
    return rms_db(wave, active) - rms_db(wave, ~active)


def test_speech_labels_follow_the_burst() -> None:
    src = burst(np.random.default_rng(0))
    on = np.flatnonzero(src.labels)
    assert src.labels.shape == (200,)
    assert abs(on[0] - 50) <= 1 and abs(on[-1] - 149) <= 1
    assert src.labels[on[0] : on[-1] + 1].all()


@pytest.mark.parametrize(
    ("cfg", "expected_db"),
    [
        (quiet_cfg(snr_db=(10.0, 10.0)), 10.4),  # speech + background over background alone
        (quiet_cfg(snr_db=(10.0, 10.0), p_clean=1.0, clean_snr_db=(50.0, 50.0)), 50.0),
    ],
)
def test_background_sits_at_the_drawn_snr(cfg: MixCfg, expected_db: float) -> None:
    rng = np.random.default_rng(1)
    speech, noise = [[burst(rng)]], [[white(rng)]]
    for seed in range(5):
        wave, labels = make_mixture(speech, noise, np.random.default_rng(seed), cfg)
        assert 0 < labels.sum() <= speech[0][0].labels.sum()  # the burst, or a crop of it
        assert speech_to_background_db(wave, labels) == pytest.approx(expected_db, abs=0.5)
        assert rms_db(wave) == pytest.approx(-20.0, abs=0.01)


def test_clean_share_follows_p_clean() -> None:
    rng = np.random.default_rng(2)
    speech, noise = [[burst(rng)]], [[white(rng)]]
    cfg = quiet_cfg(snr_db=(0.0, 20.0), p_clean=0.3, clean_snr_db=(45.0, 60.0))
    ratios = []
    for seed in range(200):
        wave, labels = make_mixture(speech, noise, np.random.default_rng(seed), cfg)
        ratios.append(speech_to_background_db(wave, labels))
    clean = np.asarray(ratios) > 40.0
    assert 0.2 < clean.mean() < 0.4
    assert not np.any((np.asarray(ratios) > 21.0) & ~clean)  # nothing between the two ranges


def test_mixtures_repeat_from_their_seed() -> None:
    rng = np.random.default_rng(3)
    speech, noise = [[burst(rng)]], [[white(rng)]]
    cfg = MixCfg(p_clean=0.5)
    a = make_mixture(speech, noise, np.random.default_rng(7), cfg)
    b = make_mixture(speech, noise, np.random.default_rng(7), cfg)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def _pitch_span(wave: np.ndarray) -> tuple[float, float]:
    """Share of pitched frames and the 10-90 % span of their pitch in semitones (pYIN)."""
    librosa = pytest.importorskip("librosa")
    f0, voiced, _ = librosa.pyin(wave, fmin=60, fmax=1500, sr=SR, frame_length=1024,
                                 hop_length=320)
    semis = 12 * np.log2(f0[voiced])
    return float(voiced.mean()), float(np.percentile(semis, 90) - np.percentile(semis, 10))


def test_melody_is_a_pitched_lead_that_moves() -> None:
    for seed in range(3):
        x = melody(3 * SR, np.random.default_rng(seed))
        assert x.dtype == np.float32 and x.shape == (3 * SR,) and np.isfinite(x).all()
        assert rms_db(x) == pytest.approx(0.0, abs=0.01)
        np.testing.assert_array_equal(x, melody(3 * SR, np.random.default_rng(seed)))
        pitched, span = _pitch_span(x)
        assert pitched > 0.5 and span > 3.0  # a tune, not a held tone
    pitched, span = _pitch_span(hum(3 * SR, np.random.default_rng(0)))
    assert pitched > 0.5 and span < 1.0  # the check tells the two apart
    at_8k = melody(8000, np.random.default_rng(0), sample_rate=8000)
    assert at_8k.shape == (8000,) and np.isfinite(at_8k).all()


def test_p_melody_adds_a_lead_to_the_background_only() -> None:
    rng = np.random.default_rng(4)
    speech, noise = [[burst(rng)]], [[white(rng)]]
    plain = quiet_cfg(p_speech=0.0)
    lead = quiet_cfg(p_speech=0.0, p_melody=1.0)
    for seed in range(3):
        a, a_labels = make_mixture(speech, noise, np.random.default_rng(seed), plain)
        b, b_labels = make_mixture(speech, noise, np.random.default_rng(seed), lead)
        assert not a_labels.any() and not b_labels.any()
        # white noise alone is flat; the lead's harmonics stand out of it
        peaks = [float(np.percentile(p, 99.9) / np.median(p))
                 for p in (np.abs(np.fft.rfft(w)) ** 2 for w in (a, b))]
        assert peaks[0] < 20.0 and peaks[1] > 3 * peaks[0]
    # with speech, the lead is background: the labels are the speech's alone
    on = quiet_cfg(p_melody=1.0)
    _, labels = make_mixture(speech, noise, np.random.default_rng(0), on)
    _, without = make_mixture(speech, noise, np.random.default_rng(0), quiet_cfg())
    np.testing.assert_array_equal(labels, without)


def test_reverberate_keeps_the_rms_and_optionally_the_tail() -> None:
    rng = np.random.default_rng(4)
    wave = burst(rng).wave[SR // 2 : SR + SR // 2]  # the tone alone, 1 s
    rir = synthetic_rir(rng, SR, rt60_s=(0.8, 0.8))
    cut, full = reverberate(wave, rir), reverberate(wave, rir, tail=True)
    lag = int(np.argmax(np.abs(rir)))
    assert len(cut) == len(wave) and len(full) == len(wave) + len(rir) - 1 - lag
    np.testing.assert_allclose(full[: len(wave)], cut, rtol=1e-5, atol=1e-7)
    assert rms_db(cut) == pytest.approx(rms_db(wave), abs=0.01)
    n = len(wave)
    decay = [rms_db(full[n + k * SR // 10 : n + (k + 1) * SR // 10]) for k in range(5)]
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False))  # it rings on, decaying
    assert rms_db(wave) - decay[0] < 30.0


@pytest.mark.parametrize("tails", [False, True])
def test_reverberation_tails_ring_past_the_labels(tails: bool) -> None:
    rng = np.random.default_rng(5)
    speech, noise = [[ending(rng)]], [[white(rng)]]
    cfg = quiet_cfg(
        p_reverb=1.0, p_clean=1.0, clean_snr_db=(70.0, 70.0), reverb_tails=tails, rt60_s=(1.0, 1.0)
    )
    after = []
    for seed in range(8):
        wave, labels = make_mixture(speech, noise, np.random.default_rng(seed), cfg)
        end = int(np.flatnonzero(labels)[-1]) + 1
        if end + 20 > len(labels):
            continue  # no room for a tail
        speech_db = rms_db(wave, np.repeat(labels > 0, HOP))
        after.append(speech_db - rms_db(wave[(end + 5) * HOP : (end + 20) * HOP]))
        assert not labels[end:].any()
    assert after
    if tails:
        assert max(after) < 40.0  # 50-200 ms after the labels: the room still rings
    else:
        assert min(after) > 60.0  # cut with the crop: only the clean background


def test_wet_labels_keep_the_loud_part_of_the_tail() -> None:
    rng = np.random.default_rng(6)
    speech, noise = [[ending(rng)]], [[white(rng)]]
    base = {
        "p_reverb": 1.0,
        "p_clean": 1.0,
        "clean_snr_db": (70.0, 70.0),
        "reverb_tails": True,
        "rt60_s": (1.0, 1.0),
    }
    grown, grown_15db = [], []
    for seed in range(6):
        dry_mix = make_mixture(speech, noise, np.random.default_rng(seed), quiet_cfg(**base))
        wet_mix = make_mixture(
            speech, noise, np.random.default_rng(seed), quiet_cfg(**base, reverb_labels="wet")
        )
        wet_15db = make_mixture(
            speech,
            noise,
            np.random.default_rng(seed),
            quiet_cfg(**base, reverb_labels="wet", wet_label_db=15.0),
        )
        # the same room and crop: one waveform up to the levels set from the labels
        assert np.corrcoef(dry_mix[0], wet_mix[0])[0, 1] > 0.999
        assert np.all(wet_mix[1] >= dry_mix[1])
        assert np.all(wet_15db[1] >= dry_mix[1])
        end = int(np.flatnonzero(dry_mix[1])[-1]) + 1
        if end + 60 <= len(dry_mix[1]):
            grown.append(int(wet_mix[1][end:].sum()))
            grown_15db.append(int(wet_15db[1][end:].sum()))
    # a 1 s RT60 falls 35 dB in ~0.58 s: the wet labels run on for a few hundred ms, not all
    assert grown and all(15 <= g <= 60 for g in grown)
    # 15 dB down is reached in ~0.25 s: the labels stop >= 150 ms sooner in the same decay
    assert all(g15 <= g - 15 for g15, g in zip(grown_15db, grown, strict=True))
    assert all(g15 <= 35 for g15 in grown_15db)


def test_reverb_labels_must_be_dry_or_wet() -> None:
    with pytest.raises(ConfigError, match="reverb_labels"):
        MixCfg(reverb_labels="damp")
    with pytest.raises(ConfigError, match="wet_label_db"):
        MixCfg(reverb_labels="wet", wet_label_db=-20.0)
