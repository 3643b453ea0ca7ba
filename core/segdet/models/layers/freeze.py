"""Frozen stages and ``norm_eval``: what a backbone's ``train()`` keeps out of training."""
from __future__ import annotations

from collections.abc import Iterable

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["eval_batch_norms", "freeze_modules"]


def freeze_modules(modules: Iterable[nn.Module]) -> None:
    """Put each module in eval mode and stop the gradients of its parameters (``frozen_stages``)."""
    for module in modules:
        module.eval()
        for p in module.parameters():
            p.requires_grad = False


def eval_batch_norms(module: nn.Module) -> None:
    """Put every BatchNorm inside ``module`` in eval mode, so its running statistics stay as loaded
    (``norm_eval=True``); call it after ``module.train()``."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
