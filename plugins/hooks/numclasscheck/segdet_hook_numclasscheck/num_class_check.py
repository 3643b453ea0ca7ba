"""Stop early when ``len(dataset.CLASSES)`` differs from a head's ``num_classes``."""
from __future__ import annotations

import warnings
from typing import Union

from segdet.api import ConfigError, Hook, RunnerState

__all__ = ["NumClassCheckHook"]

#: modules whose ``num_classes`` is not the data set's (class-agnostic proposals, classification backbones)
_EXEMPT = ("RPNHead", "GARPNHead", "VGG", "FusedSemanticHead")


class NumClassCheckHook(Hook):
    """MMDetection's NumClassCheckHook: before each train and val epoch, every module of the
    model with a ``num_classes`` attribute must have ``len(dataset.CLASSES)`` classes.

    Args:
        priority: hook priority (name or 0..100), as in ``custom_hooks``.
    """

    def __init__(self, priority: Union[int, str] = "NORMAL") -> None:
        self.priority = priority

    def _check(self, runner: RunnerState) -> None:
        model = runner.model
        dataset = getattr(runner.data_loader, "dataset", None)
        classes = getattr(dataset, "CLASSES", None)
        dataset_name = type(dataset).__name__
        if classes is None:
            warnings.warn(f"{dataset_name} has no CLASSES; num_classes of the heads is not checked", stacklevel=2)
            runner.logger.warning(f"{dataset_name} has no CLASSES; num_classes of the heads is not checked")
            return
        if isinstance(classes, str):
            raise ConfigError(f"{dataset_name}.CLASSES is the string {classes!r}; it must be a tuple of names, "
                              f"e.g. ({classes!r},)")
        for name, module in model.named_modules():
            num_classes = getattr(module, "num_classes", None)
            if num_classes is None or type(module).__name__ in _EXEMPT:
                continue
            if num_classes != len(classes):
                where = f"model.{name}" if name else "model"
                raise ConfigError(
                    f"num_classes mismatch: {type(module).__name__} at {where} has num_classes={num_classes}, "
                    f"but data set {dataset_name} has {len(classes)} CLASSES {tuple(classes)}. "
                    f"Set num_classes={len(classes)} in the head config, or give the data set "
                    f"classes=... with {num_classes} names."
                )

    def before_train_epoch(self, runner: RunnerState) -> None:
        self._check(runner)

    def before_val_epoch(self, runner: RunnerState) -> None:
        self._check(runner)
