"""``segdet new-plugin KIND NAME [--dir D]``: write a complete plugin distribution.

The distribution installs and passes its own tests unchanged::

    segdet new-plugin neck my-neck
    pip install ./my-neck && pytest my-neck

It holds a ``pyproject.toml`` (entry points of the component and of the plugin-API
version), the component (a typed, documented class importing segdet only through
``segdet.api``), ``py.typed``, a README and tests using the contract suite of
``segdet.testing``. Nothing here imports torch or segdet's models.
"""
from __future__ import annotations

import difflib
import keyword
import re
from pathlib import Path
from string import Template
from typing import Any

import click

__all__ = ["new_plugin", "plan_plugin", "write_plugin"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$")
_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def _kinds() -> tuple[str, ...]:
    from ..plugin_templates import KINDS

    return KINDS


def check_kind(kind: str) -> str:
    """``kind`` if it is a kind of component ``new-plugin`` writes, else a ``click.UsageError``."""
    kinds = _kinds()
    if kind in kinds:
        return kind
    singular = kind[:-1] if kind.endswith("s") else kind
    close = [singular] if singular in kinds else difflib.get_close_matches(kind, kinds, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise click.UsageError(f"unknown KIND {kind!r}{hint}\nKIND is one of: {', '.join(kinds)}")


def check_name(name: str) -> str:
    """``name`` if it can name a distribution and (with ``-`` -> ``_``) a Python package."""
    if not _NAME.match(name):
        raise click.UsageError(
            f"invalid NAME {name!r}: use letters, digits and single '-' or '_' between them, starting "
            "with a letter (e.g. 'my-neck'); it names the folder and the distribution, and "
            "'my-neck' becomes the package 'my_neck' and the class 'MyNeck'")
    package = name.replace("-", "_").lower()
    if keyword.iskeyword(package) or package in ("segdet", "segdet_cli", "test", "tests", "torch"):
        raise click.UsageError(f"invalid NAME {name!r}: package name {package!r} is reserved; choose another")
    return name


def class_name(name: str) -> str:
    """``'my-neck'`` -> ``'MyNeck'``; ``'bifpn_v2'`` -> ``'BifpnV2'``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name))


def plan_plugin(kind: str, name: str, cls: str | None = None) -> dict[str, str]:
    """Relative path -> text of every file of the distribution (nothing is written)."""
    from ..plugin_templates import common, kind_module

    check_kind(kind)
    check_name(name)
    cls = cls or class_name(name)
    if not _CLASS.match(cls) or keyword.iskeyword(cls):
        raise click.UsageError(f"invalid class name {cls!r}: use CamelCase letters and digits, e.g. 'MyNeck'")
    tpl = kind_module(kind)
    pkg = name.replace("-", "_").lower()
    # MyNeck -> my_neck, FancyFPN -> fancy_fpn: the module holding the one class
    module = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls).lower()
    deps = ["segdet" + _segdet_range(), *tpl.DEPENDENCIES]
    values: dict[str, Any] = {
        "cls": cls, "pkg": pkg, "module": module, "dist": name, "name": name, "kind": kind,
        "group": tpl.GROUP, "summary": tpl.SUMMARY, "dependencies": ", ".join(f'"{d}"' for d in deps),
    }
    values["usage"] = Template(tpl.USAGE).substitute(values)
    files = {
        "pyproject.toml": common.PYPROJECT,
        "README.md": common.README,
        f"{pkg}/__init__.py": common.INIT,
        f"{pkg}/{module}.py": tpl.COMPONENT,
        f"tests/test_{module}.py": tpl.TEST,
    }
    out = {path: Template(text).substitute(values) for path, text in files.items()}
    out[f"{pkg}/py.typed"] = ""
    return out


def _segdet_range() -> str:
    """``>=0.1,<0.2``: the installed segdet's minor series (its plugin API promises hold there)."""
    from importlib import metadata

    try:
        version = metadata.version("segdet")
    except metadata.PackageNotFoundError:
        return ">=0.1,<0.2"
    major, minor = (int(p) for p in re.findall(r"\d+", version)[:2])
    return f">={major}.{minor},<{major}.{minor + 1}"


def write_plugin(kind: str, name: str, parent: str | Path = ".", cls: str | None = None) -> Path:
    """Write the distribution into ``parent/name``; that folder must not exist yet."""
    files = plan_plugin(kind, name, cls)
    target = Path(parent) / name
    if target.exists():
        raise click.ClickException(
            f"target directory {target} already exists; choose another NAME or --dir, or remove it first")
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target


def _installed_provider(cls: str, group: str) -> str | None:
    """Display name of an installed component ``cls`` of ``group`` (entry-point metadata only)."""
    from segdet.registry import components

    hits = [i.display_name for i in components(group) if i.name == cls]
    return hits[0] if hits else None


@click.command("new-plugin")
@click.argument("kind", metavar="KIND")
@click.argument("name", metavar="NAME")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to create NAME/ in.")
@click.option("--class-name", "cls", default=None, help="Class of the component (default: NAME in CamelCase).")
def new_plugin(kind: str, name: str, parent: str, cls: str | None) -> None:
    """Write a plugin distribution NAME/ with one component of KIND.

    KIND is one of backbone, neck, head, loss, hook, dataset, transform, metric. The result
    installs with `pip install ./NAME` and passes `pytest NAME` unchanged: pyproject.toml with
    the entry points, the component, README.md, py.typed and tests using segdet.testing.
    """
    kind = check_kind(kind)
    target = write_plugin(kind, name, parent, cls)
    from ..plugin_templates import kind_module

    clash = _installed_provider(cls or class_name(name), kind_module(kind).GROUP)
    if clash:
        click.echo(f"note: {clash} already provides this name in group {kind_module(kind).GROUP!r}; with both "
                   f"installed a config must say type='{name}:{cls or class_name(name)}' "
                   "(or use --class-name)", err=True)

    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    cls_name = cls or class_name(name)
    click.echo(f"wrote {target}/ ({kind} {cls_name}, group segdet.{kind_module(kind).GROUP}):")
    for rel in files:
        click.echo(f"  {rel}")
    shown = target.as_posix() if target.is_absolute() else f"./{target.as_posix()}"
    click.echo(f"next:\n  pip install {shown}\n  pytest {target.as_posix()}")
