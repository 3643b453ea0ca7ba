"""State and services shared by the epoch- and iteration-based runners."""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Union

import torch
from torch import nn

from ...errors import CheckpointError
from ..amp import AmpSettings
from ..checkpoint import (
    copy_checkpoint,
    get_rng_state,
    get_state_dict,
    load_checkpoint,
    set_rng_state,
    unwrap_model,
    write_checkpoint,
)
from ..hook_manager import HookManager
from ..log_buffer import LogBuffer
from ..logger import get_logger

__all__ = ["BaseRunner", "HOST_KEYS", "to_device"]


#: batch keys whose values stay on the host: per-image metadata the model reads as Python values
#: (MMCV kept them in ``DataContainer(cpu_only=True)``); walking them would cost a function call
#: per meta entry and iteration for nothing.
HOST_KEYS = frozenset({"img_metas"})


def to_device(data: Any, device: torch.device) -> Any:
    """Move every tensor in nested dicts/lists/tuples of ``data`` to ``device``, once.

    A tensor already there is returned as is; a copy is asynchronous (``non_blocking``) only from
    pinned memory, the one case where that is both safe and faster. Values under
    :data:`HOST_KEYS` (``img_metas``) are not walked.
    """
    if isinstance(data, torch.Tensor):
        if data.device == device:
            return data
        return data.to(device, non_blocking=data.is_pinned())
    if isinstance(data, Mapping):
        return {k: v if k in HOST_KEYS else to_device(v, device) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(to_device(v, device) for v in data)
    return data


class BaseRunner:
    """Holds model, optimizer, hooks and progress counters of a run.

    Args:
        model: the user's model, with ``train_step`` / ``val_step`` (see CONTRACTS).
        optimizer: its optimizer, or None (evaluation only).
        work_dir: where checkpoints and logs go.
        logger: defaults to the ``segdet`` logger.
        meta: saved into every checkpoint (``CLASSES``, config text, versions, seed...).
        max_epochs / max_iters: length of the run (one of them per runner type).
        step_module: what is called for a step, ``step_module(data, mode)``; defaults to
            the model's own ``train_step``/``val_step`` (DDP passes a wrapped adapter).
        device: where batches are moved; defaults to the device of the model's parameters.
        amp: mixed precision settings (:func:`segdet.engine.amp.amp_settings`).
        rank: process rank; only rank 0 writes files.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                 work_dir: str | None = None, logger: logging.Logger | None = None,
                 meta: dict | None = None, max_iters: int | None = None,
                 max_epochs: int | None = None, step_module: nn.Module | None = None,
                 device: Union[str, torch.device, None] = None, amp: AmpSettings | None = None,
                 rank: int = 0, world_size: int = 1, timestamp: str | None = None) -> None:
        if max_epochs is not None and max_iters is not None:
            raise ValueError("give only one of max_epochs and max_iters")
        self.model = unwrap_model(model)
        self.step_module = step_module
        self.optimizer = optimizer
        self.work_dir = os.path.abspath(work_dir) if work_dir else os.getcwd()
        if rank == 0:
            os.makedirs(self.work_dir, exist_ok=True)
        self.logger = logger or get_logger("segdet")
        self.meta: dict[str, Any] = dict(meta or {})
        self.meta.setdefault("hook_msgs", {})
        if device is None:
            first = next(self.model.parameters(), None)
            device = first.device if first is not None else torch.device("cpu")
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:  # compare equal to tensors' devices
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.amp = amp or AmpSettings()
        self.grad_scaler = self.amp.make_scaler()
        self.rank, self.world_size = rank, world_size
        self.timestamp = timestamp or time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.mode: str | None = None
        self._hooks = HookManager()
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self._max_epochs = max_epochs
        self._max_iters = max_iters
        self.log_buffer = LogBuffer()
        self.data_loader: Any = None
        self.data_batch: Any = None
        self.outputs: dict[str, Any] = {}
        self._pending_state: dict[str, Any] = {}
        self._pending_loader_rng: torch.Tensor | None = None
        #: a progress bar per training epoch (tqdm on a TTY, plain lines otherwise)
        self.show_progress = True
        #: labels of the run (``segdet train --tags``), read by logger hooks
        self.tags: list[str] = []

    # -- progress -------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int | None:
        return self._max_iters

    @property
    def hooks(self) -> list[Any]:
        return self._hooks.hooks

    # -- hooks ----------------------------------------------------------------------
    def register_hook(self, hook: Any, priority: Any = None) -> None:
        """Add a hook; with ``priority`` None, its ``priority`` attribute (default NORMAL) is used."""
        self._hooks.register(hook, priority)
        if self._pending_state:
            self._apply_hook_states()

    def call_hook(self, stage: str, **kwargs: Any) -> None:
        self._hooks.call(stage, runner=self, **kwargs)

    def get_hook_info(self) -> str:
        return self._hooks.info()

    def current_lr(self) -> list[float]:
        if self.optimizer is None:
            raise RuntimeError("lr is not applicable because optimizer does not exist.")
        return [group["lr"] for group in self.optimizer.param_groups]

    def current_momentum(self) -> list[float]:
        if self.optimizer is None:
            raise RuntimeError("momentum is not applicable because optimizer does not exist.")
        out = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                out.append(group["momentum"])
            elif "betas" in group:
                out.append(group["betas"][0])
            else:
                out.append(0.0)
        return out

    # -- one step -------------------------------------------------------------------
    def run_iter(self, data_batch: Any, train_mode: bool) -> None:
        """Move ``data_batch`` to the device, run ``train_step``/``val_step`` under autocast,
        and put its log variables into the log buffer."""
        data = to_device(data_batch, self.device)
        mode = "train_step" if train_mode else "val_step"
        with self.amp.autocast():
            if self.step_module is not None:
                outputs = self.step_module(data, mode, self.optimizer)
            else:
                outputs = getattr(self.model, mode)(data, self.optimizer)
        if not isinstance(outputs, dict):
            raise TypeError(f"{type(self.model).__name__}.{mode} must return a dict with 'loss', "
                            f"'log_vars' and 'num_samples', got {type(outputs).__name__}")
        if "log_vars" in outputs:
            self.log_buffer.update(outputs["log_vars"], outputs.get("num_samples", 1))
        self.outputs = outputs

    # -- checkpoints ----------------------------------------------------------------
    def _checkpoint_dict(self, meta: dict, save_optimizer: bool) -> dict[str, Any]:
        meta = {**self.meta, **meta, "time": time.asctime()}
        checkpoint: dict[str, Any] = {"meta": meta, "state_dict": get_state_dict(self.model)}
        if save_optimizer and self.optimizer is not None:
            checkpoint["optimizer"] = self.optimizer.state_dict()
            checkpoint["rng"] = get_rng_state()
            generator = getattr(self.data_loader, "generator", None)
            if self.mode == "train" and isinstance(generator, torch.Generator):
                # the loader's generator draws the workers' base seed of each epoch
                checkpoint["rng"]["loader"] = generator.get_state()
            if self.grad_scaler is not None:
                checkpoint["grad_scaler"] = self.grad_scaler.state_dict()
            states = {}
            for hook in self.hooks:
                fn = getattr(hook, "state_dict", None)
                if callable(fn) and not isinstance(hook, nn.Module):
                    states[type(hook).__name__] = fn()
            if states:
                checkpoint["hooks"] = states
        return checkpoint

    def save_checkpoint(self, out_dir: str, filename_tmpl: str = "epoch_{}.pth", save_optimizer: bool = True,
                        meta: dict | None = None, create_symlink: bool = True) -> str:
        """Write ``filename_tmpl`` (formatted with the finished epoch/iteration) atomically,
        and copy it to ``latest.pth`` when ``create_symlink``. Returns the path."""
        raise NotImplementedError

    def _write(self, out_dir: str, filename: str, meta: dict, save_optimizer: bool,
               create_symlink: bool) -> str:
        filepath = os.path.join(out_dir, filename)
        checkpoint = self._checkpoint_dict(meta, save_optimizer)
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        if self.rank == 0:
            write_checkpoint(checkpoint, filepath)
            if create_symlink:
                copy_checkpoint(filepath, os.path.join(out_dir, "latest.pth"))
        self.call_hook("after_save_checkpoint", filepath=filepath)
        return filepath

    def load_checkpoint(self, filename: str, map_location: Any = "cpu", strict: bool = False,
                        allow_shape_mismatch: bool = True) -> dict:
        """Load weights only (``load_from``): tensors whose name and shape match load, a table of
        the skipped (shape differs), missing and unexpected ones is logged (MMCV's behaviour)."""
        self.logger.info(f"load checkpoint from {filename}")
        checkpoint = load_checkpoint(self.model, filename, map_location, strict, self.logger,
                                     allow_shape_mismatch=allow_shape_mismatch)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        return checkpoint

    def resume(self, checkpoint: str, resume_optimizer: bool = True, map_location: Any = "cpu") -> None:
        """Restore model, optimizer, hook states (LR schedule...), grad scaler, RNG states and counters."""
        # resuming continues the same model: a tensor of another shape is an error, not skipped
        ckpt = self.load_checkpoint(checkpoint, map_location=map_location, allow_shape_mismatch=False)
        meta = ckpt.get("meta", {})
        if "epoch" not in meta or "iter" not in meta:
            raise CheckpointError(f"{checkpoint}: no epoch/iter in its meta; use load_from for weights only")
        self._epoch = int(meta["epoch"])
        self._iter = int(meta["iter"])
        self._restore_inner_iter()
        self.meta["hook_msgs"].update(meta.get("hook_msgs", {}))
        if resume_optimizer and self.optimizer is not None and "optimizer" in ckpt:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.grad_scaler is not None and "grad_scaler" in ckpt:
            self.grad_scaler.load_state_dict(ckpt["grad_scaler"])
        if "rng" in ckpt:
            set_rng_state(ckpt["rng"])
            self._pending_loader_rng = ckpt["rng"].get("loader")
        self._pending_state = dict(ckpt.get("hooks", {}))
        self._apply_hook_states()
        self.logger.info(f"resumed epoch {self.epoch}, iter {self.iter}")

    def _restore_loader_rng(self, data_loader: Any) -> None:
        """After a resume, give the training loader the generator state it had when saved."""
        generator = getattr(data_loader, "generator", None)
        if self._pending_loader_rng is not None and isinstance(generator, torch.Generator):
            generator.set_state(self._pending_loader_rng)
        self._pending_loader_rng = None

    def _restore_inner_iter(self) -> None:
        self._inner_iter = 0

    def _apply_hook_states(self) -> None:
        """Give each hook its saved state; hooks registered later get it when registered."""
        for hook in self.hooks:
            name = type(hook).__name__
            fn = getattr(hook, "load_state_dict", None)
            if name in self._pending_state and callable(fn) and not isinstance(hook, nn.Module):
                fn(self._pending_state.pop(name))

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[tuple[str, int]]) -> None:
        """Run ``workflow`` (e.g. ``[('train', 1), ('val', 1)]``) over ``data_loaders``."""
        raise NotImplementedError

    def _start_message(self, workflow: Sequence[tuple[str, int]]) -> None:
        self.logger.info(f"Start running, work_dir: {self.work_dir}")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hook_info()}")
        self.logger.info(f"workflow: {list(workflow)}, max: {self._max_epochs or self._max_iters} "
                         f"{'epochs' if self._max_epochs else 'iters'}")
