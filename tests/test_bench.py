"""The benchmark's scoring code (bench/): grid, metrics, boundary matching, operating points.
Project-wide: bench/ sits beside the package.

Hand-computed expectations; no peer is installed or run and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from peers.grid import segments_to_mask, to_grid  # noqa: E402
from peers.silero import speech_timestamps  # noqa: E402


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench_run = _load("run")
bench_sets = _load("sets")


# --- the 10 ms grid ------------------------------------------------------------------------


def test_to_grid_takes_the_native_frame_under_each_centre() -> None:
    # grid centres 80, 240, 400, ... samples; Silero's 512-sample chunks
    assert to_grid([0, 1, 2], 512, 10).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    # WebRTC's 480-sample frames: centre 1520 falls in frame 3, past the end -> last frame
    assert to_grid([0, 1, 2], 480, 10).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert to_grid([5, 6, 7], 160, 3).tolist() == [5, 6, 7]
    assert to_grid([], 512, 2).tolist() == [0, 0]


def test_segments_to_mask_marks_frames_whose_centre_is_inside() -> None:
    # centres 5, 15, 25, 35, 45, 55 ms; [25 ms, 50 ms) holds the centres 25, 35, 45
    assert segments_to_mask([(0.025, 0.05)], 6).tolist() == [0, 0, 1, 1, 1, 0]
    assert segments_to_mask([(0.0, 0.004), (0.05, 1.0)], 6).tolist() == [0, 0, 0, 0, 0, 1]


# --- frame metrics -------------------------------------------------------------------------


def test_roc_auc_by_hand_and_against_all_pairs() -> None:
    # pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) lose, (0.8, *) win twice -> 3 / 4
    assert bench_run.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert bench_run.roc_auc([0, 1, 0, 1], [0.5] * 4) == pytest.approx(0.5)
    assert bench_run.roc_auc([1, 1], [0.2, 0.3]) is None
    rng = np.random.default_rng(0)
    labels = rng.random(60) < 0.4
    scores = np.round(rng.random(60), 1)  # many ties
    pos, neg = scores[labels], scores[~labels]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    assert bench_run.roc_auc(labels, scores) == pytest.approx(wins / (pos.size * neg.size))


def test_decision_scores_by_hand() -> None:
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    decision = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]  # tp 3, fn 1, fp 1, 6 negatives
    got = bench_run.decision_scores(labels, decision)
    assert got["precision"] == pytest.approx(0.75)
    assert got["recall"] == pytest.approx(0.75)
    assert got["f1"] == pytest.approx(0.75)
    assert got["fa_rate"] == pytest.approx(1 / 6)
    silent = bench_run.decision_scores([0, 0, 0, 0], [0, 1, 0, 0])
    assert silent["fa_rate"] == pytest.approx(0.25)
    assert silent["recall"] is None and silent["precision"] == 0


# --- segment boundaries --------------------------------------------------------------------


def test_runs() -> None:
    assert bench_run.runs([0, 1, 1, 0, 1]) == [(1, 3), (4, 5)]
    assert bench_run.runs([0, 0]) == []


def test_boundary_errors_in_seconds() -> None:
    labels = np.zeros(20, bool)
    labels[2:5] = True
    labels[10:15] = True
    decision = np.zeros(20, bool)
    decision[3:7] = True  # 10 ms late, 20 ms long
    decision[9:14] = True  # 10 ms early, 10 ms short
    starts, ends, n_ref = bench_run.boundary_errors(labels, decision)
    assert n_ref == 2
    assert starts == pytest.approx([0.01, -0.01])
    assert ends == pytest.approx([0.02, -0.01])
    assert bench_run.median_ms([0.01, -0.03, 0.02], absolute=True) == pytest.approx(20.0)


def test_score_set_kinds() -> None:
    out = bench_run.Output(np.array([0, 0, 1, 1], bool), np.array([0.1, 0.2, 0.9, 0.8], "f4"),
                           np.array([0, 1, 1, 1], bool))
    speech = bench_run.score_set("speech", [out])
    assert speech["auc"] == pytest.approx(1.0)
    assert speech["fa_rate"] == pytest.approx(0.5)
    assert speech["matched"] == pytest.approx(1.0)
    assert speech["start_ms"] == pytest.approx(-10.0)
    nonspeech = bench_run.score_set("nonspeech", [out])
    assert set(nonspeech) == {"frames", "speech_share", "fa_rate"}
    assert bench_run.score_set("ambiguous", [out])["speech_share"] == pytest.approx(0.75)


# --- default operating points --------------------------------------------------------------


def test_silero_default_timestamps_by_hand() -> None:
    # 512-sample chunks; speech chunks 1-8, then silence: the silence starts at sample 4608 and
    # is confirmed 2048 samples later (>= 1600 = 100 ms); the segment [512, 4608) is 4096 > 4000
    # samples (250 ms) long, and gets 480 samples (30 ms) of padding on both sides.
    probs = [0.0] + [0.9] * 8 + [0.1] * 11
    assert speech_timestamps(probs, 10240) == [(32, 5088)]
    # 0.4 lies between neg_threshold 0.35 and threshold 0.5: it does not end the speech
    probs = [0.0] + [0.9] * 4 + [0.4] * 4 + [0.1] * 11
    assert speech_timestamps(probs, 10240) == [(32, 5088)]
    # seven chunks (3584 samples) are shorter than 250 ms: dropped
    assert speech_timestamps([0.0] + [0.9] * 7 + [0.1] * 12, 10240) == []
    # speech running to the end is closed at the end of the audio (padding clipped)
    assert speech_timestamps([0.0] * 10 + [0.9] * 10, 10000) == [(4640, 10000)]


def test_voicecnn_segments_become_the_same_grid_mask() -> None:
    # A segment from DetectCfg's rules, [0.12, 0.35) s, marks grid frames 12..34.
    mask = segments_to_mask([(0.12, 0.35)], 40)
    assert np.flatnonzero(mask).tolist() == list(range(12, 35))


# --- set labels ----------------------------------------------------------------------------


def test_energy_labels_fill_short_gaps_only() -> None:
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate // 2) / rate).astype(np.float32)
    wave = np.concatenate([np.zeros(1600), tone, np.zeros(800), tone, np.zeros(4000), tone])
    labels = bench_sets.energy_labels(wave.astype(np.float32))
    assert bench_run.runs(labels) == [(10, 116), (140, 190)]  # 50 ms gap filled, 250 ms kept


def test_annotation_parsers() -> None:
    rttm = "SPEAKER s 1 0.50 1.25 <NA> <NA> A <NA> <NA>\nSPEAKER s 1 3.00 0.50 <NA> <NA> B"
    assert bench_sets.rttm_segments(rttm) == [(0.5, 1.75), (3.0, 3.5)]
    lab = "0.2\t0.2\tspeech\n1.5\t1.5\tsilence\n2.0\t2.0\tspeech\n2.5\t2.5\tsilence\n"
    assert bench_sets.lab_segments(lab) == [(0.2, 1.5), (2.0, 2.5)]


def test_model_names_stay_unique() -> None:
    names = bench_run.model_names(["vad_cnn2d_s", "runs/a/best.safetensors",
                                   "runs/b/best.safetensors", "x/mine.safetensors"])
    assert names == ["vad_cnn2d_s", "a/best", "b/best", "mine"]


def test_update_markdown_replaces_only_the_block(tmp_path: Path) -> None:
    doc = tmp_path / "B.md"
    doc.write_text("intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nreading\n")
    bench_run.update_markdown(doc, "new table")
    expected = "intro\n<!-- bench:begin -->\nnew table\n<!-- bench:end -->\nreading\n"
    assert doc.read_text() == expected


def test_startup_install_size_counts_the_requirement_closure() -> None:
    startup = _load("startup")
    core_mb, core = startup.install_mb(sys.executable, ["voicecnn"], [])
    assert {"voicecnn", "numpy", "safetensors", "soxr", "soundfile"} <= set(core)
    assert "torch" not in core and "scipy" not in core  # detection installs without them
    numpy_mb, _ = startup.install_mb(sys.executable, ["numpy"], [])
    assert numpy_mb < core_mb
    _, skipped = startup.install_mb(sys.executable, ["voicecnn", "torch"], ["torch"])
    assert "torch" not in skipped


# --- real recordings with independent labels (bench/real.py) -------------------------------

bench_real = _load("real")


def test_label_convention_bridges_short_gaps_only() -> None:
    words = [(0.5, 0.9), (0.95, 1.3), (1.2, 1.6), (1.7, 2.0), (2.099, 2.4), (3.0, 2.9)]
    # 50 ms gap bridged; overlap merged; 100 ms is a pause; 99 ms is not; empty word dropped
    assert bench_real.apply_convention(words) == [(0.5, 1.6), (1.7, 2.4)]
    assert bench_real.apply_convention(words, min_pause_s=0.2) == [(0.5, 2.4)]


def test_disfluency_transcripts_keep_words_and_hesitations_only() -> None:
    text = "[laughter] Montreal <hes-forced> [breath] aligner"
    assert bench_real._transcript_words(text) == "montreal forced aligner"


def test_level_variants_scale_and_clip() -> None:
    wave = np.array([0.001, -0.02, 0.5], np.float32)
    np.testing.assert_allclose(bench_real.at_level(wave, -20.0), wave / 10, rtol=1e-6)
    np.testing.assert_allclose(bench_real.at_level(wave, 20.0), [0.01, -0.2, 1.0], rtol=1e-6)


bench_rooms = _load("rooms")


def test_room_conversations_shift_labels_by_the_direct_path(tmp_path: Path) -> None:
    pytest.importorskip("pyroomacoustics")
    sr = 16000
    rng = np.random.default_rng(0)

    def utterance(name: str) -> object:  # 0.3 s silence, 1 s of noise bursts as a "word", 0.3 s
        wave = np.zeros(int(1.6 * sr), np.float32)
        wave[int(0.3 * sr) : int(1.3 * sr)] = rng.standard_normal(sr).astype(np.float32) * 0.1
        return bench_real.Recording(name, "select", wave, [(0.3, 1.3)], "", "")

    rirs, arrivals, _ = bench_rooms.room_rirs(np.random.default_rng(1), 3)
    for rir, arrival in zip(rirs, arrivals, strict=True):  # the direct path, to the sample
        assert abs(int(np.argmax(np.abs(rir))) - arrival * sr) <= 1.0
    noise = tmp_path / "noise.wav"
    sf.write(noise, rng.standard_normal(3 * sr).astype(np.float32) * 0.01, sr)
    pools = [[utterance("a")], [utterance("b")]]
    recs = [bench_rooms.conversation(pools, [noise], np.random.default_rng(s), f"c{s}")
            for s in range(3)]
    again = bench_rooms.conversation(pools, [noise], np.random.default_rng(0), "c0")
    np.testing.assert_array_equal(again.wave, recs[0].wave)  # seeded
    for rec in recs:
        n = rec.wave.size / sr
        assert 6 <= len(rec.segments) <= 11 and all(0 < a < b < n for a, b in rec.segments)
        # each word starts when its direct sound reaches the microphone: 0.5-4.5 m, 1.5-13 ms
        # late, plus pyroomacoustics' filter delay; the audio before it is background only
        for a, _ in rec.segments:
            before = rec.wave[int((a - 0.03) * sr) : int((a - 0.005) * sr)]
            inside = rec.wave[int((a + 0.02) * sr) : int((a + 0.2) * sr)]
            assert np.std(inside) > 2 * np.std(before)
        level = bench_rooms.active_level_db(rec.wave, rec.segments)
        assert -70.5 <= level <= -19.5 and np.abs(rec.wave).max() < 1.0
        pcm = rec.wave * 32767
        np.testing.assert_allclose(pcm, np.round(pcm), atol=1e-3)  # 16-bit values


def test_real_sources_group_files_by_their_source() -> None:
    def item(set_name: str, name: str) -> object:
        return bench_sets.Item(set_name, name, "", None, 1.0, [])

    items = [item("real", "mfa_read_cold_corpus"), item("real", "mfa_read_acoustic_corpus"),
             item("real", "ina_musanmix"), item("real_m20", "voices_farfield_none_mc01")]
    assert bench_run.real_sources(items) == ["ina_musanmix", "mfa_read"]
    # the real sets stay out of the energy-label pool
    assert {s.name for s in bench_sets.SETS if s.family == "real"} == {
        "real", "real_m20", "real_p20"}


bench_levels = _load("levels")


def test_active_level_is_the_rms_of_the_labelled_speech_frames() -> None:
    t = np.arange(1600) / 16000
    wave = np.zeros(3200, np.float32)
    wave[1600:] = 0.1 * np.sin(2 * np.pi * 500 * t)  # frames 10-19: RMS 0.1 / sqrt(2)
    labels = np.arange(20) >= 10
    assert bench_levels.active_level_dbfs(wave, labels) == pytest.approx(-23.01, abs=0.01)
    with pytest.raises(ValueError, match="no labelled speech"):
        bench_levels.active_level_dbfs(wave, np.zeros(20, bool))


def test_levels_are_written_at_their_active_level_and_scored_per_level(tmp_path: Path) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    wave = np.zeros(16000, np.float32)
    wave[8000:] = rng.uniform(-0.5, 0.5, 8000)
    labels = np.arange(100) >= 50
    sf.write(tmp_path / "a.wav", wave, 16000, subtype="FLOAT")
    np.save(tmp_path / "a.npy", labels.astype(np.uint8))
    item = bench_sets.Item("real", "a", str(tmp_path / "a.wav"), str(tmp_path / "a.npy"), 1.0, [])
    files = bench_levels.write_levels([item], [-40.0, -20.0], tmp_path / "levels")
    assert sorted(files) == ["-20/a", "-40/a"]
    for key, target in (("-40/a", -40.0), ("-20/a", -20.0)):
        written, rate = sf.read(files[key], dtype="float32")
        assert rate == 16000 and sf.info(files[key]).subtype == "PCM_16"
        assert bench_levels.active_level_dbfs(written, labels) == pytest.approx(target, abs=0.05)
    # a system that scores speech 0.9 at -20 dBFS and misses it at -40 dBFS
    out = tmp_path / "out"
    for key, p_speech in (("-40/a", 0.05), ("-20/a", 0.9)):
        (out / key).parent.mkdir(parents=True, exist_ok=True)
        probs = np.where(labels, p_speech, 0.1).astype(np.float32)
        np.savez(out / f"{key}.npz", probs=probs, speech=probs > 0.5)
    scores = bench_levels.level_scores([item], [-40.0, -20.0], out)
    assert scores[-20.0] == pytest.approx(
        {"auc": 1.0, "p_speech": 0.9, "p_nonspeech": 0.1, "recall": 1.0, "fa_rate": 0.0})
    assert scores[-40.0] == pytest.approx(
        {"auc": 0.0, "p_speech": 0.05, "p_nonspeech": 0.1, "recall": 0.0, "fa_rate": 0.0})
    table = bench_levels.tables({"sys": scores}, [-40.0, -20.0])
    assert "| sys | 0.000 | 1.000 | 1.000 |" in table  # ROC-AUC row, spread 1.0


bench_selection = _load("selection")


def test_spearman_ranks_with_ties_and_selection_parts() -> None:
    assert bench_selection.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert bench_selection.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties share their mean rank: ranks (0.5, 0.5, 2) against (0, 1, 2)
    assert bench_selection.spearman([5, 5, 9], [1, 2, 3]) == pytest.approx(0.8660, abs=1e-4)
    assert np.isnan(bench_selection.spearman([1, 1, 1], [1, 2, 3]))
    assert bench_selection.part_of("mfa_disfluency_x_y_p20") == "mfa_disfluency, p20"
    assert bench_selection.part_of("pyannote_sample") == "pyannote_sample, as recorded"
