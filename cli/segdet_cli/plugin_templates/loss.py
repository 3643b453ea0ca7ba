"""``segdet new-plugin loss NAME``: an element-wise loss with segdet's weight/reduction contract."""
from __future__ import annotations

GROUP = "losses"
DEPENDENCIES = ("torch>=2.3",)
SUMMARY = "a segdet loss: element-wise log-cosh with weight, avg_factor, reduction and loss_weight"

USAGE = '''\
As a head's box loss:

```python
model = dict(bbox_head=dict(loss_bbox=dict(_delete_=True, type='${cls}', loss_weight=1.0)))
```
'''

COMPONENT = '''\
"""${cls}: element-wise ``log(cosh(pred - target))``, reduced the MMDetection way."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["${cls}"]

_REDUCTIONS = ("none", "mean", "sum")


def _check(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"${cls}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


class ${cls}(nn.Module):
    """Log-cosh loss: about ``x**2 / 2`` near 0 and ``|x| - log 2`` far from it.

    Args:
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the result. Default 1.0.

    Shapes:
        ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
        ``pred``, ``target`` and ``weight`` have the same shape; ``'none'`` returns that shape,
        ``'mean'`` and ``'sum'`` a scalar. With ``avg_factor`` (``'mean'`` only) the sum is divided
        by it instead of by the number of elements.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = _check(reduction)
        self.loss_weight = float(loss_weight)

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: float | Tensor | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        """The weighted, reduced loss times ``loss_weight``."""
        reduction = _check(reduction_override or self.reduction)
        diff = pred - target
        # log(cosh(x)) = |x| + log1p(exp(-2|x|)) - log(2), stable for large |x|
        loss = diff.abs() + torch.log1p(torch.exp(-2 * diff.abs())) - math.log(2.0)
        if weight is not None:
            loss = loss * weight
        if reduction == "none":
            pass
        elif avg_factor is not None:
            if reduction != "mean":
                raise ValueError("${cls}: avg_factor can only be used with reduction='mean'")
            loss = loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
        else:
            loss = loss.sum() if reduction == "sum" or loss.numel() == 0 else loss.mean()
        return self.loss_weight * loss
'''

TEST = '''\
"""${cls} keeps the loss contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import math

import pytest
import torch
from segdet.testing import check_component


@pytest.mark.segdet_component("${cls}", "losses")
@pytest.mark.segdet_component("${cls}", "losses", loss_weight=0.5)
def test_loss_contract(segdet_component):
    """Checked: differentiable, loss_weight scales, 'none'/'mean'/'sum' agree, bad reductions refused."""
    assert segdet_component.reduction == "mean"


def test_values_against_the_formula():
    loss = check_component("${cls}", "losses", reduction="none")
    pred, target = torch.tensor([0.0, 1.0, -30.0]), torch.tensor([0.0, 0.0, 0.0])
    expected = torch.tensor([0.0, math.log(math.cosh(1.0)), 30.0 - math.log(2.0)])
    torch.testing.assert_close(loss(pred, target), expected)


def test_weight_and_avg_factor():
    loss = check_component("${cls}", "losses")
    pred, target = torch.ones(4), torch.zeros(4)
    weight = torch.tensor([1.0, 1.0, 0.0, 0.0])
    per = math.log(math.cosh(1.0))
    torch.testing.assert_close(loss(pred, target, weight=weight), torch.tensor(per / 2))
    torch.testing.assert_close(loss(pred, target, weight=weight, avg_factor=2.0), torch.tensor(per), rtol=1e-5,
                               atol=1e-6)
    assert loss(pred, target, reduction_override="sum").item() == pytest.approx(4 * per, rel=1e-5)


def test_empty_input_gives_a_zero_with_a_gradient():
    loss = check_component("${cls}", "losses")
    pred = torch.zeros(0, 4, requires_grad=True)
    value = loss(pred, torch.zeros(0, 4))
    value.backward()
    assert value.item() == 0.0 and pred.grad is not None
'''
