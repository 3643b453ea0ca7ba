"""Contract checks of model parts: backbones and necks (shapes vs declarations), heads."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["check_backbone", "check_head", "check_neck", "default_in_strides"]

_IMAGE = 64


def default_in_strides(count: int) -> list[int]:
    """ResNet's convention for ``count`` levels ending at stride 32: ``[..., 8, 16, 32]``."""
    return [32 // 2 ** (count - 1 - i) for i in range(count)]


def _as_maps(outs: Any) -> tuple[list[Any] | None, list[str]]:
    import torch

    if not isinstance(outs, (tuple, list)) or not all(isinstance(o, torch.Tensor) for o in outs):
        return None, [f"forward must return a tuple of feature maps, got {type(outs).__name__}"]
    if any(o.dim() != 4 for o in outs):
        return None, [f"every feature map must be (N, C, H, W), got shapes {[tuple(o.shape) for o in outs]}"]
    return list(outs), []


def _shape_problems(module: Any, maps: list[Any], size: tuple[int, int]) -> list[str]:
    problems = []
    channels, strides = getattr(module, "out_channels", None), getattr(module, "strides", None)
    for attr, value in (("out_channels", channels), ("strides", strides)):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
            problems.append(f"{attr} must be a list of ints (one per output), got {value!r}")
    if problems:
        return problems
    assert isinstance(channels, (list, tuple)) and isinstance(strides, (list, tuple))
    if not len(channels) == len(strides) == len(maps):
        return [f"forward returned {len(maps)} maps but out_channels has {len(channels)} entries and "
                f"strides {len(strides)}"]
    got = [int(m.shape[1]) for m in maps]
    if got != list(channels):
        problems.append(f"out_channels is {list(channels)} but the outputs have {got} channels")
    for i, (m, s) in enumerate(zip(maps, strides)):
        want = [{max(1, math.floor(n / s)), max(1, math.ceil(n / s))} for n in size]
        if int(m.shape[2]) not in want[0] or int(m.shape[3]) not in want[1]:
            problems.append(f"output {i} is {tuple(m.shape[2:])} for a {size} input, which does not match "
                            f"its declared stride {s} (expected {size[0] / s:g} x {size[1] / s:g}, rounded)")
    return problems


def _grad_problems(module: Any, loss: Any, also: Sequence[Any] = ()) -> list[str]:
    module.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in module.parameters() if p.requires_grad]
    problems = []
    if params and not any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params):
        problems.append("no gradient reaches its parameters")
    if also and all(t.grad is None for t in also):
        problems.append("no gradient reaches its inputs")
    module.zero_grad(set_to_none=True)
    return problems


def check_backbone(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    import torch

    x = inputs if inputs is not None else torch.rand(2, 3, _IMAGE, _IMAGE)
    maps, problems = _as_maps(module.train()(x))
    if maps is None:
        return problems
    problems += _shape_problems(module, maps, (int(x.shape[2]), int(x.shape[3])))
    return problems + _grad_problems(module, sum(m.float().mean() for m in maps))


def _neck_inputs(module: Any, kwargs: dict[str, Any]) -> tuple[list[Any], tuple[int, int]]:
    import torch

    in_channels = kwargs.get("in_channels", getattr(module, "in_channels", None))
    if not isinstance(in_channels, (list, tuple)):
        raise ValueError(f"give in_channels (a list) to check a neck, got {in_channels!r}")
    n = len(in_channels)
    strides = kwargs.get("in_strides") or default_in_strides(n)
    size = max(_IMAGE, max(strides))
    maps = [torch.rand(2, c, max(1, size // s), max(1, size // s), requires_grad=True)
            for c, s in zip(in_channels, strides)]
    return maps, (size, size)


def check_neck(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    if inputs is None:
        feats, size = _neck_inputs(module, kwargs)
    else:
        feats = list(inputs)
        first = (kwargs.get("in_strides") or default_in_strides(len(feats)))[0]
        size = (int(feats[0].shape[2]) * first, int(feats[0].shape[3]) * first)
    maps, problems = _as_maps(module.train()(feats))
    if maps is None:
        return problems
    problems += _shape_problems(module, maps, size)
    leaves = [f for f in feats if f.requires_grad and f.is_leaf]
    return problems + _grad_problems(module, sum(m.float().mean() for m in maps), leaves)


def _tensors(value: Any) -> list[Any]:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def _decode_inputs(head: Any) -> list[Any]:
    """Maps a decode head selects (by ``in_index``) with its ``in_channels``; 16x16 halving per level."""
    import torch

    index = head.in_index if isinstance(head.in_index, list) else [head.in_index]
    chans = head.in_channels if isinstance(head.in_channels, list) else None
    if chans is None and head.input_transform == "resize_concat":
        chans = None  # the sum is all we know: feed it as one map per index, split evenly below
    count = max((i + 1) if i >= 0 else -i for i in index)
    widths = [4] * count
    for k, i in enumerate(index):
        pos = i if i >= 0 else count + i
        widths[pos] = int(chans[k]) if chans is not None else int(head.in_channels) // len(index)
    return [torch.rand(2, c, max(2, 16 // 2 ** i), max(2, 16 // 2 ** i)) for i, c in enumerate(widths)]


def check_head(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    import torch

    from ...api import BaseDecodeHead

    decode = isinstance(module, BaseDecodeHead)
    if inputs is None:
        if not decode:
            return []  # a dense head's inputs depend on its levels: give inputs= to check forward
        inputs = _decode_inputs(module)
    out = module.train()(**inputs) if isinstance(inputs, Mapping) else module.train()(inputs)
    tensors = _tensors(out)
    if not tensors:
        return [f"forward returned no tensors ({type(out).__name__})"]
    problems = [] if all(bool(torch.isfinite(t).all()) for t in tensors) else ["forward gives non-finite values"]
    if decode:
        logit = out
        if not (isinstance(logit, torch.Tensor) and logit.dim() == 4 and logit.shape[:2] == (2, module.num_classes)):
            problems.append(f"a decode head must return (N, num_classes={module.num_classes}, h, w) logits, "
                            f"got {tuple(getattr(logit, 'shape', ()))}")
    loss = sum(t.float().mean() for t in tensors if t.is_floating_point())
    return problems + _grad_problems(module, loss)
