"""voicecnn.net.frontend_spec: the log-mel frontend's numpy step (its bands of mel filters; the step
against torch: tests/test_engine.py)."""

from __future__ import annotations

import numpy as np
import pytest

from voicecnn.net.frontend import mel_filterbank
from voicecnn.net.frontend_spec import mel_bands


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
