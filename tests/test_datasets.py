"""Crop and mixture datasets: shapes, labels that line up, determinism, DataLoader workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from voicecnn.data.datasets import ClipMixDataset, VadCropDataset, negative_crops, read_excerpt
from voicecnn.data.manifest import ManifestEntry
from voicecnn.data.mix import MixCfg
from voicecnn.data.recordings import load_dataset
from voicecnn.detection.segments import Segment
from voicecnn.errors import ConfigError, DataError
from voicecnn.io.audio import load_audio

RATE = 16000
SCALE = 2.0**-20  # sample i of a "clock" file holds i * SCALE exactly (float32)


def clock(path: Path, duration_s: float) -> Path:
    """A float WAV whose samples tell their own index, so a crop tells where it came from."""
    n = round(duration_s * RATE)
    sf.write(path, (np.arange(n) * SCALE).astype(np.float32), RATE, subtype="FLOAT")
    return path


def tone(path: Path, duration_s: float, sample_rate: int, *, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    f0 = rng.uniform(150, 300)
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)) * (np.sin(3 * t) > -0.3)
    sf.write(path, (0.2 * x).astype(np.float32), sample_rate)
    return path


def start_sample(wave: torch.Tensor) -> int:
    return round(float(wave[0]) / SCALE)


def expected_targets(segs: list[Segment], t0_s: float, n_frames: int, hop_s: float) -> np.ndarray:
    centres = t0_s + (np.arange(n_frames) + 0.5) * hop_s
    inside = np.zeros(n_frames, dtype=bool)
    for seg in segs:
        inside |= (centres >= seg.start) & (centres < seg.end)
    return inside.astype(np.float32)


@pytest.fixture
def crop_entries(tmp_path: Path) -> list[ManifestEntry]:
    long = clock(tmp_path / "long.wav", 3.0)
    short = clock(tmp_path / "short.wav", 0.5)
    return [
        ManifestEntry(long, (Segment(0.3, 1.1), Segment(1.6, 2.45)), duration_s=3.0),
        ManifestEntry(short, (Segment(0.1, 0.3),), duration_s=0.5),
    ]


# --- VadCropDataset ---------------------------------------------------------------------------


def test_crops_have_the_right_shapes_and_count(crop_entries: list[ManifestEntry]) -> None:
    ds = VadCropDataset(crop_entries, crop_s=1.0, seed=0)
    assert len(ds) == 3 + 1  # one crop per second of audio, at least one per entry
    for index in range(len(ds)):
        wave, targets = ds[index]
        assert wave.dtype == torch.float32 and wave.shape == (16000,)
        assert targets.dtype == torch.float32 and targets.shape == (100,)
    assert [ds.locate(i)[0] for i in range(len(ds))] == [0, 0, 0, 1]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_targets_line_up_with_segments(crop_entries: list[ManifestEntry]) -> None:
    ds = VadCropDataset(crop_entries, crop_s=0.8, seed=3)
    starts = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for index in range(3):  # items of the long entry
            wave, targets = ds[index]
            which, start_s = ds.locate(index)
            t0 = start_sample(wave)
            assert which == 0 and t0 == round(start_s * RATE)
            np.testing.assert_allclose(wave.numpy(), (t0 + np.arange(12800)) * SCALE, rtol=0)
            segs = list(crop_entries[0].segments)
            want = expected_targets(segs, t0 / RATE, 80, 0.01)
            np.testing.assert_array_equal(targets.numpy(), want)
            starts.add(t0)
    assert len(starts) > 6  # crops move around


def test_short_entry_is_zero_padded(crop_entries: list[ManifestEntry]) -> None:
    ds = VadCropDataset(crop_entries, crop_s=1.0, seed=0)
    wave, targets = ds[3]  # the 0.5 s entry
    assert start_sample(wave) == 0
    assert torch.all(wave[8000:] == 0) and wave[7999] > 0
    np.testing.assert_array_equal(np.flatnonzero(targets.numpy()), np.arange(10, 30))


def test_excerpts_stay_inside_offset_and_duration(tmp_path: Path) -> None:
    audio = clock(tmp_path / "a.wav", 3.0)
    entry = ManifestEntry(audio, (Segment(0.2, 0.4),), offset_s=1.0, duration_s=1.0)
    ds = VadCropDataset([entry], crop_s=0.5, seed=1)
    for epoch in range(5):
        ds.set_epoch(epoch)
        for index in range(len(ds)):
            wave, targets = ds[index]
            _, start_s = ds.locate(index)
            assert start_sample(wave) == round((1.0 + start_s) * RATE)
            assert 0.0 <= start_s <= 0.5
            want = expected_targets([Segment(0.2, 0.4)], start_s, 50, 0.01)
            np.testing.assert_array_equal(targets.numpy(), want)


def test_entries_from_load_dataset_and_resampled_audio(tmp_path: Path) -> None:
    tone(tmp_path / "a.wav", 2.0, 22050)  # read with resampling, aligned like load_audio
    (tmp_path / "a.csv").write_text("0.5,1.5\n", encoding="utf-8")
    entries = load_dataset(tmp_path)
    ds = VadCropDataset(entries, crop_s=1.0, seed=0)
    full = load_audio(tmp_path / "a.wav")
    for index in range(len(ds)):
        wave, _ = ds[index]
        start = round(ds.locate(index)[1] * RATE)
        np.testing.assert_allclose(wave.numpy(), full[start : start + 16000], atol=1e-5)


def test_read_excerpt_pads_past_the_end(tmp_path: Path) -> None:
    audio = clock(tmp_path / "a.wav", 0.25)
    out = read_excerpt(audio, 0.2, 1600)
    assert out.shape == (1600,)
    np.testing.assert_array_equal(out[:800], (3200 + np.arange(800)) * SCALE)
    assert not out[800:].any()
    assert not read_excerpt(audio, 1.0, 100).any()


def test_crops_are_deterministic(crop_entries: list[ManifestEntry]) -> None:
    a = VadCropDataset(crop_entries, crop_s=0.5, seed=7)
    b = VadCropDataset(crop_entries, crop_s=0.5, seed=7)
    other = VadCropDataset(crop_entries, crop_s=0.5, seed=8)
    first = [start_sample(a[i][0]) for i in range(6)]
    assert [start_sample(b[i][0]) for i in reversed(range(6))] == first[::-1]
    assert [start_sample(other[i][0]) for i in range(6)] != first
    a.set_epoch(1)
    assert [start_sample(a[i][0]) for i in range(6)] != first
    a.set_epoch(0)
    assert [start_sample(a[i][0]) for i in range(6)] == first


def test_bad_settings(crop_entries: list[ManifestEntry]) -> None:
    with pytest.raises(DataError, match="at least one entry"):
        VadCropDataset([], crop_s=1.0, seed=0)
    with pytest.raises(ConfigError, match="whole number of samples"):
        VadCropDataset(crop_entries, crop_s=1.0, frame_hop_s=0.0123, seed=0)
    with pytest.raises(ConfigError, match="crop_s"):
        VadCropDataset(crop_entries, crop_s=0.001, seed=0)
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        VadCropDataset(crop_entries, crop_s=1.0, seed=-1)
    with pytest.raises(ConfigError, match="epoch must be an integer >= 0"):
        VadCropDataset(crop_entries, crop_s=1.0, seed=0).set_epoch(-2)


def test_crop_dataloader_with_two_workers(crop_entries: list[ManifestEntry]) -> None:
    ds = VadCropDataset(crop_entries, crop_s=0.5, seed=0)
    ds.set_epoch(2)
    loader = DataLoader(ds, batch_size=3, num_workers=2)
    waves, targets = zip(*loader, strict=True)
    assert torch.cat(waves).shape == (len(ds), 8000)
    assert torch.cat(targets).shape == (len(ds), 50)
    serial = [ds[i] for i in range(len(ds))]
    assert torch.equal(torch.cat(waves), torch.stack([w for w, _ in serial]))
    assert torch.equal(torch.cat(targets), torch.stack([t for _, t in serial]))


# --- ClipMixDataset ---------------------------------------------------------------------------


@pytest.fixture
def clips(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    speech = [tone(tmp_path / f"s{i}.wav", 1.5, RATE, seed=i) for i in range(3)]
    noise = tmp_path / "n.wav"
    sf.write(noise, 0.05 * np.random.default_rng(0).standard_normal(RATE), RATE)
    return speech, [noise]


FAST = MixCfg(p_reverb=0.3, p_telephone=0.0)


def test_mixtures_shapes_and_determinism(clips: tuple[list[Path], list[Path]]) -> None:
    speech, noise = clips
    ds = ClipMixDataset(speech, noise, crop_s=1.0, seed=5, mix_cfg=FAST, length=6)
    assert len(ds) == 6 and ds.frame_hop_s == 0.01
    items = [ds[i] for i in range(6)]
    for wave, labels in items:
        assert wave.dtype == torch.float32 and wave.shape == (16000,)
        assert labels.dtype == torch.float32 and labels.shape == (100,)
        assert float(wave.abs().max()) <= 1.0
    assert any(float(labels.sum()) > 0 for _, labels in items)
    again = ClipMixDataset(speech, noise, crop_s=1.0, seed=5, mix_cfg=FAST, length=6)
    assert all(torch.equal(again[i][0], items[i][0]) for i in reversed(range(6)))
    ds.set_epoch(1)
    assert not torch.equal(ds[0][0], items[0][0])
    ds.set_epoch(0)
    assert torch.equal(ds[0][0], items[0][0])


def test_mixtures_without_nonspeech_and_default_length(
    clips: tuple[list[Path], list[Path]],
) -> None:
    speech, _ = clips
    ds = ClipMixDataset(speech, [], crop_s=0.5, seed=0, mix_cfg=FAST, cache_size=1)
    assert len(ds) == 3
    assert ds[2][0].shape == (8000,)
    with pytest.raises(DataError, match="at least one speech clip"):
        ClipMixDataset([], speech, crop_s=0.5, seed=0)


def test_mixture_dataloader_with_two_workers(clips: tuple[list[Path], list[Path]]) -> None:
    speech, noise = clips
    ds = ClipMixDataset(speech, noise, crop_s=0.5, seed=1, mix_cfg=FAST, length=4)
    ds[0]  # fill the cache: it must not travel to the workers
    waves, labels = zip(*DataLoader(ds, batch_size=2, num_workers=2), strict=True)
    assert torch.equal(torch.cat(waves), torch.stack([ds[i][0] for i in range(4)]))
    assert torch.equal(torch.cat(labels), torch.stack([ds[i][1] for i in range(4)]))


def test_mixture_groups_follow_their_weights(
    clips: tuple[list[Path], list[Path]], tmp_path: Path
) -> None:
    speech, noise = clips
    hum = tmp_path / "hum.wav"
    sf.write(hum, 0.1 * np.sin(np.arange(RATE) * 0.05), RATE)
    groups = {"noise": noise, "hum": [hum]}
    cfg = MixCfg(p_real_bg=1.0, p_reverb=0.0, p_telephone=0.0, p_babble=0.0)
    ds = ClipMixDataset(
        {"a": speech[:2], "b": speech[2:]},
        groups,
        0.5,
        seed=0,
        mix_cfg=cfg,
        length=12,
        weights={"b": 0.0, "hum": 0.0},
    )
    assert ds.groups == {"speech": ["a", "b"], "nonspeech": ["noise", "hum"]}
    for i in range(12):
        ds[i]
    loaded = [len(src._cache) for src in ds._speech + ds._nonspeech]
    assert loaded[0] > 0 and loaded[1] == 0 and loaded[2] == 1 and loaded[3] == 0
    plain = ClipMixDataset({"a": speech}, noise, 0.5, seed=0, mix_cfg=cfg, length=3)
    assert torch.equal(plain[1][0], ClipMixDataset(speech, noise, 0.5, seed=0, mix_cfg=cfg)[1][0])
    with pytest.raises(ConfigError, match="name no clip group: x"):
        ClipMixDataset(speech, noise, 0.5, seed=0, weights={"x": 1.0})
    with pytest.raises(ConfigError, match="finite and >= 0: a"):
        ClipMixDataset({"a": speech}, noise, 0.5, seed=0, weights={"a": -1.0})
    with pytest.raises(ConfigError, match="add up to 0"):
        ClipMixDataset({"a": speech}, noise, 0.5, seed=0, weights={"a": 0.0})


def test_negative_crops_levels_and_determinism(clips: tuple[list[Path], list[Path]]) -> None:
    _, noise = clips
    cfg = MixCfg(level_dbfs=(-40.0, -20.0))
    crops = negative_crops(noise, 5, 1.5, seed=3, mix_cfg=cfg)  # longer than the 1 s clip
    assert len(crops) == 5 and all(c.shape == (24000,) and c.dtype == np.float32 for c in crops)
    levels = [10 * np.log10(np.mean(c.astype(np.float64) ** 2)) for c in crops]
    assert all(-40.5 < v < -19.5 for v in levels) and np.ptp(levels) > 1.0
    again = negative_crops(noise, 5, 1.5, seed=3, mix_cfg=cfg)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    assert not np.array_equal(negative_crops(noise, 1, 1.5, seed=4, mix_cfg=cfg)[0], crops[0])
    with pytest.raises(DataError, match="at least one clip"):
        negative_crops([], 1, 1.0, seed=0)
