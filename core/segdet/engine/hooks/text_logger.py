"""Log to the console/text log and to ``<timestamp>.log.json`` (one JSON object per logged step)."""
from __future__ import annotations

import datetime
import json
import os
import resource
import sys
from collections import OrderedDict
from typing import Any

import torch

from ..runner_state import RunnerState
from .logger_base import LoggerHook

__all__ = ["TextLoggerHook", "max_memory_mb"]


def max_memory_mb(device: torch.device) -> int:
    """Peak CUDA memory of ``device`` in MB, or the process's peak resident memory on other devices."""
    if device.type == "cuda" and torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated(device) / (1024 * 1024))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


class TextLoggerHook(LoggerHook):
    """MMCV's text logger: ``Epoch [1][10/50]  lr: 1.000e-02, eta: ..., loss: 0.5`` lines and a
    JSON line per logged step with ``mode, epoch, iter, lr, memory, time, data_time`` and every loss.
    The first JSON line is the run's meta (config, versions, git hash, seed, tags)."""

    def __init__(self, by_epoch: bool = True, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, interval_exp_name: int = 1000) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.interval_exp_name = interval_exp_name
        self.time_sec_tot = 0.0
        self.start_iter = 0
        self.json_log_path = ""

    def before_run(self, runner: RunnerState) -> None:
        super().before_run(runner)
        self.start_iter = runner.iter
        self.json_log_path = os.path.join(runner.work_dir, f"{runner.timestamp}.log.json")
        if runner.meta:
            header = {k: v for k, v in runner.meta.items() if k != "hook_msgs"}
            self._dump(header, runner)

    def _dump(self, log_dict: dict[str, Any], runner: RunnerState) -> None:
        if runner.rank != 0:
            return
        with open(self.json_log_path, "a+") as f:
            f.write(json.dumps(_round(log_dict), default=str) + "\n")

    def _log_info(self, log_dict: dict[str, Any], runner: RunnerState) -> None:
        if log_dict["mode"] == "train":
            if self.by_epoch:
                text = f"Epoch [{log_dict['epoch']}][{log_dict['iter']}/{len(runner.data_loader)}]\t"
            else:
                text = f"Iter [{log_dict['iter']}/{runner.max_iters}]\t"
            if "lr" in log_dict:
                text += f"lr: {log_dict['lr']:.3e}, "
            if "time" in log_dict:
                self.time_sec_tot += log_dict["time"] * self.interval
                time_sec_avg = self.time_sec_tot / (runner.iter - self.start_iter + 1)
                eta_sec = time_sec_avg * max((runner.max_iters or 0) - runner.iter - 1, 0)
                text += f"eta: {datetime.timedelta(seconds=int(eta_sec))}, "
                text += f"time: {log_dict['time']:.3f}, data_time: {log_dict['data_time']:.3f}, "
                text += f"memory: {log_dict['memory']}, "
        elif self.by_epoch:
            text = f"Epoch({log_dict['mode']}) [{log_dict['epoch']}][{log_dict['iter']}]\t"
        else:
            text = f"Iter({log_dict['mode']}) [{log_dict['iter']}]\t"
        items = []
        for name, val in log_dict.items():
            if name in ("mode", "Epoch", "iter", "lr", "time", "data_time", "memory", "epoch"):
                continue
            items.append(f"{name}: {val:.4f}" if isinstance(val, float) else f"{name}: {val}")
        runner.logger.info(text + ", ".join(items))

    def log(self, runner: RunnerState) -> dict[str, Any]:
        output = runner.log_buffer.output
        cur_iter = output.pop("eval_iter_num") if "eval_iter_num" in output else self.get_iter(runner, True)
        log_dict: dict[str, Any] = OrderedDict(mode=self.get_mode(runner), epoch=self.get_epoch(runner),
                                               iter=cur_iter)
        if runner.optimizer is not None:
            log_dict["lr"] = runner.current_lr()[0]
        if "time" in output:
            log_dict["memory"] = max_memory_mb(runner.device)
        log_dict.update(output)
        self._log_info(log_dict, runner)
        self._dump(log_dict, runner)
        return log_dict
