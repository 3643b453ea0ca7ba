"""What a component of each group must do, checked on a tiny built instance.

``check_component(name, group, **tiny_kwargs)`` builds the component through the registry
(so the constructor's signature is checked as a config would be), then runs the checks of
its group on tiny CPU inputs and raises :class:`ContractViolation` listing every broken
promise:

- every component: imports, names every constructor argument (no ``**kwargs``), has a docstring;
- ``backbones`` / ``necks``: ``forward`` returns a tuple of maps whose count and channels match
  ``out_channels`` and ``strides``, each map being ``input size / stride`` (rounded either way),
  and gradients reach the parameters (and a neck's inputs);
- ``heads``: ``forward`` gives finite tensors that back-propagate into the parameters; a
  decode head (:class:`segdet.api.BaseDecodeHead`) gives ``(N, num_classes, h, w)`` logits;
- ``losses``: differentiable; ``loss_weight`` scales the value; ``reduction='none'|'mean'|'sum'``
  agree with each other (``sum == none.sum()``, ``mean == none.mean()``); an unknown reduction
  is refused;
- ``hooks``: every ``before_*`` / ``after_*`` method is a hookspec name
  (:mod:`segdet.engine.hookspec`), at least one is implemented, and the runner's plugin manager
  accepts the implementations' arguments;
- ``transforms``: map a results dict (as after ``LoadImageFromFile`` + ``LoadAnnotations``)
  to a results dict;
- ``metrics``: ``evaluate(results, dataset)`` exists; given ``inputs=(results, dataset)`` it
  returns ``{str: number}`` (``*_copypaste`` strings allowed);
- ``datasets``: ``len``, indexing to a dict, ``CLASSES`` (a tuple of names), ``evaluate``.

Example (a neck's own test)::

    from segdet.testing import check_component

    def test_my_neck_contract():
        neck = check_component("MyNeck", "necks", in_channels=[8, 16, 32], out_channels=8)
        assert neck.strides == [8, 16, 32]
"""
from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..registry import ComponentInfo, build, find_info, full_group, short_group
from ..registry.build import _load

__all__ = [
    "ContractCase",
    "ContractViolation",
    "assert_component_contract",
    "check_component",
    "component_contract_problems",
    "component_problems",
    "default_results",
    "static_problems",
]

# torch.optim classes are registered as they are; their signatures are torch's business.
_FOREIGN_OK = ("torch.",)
_IMAGE = 64


class ContractViolation(AssertionError):
    """A component breaks the contract of its group; the message lists every problem."""


