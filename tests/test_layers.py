"""Shared layers: 1-D and 2-D blocks, stacks, heads."""

from __future__ import annotations

import pytest
import torch

from voicecnn.net.layers import ClassifierHead, ConvNormAct, ConvStack, FrameHead, StageCfg


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize(("k", "dilation", "lookahead"), [(3, 1, None), (5, 2, 0), (3, 4, 8)])
def test_conv_norm_act_keeps_length(
    dims: int, k: int, dilation: int, lookahead: int | None
) -> None:
    block = ConvNormAct(
        3, 5, k, dims=dims, dilation=dilation, lookahead=lookahead  # type: ignore[arg-type]
    )
    x = torch.randn(2, 3, 20) if dims == 1 else torch.randn(2, 3, 12, 20)
    y = block(x)
    assert y.shape == (2, 5, *x.shape[2:])
    assert (y >= 0).all()  # ReLU


def test_conv_norm_act_rejects_impossible_lookahead() -> None:
    with pytest.raises(ValueError, match="lookahead"):
        ConvNormAct(1, 1, 3, lookahead=3)


def _dependence(stack: ConvStack, c_in: int, t: int, dims: int) -> tuple[int, int]:
    """Measure which input steps change output step ``t`` (gradient support)."""
    stack.eval()
    shape = (1, c_in, 64) if dims == 1 else (1, c_in, 8, 64)
    x = torch.randn(shape, requires_grad=True)
    stack(x)[..., t].sum().backward()
    assert x.grad is not None
    g = x.grad.abs().flatten(0, -2).sum(0)
    idx = torch.nonzero(g).flatten()
    return t - int(idx.min()), int(idx.max()) - t


@pytest.mark.parametrize("dims", [1, 2])
def test_receptive_field_is_exact(dims: int) -> None:
    stages = (
        StageCfg(4, kernel=5, lookahead=1, pool=(3,) * (dims - 1) + (3,),
                 pool_stride=(1,) * dims),
        StageCfg(4, kernel=3, dilation=4, lookahead=0),
        StageCfg(4, kernel=3, dilation=2),
    )
    stack = ConvStack(2, stages, dims=dims)  # type: ignore[arg-type]
    assert stack.time_stride == 1
    assert _dependence(stack, 2, 32, dims) == stack.receptive_field


def test_strided_pool_changes_time_stride_and_height() -> None:
    stack = ConvStack(1, (StageCfg(4, pool=(2, 2)), StageCfg(8, pool=(2, 1))), dims=2)
    y = stack(torch.randn(1, 1, 16, 32))
    assert y.shape == (1, 8, 4, 16)
    assert stack.time_stride == 2 and stack.height_stride == 4 and stack.out_channels == 8


@pytest.mark.parametrize("pool", [(2, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("size", [(16, 40), (17, 41)])
def test_tiling_max_pool_matches_torch(pool: tuple[int, int], size: tuple[int, int]) -> None:
    # The stack's own pool (a reshape and a maximum) against torch's max_pool2d: values, the
    # floor of a ragged edge, and gradients (random inputs: no ties).
    stack = ConvStack(1, (StageCfg(4, pool=pool),), dims=2)
    pool_layer = stack.layers[-1]
    x = torch.randn(2, 4, *size, requires_grad=True)
    ref_x = x.detach().clone().requires_grad_(True)
    y, ref = pool_layer(x), torch.nn.functional.max_pool2d(ref_x, pool)
    assert torch.equal(y, ref)
    g = torch.randn_like(ref)
    y.backward(g)
    ref.backward(g)
    assert torch.equal(x.grad, ref_x.grad)


def test_stage_cfg_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        StageCfg(0)
    with pytest.raises(ValueError, match="odd"):
        StageCfg(4, pool=(2,), pool_stride=(1,))
    with pytest.raises(ValueError, match="needs 2"):
        ConvStack(1, (StageCfg(4, pool=(2,)),), dims=2)


def test_frame_head_shapes_and_reset() -> None:
    head = FrameHead(12)
    assert head(torch.randn(2, 12, 7)).shape == (2, 7)
    assert head(torch.randn(2, 3, 4, 7)).shape == (2, 7)  # (B, C, H, T) flattened
    head.reset(3)
    assert head(torch.randn(2, 12, 7)).shape == (2, 3, 7)


@pytest.mark.parametrize("pool", ["avg", "max", "avgmax"])
def test_classifier_head_any_size(pool: str) -> None:
    head = ClassifierHead(6, 10, pool=pool)  # type: ignore[arg-type]
    for shape in [(2, 6, 5, 5), (2, 6, 9, 3), (2, 6, 11)]:
        assert head(torch.randn(shape)).shape == (2, 10)
    head.reset(4)
    assert head(torch.randn(2, 6, 5, 5)).shape == (2, 4)


def test_classifier_head_flatten_is_fully_connected() -> None:
    head = ClassifierHead(6 * 4 * 4, 10, pool="flatten")
    assert head(torch.randn(3, 6, 4, 4)).shape == (3, 10)
