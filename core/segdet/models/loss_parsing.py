"""Summing a model's loss terms into the loss the runner steps on, and the floats it logs."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["parse_losses"]


def parse_losses(losses: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum every term whose key contains ``'loss'`` (lists summed) into ``loss``.

    Returns:
        ``(loss, log_vars)``: ``log_vars`` maps every term, and the total ``loss``, to a float
        (averaged over processes in distributed runs).
    """
    parts: dict[str, torch.Tensor] = OrderedDict()
    for name, value in losses.items():
        if isinstance(value, torch.Tensor):
            parts[name] = value.mean()
        elif isinstance(value, (list, tuple)):
            parts[name] = sum(v.mean() for v in value)  # type: ignore[assignment]
        elif isinstance(value, (int, float)):
            parts[name] = torch.tensor(float(value))
        else:
            raise TypeError(f"loss term {name!r} is a {type(value).__name__}; expected a tensor or a list of tensors")
    loss_terms = [v for k, v in parts.items() if "loss" in k]
    if loss_terms:
        loss = sum(loss_terms[1:], loss_terms[0])
    else:
        loss = torch.zeros(())
    parts["loss"] = loss
    values = torch.stack([v.detach().float().reshape(()).to(loss.device) for v in parts.values()])
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values.div_(dist.get_world_size()))
    log_vars = dict(zip(parts.keys(), values.tolist()))
    return loss, log_vars
