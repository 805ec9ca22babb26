"""voicecnn.train.loop: the LR schedule, a tiny overfitting run, the choice of the best
evaluation, resume state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from voicecnn.errors import CheckpointError


def test_corrupt_resume_state_never_suggests_unpickling(tmp_path: Path) -> None:
    from voicecnn.train.loop import load_state

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 1, "evil": Path("x")}, run / "state.pt")  # an object: not weights_only
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
    (run / "state.pt").write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(CheckpointError) as e:
        load_state(run)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
