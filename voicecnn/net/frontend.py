"""Log-mel frontend computed in torch, so every model takes a waveform and owns its features.

Settings and the mel matrix are torch-free (:mod:`voicecnn.net.frontend_spec`, with the numpy step).
The mel matrix is built in code (Slaney mel scale and area normalisation, as librosa's defaults),
so no data files are needed. ``LogMel`` equals ``librosa.feature.melspectrogram`` with
``center=True, pad_mode="constant"`` followed by ``log(x + log_eps)`` (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from voicecnn.net.frontend_spec import FrontendCfg, hz_to_mel, mel_filterbank, mel_to_hz

__all__ = ["FrameLogMel", "FrontendCfg", "LogMel", "hz_to_mel", "mel_filterbank", "mel_to_hz"]


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


class FrameLogMel(LogMel):
    """Waveform (B, S) -> log-mel (B, M, S // hop_length), frame ``t`` centred on the middle of
    samples ``[t * hop, (t + 1) * hop)``: the frontend of the VAD models
    (:class:`voicecnn.net.frontend_spec.LogMelSpec`)."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Log-mel frames of ``wave`` (B, S), one per whole hop."""
        hop = self.cfg.hop_length
        # Drop half a hop so STFT frame t is centred on the middle of [t*hop, (t+1)*hop).
        return super().forward(wave[:, hop // 2 :])[..., : wave.shape[-1] // hop]
