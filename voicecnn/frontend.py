"""Log-mel frontend computed in torch, so every model takes a waveform and owns its features.

The mel matrix is built in code (Slaney mel scale and area normalisation, as librosa's defaults),
so no data files are needed. ``LogMel`` equals ``librosa.feature.melspectrogram`` with
``center=True, pad_mode="constant"`` followed by ``log(x + log_eps)`` (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["FrontendCfg", "LogMel", "hz_to_mel", "mel_filterbank", "mel_to_hz"]


@dataclass(frozen=True)
class FrontendCfg:
    """Settings of the log-mel frontend.

    Attributes:
        sample_rate: Input sample rate in Hz.
        n_fft: FFT size and window length in samples (400 = 25 ms at 16 kHz).
        hop_length: Samples between frames (160 = 10 ms at 16 kHz).
        n_mels: Number of mel bands.
        f_min_hz: Lowest band edge in Hz.
        f_max_hz: Highest band edge in Hz; ``None`` means half the sample rate.
        log_eps: Added to the mel power before the log, so silence stays finite.
    """

    sample_rate: int = 16000
    n_fft: int = 400
    hop_length: int = 160
    n_mels: int = 64
    f_min_hz: float = 0.0
    f_max_hz: float | None = None
    log_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError("sample_rate, n_fft, hop_length and n_mels must be positive")
        if self.hop_length > self.n_fft:
            raise ValueError("hop_length must not exceed n_fft")

    @property
    def hop_s(self) -> float:
        """Seconds between frames."""
        return self.hop_length / self.sample_rate


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    mel = hz / f_sp
    log_part = min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log_part, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    return np.where(
        mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel
    )


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min_hz: float = 0.0, f_max_hz: float | None = None
) -> np.ndarray:
    """Triangular mel filters with Slaney area normalisation.

    Returns:
        float32 array of shape (n_mels, n_fft // 2 + 1).
    """
    f_max = sample_rate / 2 if f_max_hz is None else f_max_hz
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(np.array(f_min_hz)), hz_to_mel(np.array(f_max)),
                                   n_mels + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Waveform (B, S) -> log-mel power spectrogram (B, M, 1 + S // hop_length).

    Frame ``t`` is centred on sample ``t * hop_length`` (zero padding at both ends).
    """

    window: torch.Tensor
    mel_fb: torch.Tensor

    def __init__(self, cfg: FrontendCfg) -> None:
        super().__init__()
        self.cfg = cfg
        fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min_hz, cfg.f_max_hz)
        # Non-persistent: rebuilt from the config, so checkpoints hold only learned weights.
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)
        self.register_buffer("mel_fb", torch.from_numpy(fb), persistent=False)

    def power_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """Mel power spectrogram (B, M, T) without the log."""
        spec = torch.stft(
            wave.float(), self.cfg.n_fft, self.cfg.hop_length, window=self.window,
            center=True, pad_mode="constant", return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        return torch.matmul(self.mel_fb, power)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Compute log(mel power + log_eps) of ``wave`` (B, S); returns (B, M, T)."""
        return torch.log(self.power_mel(wave) + self.cfg.log_eps)
