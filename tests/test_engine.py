"""The numpy engine: built by walking layer specs, equal to torch for any architecture made of
the shared layers, any chunking, the bundled weights; and no torch on the inference path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.numpy import load as numpy_load
from torch import nn

import voicecnn as vc
from voicecnn.net.checkpoint import _locate
from voicecnn.net.engine import FrameEngine, NumpyVad
from voicecnn.net.frontend_spec import FrontendCfg, LogMelSpec
from voicecnn.net.layers.basic_spec import BatchNormSpec, FlattenSpec, UnsqueezeSpec
from voicecnn.net.layers.conv_spec import ConvStackSpec, MaxPoolSpec, StageCfg
from voicecnn.net.layers.heads_spec import FrameHeadSpec
from voicecnn.net.layers.step import LayerSpec, Params, Seq, Shape, Step
from voicecnn.net.models.build import build_module
from voicecnn.net.models.vad_spec import VARIANTS, vad_spec

from .conftest import speechlike


def _randomise_norms(model: nn.Module) -> None:
    """Batch-norm statistics away from (0, 1), so that a wrong fold would show."""
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(m.bias.shape, generator=g))


def _chunked(engine: FrameEngine, wave: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, pos, k = [], 0, 0
    while pos < wave.size:
        n = sizes[k % len(sizes)]
        out.append(engine.push(wave[pos : pos + n]))
        pos, k = pos + n, k + 1
    out.append(engine.flush())
    return np.concatenate(out)


def _chunkings(seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[1] * 200 + [10**6], [160], [512], rng.integers(1, 4000, 40).tolist(), [50000]]


@pytest.mark.parametrize("first_kernel", [1, 3])
def test_an_architecture_defined_here_streams_like_torch(first_kernel: int) -> None:
    """A new architecture assembled from the shared layers runs on the engine with no new
    code: a 2-D stack with a running pool over (rows, time), a flatten, a 1-D stack with a
    dilated conv and a running pool, a frame head. (After the flatten, a 1x1 conv reads the
    2-D frames itself; a wider one reads the flatten's copy.)"""
    spec = Seq((
        ("fe", LogMelSpec(FrontendCfg(n_mels=32, n_fft=256, hop_length=128, sample_rate=8000))),
        ("norm", BatchNormSpec(32)),
        ("to2d", UnsqueezeSpec(32)),
        ("conv2d", ConvStackSpec(1, (
            StageCfg(4, kernel=3, lookahead=1, pool=(2, 3), pool_stride=(2, 1)),
            StageCfg(6, kernel=5, dilation=2, lookahead=0),
        ), dims=2)),
        ("flat", FlattenSpec()),
        ("conv1d", ConvStackSpec(6 * 16, (
            StageCfg(12, kernel=first_kernel),
            StageCfg(12, kernel=3, dilation=3, pool=(5,), pool_stride=(1,)),
        ), dims=1)),
        ("head", FrameHeadSpec(12)),
    ))
    net = build_module(spec)
    assert isinstance(net, nn.Sequential)
    _randomise_norms(net)
    net.eval()
    wave = speechlike(2.3, 8000, seed=4)
    with torch.no_grad():
        ref = torch.sigmoid(net(torch.from_numpy(wave)[None]))[0].numpy()
    assert ref.shape == (wave.size // 128,)
    tensors = {k: v.numpy() for k, v in net.state_dict().items()}
    for sizes in _chunkings(1):
        for piece in (15, 256):  # stream-sized and file-sized passes
            got = _chunked(FrameEngine(spec, tensors, piece_frames=piece), wave, sizes)
            np.testing.assert_allclose(got, ref, atol=2e-6)


def test_a_layer_type_without_a_numpy_step_cannot_be_made() -> None:
    class NoStep(LayerSpec):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoStep()  # type: ignore[abstract]


def test_a_layer_the_engine_cannot_run_is_named_in_one_line() -> None:
    spec = Seq((("fe", LogMelSpec(FrontendCfg())), ("norm", BatchNormSpec(64)),
                ("pool", MaxPoolSpec(1, (2,), (2,))), ("head", FrameHeadSpec(64))))
    tensors = {k: v.numpy() for k, v in build_module(spec).state_dict().items()}
    with pytest.raises(ValueError, match=r"layer 'pool' \(MaxPoolSpec\): .*stride 1"):
        FrameEngine(spec, tensors)


def test_a_new_step_plugs_in_by_defining_it() -> None:
    """A layer type defined here, with its step, runs inside an existing architecture."""

    class Halve(LayerSpec):
        def step(self, params: Params, shape: Shape) -> Step:
            class HalveStep(Step):
                def __init__(self) -> None:
                    from voicecnn.net.layers.step import Buf

                    self.inp, self.out_shape = Buf(shape), shape

                def ops(self, n: int) -> list:  # type: ignore[type-arg]
                    s, w = self.inp.start, self.out.w
                    return [lambda: np.multiply(self.inp.rows[s : s + n], 0.5,
                                                out=self.out.rows[w : w + n])]

            return HalveStep()

    with pytest.raises(TypeError, match="no torch module for Halve"):
        build_module(Halve())  # the numpy step alone: torch has no module for it
    cfg = VARIANTS["vad_cnn1d_xs"]()
    model = vc.create_model("vad_cnn1d_xs").eval()
    _randomise_norms(model)
    tensors = {k: v.numpy() for k, v in model.state_dict().items()}
    base = vad_spec(cfg)
    spec = Seq((*base.layers[:-1], ("halve", Halve()), base.layers[-1]))
    wave = speechlike(1.0, seed=2)
    with torch.no_grad():
        feats = model.forward_features(torch.from_numpy(wave)[None])
        ref = torch.sigmoid(model.forward_head(feats * 0.5))[0].numpy()
    np.testing.assert_allclose(_chunked(FrameEngine(spec, tensors), wave, [700]), ref, atol=2e-6)


def test_variants_known_without_torch_are_the_registered_ones() -> None:
    assert sorted(VARIANTS) == vc.list_models("vad")
    for name in VARIANTS:
        assert vc.create_model(name).cfg == VARIANTS[name]()


@pytest.mark.parametrize("name", vc.list_models("vad"))
def test_every_registered_architecture_streams_like_torch(name: str) -> None:
    model = vc.create_model(name).eval()
    _randomise_norms(model)
    wave = speechlike(2.2, seed=21)
    ref = vc.frame_probs(model, wave)
    numpy_model = NumpyVad.from_module(model)
    for sizes in _chunkings(3):
        np.testing.assert_allclose(_chunked(numpy_model.stream(), wave, sizes), ref, atol=2e-6)
    np.testing.assert_allclose(vc.frame_probs(numpy_model, wave), ref, atol=2e-6)
    assert numpy_model.context_frames == model.context_frames
    np.testing.assert_allclose(numpy_model(np.stack([wave, wave[::-1].copy()])),
                               model(torch.from_numpy(np.stack([wave, wave[::-1].copy()])))
                               .detach().numpy(), atol=2e-5)


@pytest.mark.parametrize("name", vc.bundled_models())
def test_bundled_weights_give_the_same_probabilities_and_segments(name: str) -> None:
    numpy_model, torch_model = vc.load_model(name), vc.load_module(name)
    assert isinstance(numpy_model, NumpyVad) and isinstance(torch_model, vc.VadCnn)
    wave = speechlike(4.1, seed=23)
    ref = vc.frame_probs(torch_model, wave)
    np.testing.assert_allclose(vc.frame_probs(numpy_model, wave), ref, atol=2e-5)
    for sizes in _chunkings(7)[1:]:
        np.testing.assert_allclose(_chunked(numpy_model.stream(), wave, sizes), ref, atol=2e-5)
    assert vc.detect(numpy_model, wave) == vc.detect(torch_model, wave)


@pytest.mark.parametrize("name", vc.bundled_models())
def test_bundled_weights_load_tensor_for_tensor_under_their_names(name: str) -> None:
    """Weights saved when ConvNormAct's children were positional (``layers.0.1.weight``) load
    into the named children (``layers.0.conv.weight``), tensor for tensor; newer files hold the
    names already."""
    raw = numpy_load(_locate(name)[0])
    state = vc.load_module(name).state_dict()
    for key, value in raw.items():
        new = re.sub(r"(\.layers\.\d+)\.1\.", r"\1.conv.", key)
        new = re.sub(r"(\.layers\.\d+)\.2\.", r"\1.norm.", new)
        np.testing.assert_array_equal(state[new].numpy(), value)
    assert len(state) == len(raw)


def test_some_bundled_weights_hold_positional_names() -> None:
    # the older bundled files are the case the renaming serves: the test above covers it
    positional = [name for name in vc.bundled_models()
                  if any(re.search(r"\.layers\.\d+\.1\.", k) for k in numpy_load(_locate(name)[0]))]
    assert positional


def test_saved_weights_use_the_names_and_reload(tmp_path: Path) -> None:
    model = vc.create_model("vad_cnn2d_s").eval()
    _randomise_norms(model)
    vc.save_weights(model, tmp_path / "m.safetensors", arch="vad_cnn2d_s")
    keys = numpy_load((tmp_path / "m.safetensors").read_bytes())
    assert "stack.layers.0.conv.weight" in keys and "temporal.layers.1.norm.running_var" in keys
    wave = speechlike(1.5)
    np.testing.assert_allclose(vc.frame_probs(vc.load_model(tmp_path / "m.safetensors"), wave),
                               vc.frame_probs(model, wave), atol=2e-6)


def test_engine_state_is_per_instance() -> None:
    model = vc.load_model("vad_cnn1d_s")
    wave = speechlike(2.0, seed=8)
    a, b = model.stream(), model.stream()
    first = _chunked(a, wave, [512])
    b.push(speechlike(1.3, seed=9))  # another stream in between changes nothing of a's
    a.reset()
    np.testing.assert_array_equal(_chunked(a, wave, [512]), first)


def test_metadata_of_the_wrong_type_is_one_line(tmp_path: Path) -> None:
    from safetensors.numpy import save

    tensors = {"x": np.zeros(1, np.float32)}
    cases = {
        "config": ({"arch": "vad_cnn1d_xs", "config": "[1, 2]"}, "must be a JSON object"),
        "dims": ({"arch": "vad_cnn1d_xs", "config": json.dumps({"dims": "two"})}, "dims"),
        "json": ({"arch": "vad_cnn1d_xs", "config": "{"}, "is not JSON"),
        "tensors": ({"arch": "vad_cnn1d_xs", "config": "{}"}, "missing tensor"),
    }
    for label, (meta, message) in cases.items():
        path = tmp_path / f"{label}.safetensors"
        path.write_bytes(save(tensors, metadata=meta))
        with pytest.raises(vc.CheckpointError, match=message) as info:
            vc.load_model(path)
        assert "\n" not in str(info.value)


_NO_TORCH = """
import sys
import numpy as np
import voicecnn as vc
from voicecnn.detection.stream import StreamingDetector
model = vc.load_model()
det = vc.detect_file(model, sys.argv[1])
stream = StreamingDetector(model)
events = stream.feed(np.zeros(16000, np.float32)).events + stream.flush().events
from voicecnn.cli import main
sys.argv = ["voicecnn", "detect", sys.argv[1], "-f", "json"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("torch modules:", loaded, file=sys.stderr)
assert not loaded
"""


def test_detection_does_not_import_torch(wav_file: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _NO_TORCH, str(wav_file)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "torch modules: []" in done.stderr
    assert json.loads(done.stdout)["path"] == str(wav_file)


def test_cli_detect_on_a_short_file_equals_the_library(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    sf.write(path, speechlike(3.0, seed=30), 16000)
    numpy_det = vc.detect_file(vc.load_model(), path)
    torch_det = vc.detect_file(vc.load_module(), path)
    assert numpy_det.segments == torch_det.segments
    np.testing.assert_allclose(numpy_det.probs, torch_det.probs, atol=2e-5)


def test_a_config_that_lies_about_its_tensors_is_refused_without_torch(tmp_path: Path) -> None:
    """The numpy loader checks every tensor's shape against the config (no torch needed)."""
    from importlib.resources import files

    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    src = str(files("voicecnn.weights") / "vad_cnn2d_s.safetensors")
    with safe_open(src, "np") as f:
        meta = dict(f.metadata())
    for path, change in (("temporal", ("temporal", 0, "channels", 40)),
                         ("kernel", ("stages", 1, "kernel", 5))):
        cfg = json.loads(meta["config"])
        key, i, field, value = change
        cfg[key][i][field] = value
        out = tmp_path / f"{path}.safetensors"
        save_file(load_file(src), str(out), metadata={**meta, "config": json.dumps(cfg)})
        code = ("import sys, voicecnn as vc\n"
                "try:\n    vc.load_model(sys.argv[1])\nexcept vc.CheckpointError as e:\n"
                "    print(e)\nprint('torch' in sys.modules)\n")
        run = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                             text=True, check=True)
        message, torch_loaded = run.stdout.splitlines()
        assert "its config needs" in message and torch_loaded == "False", run.stdout
