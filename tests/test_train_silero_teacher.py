"""voicecnn.train.silero_teacher: the Silero VAD sequence model used as a teacher gives, chunk by
chunk, what the package's own streaming model gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


def test_silero_teacher_matches_the_streaming_model_on_our_frames() -> None:
    # The sequence model used for distillation gives, chunk by chunk, what the package's own
    # streaming model (512 samples + 64 of context, state carried) gives; the frames between
    # two chunk centres lie between the two chunks' probabilities.
    ort = pytest.importorskip("onnxruntime")
    from voicecnn.train.silero_teacher import SileroTeacher, silero_model_path

    wave, rate = sf.read(Path(__file__).parents[1] / "samples" / "speech_over_noise.flac",
                         dtype="float32")
    assert rate == 16000
    wave = wave[: 16000 * 3]
    teacher = SileroTeacher(frame_hop=160)
    chunk_p = teacher.probs(wave)
    stream = ort.InferenceSession(str(silero_model_path().with_name("silero_vad.onnx")),
                                  providers=["CPUExecutionProvider"])
    state, context, expected = np.zeros((2, 1, 128), np.float32), np.zeros((1, 64)), []
    padded = np.zeros(len(chunk_p) * 512, np.float32)
    padded[: wave.size] = wave
    for chunk in padded.reshape(-1, 512):
        x = np.concatenate([context, chunk[None]], axis=1).astype(np.float32)
        out, state = stream.run(None, {"input": x, "state": state,
                                       "sr": np.array(16000, np.int64)})
        expected.append(float(out[0, 0]))
        context = x[:, -64:]
    np.testing.assert_allclose(chunk_p, expected, atol=1e-5)
    assert max(expected) > 0.9 and min(expected) < 0.1  # the sample holds speech and pauses
    logits = teacher(torch.from_numpy(np.stack([wave, np.zeros_like(wave)])))
    assert logits.shape == (2, wave.size // 160)
    p = torch.sigmoid(logits[0]).numpy()
    # frame t's centre 160 t + 80 lies between chunk centres 512 i + 256 and 512 (i + 1) + 256
    for t in range(16, logits.shape[1] - 16, 7):
        i = (160 * t + 80 - 256) // 512
        lo, hi = sorted(expected[i : i + 2])
        assert lo - 1e-4 <= p[t] <= hi + 1e-4
    assert float(torch.sigmoid(logits[1]).max()) < 0.1  # digital silence
