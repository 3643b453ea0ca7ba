"""Fit a checkpoint's state dict to a model as MMCV's ``load_checkpoint`` does, and report it.

Fine-tuning (``load_from`` a COCO checkpoint into a model with another number of
classes) needs every tensor whose name and shape match to load, and the others to be
skipped with a clear account: :func:`fit_state_dict` splits a state dict into what
loads, what is skipped because its shape differs, what the checkpoint lacks and what
the model does not have; :meth:`LoadReport.table` prints that account.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import torch

__all__ = ["LoadReport", "fit_state_dict"]

_MAX_ROWS = 40


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _fmt_shape(shape: tuple[int, ...] | None) -> str:
    return "(not a tensor)" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


@attrs.frozen
class LoadReport:
    """What loading ``filename`` into a model did.

    Attributes:
        filename: the checkpoint file.
        loaded: names of the model's tensors taken from the checkpoint.
        mismatched: ``(name, checkpoint shape, model shape)`` of tensors skipped because the
            shapes differ (e.g. a classifier with another number of classes).
        missing: model tensors the checkpoint lacks (left as initialised).
        unexpected: checkpoint tensors the model does not have (ignored).
        model_total: number of entries of the model's state dict.
    """

    filename: str
    loaded: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...] | None, tuple[int, ...] | None], ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    model_total: int

    @property
    def complete(self) -> bool:
        return not (self.mismatched or self.missing or self.unexpected)

    @property
    def loaded_fraction(self) -> float:
        return len(self.loaded) / self.model_total if self.model_total else 1.0

    def summary(self) -> str:
        return (f"{self.filename}: {len(self.loaded)} of {self.model_total} model tensors loaded, "
                f"{len(self.mismatched)} skipped (shape differs), {len(self.missing)} missing in the "
                f"checkpoint, {len(self.unexpected)} unexpected in the checkpoint")

    def table(self) -> str:
        """The summary line, then one table per kind of difference (capped at 40 rows each)."""
        lines = [self.summary()]
        if self.mismatched:
            rows = [(name, _fmt_shape(c), _fmt_shape(m)) for name, c, m in self.mismatched]
            lines.append("skipped, shape differs (these keep the model's initial values):")
            lines += _table(("name", "checkpoint shape", "model shape"), rows)
        if self.missing:
            lines.append("missing in the checkpoint (left as initialised):")
            lines += _table(("name",), [(n,) for n in self.missing])
        if self.unexpected:
            lines.append("unexpected in the checkpoint (ignored):")
            lines += _table(("name",), [(n,) for n in self.unexpected])
        # MMCV's wording, which users grep their logs for
        if self.unexpected:
            lines.append(f"unexpected key in source state_dict: {', '.join(self.unexpected)}")
        if self.missing or self.mismatched:
            names = [n for n, _, _ in self.mismatched] + list(self.missing)
            lines.append(f"missing keys in source state_dict: {', '.join(names)}")
        return "\n".join(lines)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    shown = list(rows[:_MAX_ROWS])
    widths = [max(len(r[i]) for r in [header, *shown]) for i in range(len(header))]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in shown]
    if len(rows) > _MAX_ROWS:
        out.append(f"  ... and {len(rows) - _MAX_ROWS} more")
    return out


def fit_state_dict(state: Mapping[str, Any], model_state: Mapping[str, Any],
                   filename: str) -> tuple[OrderedDict[str, Any], LoadReport]:
    """Split ``state`` (a checkpoint's) against ``model_state`` (the model's ``state_dict()``).

    Returns:
        ``(loadable, report)``: ``loadable`` holds the entries whose name is in the model and
        whose shape equals the model's; ``report`` lists the rest.
    """
    loadable: OrderedDict[str, Any] = OrderedDict()
    mismatched = []
    unexpected = []
    for name, value in state.items():
        if name not in model_state:
            unexpected.append(name)
            continue
        ours = model_state[name]
        if isinstance(ours, torch.Tensor) and _shape(value) != _shape(ours):
            mismatched.append((name, _shape(value), _shape(ours)))
            continue
        loadable[name] = value
    skipped = {name for name, _, _ in mismatched}
    missing = tuple(n for n in model_state if n not in loadable and n not in skipped)
    report = LoadReport(filename=filename, loaded=tuple(loadable), mismatched=tuple(mismatched),
                        missing=missing, unexpected=tuple(unexpected), model_total=len(model_state))
    return loadable, report