@attrs.frozen
class ContractCase:
    """One ``check_component`` call, as carried by ``@pytest.mark.segdet_component(...)``.

    Args:
        name: registered name (``'MyNeck'``, or qualified ``'segdet-neck-mine:MyNeck'``).
        group: entry-point group (``'necks'`` or ``'segdet.necks'``).
        kwargs: tiny constructor arguments.
        inputs: what the group's check feeds the instance (see :func:`check_component`);
            a zero-argument callable is called first, so tensors are made fresh per test.
    """

    name: str
    group: str
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    inputs: Any = None

    @property
    def id(self) -> str:
        """``necks/MyNeck(in_channels=[8, 16])``: the test id pytest shows."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        if len(args) > 60:
            args = args[:57] + "..."
        return f"{short_group(full_group(self.group))}/{self.name}({args})"

    def check(self) -> Any:
        return check_component(self.name, self.group, inputs=self.inputs, **dict(self.kwargs))


def static_problems(info: ComponentInfo) -> list[str]:
    """What ``info``'s component breaks without being built (empty when it is fine).

    It imports; its constructor takes explicit keyword arguments (no ``**kwargs`` swallowing
    unknown keys); it has a docstring.
    """
    try:
        obj: Any = _load(info)
    except Exception as err:  # reported, not raised: the listing goes on
        return [f"{info.display_name}: does not import: {err}"]
    if info.target.startswith(_FOREIGN_OK):
        return []
    return _signature_problems(obj, info.display_name)


#: the name ``segdet.testing`` exported first for :func:`static_problems`
component_contract_problems = static_problems


def assert_component_contract(info: ComponentInfo) -> None:
    """Raise :class:`ContractViolation` when :func:`static_problems` finds any."""
    problems = static_problems(info)
    if problems:
        raise ContractViolation("\n".join(problems))


def _signature_problems(obj: Any, who: str) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return [f"{who}: has no inspectable signature"]
    problems = [f"{who}: swallows unknown keys with **{name}; name every argument"
                for name, p in sig.parameters.items() if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not (inspect.getdoc(obj) or "").strip():
        problems.append(f"{who}: has no docstring")
    return problems


def check_component(name: str | ComponentInfo, group: str, *, inputs: Any = None, **kwargs: Any) -> Any:
    """Build ``name`` of ``group`` with ``kwargs`` and check its group's contract.

    Args:
        name: registered name, or a :class:`~segdet.api.ComponentInfo`.
        group: ``'necks'`` or ``'segdet.necks'``.
        inputs: optional input of the group's check (a zero-argument callable is called first):
            backbones: an image batch ``(N, 3, H, W)`` (default ``(2, 3, 64, 64)``);
            necks: the list of input maps (default: one ``(2, C_i, 64/s_i, 64/s_i)`` map per
            ``in_channels`` with ``s_i = in_strides`` if given, else ``..., 8, 16, 32``);
            heads: what ``forward`` takes (default only for decode heads);
            losses: ``(pred, target)`` or a dict of ``forward`` arguments (default ``pred`` and
            ``target`` of shape ``(8, 4)``: an element-wise loss);
            transforms: a results dict (default :func:`default_results`);
            metrics: ``(results, dataset)`` (default: the interface is checked, not called);
            hooks, datasets: unused.
        **kwargs: tiny constructor arguments (channels <= 16).

    Returns:
        The built instance (after the checks, in training mode, gradients zeroed).

    Raises:
        ContractViolation: every problem found, each naming the component.
    """
    group = full_group(group)
    info = name if isinstance(name, ComponentInfo) else find_info(name, group)
    who = info.display_name
    problems = [] if info.target.startswith(_FOREIGN_OK) else _signature_problems(_load(info), who)
    kwargs = _parent_fills(_load(info), short_group(group), kwargs)
    try:
        instance = build({"type": _load(info), **kwargs}, group)
    except Exception as err:
        raise ContractViolation("\n".join([*problems, f"{who}: does not build from {kwargs!r}: "
                                           f"{type(err).__name__}: {err}"])) from err
    if callable(inputs):
        inputs = inputs()
    check = _GROUP_CHECKS.get(short_group(group))
    if check is not None:
        try:
            problems += [f"{who}: {p}" for p in check(instance, inputs, dict(kwargs))]
        except ContractViolation:
            raise
        except Exception as err:
            raise ContractViolation("\n".join([*problems, f"{who}: the {short_group(group)} check raised "
                                               f"{type(err).__name__}: {err}"])) from err
    if problems:
        raise ContractViolation("\n".join(problems))
    return instance


def _default_in_strides(count: int) -> list[int]:
    """ResNet's convention for ``count`` levels ending at stride 32: ``[..., 8, 16, 32]``."""
    return [32 // 2 ** (count - 1 - i) for i in range(count)]


def _parent_fills(obj: Any, group: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What a parent would hand a neck that takes ``in_strides``: the strides of the maps it is fed."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return kwargs
    channels = kwargs.get("in_channels")
    if group == "necks" and "in_strides" in params and "in_strides" not in kwargs \
            and isinstance(channels, (list, tuple)):
        return {**kwargs, "in_strides": _default_in_strides(len(channels))}
    return kwargs


def component_problems(name: str | ComponentInfo, group: str, *, inputs: Any = None, **kwargs: Any) -> list[str]:
    """Like :func:`check_component`, but returns the problems (empty when it is fine)."""
    try:
        check_component(name, group, inputs=inputs, **kwargs)
    except ContractViolation as err:
        return str(err).splitlines()
    return []


# ---------------------------------------------------------------- backbones and necks


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


def _check_backbone(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
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
        raise ContractViolation(f"{type(module).__name__}: give in_channels (a list) to check a neck, "
                                f"got {in_channels!r}")
    n = len(in_channels)
    strides = kwargs.get("in_strides") or _default_in_strides(n)
    size = max(_IMAGE, max(strides))
    maps = [torch.rand(2, c, max(1, size // s), max(1, size // s), requires_grad=True)
            for c, s in zip(in_channels, strides)]
    return maps, (size, size)


def _check_neck(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    if inputs is None:
        feats, size = _neck_inputs(module, kwargs)
    else:
        feats = list(inputs)
        first = (kwargs.get("in_strides") or _default_in_strides(len(feats)))[0]
        size = (int(feats[0].shape[2]) * first, int(feats[0].shape[3]) * first)
    maps, problems = _as_maps(module.train()(feats))
    if maps is None:
        return problems
    problems += _shape_problems(module, maps, size)
    leaves = [f for f in feats if f.requires_grad and f.is_leaf]
    return problems + _grad_problems(module, sum(m.float().mean() for m in maps), leaves)


# ---------------------------------------------------------------- heads


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


def _check_head(module: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    import torch

    from ..api import BaseDecodeHead

    decode = isinstance(module, BaseDecodeHead)
    if inputs is None:
        if not decode:
            return []  # a dense head's inputs depend on its levels: give inputs= to check forward
        inputs = _decode_inputs(module)
    out = module.train()(inputs)
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


# ---------------------------------------------------------------- losses


def _call_loss(loss: Any, inputs: Any, **extra: Any) -> Any:
    if isinstance(inputs, Mapping):
        return loss(**inputs, **extra)
    return loss(*inputs, **extra)


def _fresh(inputs: Any) -> Any:
    """The same values, with ``pred`` (the first floating tensor needing grad) a new leaf."""
    import torch

    def one(x: Any) -> Any:
        if isinstance(x, torch.Tensor) and x.requires_grad:
            return x.detach().clone().requires_grad_(True)
        return x
    if isinstance(inputs, Mapping):
        return {k: one(v) for k, v in inputs.items()}
    return tuple(one(v) for v in inputs)


def _leaves(inputs: Any) -> list[Any]:
    values = inputs.values() if isinstance(inputs, Mapping) else inputs
    return [v for v in values if getattr(v, "requires_grad", False)]


def _f(t: Any) -> float:
    return float(t.detach().float().sum())


def _check_loss(loss: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    import torch

    if inputs is None:
        gen = torch.Generator().manual_seed(0)
        inputs = (torch.randn(8, 4, generator=gen).requires_grad_(True), torch.rand(8, 4, generator=gen))
    if not _leaves(inputs):
        return ["the check needs a prediction with requires_grad=True among the inputs"]
    kind, problems = type(loss), []
    params = inspect.signature(kind).parameters
    if "reduction" not in params or "loss_weight" not in params:
        return ["a loss takes reduction ('none' | 'mean' | 'sum') and loss_weight arguments"]
    base = {k: v for k, v in kwargs.items() if k not in ("reduction", "loss_weight")}
    values = {r: _call_loss(kind(**base, reduction=r, loss_weight=1.0), _fresh(inputs))
              for r in ("none", "mean", "sum")}
    none, mean, total = values["none"], values["mean"], values["sum"]
    for r in ("mean", "sum"):
        if not (isinstance(values[r], torch.Tensor) and values[r].numel() == 1):
            problems.append(f"reduction={r!r} must give a single value, got shape "
                            f"{tuple(getattr(values[r], 'shape', ()))}")
    if not isinstance(none, torch.Tensor) or none.dim() == 0:
        problems.append("reduction='none' must keep a per-element (or per-sample) loss, got a scalar")
    if problems:
        return problems
    if not torch.allclose(total, none.sum(), rtol=1e-4, atol=1e-5):
        problems.append(f"reduction='sum' gives {_f(total):.6g} but the 'none' losses sum to {_f(none.sum()):.6g}")
    if not torch.allclose(mean, none.float().mean(), rtol=1e-4, atol=1e-5):
        problems.append(f"reduction='mean' gives {_f(mean):.6g} but the 'none' losses average "
                        f"{_f(none.float().mean()):.6g}")
    doubled = _call_loss(kind(**base, reduction="mean", loss_weight=2.0), _fresh(inputs))
    if not torch.allclose(doubled, 2 * mean, rtol=1e-4, atol=1e-6):
        problems.append(f"loss_weight=2.0 gives {_f(doubled):.6g}, not twice {_f(mean):.6g}")
    fresh = _fresh(inputs)
    value = _call_loss(kind(**base, reduction="mean", loss_weight=1.0), fresh)
    if not bool(torch.isfinite(value).all()):
        problems.append(f"the loss is not finite: {value}")
    if value.requires_grad:
        value.sum().backward()
        grads = [leaf.grad for leaf in _leaves(fresh)]
        if any(g is None or not bool(torch.isfinite(g).all()) for g in grads) or all(
                bool(g.abs().sum() == 0) for g in grads if g is not None):
            problems.append("the loss is not differentiable in its prediction (no finite, non-zero gradient)")
    else:
        problems.append("the loss does not depend differentiably on its prediction (requires_grad is False)")
    try:
        _call_loss(kind(**base, reduction="average", loss_weight=1.0), _fresh(inputs))
    except (ValueError, AssertionError, KeyError):
        pass
    else:
        problems.append("reduction='average' was accepted; an unknown reduction must raise ValueError")
    return problems


# ---------------------------------------------------------------- hooks


def _check_hook(hook: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    from ..engine.hook_manager import HookManager
    from ..engine.hookspec import STAGES

    problems = []
    names = [n for n in dir(type(hook)) if n.startswith(("before_", "after_")) and callable(getattr(hook, n))]
    for n in names:
        if n not in STAGES:
            close = difflib.get_close_matches(n, STAGES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hookspec names are: {', '.join(STAGES)}"
            problems.append(f"method {n!r} is not a hookspec name, so the runner never calls it{hint}")
    if not any(n in STAGES for n in names):
        problems.append(f"implements none of the hookspec points ({', '.join(STAGES)})")
    try:
        HookManager().register(hook)
    except Exception as err:  # pluggy names the method and the arguments it does not know
        problems.append(f"the runner refuses it: {type(err).__name__}: {' '.join(str(err).split())}")
    return problems


# ---------------------------------------------------------------- transforms


def default_results(height: int = 32, width: int = 48, seed: int = 0) -> dict[str, Any]:
    """A results dict as ``LoadImageFromFile`` + ``LoadAnnotations(with_seg=True)`` leave it.

    ``img`` uint8 ``(H, W, 3)`` BGR; two boxes with labels 0 and 1; a semantic map with labels
    0..2; the ``*_fields`` lists and shape keys MMDetection's transforms read.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    seg = rng.integers(0, 3, (height, width)).astype(np.uint8)
    return {
        "filename": "toy.png", "ori_filename": "toy.png", "img": img, "img_shape": img.shape,
        "ori_shape": img.shape, "img_fields": ["img"],
        "gt_bboxes": np.array([[2, 3, 20, 18], [10, 8, width - 2, height - 4]], dtype=np.float32),
        "gt_labels": np.array([0, 1], dtype=np.int64), "bbox_fields": ["gt_bboxes"],
        "gt_semantic_seg": seg, "seg_fields": ["gt_semantic_seg"], "mask_fields": [],
    }


def _check_transform(transform: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    if not callable(transform):
        return ["a transform instance must be callable on a results dict"]
    results = inputs if inputs is not None else default_results()
    out = transform(results)
    if not isinstance(out, dict):
        return [f"maps a results dict to {type(out).__name__}; a transform returns the results dict "
                f"(None only to drop a sample, and this sample should not be dropped)"]
    return []


# ---------------------------------------------------------------- metrics and datasets


def _binds(fn: Any, *args: Any) -> bool:
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    return True


def _check_metric(metric: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    evaluate = getattr(metric, "evaluate", None)
    if not callable(evaluate) or not _binds(evaluate, [], None):
        return ["a metric has evaluate(results, dataset) -> dict[str, float]"]
    if inputs is None:
        return []
    results, dataset = inputs
    out = evaluate(results, dataset)
    if not isinstance(out, dict) or not out:
        return [f"evaluate must return a non-empty dict of metric name -> value, got {out!r}"]
    problems = []
    for k, v in out.items():
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not isinstance(k, str) or not (number or (isinstance(v, str) and k.endswith("_copypaste"))):
            problems.append(f"evaluate returned {k!r}: {v!r}; keys are names, values numbers")
    return problems


def _check_dataset(dataset: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    problems = []
    classes = getattr(dataset, "CLASSES", None)
    if not isinstance(classes, tuple) or not classes or not all(isinstance(c, str) for c in classes):
        problems.append(f"CLASSES must be a non-empty tuple of class names, got {classes!r}")
    if not callable(getattr(dataset, "evaluate", None)):
        problems.append("a dataset has evaluate(results, metric=..., logger=None)")
    try:
        n = len(dataset)
    except TypeError:
        return [*problems, "a dataset has a length"]
    if n and not isinstance(dataset[0], dict):
        problems.append(f"dataset[0] must be a sample dict, got {type(dataset[0]).__name__}")
    return problems


_Check = Callable[[Any, Any, dict[str, Any]], list[str]]
_GROUP_CHECKS: dict[str, _Check] = {
    "backbones": _check_backbone,
    "necks": _check_neck,
    "heads": _check_head,
    "losses": _check_loss,
    "hooks": _check_hook,
    "transforms": _check_transform,
    "metrics": _check_metric,
    "datasets": _check_dataset,
}
