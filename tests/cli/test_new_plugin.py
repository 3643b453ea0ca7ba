"""``segdet new-plugin``: the files it writes, what they declare, and its errors.

The generated component of every kind is imported from the written folder, registered in
this process only, and put through ``segdet.testing.check_component`` here; the slow tests
in test_new_plugin_e2e.py pip-install a generated distribution and run its own tests.
"""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from click.testing import CliRunner

from segdet.registry import register, unregister
from segdet.testing import check_component
from segdet_cli.commands.new_plugin import class_name, plan_plugin
from segdet_cli.main import cli
from segdet_cli.plugin_templates import KINDS

GROUP = {"backbone": "backbones", "neck": "necks", "head": "heads", "loss": "losses", "hook": "hooks",
         "dataset": "datasets", "transform": "transforms", "metric": "metrics"}

# tiny kwargs under which each generated component must keep its group's contract
TINY: dict[str, dict[str, Any]] = {
    "backbone": {"base_channels": 4},
    "neck": {"in_channels": [4, 8, 16], "out_channels": 4},
    "head": {"in_channels": 8, "channels": 4, "num_classes": 3},
    "loss": {}, "hook": {"interval": 2}, "transform": {"prob": 1.0, "seed": 0}, "metric": {},
}


def _new(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["new-plugin", *args, "--dir", str(tmp_path)])


@pytest.fixture
def importable() -> Iterator[Callable[[Path], None]]:
    """``importable(folder)`` puts a generated distribution's folder on ``sys.path`` for this test."""
    added: list[str] = []

    def add(folder: Path) -> None:
        sys.path.insert(0, str(folder))
        added.append(str(folder))

    yield add
    for folder in added:
        sys.path.remove(folder)
    for name in [m for m in sys.modules if m.startswith("my_")]:
        del sys.modules[name]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_a_complete_distribution(kind: str, tmp_path: Path) -> None:
    result = _new(tmp_path, kind, f"my-{kind}")
    assert result.exit_code == 0, result.output
    root = tmp_path / f"my-{kind}"
    pkg, cls = f"my_{kind}", f"My{kind.title()}"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == sorted(["pyproject.toml", "README.md", f"{pkg}/__init__.py", f"{pkg}/{pkg}.py",
                            f"{pkg}/py.typed", f"tests/test_{pkg}.py"])
    assert f"wrote {root}/" in result.output and f"pip install {root}" in result.output

    meta = tomllib.loads((root / "pyproject.toml").read_text())
    project, eps = meta["project"], meta["project"]["entry-points"]
    assert project["name"] == f"my-{kind}" and project["dependencies"][0] == "segdet>=0.1,<0.2"
    assert eps["segdet.plugin_api"] == {"1.0": pkg}
    assert eps[f"segdet.{GROUP[kind]}"] == {cls: f"{pkg}.{pkg}:{cls}"}
    assert meta["tool"]["setuptools"]["package-data"] == {pkg: ["py.typed"]}

    # the component imports segdet only through segdet.api; the tests use the contract suite
    tree = ast.parse((root / pkg / f"{pkg}.py").read_text())
    segdet_imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                      and (n.module or "").split(".")[0] == "segdet"}
    assert segdet_imports <= {"segdet.api"}
    assert not any(isinstance(n, ast.Import) and any(a.name.startswith("segdet") for a in n.names)
                   for n in ast.walk(tree))
    (klass,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert klass.name == cls and "Args:" in (ast.get_docstring(klass) or "")
    init = next(n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert init.args.kwarg is None and all(a.annotation is not None for a in init.args.args[1:])
    assert "segdet.testing" in (root / "tests" / f"test_{pkg}.py").read_text()
    assert f"`{cls}` (group `segdet.{GROUP[kind]}`)" in (root / "README.md").read_text()


@pytest.mark.parametrize("kind", [k for k in KINDS if k in TINY])
def test_generated_component_keeps_its_group_contract(kind: str, tmp_path: Path, importable: Any) -> None:
    assert _new(tmp_path, kind, f"my-{kind}").exit_code == 0
    importable(tmp_path / f"my-{kind}")
    cls = getattr(importlib.import_module(f"my_{kind}"), f"My{kind.title()}")
    register(GROUP[kind])(cls)
    try:
        check_component(cls.__name__, GROUP[kind], **TINY[kind])
    finally:
        unregister(GROUP[kind], cls.__name__)


def test_class_name_option_and_name_forms(tmp_path: Path) -> None:
    assert class_name("my-neck") == "MyNeck" and class_name("bifpn_v2") == "BifpnV2"
    files = plan_plugin("neck", "fancy-pyramid", cls="FancyFPN")
    assert "class FancyFPN(nn.Module):" in files["fancy_pyramid/fancy_fpn.py"]
    assert "from .fancy_fpn import FancyFPN" in files["fancy_pyramid/__init__.py"]
    meta = tomllib.loads(files["pyproject.toml"])
    (target,) = meta["project"]["entry-points"]["segdet.necks"].values()
    module, _, attr = target.partition(":")
    assert attr == "FancyFPN" and f"{module.replace('.', '/')}.py" in files


def test_existing_target_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "my-neck").mkdir()
    (tmp_path / "my-neck" / "keep.txt").write_text("mine")
    result = _new(tmp_path, "neck", "my-neck")
    assert result.exit_code != 0
    assert f"target directory {tmp_path / 'my-neck'} already exists" in result.output
    assert [p.name for p in (tmp_path / "my-neck").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("name", ["9lives", "my neck", "my--neck", "neck-", "über", "class", "segdet"])
def test_invalid_name_is_refused(name: str, tmp_path: Path) -> None:
    result = _new(tmp_path, "neck", name)
    assert result.exit_code == 2 and "invalid NAME" in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind, suggestion", [("necks", "'neck'"), ("bakbone", "'backbone'"), ("los", "'loss'")])
def test_unknown_kind_names_close_matches(kind: str, suggestion: str, tmp_path: Path) -> None:
    result = _new(tmp_path, kind, "x")
    assert result.exit_code == 2
    assert f"unknown KIND {kind!r}; did you mean {suggestion}?\n" in result.output
    assert "backbone, neck, head, loss, hook, dataset, transform, metric" in result.output


def test_unknown_kind_without_close_match(tmp_path: Path) -> None:
    result = _new(tmp_path, "optimizer", "x")
    assert result.exit_code == 2 and "unknown KIND 'optimizer'\nKIND is one of" in result.output


def test_listed_in_segdet_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "new-plugin" in result.output


def test_a_name_already_installed_in_the_group_is_noted(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-plugin", "neck", "fpn", "--class-name", "FPN", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "note: FPN (segdet-neck-fpn" in result.output and "type='fpn:FPN'" in result.output
    assert (tmp_path / "fpn" / "fpn" / "fpn.py").exists()


def test_help_does_not_import_torch() -> None:
    code = ("import sys; from click.testing import CliRunner; from segdet_cli.main import cli; "
            "r = CliRunner().invoke(cli, ['new-plugin', '--help']); assert r.exit_code == 0, r.output; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "False", out.stderr

