"""Tiny models, batches and runners for testing a component without a data set.

A hook plugin's test, for instance, trains a linear model for a few iterations::

    from segdet.testing import LinearToy, linear_batches, toy_runner

    runner = toy_runner(LinearToy(), work_dir=str(tmp_path), max_epochs=2,
                        hooks_cfg=dict(checkpoint_config=dict(interval=1)))
    runner.register_hook(MyHook())
    runner.run([linear_batches(4)], [("train", 1)])

and a head's test registers a stand-in loss for its own duration::

    with registered("losses", "MyTestCE", PixelCrossEntropy):
        head = MyHead(loss_decode=dict(type="MyTestCE"), ...)
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..engine.checkpoint import read_checkpoint
from ..engine.runner import BaseRunner, EpochBasedRunner, IterBasedRunner
from ..engine.train import register_training_hooks
from ..registry.local import local_lookup, register, unregister

__all__ = [
    "EpochBasedRunner",
    "IterBasedRunner",
    "LinearToy",
    "PixelCrossEntropy",
    "linear_batches",
    "read_checkpoint",
    "register_training_hooks",
    "registered",
    "toy_runner",
]


class LinearToy(nn.Module):
    """``y = W x + b`` whose ``train_step`` returns the mean squared error against ``data['y']``.

    Args:
        in_features: width of ``data['x']`` ``(B, in_features)``. Default 4.
        out_features: width of ``data['y']`` ``(B, out_features)``. Default 2.
        bias: learn ``b``. Default True.
    """

    def __init__(self, in_features: int = 4, out_features: int = 2, bias: bool = True) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features, bias=bias)

    def train_step(self, data: Mapping[str, torch.Tensor], optimizer: Any = None) -> dict[str, Any]:
        """``dict(loss, log_vars={'loss': float}, num_samples=B)`` as the runner expects."""
        loss = ((self.fc(data["x"]) - data["y"]) ** 2).mean()
        return dict(loss=loss, log_vars={"loss": float(loss.item())}, num_samples=data["x"].shape[0])

    def val_step(self, data: Mapping[str, torch.Tensor], optimizer: Any = None) -> dict[str, Any]:
        return self.train_step(data, optimizer)


def linear_batches(num_batches: int, batch_size: int = 2, seed: int = 0, in_features: int = 4,
                   out_features: int = 2) -> list[dict[str, torch.Tensor]]:
    """``num_batches`` deterministic batches ``dict(x=(B, in_features), y=(B, out_features))``."""
    g = torch.Generator().manual_seed(seed)
    return [dict(x=torch.randn(batch_size, in_features, generator=g),
                 y=torch.randn(batch_size, out_features, generator=g))
            for _ in range(num_batches)]


def toy_runner(model: nn.Module, *, work_dir: str | None = None, max_epochs: int | None = 1,
               max_iters: int | None = None, lr: float = 0.1, momentum: float = 0.0,
               hooks_cfg: Mapping[str, Any] | None = None, logger: logging.Logger | None = None,
               seed: int | None = 0) -> BaseRunner:
    """A quiet runner training ``model`` with SGD: epoch-based, or iteration-based with ``max_iters``.

    Args:
        hooks_cfg: config keys ``register_training_hooks`` reads (``lr_config``,
            ``checkpoint_config``, ``log_config``, ...); None registers no hook.
        seed: ``torch.manual_seed`` before anything else (None: leave the generator alone).
    """
    if seed is not None:
        torch.manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    logger = logger or logging.getLogger("segdet")
    runner: BaseRunner
    if max_iters is not None:
        runner = IterBasedRunner(model, optimizer, work_dir=work_dir, logger=logger, max_iters=max_iters)
    else:
        runner = EpochBasedRunner(model, optimizer, work_dir=work_dir, logger=logger, max_epochs=max_epochs)
    runner.show_progress = False
    if hooks_cfg is not None:
        register_training_hooks(runner, hooks_cfg)
    return runner


@contextmanager
def registered(group: str, name: str, obj: Any) -> Iterator[Any]:
    """Register ``obj`` as ``name`` in ``group`` for this process while the block runs.

    A name already registered locally is restored afterwards, so tests do not leak into each other.
    """
    previous = local_lookup(group, name)
    register(group, name, force=True)(obj)
    try:
        yield obj
    finally:
        unregister(group, name)
        if previous is not None:
            register(group, name, force=True)(previous)


class PixelCrossEntropy(nn.Module):
    """Stand-in pixel cross-entropy (``loss_ce``), so a head's tests need no loss plugin.

    ``forward(logits (B, C, H, W), labels (B, H, W), weight=None, ignore_index=255)`` -> scalar.
    """

    loss_name = "loss_ce"

    def forward(self, x: torch.Tensor, y: torch.Tensor, weight: object = None,
                ignore_index: int = 255) -> torch.Tensor:
        return F.cross_entropy(x, y, ignore_index=ignore_index)
