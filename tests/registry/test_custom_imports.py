"""custom_imports=dict(imports=[...]) registers local components for one process."""
from __future__ import annotations

import pytest

from segdet.errors import PluginImportError
from segdet.registry import build, components, import_custom_modules, unregister


def test_custom_imports_register_local_components(tmp_path, monkeypatch):
    (tmp_path / "my_exp_neck.py").write_text(
        "from segdet.registry import register\n"
        "@register('necks')\n"
        "class ExpNeck:\n"
        "    def __init__(self, k: int = 1) -> None:\n"
        "        self.k = k\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import_custom_modules({"imports": ["my_exp_neck"]}, source="exp.py")
        assert any(i.name == "ExpNeck" and i.distribution == "<local>" for i in components("necks"))
        assert build({"type": "ExpNeck", "k": 4}, "necks").k == 4
    finally:
        unregister("necks", "ExpNeck")


def test_custom_imports_failure_names_source_and_module():
    with pytest.raises(PluginImportError, match=r"exp.py: custom_imports could not import 'no_such_mod_x'"):
        import_custom_modules({"imports": ["no_such_mod_x"]}, source="exp.py")
    import_custom_modules({"imports": ["no_such_mod_x"], "allow_failed_imports": True}, source="exp.py")
