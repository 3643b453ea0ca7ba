"""``segdet analyze-logs plot-curve|cal-train-time``: read the ``*.log.json`` of training runs.

The JSON log (written by ``TextLoggerHook`` into the work dir) holds one object per line: first the
run's meta (``exp_name``, ``config``, ``env_info``, ...), then one line per logged step with
``mode`` (``train``/``val``), ``epoch``, ``iter``, ``lr``, ``time``, ``data_time``, the losses, and
for ``val`` lines the metrics (``bbox_mAP``, ``mIoU``, ...). The commands behave as MMDetection's
``tools/analysis_tools/analyze_logs.py``.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

import click

from ._common import GreedyOption

__all__ = ["analyze_logs", "load_json_log", "curve"]

_NOT_METRICS = {"mode", "epoch", "iter", "lr", "memory", "time", "data_time"}


class RunLog:
    """The logged steps of one run: ``entries`` (dicts, in order) and whether it ran by epoch."""

    def __init__(self, path: str, entries: list[dict[str, Any]], by_epoch: bool) -> None:
        self.path = path
        self.entries = entries
        self.by_epoch = by_epoch

    @property
    def name(self) -> str:
        base = os.path.basename(self.path)
        return base[: -len(".log.json")] if base.endswith(".log.json") else os.path.splitext(base)[0]

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            for key, val in entry.items():
                if key not in _NOT_METRICS and isinstance(val, (int, float)):
                    seen[key] = None
        return list(seen)


def load_json_log(path: str) -> RunLog:
    """Read ``path`` (a ``*.log.json``), naming the file and line of anything unreadable."""
    if not os.path.isfile(path):
        raise click.ClickException(f"{path}: no such log file; give the *.log.json that `segdet train` "
                                   "wrote into the work dir (e.g. work_dirs/<config>/<timestamp>.log.json)")
    entries = []
    by_epoch = True
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                hint = " (the text log *.log is not it; use *.log.json)" if number == 1 else ""
                raise click.ClickException(f"{path}, line {number}: not JSON ({err.msg}){hint}") from err
            if not isinstance(entry, dict):
                raise click.ClickException(f"{path}, line {number}: expected a JSON object, got {entry!r:.60}")
            if "mode" not in entry:  # the run's meta
                if re.search(r"type\s*=\s*['\"]IterBasedRunner['\"]", str(entry.get("config", ""))):
                    by_epoch = False
                continue
            entries.append(entry)
    if not entries:
        raise click.ClickException(f"{path}: no logged train or val steps (a run that stopped before its "
                                   "first log interval?)")
    return RunLog(path, entries, by_epoch)


def curve(log: RunLog, key: str) -> tuple[list[float], list[float], bool]:
    """``(xs, ys, is_eval)`` of ``key`` in ``log``: train values at fractional epochs (epoch runners)
    or iterations; metrics of ``val`` lines at their epoch (or iteration)."""
    train = [e for e in log.entries if e["mode"] == "train" and key in e]
    rows = train or [e for e in log.entries if key in e]
    if not rows:
        raise click.ClickException(
            f"{log.path} has no {key!r}; it logs: {', '.join(log.keys()) or 'nothing numeric'}")
    is_eval = not train
    if not log.by_epoch:
        # a val line's "iter" counts evaluated images: it sits at the training iteration logged before it
        xs, ys, last = [], [], 0.0
        for e in log.entries:
            if e["mode"] == "train":
                last = float(e["iter"])
            if key in e and (e["mode"] == "train") == (not is_eval):
                xs.append(float(e["iter"]) if e["mode"] == "train" else last)
                ys.append(float(e[key]))
        return xs, ys, is_eval
    if is_eval:
        return [float(e["epoch"]) for e in rows], [float(e[key]) for e in rows], True
    per_epoch = max(int(e["iter"]) for e in log.entries if e["mode"] == "train")
    xs = [int(e["epoch"]) - 1 + int(e["iter"]) / per_epoch for e in rows]
    return xs, [float(e[key]) for e in rows], False


def _default_key(logs: Sequence[RunLog]) -> str:
    keys = set(logs[0].keys())
    for key in ("bbox_mAP", "mIoU", "loss"):
        if key in keys:
            return key
    raise click.ClickException(f"{logs[0].path}: give --keys; it logs {', '.join(logs[0].keys())}")


@click.group("analyze-logs")
def analyze_logs() -> None:
    """Plot curves of, and time, training runs from their *.log.json files."""


@analyze_logs.command("plot-curve")
@click.argument("json_logs", metavar="LOG.json...", nargs=-1, required=True)
@click.option("--keys", cls=GreedyOption, multiple=True, metavar="KEY ...",
              help="Values to plot, e.g. --keys loss_cls loss_bbox bbox_mAP "
                   "(default: bbox_mAP, else mIoU, else loss).")
@click.option("--legend", cls=GreedyOption, multiple=True, metavar="NAME ...",
              help="One legend entry per (log, key), in that order (default: <log>_<key>).")
@click.option("--title", default=None, help="Figure title.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the figure to this file (png, pdf, svg); without it, show it in a window.")
@click.option("--style", default=None, help="A matplotlib style name (e.g. ggplot).")
def plot_curve(json_logs: Sequence[str], keys: Sequence[str], legend: Sequence[str], title: str | None,
               out: str | None, style: str | None) -> None:
    """Plot KEYS of one or more runs in one figure.

    Runs of EpochBasedRunner have epochs on the x axis (losses at fractional epochs, metrics at the
    end of their epoch); IterBasedRunner runs have iterations.
    """
    plt = _pyplot(interactive=out is None)
    logs = [load_json_log(p) for p in json_logs]
    keys = list(keys) or [_default_key(logs)]
    if legend and len(legend) != len(logs) * len(keys):
        raise click.ClickException(f"--legend has {len(legend)} names but {len(logs)} log(s) x {len(keys)} "
                                   f"key(s) = {len(logs) * len(keys)} curves")
    names = list(legend) or [f"{log.name}_{key}" if len(logs) > 1 else key for log in logs for key in keys]
    context = plt.style.context(style) if style else _nullcontext()
    with context:
        fig, ax = plt.subplots(figsize=(8, 5))
        i = 0
        for log in logs:
            for key in keys:
                xs, ys, is_eval = curve(log, key)
                ax.plot(xs, ys, marker="o" if is_eval else None, linewidth=1.2 if not is_eval else 1.8,
                        label=names[i])
                i += 1
        by_epoch = {log.by_epoch for log in logs}
        ax.set_xlabel("epoch" if by_epoch == {True} else "iter" if by_epoch == {False} else "epoch / iter")
        ax.set_ylabel(keys[0] if len(keys) == 1 else "value")
        ax.grid(True, alpha=0.3)
        ax.legend()
        if title:
            ax.set_title(title)
        fig.tight_layout()
        if out:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            fig.savefig(out, dpi=100)
            click.echo(f"saved {out}")
        else:
            plt.show()
        plt.close(fig)


@analyze_logs.command("cal-train-time")
@click.argument("json_logs", metavar="LOG.json...", nargs=-1, required=True)
@click.option("--include-outliers", is_flag=True,
              help="Count the first logged step of every epoch (slow: data loader start-up).")
def cal_train_time(json_logs: Sequence[str], include_outliers: bool) -> None:
    """Average training time per iteration, slowest and fastest epoch, spread over epochs."""
    import numpy as np

    for path in json_logs:
        log = load_json_log(path)
        per_epoch: dict[int, list[float]] = {}
        for entry in log.entries:
            if entry["mode"] == "train" and "time" in entry:
                per_epoch.setdefault(int(entry["epoch"]), []).append(float(entry["time"]))
        if not per_epoch:
            raise click.ClickException(f"{path}: no train steps with a 'time' (IterTimerHook not run?)")
        times = [t if include_outliers or len(t) < 2 else t[1:] for _, t in sorted(per_epoch.items())]
        epochs = sorted(per_epoch)
        means = np.array([np.mean(t) for t in times])
        click.echo(f"{'-' * 5}Analyze train time of {path}{'-' * 5}")
        click.echo(f"slowest epoch {epochs[int(means.argmax())]}, average time is {means.max():.4f} s/iter")
        click.echo(f"fastest epoch {epochs[int(means.argmin())]}, average time is {means.min():.4f} s/iter")
        click.echo(f"time std over epochs is {means.std():.4f}")
        click.echo(f"average iter time: {np.mean(np.concatenate(times)):.4f} s/iter")


class _nullcontext:  # noqa: N801 - a stand-in for contextlib.nullcontext with a typed __enter__
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _pyplot(interactive: bool) -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise click.ClickException("analyze-logs draws with matplotlib, which is not installed: "
                                   "pip install matplotlib  (or pip install 'segdet[plot]')") from err
    if not interactive:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
