"""Training: the optimisation loop, metrics, and whole runs from a config.

:mod:`.run` reads a config and starts its task (:mod:`.vad`, :mod:`.image`, :mod:`.clip`) over
the shared core (:mod:`.core`: batches and the run; :mod:`.device`: device and DDP set-up;
:mod:`.build`: the model, fresh, fine-tuned or grown).
"""

from voicecnn.train.loop import (
    EvalFn,
    LossFn,
    StepFn,
    TrainCfg,
    TrainState,
    class_cross_entropy,
    fit,
    frame_bce,
    load_state,
    lr_at,
    select_row,
)
from voicecnn.train.metrics import (
    SegmentMatch,
    accuracy,
    f1_at,
    false_alarm_rate,
    match_segments,
    roc_auc,
)

__all__ = [
    "EvalFn",
    "LossFn",
    "SegmentMatch",
    "StepFn",
    "TrainCfg",
    "TrainState",
    "accuracy",
    "class_cross_entropy",
    "f1_at",
    "false_alarm_rate",
    "fit",
    "frame_bce",
    "load_state",
    "lr_at",
    "match_segments",
    "roc_auc",
    "select_row",
]
