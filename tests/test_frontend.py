"""The torch log-mel frontend equals librosa's mel spectrogram."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from voicecnn.net.frontend import FrontendCfg, LogMel, hz_to_mel, mel_filterbank, mel_to_hz
from voicecnn.net.frontend_spec import mel_bands

from .conftest import speechlike


@pytest.mark.parametrize(
    ("sample_rate", "n_fft", "hop", "n_mels", "f_max"),
    [(16000, 400, 160, 64, None), (16000, 512, 160, 40, 7600.0), (8000, 256, 80, 32, None)],
)
def test_mel_filterbank_equals_librosa(
    sample_rate: int, n_fft: int, hop: int, n_mels: int, f_max: float | None
) -> None:
    ours = mel_filterbank(sample_rate, n_fft, n_mels, 0.0, f_max)
    ref = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=f_max)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_mel_scale_round_trip() -> None:
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-9)


def test_logmel_equals_librosa_within_tolerance() -> None:
    """Stated tolerance: |log-mel difference| < 1e-3 where the mel power exceeds 1e-6 of its max."""
    cfg = FrontendCfg()
    wave = speechlike(2.0)
    ours = LogMel(cfg)(torch.from_numpy(wave)[None])[0].numpy()
    ref = librosa.feature.melspectrogram(
        y=wave, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        n_mels=cfg.n_mels, center=True, pad_mode="constant", power=2.0,
    )
    assert ours.shape == ref.shape == (cfg.n_mels, 1 + wave.size // cfg.hop_length)
    ref_log = np.log(ref + cfg.log_eps)
    significant = ref > ref.max() * 1e-6
    assert np.abs(ours - ref_log)[significant].max() < 1e-3
    assert np.abs(ours - ref_log).max() < 1e-2


def test_logmel_is_finite_on_silence() -> None:
    out = LogMel(FrontendCfg())(torch.zeros(1, 1600))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.full_like(out, float(np.log(1e-6))))


def test_frontend_cfg_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        FrontendCfg(n_mels=0)
    with pytest.raises(ValueError, match="hop_length"):
        FrontendCfg(n_fft=128, hop_length=256)


@pytest.mark.parametrize("n_bands", [1, 3, 8, 64])
def test_mel_bands_cover_every_filter_weight(n_bands: int) -> None:
    fb = mel_filterbank(16000, 400, 64)
    bands = mel_bands(fb, n_bands)
    assert len(bands) == n_bands
    assert [b0 for b0, *_ in bands] == [0, *[b1 for _, b1, *_ in bands[:-1]]]  # a partition
    assert bands[-1][1] == fb.shape[0]
    covered = np.zeros(fb.shape, bool)
    for b0, b1, lo, hi in bands:
        covered[b0:b1, lo:hi] = True
    assert covered[fb != 0].all()
    if n_bands >= 8:  # the point of bands: most of the dense matrix is skipped
        assert covered.sum() < fb.size / 5
