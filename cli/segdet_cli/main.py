"""``segdet`` entry point: a click group whose commands are imported only when run.

Keeping imports lazy is what makes ``segdet --help`` and ``segdet list-components``
answer without importing torch.
"""
from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> "module:function"; each module lives in segdet_cli/commands/
COMMANDS: dict[str, tuple[str, str]] = {
    "list-components": ("segdet_cli.commands.components:list_components", "List installed components."),
    "show-component": ("segdet_cli.commands.components:show_component", "Show a component's signature and provider."),
    "doctor": ("segdet_cli.commands.doctor:doctor", "Import every component; report what is broken."),
    "print-config": ("segdet_cli.commands.config:print_config", "Print the resolved config."),
    "check-config": ("segdet_cli.commands.config:check_config", "Check every type and argument of a config."),
    "env": ("segdet_cli.commands.env:env", "Show Python, torch, CUDA and plugin versions."),
    "convert": ("segdet_cli.commands.convert:convert", "Convert a checkpoint with a registered converter."),
    "data": ("segdet_cli.commands.data:data", "Make data sets (e.g. the embedded shapes set)."),
    "train": ("segdet_cli.commands.train:train", "Train a model from a config."),
    "test": ("segdet_cli.commands.test:test", "Test a checkpoint and compute metrics."),
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segdet", prog_name="segdet")
def cli() -> None:
    """segdet: detection and segmentation with MMDetection-style configs and plugins."""


if __name__ == "__main__":
    cli()
