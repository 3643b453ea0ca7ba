"""Contract check of losses: weight, reductions that agree, a gradient, unknown reductions refused."""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

__all__ = ["check_loss"]


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


def _check_terms(loss: Any, inputs: Any) -> list[str]:
    import torch

    fresh = _fresh(inputs)
    out = _call_loss(loss, fresh)
    terms = list(out) if isinstance(out, (tuple, list)) else [out]
    problems = []
    for i, term in enumerate(terms):
        if not (isinstance(term, torch.Tensor) and term.numel() == 1 and bool(torch.isfinite(term).all())):
            problems.append(f"term {i} of the loss must be a finite single value, got {term!r}")
    if problems:
        return problems
    total = sum(terms)
    if not getattr(total, "requires_grad", False):
        return ["the loss terms carry no gradient to the prediction"]
    total.backward()  # type: ignore[union-attr]
    grads = [leaf.grad for leaf in _leaves(fresh)]
    if any(g is None or not bool(torch.isfinite(g).all()) for g in grads) or all(
            bool(g.abs().sum() == 0) for g in grads if g is not None):
        problems.append("the loss is not differentiable in its prediction (no finite, non-zero gradient)")
    return problems


def check_loss(loss: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    import torch

    if inputs is None:
        gen = torch.Generator().manual_seed(0)
        inputs = (torch.randn(8, 4, generator=gen).requires_grad_(True), torch.rand(8, 4, generator=gen))
    if not _leaves(inputs):
        return ["the check needs a prediction with requires_grad=True among the inputs"]
    kind, problems = type(loss), []
    params = inspect.signature(kind).parameters
    if "reduction" not in params and "loss_weight" not in params:
        # a loss of several named terms with weights of its own (AssociativeEmbeddingLoss's
        # pull/push): each term must be a finite scalar that has a gradient
        return _check_terms(kind(**kwargs), inputs)
    if "reduction" not in params or "loss_weight" not in params:
        return ["a loss takes reduction ('none' | 'mean' | 'sum') and loss_weight arguments "
                "(or neither, when it returns several terms weighted by arguments of its own)"]
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
