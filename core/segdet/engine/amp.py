"""Mixed precision settings from ``fp16=dict(...)``, for any device."""
from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any, Union

import attrs
import torch

__all__ = ["AmpSettings", "StaticGradScaler", "amp_settings"]

_DTYPES = {"float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


@attrs.frozen
class AmpSettings:
    """Autocast on ``device_type`` with ``dtype``; ``loss_scale`` is ``'dynamic'``, a number or None."""

    enabled: bool = False
    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    loss_scale: Union[str, float, None] = None

    def autocast(self) -> Any:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def make_scaler(self) -> Any | None:
        """A GradScaler for float16 (None for bfloat16, which needs no loss scaling)."""
        if not self.enabled or self.dtype != torch.float16 or self.loss_scale is None:
            return None
        if self.loss_scale == "dynamic":
            return torch.amp.GradScaler(self.device_type)
        return StaticGradScaler(self.device_type, float(self.loss_scale))


class StaticGradScaler(torch.amp.GradScaler):
    """A GradScaler whose scale never moves (``fp16=dict(loss_scale=512.)``, MMCV's static scale).

    A step with non-finite gradients is still skipped. torch's GradScaler refuses a growth
    factor of 1, so :meth:`update` puts the fixed scale back after every step instead.
    """

    def __init__(self, device: str, scale: float) -> None:
        super().__init__(device, init_scale=scale)
        self.static_scale = scale

    def update(self, new_scale: Union[float, torch.Tensor, None] = None) -> None:
        super().update(self.static_scale if new_scale is None else new_scale)


def amp_settings(fp16: dict | None, device: Union[str, torch.device],
                 logger: logging.Logger | None = None) -> AmpSettings:
    """Settings for ``fp16=dict(loss_scale='dynamic'|number, dtype='float16'|'bfloat16')`` on ``device``.

    float16 is used where the device supports it with a GradScaler; on a CPU,
    float16 is replaced by bfloat16 with a warning.
    """
    if not fp16:
        return AmpSettings()
    unknown = set(fp16) - {"loss_scale", "dtype"}
    if unknown:
        raise ValueError(f"fp16: unknown keys {sorted(unknown)}; expected loss_scale, dtype")
    device_type = torch.device(device).type
    name = str(fp16.get("dtype", "float16")).replace("torch.", "")
    if name not in _DTYPES:
        raise ValueError(f"fp16.dtype: unknown dtype {name!r}; use one of {sorted(_DTYPES)}")
    dtype = _DTYPES[name]
    if device_type == "cpu" and dtype == torch.float16:
        msg = "fp16 on a CPU: using bfloat16 autocast instead (set fp16.dtype='bfloat16' to silence this)"
        warnings.warn(msg, stacklevel=2)
        if logger is not None:
            logger.warning(msg)
        dtype = torch.bfloat16
    loss_scale = fp16.get("loss_scale", "dynamic") if dtype == torch.float16 else None
    return AmpSettings(True, device_type, dtype, loss_scale)
