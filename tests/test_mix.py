"""The mixer behind VAD training data: labels, levels and the clean-recording option."""

from __future__ import annotations

import numpy as np
import pytest

from voicecnn.data.mix import (
    MixCfg,
    Source,
    make_mixture,
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


def fading(rng: np.random.Generator) -> Source:
    """The burst with a 1 s decay after it (-60 dB at its end), labelled by the 35 dB rule."""
    dry = burst(rng)
    decay = 0.3 * np.sin(2 * np.pi * 150 * np.arange(SR) / SR) * 10 ** (-3 * np.arange(SR) / SR)
    wave = np.concatenate([dry.wave[: 3 * SR // 2], decay, np.zeros(SR // 2)]).astype(np.float32)
    return Source(wave, speech_labels(wave))


def test_label_db_ends_speech_sooner_in_a_decay() -> None:
    rng = np.random.default_rng(5)
    speech, noise = [[fading(rng)]], [[white(rng)]]
    cfg = quiet_cfg(snr_db=(30.0, 30.0))
    _, loose = make_mixture(speech, noise, np.random.default_rng(0), cfg)
    _, tight = make_mixture(speech, noise, np.random.default_rng(0), replace_cfg(cfg, 20.0))
    # the same crop: the tight labels are a strict subset, shorter by the decay's 15 dB (0.25 s)
    assert (tight <= loose).all() and loose.sum() - tight.sum() >= 20
    with pytest.raises(ConfigError, match="label_db"):
        MixCfg(label_db=0.0)


def replace_cfg(cfg: MixCfg, label_db: float) -> MixCfg:
    from dataclasses import replace

    return replace(cfg, label_db=label_db)


def test_p_floor_keeps_a_noise_floor_under_quiet_mixtures() -> None:
    rng = np.random.default_rng(6)
    speech, noise = [[burst(rng)]], [[white(rng)]]
    silent = quiet_cfg(p_speech=0.0, p_real_bg=0.0, p_synth_bg=0.0, level_dbfs=(-80.0, -80.0))
    floored = quiet_cfg(p_speech=0.0, p_real_bg=0.0, p_synth_bg=0.0, level_dbfs=(-80.0, -80.0),
                        p_floor=1.0, floor_dbfs=(-70.0, -70.0))
    a, labels = make_mixture(speech, noise, np.random.default_rng(0), silent)
    b, _ = make_mixture(speech, noise, np.random.default_rng(0), floored)
    assert not labels.any()
    assert rms_db(b) == pytest.approx(-70.0, abs=1.0) and rms_db(a) < -75.0
