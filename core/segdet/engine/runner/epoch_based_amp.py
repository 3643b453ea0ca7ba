"""``EpochBasedRunnerAmp``: the Swin Transformer detection fork's runner name.

The fork's runner saved apex's AMP state under ``checkpoint['amp']``. Here mixed precision is
torch's autocast with a GradScaler (``fp16=dict(...)`` or ``optimizer_config.use_fp16=True``);
this runner is the epoch runner whose checkpoints carry the scaler state under both
``grad_scaler`` and ``amp``. A fork checkpoint's ``amp`` entry is apex state, which torch's
scaler cannot take: resuming from one restores everything else and starts a fresh scaler.
"""
from __future__ import annotations

from typing import Any

from .epoch_based import EpochBasedRunner

__all__ = ["EpochBasedRunnerAmp"]


class EpochBasedRunnerAmp(EpochBasedRunner):
    """An :class:`EpochBasedRunner` whose checkpoints also hold the AMP scaler state as ``amp``."""

    def _checkpoint_dict(self, meta: dict, save_optimizer: bool) -> dict[str, Any]:
        checkpoint = super()._checkpoint_dict(meta, save_optimizer)
        if "grad_scaler" in checkpoint:
            checkpoint["amp"] = checkpoint["grad_scaler"]
        return checkpoint
