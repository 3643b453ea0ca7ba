"""``segdet list-components`` and ``segdet show-component``; listing never imports torch."""
from __future__ import annotations

import json

import click

from segdet.registry import components, full_group, short_group


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


@click.command("list-components")
@click.option("--group", "-g", default=None, help="Only this group, e.g. necks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Scan the installed metadata instead of reading the discovery cache (also SEGDET_NO_CACHE=1).")
def list_components(group: str | None, as_json: bool, no_cache: bool) -> None:
    """List installed components: group, name, distribution, version and state (ok/clash/incompatible).

    The listing is cached in the user's cache folder while no distribution is installed, removed or
    changed; building a component never uses that cache.
    """
    try:
        items = components(full_group(group) if group else None, cached=not no_cache)
    except Exception as err:
        raise click.ClickException(str(err)) from err
    from segdet.registry.discovery import stray_groups

    for stray in stray_groups(cached=not no_cache):
        click.echo(f"WARNING: {stray.message}", err=True)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in items], indent=2))
        return
    if not items:
        click.echo("no components installed" + (f" in group {group!r}" if group else ""))
        return
    rows = [[short_group(i.group), i.name, i.distribution, i.version, i.state] for i in items]
    click.echo(_table(rows, ["group", "name", "distribution", "version", "state"]))


@click.command("show-component")
@click.argument("name")
@click.option("--group", "-g", default=None, help="Group to search, e.g. necks (default: all).")
def show_component(name: str, group: str | None) -> None:
    """Show a component's signature with defaults, docstring summary and provider."""
    import inspect

    from segdet.errors import SegdetError
    from segdet.registry import find_info, resolve, signature_text

    groups = [full_group(group)] if group else sorted({i.group for i in components() if i.name == name.split(":")[-1]})
    if not groups:
        close = sorted({i.name for i in components()})
        import difflib

        hint = difflib.get_close_matches(name, close, n=5)
        raise click.ClickException(
            f"no installed component named {name!r}" + (f"; closest: {', '.join(hint)}" if hint else "")
        )
    for g in groups:
        try:
            info = find_info(name, g)
            obj = resolve(name, g)
        except SegdetError as err:
            raise click.ClickException(str(err)) from err
        doc = inspect.getdoc(obj) or ""
        click.echo(f"{info.display_name}  [group {short_group(g)}]")
        click.echo(f"  target:    {info.target}")
        click.echo(f"  signature: {signature_text(obj)}")
        if doc:
            click.echo(f"  summary:   {doc.splitlines()[0]}")
