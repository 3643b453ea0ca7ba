"""``segdet new-plugin hook NAME``: a runner hook that watches the training loss."""
from __future__ import annotations

GROUP = "hooks"
DEPENDENCIES = ()
SUMMARY = "a segdet hook: logs the mean training loss every few iterations"

USAGE = '''\
In a config:

```python
custom_hooks = [dict(type='${cls}', interval=20, priority='LOW')]
```
'''

COMPONENT = '''\
"""${cls}: the mean training loss over the last ``interval`` iterations, in the log."""
from __future__ import annotations

import math

from segdet.api import Hook, RunnerState

__all__ = ["${cls}"]


class ${cls}(Hook):
    """Every ``interval`` training iterations, log the mean of ``runner.outputs['loss']``.

    Implements the hookspec points ``before_train_epoch`` and ``after_train_iter``
    (see ``segdet.engine.hookspec``); any method named ``before_*``/``after_*`` must be one.

    Args:
        interval: iterations per logged mean. Default 50.
        priority: hook priority (``'NORMAL'``, ``'LOW'``, ... or 0..100; lower runs first).

    Attributes:
        history: ``(iteration, mean loss)`` of each logged window.
    """

    def __init__(self, interval: int = 50, priority: int | str = "NORMAL") -> None:
        if interval < 1:
            raise ValueError(f"${cls}: interval must be at least 1, got {interval}")
        self.interval = int(interval)
        self.priority = priority
        self.history: list[tuple[int, float]] = []
        self._window: list[float] = []

    def before_train_epoch(self, runner: RunnerState) -> None:
        self._window.clear()

    def after_train_iter(self, runner: RunnerState) -> None:
        loss = runner.outputs.get("loss")
        if loss is None:
            return
        self._window.append(float(loss))
        if self.every_n_iters(runner, self.interval):
            mean = math.fsum(self._window) / len(self._window)
            self.history.append((runner.iter + 1, mean))
            runner.logger.info(f"${cls}: mean loss {mean:.4f} over the last {len(self._window)} iterations")
            self._window.clear()
'''

TEST = '''\
"""${cls} keeps the hook contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from segdet.testing import check_component


@pytest.mark.segdet_component("${cls}", "hooks")
@pytest.mark.segdet_component("${cls}", "hooks", interval=3, priority="LOW")
def test_hook_contract(segdet_component):
    """Checked: every before_*/after_* method is a hookspec point the runner accepts."""
    assert segdet_component.history == []


def test_logs_the_mean_loss_every_interval(caplog):
    hook = check_component("${cls}", "hooks", interval=2)
    runner = SimpleNamespace(iter=0, outputs={}, logger=logging.getLogger("test-${dist}"))
    hook.before_train_epoch(runner)
    with caplog.at_level(logging.INFO):
        for i, loss in enumerate([4.0, 2.0, 1.0, 3.0, 5.0]):
            runner.iter, runner.outputs = i, {"loss": loss}
            hook.after_train_iter(runner)
    assert hook.history == [(2, 3.0), (4, 2.0)]
    assert "mean loss 3.0000 over the last 2 iterations" in caplog.text


def test_interval_must_be_positive():
    with pytest.raises(Exception, match="interval"):
        check_component("${cls}", "hooks", interval=0)
'''
