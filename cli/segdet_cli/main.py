"""``segdet`` entry point: a click group whose commands are imported only when run.

Keeping imports lazy is what makes ``segdet --help`` and ``segdet list-components``
answer without importing torch.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import traceback
from typing import Any

import click

# command name -> "module:function"; each module lives in segdet_cli/commands/
COMMANDS: dict[str, tuple[str, str]] = {
    "list-components": ("segdet_cli.commands.components:list_components", "List installed components."),
    "show-component": ("segdet_cli.commands.components:show_component", "Show a component's signature and provider."),
    "doctor": ("segdet_cli.commands.doctor:doctor", "Import every component; report what is broken."),
    "print-config": ("segdet_cli.commands.config:print_config", "Print the resolved config."),
    "check-config": ("segdet_cli.commands.config:check_config", "Check every type and argument of a config."),
    "check-data": ("segdet_cli.commands.check_data:check_data",
                   "Check that images exist and decode, boxes and categories are valid."),
    "env": ("segdet_cli.commands.env:env", "Show Python, torch, CUDA and plugin versions."),
    "convert": ("segdet_cli.commands.convert:convert", "Convert a checkpoint with a registered converter."),
    "data": ("segdet_cli.commands.data:data", "Make data sets (e.g. the embedded shapes set)."),
    "train": ("segdet_cli.commands.train:train", "Train a model from a config."),
    "test": ("segdet_cli.commands.test:test", "Test a checkpoint and compute metrics."),
    "new-plugin": ("segdet_cli.commands.new_plugin:new_plugin", "Write a plugin distribution (KIND NAME)."),
    "publish-model": ("segdet_cli.commands.publish_model:publish_model",
                      "Strip training state from a checkpoint; name it OUT-<sha8>.pth."),
    "get-flops": ("segdet_cli.commands.get_flops:get_flops", "Count parameters and FLOPs per module."),
    "analyze-logs": ("segdet_cli.commands.analyze_logs:analyze_logs",
                     "Plot curves (plot-curve) and time (cal-train-time) of *.log.json runs."),
    "browse-dataset": ("segdet_cli.commands.browse_dataset:browse_dataset",
                       "Write a data split's images with ground truth drawn."),
    "confusion-matrix": ("segdet_cli.commands.confusion_matrix:confusion_matrix",
                         "Confusion matrix of test results as a heat map."),
    "export": ("segdet_cli.commands.export:export", "Export a model to ONNX or TorchScript."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr = entry[0].split(":")
        cmd: Any = getattr(importlib.import_module(module), attr)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a failure becomes a short message (the traceback with ``--debug``)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException as err:
            origin = err.__cause__ or err.__context__
            if debug_enabled(ctx) and origin is not None:
                traceback.print_exception(origin, file=sys.stderr)
            found = _WORKER.search(err.message)
            if found is None:
                raise
            # a command passed the text of a DataLoader worker's error on, traceback and all
            short = describe_error(RuntimeError(err.message))
            prefix = err.message[:found.start()]
            if prefix and not short.startswith(prefix):  # "DataFileNotFoundError: " is said once
                short = prefix + short
            raise click.ClickException(short) from err.__cause__
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as err:
            if debug_enabled(ctx):
                raise
            raise click.ClickException(describe_error(err)) from err


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """``segdet --debug ...`` or ``SEGDET_DEBUG=1``: show tracebacks."""
    if os.environ.get("SEGDET_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("debug"))


_WORKER = re.compile(r"Caught (\w+) in DataLoader worker process (\d+)\.")
_TRACE_SKIP = ("Traceback (most recent call last)", "The above exception was the direct cause",
               "During handling of the above exception")


def _original_error(text: str) -> tuple[str, str] | None:
    """``(worker, "Type: message")`` of an error re-raised from a DataLoader worker, whose text is
    ``Caught X in DataLoader worker process N.`` + the worker's whole traceback."""
    found = _WORKER.search(text)
    if found is None:
        return None
    lines = text[found.end():].splitlines()
    # the original error starts at the last unindented line after the last frame
    start = None
    for i, line in enumerate(lines):
        if line and not line[0].isspace() and not line.startswith(_TRACE_SKIP) and \
                not line.startswith("Original Traceback"):
            if start is None or (i > 0 and lines[i - 1].startswith(" ")):
                start = i
    if start is None:
        return found.group(2), found.group(1)
    original = "\n".join(lines[start:]).strip()
    return found.group(2), re.sub(r"^segdet\.errors\.", "", original)


def describe_error(err: BaseException) -> str:
    """A short message for ``err``: the message of segdet's own errors, the original error of a
    data-loader worker, and for anything else its type and text plus how to see the traceback."""
    text = str(err)
    worker = _original_error(text)
    if worker is not None:
        return (f"{worker[1]}\n(raised while loading data, in DataLoader worker {worker[0]}; "
                "run `segdet --debug ...` or set SEGDET_DEBUG=1 for the traceback)")
    try:
        from segdet.errors import SegdetError
    except ImportError:  # pragma: no cover
        SegdetError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if isinstance(err, (SegdetError, OSError, MemoryError)):  # type: ignore[arg-type]
        return f"{type(err).__name__}: {text}"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return (f"unexpected {type(err).__name__}: {first}\n"
            "This looks like a bug in segdet or a plugin; run `segdet --debug ...` (or set SEGDET_DEBUG=1) "
            "for the traceback and include it in a report.")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segdet", prog_name="segdet")
@click.option("--debug", "debug", is_flag=True,
              help="Show the full traceback of a failure (also SEGDET_DEBUG=1). "
                   "Not the same as `segdet train --debug`, which trains a few iterations.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """segdet: detection and segmentation with MMDetection-style configs and plugins."""
    ctx.obj = {"debug": debug}


if __name__ == "__main__":
    cli()
