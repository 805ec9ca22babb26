"""voicecnn.compat.silero: Silero VAD's functions, checked against Silero's documented behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import voicecnn as vc
from voicecnn.compat.silero import (
    VADIterator,
    collect_chunks,
    drop_chunks,
    get_speech_timestamps,
    read_audio,
    save_audio,
)

REPO = Path(__file__).parents[1]
RATE = 16000


class LoudnessModel(torch.nn.Module):
    """A frame model whose speech probability is the frame's loudness: ~1 where the level
    exceeds 0.1, ~0 in silence. It lets tests place speech exactly."""

    sample_rate = RATE
    hop_length = 160
    frame_hop_s = 0.01
    context_frames = (0, 0)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        n = wave.shape[-1] // self.hop_length
        frames = wave[..., : n * self.hop_length].reshape(*wave.shape[:-1], n, self.hop_length)
        return 200.0 * (frames.abs().amax(-1) - 0.1)


def bursts(*spans_s: tuple[float, float], duration_s: float, rate: int = RATE) -> np.ndarray:
    """Silence with a 0.5-amplitude tone over each ``(start, end)`` span (seconds)."""
    t = np.arange(int(duration_s * rate)) / rate
    x = np.zeros_like(t)
    for a, b in spans_s:
        on = (t >= a) & (t < b)
        x[on] = 0.5 * np.sin(2 * np.pi * 440 * t[on])
    return x.astype(np.float32)


# 2 s of speech, a 50 ms pause, 1 s more; later a 100 ms burst (shorter than 250 ms)
AUDIO = bursts((1.0, 3.0), (3.05, 4.05), (5.0, 5.1), duration_s=6.0)


def test_defaults_are_silero_s() -> None:
    # Silero's defaults: 0.5 / 250 ms / 100 ms / 30 ms pad; one chunk, padded 30 ms, the pause
    # under 100 ms filled, the 100 ms burst dropped; times are sample indices (ints)
    got = get_speech_timestamps(torch.from_numpy(AUDIO), LoudnessModel())
    assert got == [{"start": 15520, "end": 65280}]
    assert all(type(v) is int for ts in got for v in ts.values())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # a shorter minimum keeps the 100 ms burst
        ({"min_speech_duration_ms": 50},
         [(15520, 65280), (79520, 82080)]),
        # a shorter minimum silence splits at the 50 ms pause; in a pause shorter than two
        # pads the pads stop half-way (Silero's rule): at 3.025 s
        ({"min_silence_duration_ms": 30},
         [(15520, 48400), (48400, 65280)]),
        # no padding
        ({"speech_pad_ms": 0}, [(16000, 64800)]),
    ],
)
def test_silero_arguments(kwargs: dict[str, float], expected: list[tuple[int, int]]) -> None:
    got = get_speech_timestamps(AUDIO, LoudnessModel(), **kwargs)
    assert [(ts["start"], ts["end"]) for ts in got] == expected


def test_return_seconds_rounds_to_time_resolution_and_clips_to_the_audio() -> None:
    audio = bursts((0.0, 1.237), duration_s=1.25)
    got = get_speech_timestamps(audio, LoudnessModel(), return_seconds=True)
    assert got == [{"start": 0.0, "end": 1.2}]  # 1.237 + 0.03 clipped to 1.25, one decimal
    fine = get_speech_timestamps(audio, LoudnessModel(), return_seconds=True, time_resolution=3)
    assert fine == [{"start": 0.0, "end": 1.25}]
    assert [v for ts in fine for v in ts.values()] == [0.0, 1.25]


def test_max_speech_duration_bounds_chunks_padding_included() -> None:
    audio = bursts((0.5, 9.5), duration_s=10.0)
    got = get_speech_timestamps(audio, LoudnessModel(), max_speech_duration_s=2.0)
    assert len(got) >= 5
    assert all(ts["end"] - ts["start"] <= 2.0 * RATE for ts in got)
    assert got[0]["start"] == 0.47 * RATE and got[-1]["end"] == 9.53 * RATE
    with pytest.raises(vc.ConfigError, match="twice speech_pad_ms"):
        get_speech_timestamps(audio, LoudnessModel(), max_speech_duration_s=0.05)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_any_sample_rate_gives_the_same_times(rate: int) -> None:
    audio = bursts((1.0, 3.0), (3.05, 4.05), (5.0, 5.1), duration_s=6.0, rate=rate)
    got = get_speech_timestamps(audio, LoudnessModel(), sampling_rate=rate, return_seconds=True,
                                time_resolution=2)
    assert got == [{"start": 0.97, "end": 4.08}]
    samples = get_speech_timestamps(audio, LoudnessModel(), sampling_rate=rate)
    assert abs(samples[0]["start"] - 0.97 * rate) <= rate * 0.011  # within one 10 ms frame


def test_int16_and_batch_shaped_input() -> None:
    pcm = (AUDIO * 32767).astype(np.int16)
    assert get_speech_timestamps(pcm, LoudnessModel()) == [{"start": 15520, "end": 65280}]
    batch = torch.from_numpy(AUDIO)[None]  # (1, S), as Silero squeezes
    assert get_speech_timestamps(batch, LoudnessModel()) == [{"start": 15520, "end": 65280}]
    with pytest.raises(vc.AudioError, match="one dimension expected"):
        get_speech_timestamps(np.stack([AUDIO, AUDIO]), LoudnessModel())


def test_progress_callback_and_unsupported_visualisation() -> None:
    seen: list[float] = []
    get_speech_timestamps(AUDIO, LoudnessModel(), progress_tracking_callback=seen.append)
    assert seen == [100.0]
    with pytest.raises(vc.ConfigError, match="voicecnn plot"):
        get_speech_timestamps(AUDIO, LoudnessModel(), visualize_probs=True)


def test_same_rules_as_detect() -> None:
    cfg = vc.DetectCfg(threshold=0.6, min_speech_s=0.05, min_silence_s=0.03, pad_s=0.01)
    segs = vc.detect(LoudnessModel(), AUDIO, cfg)
    got = get_speech_timestamps(AUDIO, LoudnessModel(), threshold=0.6, min_speech_duration_ms=50,
                                min_silence_duration_ms=30, speech_pad_ms=10)
    assert got == [{"start": round(s.start * RATE), "end": round(s.end * RATE)} for s in segs]


def _iterate(it: VADIterator, audio: np.ndarray, sizes: list[int], **kw: object) -> list[dict]:
    events, pos, k = [], 0, 0
    while pos < audio.size:
        n = sizes[k % len(sizes)]
        ev = it(torch.from_numpy(audio[pos : pos + n]), **kw)
        if ev is not None:
            events.append(ev)
        pos, k = pos + n, k + 1
    return events + it.flush(**kw)


@pytest.mark.parametrize("sizes", [[512], [160], [7, 1000, 333], [48000]])
def test_vad_iterator_events_pair_into_get_speech_timestamps(sizes: list[int]) -> None:
    kwargs = {"min_silence_duration_ms": 30, "speech_pad_ms": 30, "min_speech_duration_ms": 50}
    it = VADIterator(LoudnessModel(), **kwargs)  # type: ignore[arg-type]
    events = _iterate(it, AUDIO, sizes)
    offline = get_speech_timestamps(AUDIO, LoudnessModel(), **kwargs)  # type: ignore[arg-type]
    # Silero's event form: one key per dict, 'start' then 'end', sample indices
    assert [list(e) for e in events] == [["start"], ["end"]] * len(offline)
    starts, ends = events[::2], events[1::2]
    pairs = [{"start": a["start"], "end": b["end"]} for a, b in zip(starts, ends, strict=True)]
    assert pairs == offline
    assert not it.triggered


def test_vad_iterator_state_seconds_and_reset() -> None:
    it = VADIterator(LoudnessModel(), sampling_rate=RATE)
    # speech from 1 s on: 'start' comes once 250 ms of speech are heard, not before
    assert it(np.zeros(RATE, np.float32)) is None
    tone = bursts((0.0, 1.0), duration_s=1.0)
    assert it(tone[:3000]) is None  # 190 ms of speech: could still be dropped
    assert it(tone[3000:], return_seconds=True, time_resolution=2) == {"start": 0.97}
    assert it.triggered and it.current_sample == 2 * RATE
    assert it(np.zeros(RATE // 2, np.float32)) == {"end": 32480}
    assert not it.triggered
    it.reset_states()
    assert it.current_sample == 0 and it.flush() == []
    # a batch-shaped (1, S) chunk, as Silero's examples pass
    assert it(torch.from_numpy(bursts((0.0, 1.0), duration_s=1.0))[None]) == {"start": 0}
    assert it.flush() == [{"end": 16000}]
    assert it.current_sample == 0  # flush ended the stream: the next chunk starts a new one


def test_vad_iterator_on_the_bundled_model_equals_offline() -> None:
    model = vc.load_model()
    wav = read_audio(REPO / "samples" / "speech_over_noise.flac", sampling_rate=8000)
    offline = get_speech_timestamps(wav, model, sampling_rate=8000)
    assert offline and offline == [
        {"start": round(s.start * 8000), "end": round(s.end * 8000)}
        for s in vc.detect(model, wav.numpy(), sample_rate=8000)
    ]
    it = VADIterator(model, sampling_rate=8000)
    events = _iterate(it, wav.numpy(), [256])
    assert [{"start": a["start"], "end": b["end"]} for a, b in
            zip(events[::2], events[1::2], strict=True)] == offline


def test_read_audio_is_mono_at_the_asked_rate(tmp_path: Path) -> None:
    stereo = np.stack([bursts((0.1, 0.5), duration_s=1.0, rate=44100)] * 2, axis=1)
    sf.write(tmp_path / "s.wav", stereo, 44100)
    wav = read_audio(tmp_path / "s.wav", sampling_rate=16000)
    assert isinstance(wav, torch.Tensor) and wav.dtype == torch.float32 and wav.shape == (16000,)
    save_audio(tmp_path / "out.wav", wav, sampling_rate=16000)
    info = sf.info(tmp_path / "out.wav")
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    with pytest.raises(vc.AudioError):
        read_audio(tmp_path / "missing.wav")


def test_collect_and_drop_chunks() -> None:
    wav = torch.arange(100, dtype=torch.float32)
    tss = [{"start": 10, "end": 20}, {"start": 50, "end": 55}]
    got = collect_chunks(tss, wav)
    assert isinstance(got, torch.Tensor) and got.tolist() == [*range(10, 20), *range(50, 55)]
    dropped = drop_chunks(tss, wav)
    assert dropped.tolist() == [*range(10), *range(20, 50), *range(55, 100)]
    # numpy in, numpy out; seconds need the rate; nothing to collect gives an empty signal
    secs = [{"start": 0.1, "end": 0.2}]
    np.testing.assert_array_equal(
        collect_chunks(secs, wav.numpy(), seconds=True, sampling_rate=100), np.arange(10, 20)
    )
    with pytest.raises(vc.ConfigError, match="sampling_rate"):
        collect_chunks(secs, wav, seconds=True)
    assert collect_chunks([], wav).shape == (0,)
    # the chunks get_speech_timestamps finds hold the speech: all loud samples, few quiet ones
    speech = collect_chunks(get_speech_timestamps(AUDIO, LoudnessModel()), AUDIO)
    assert speech.size == 65280 - 15520
    assert np.count_nonzero(np.abs(drop_chunks(get_speech_timestamps(AUDIO, LoudnessModel()),
                                               AUDIO)) > 0.1) < 0.11 * RATE


def test_hubconf_gives_silero_s_tuple() -> None:
    model, utils = torch.hub.load(str(REPO), "silero_vad", source="local", trust_repo=True)
    get_ts, save, read, iterator, collect = utils
    assert (get_ts, read, iterator, collect) == (
        get_speech_timestamps, read_audio, VADIterator, collect_chunks
    )
    assert save is save_audio
    wav = read(REPO / "samples" / "speech_over_noise.flac")
    assert get_ts(wav, model) == get_speech_timestamps(wav, vc.load_model())
