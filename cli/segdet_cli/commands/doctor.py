"""``segdet doctor``: import every installed component and report what is broken."""
from __future__ import annotations

from collections import defaultdict

import click


@click.command("doctor")
def doctor() -> None:
    """Import every component; report per distribution what loads, fails, clashes or is incompatible."""
    from segdet.errors import SegdetError
    from segdet.registry import PLUGIN_API_VERSION, components, short_group
    from segdet.registry.build import _load
    from segdet.registry.discovery import stray_groups

    by_dist: dict[str, list] = defaultdict(list)
    stray = stray_groups()
    for group in stray:
        click.echo(f"WARNING: {group.message}", err=True)
    for info in components():
        by_dist[f"{info.distribution} {info.version}".strip()].append(info)
    broken = 0
    for dist in sorted(by_dist):
        infos = by_dist[dist]
        click.echo(f"{dist} (plugin API {infos[0].api or '?'}; core offers {PLUGIN_API_VERSION})")
        for info in infos:
            label = f"  {short_group(info.group)}/{info.name}"
            if info.state == "incompatible":
                broken += 1
                click.echo(f"{label}: INCOMPATIBLE (written for plugin API {info.api}) - skipped")
                continue
            try:
                _load(info)
            except SegdetError as err:
                broken += 1
                cause = err.__cause__
                click.echo(f"{label}: FAILED - {type(cause).__name__ if cause else ''}: {cause or err}")
                continue
            if info.state == "clash":
                broken += 1
                others = [i.distribution for i in components(info.group)
                          if i.name == info.name and i.distribution != info.distribution]
                click.echo(f"{label}: CLASH with {', '.join(others)} (choose with type='{info.qualified_name}')")
            else:
                click.echo(f"{label}: ok")
    broken += len(stray)
    if broken:
        click.echo(f"\n{broken} problem{'s' if broken != 1 else ''} found", err=True)
        raise SystemExit(1)
    click.echo("\nall components load")
