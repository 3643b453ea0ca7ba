"""checkpoint_meta: the one place that says what a checkpoint's meta holds."""
from __future__ import annotations

from types import SimpleNamespace

import segdet
from segdet.config import Config
from segdet.engine.meta import checkpoint_meta


def test_meta_from_config_and_dataset() -> None:
    cfg = Config(dict(model=dict(type="RetinaNet"), seed=7))
    dataset = SimpleNamespace(CLASSES=("a", "b"), PALETTE=[(1, 2, 3), (4, 5, 6)])
    meta = checkpoint_meta(cfg, dataset)
    assert meta["CLASSES"] == ("a", "b") and meta["PALETTE"] == [[1, 2, 3], [4, 5, 6]]
    assert "RetinaNet" in meta["config"] and meta["seed"] == 7
    assert meta["segdet_version"] == segdet.__version__ and "segdet" in meta["plugins"]
    assert isinstance(meta["git_hash"], str) and "env_info" not in meta


def test_given_entries_and_env_win() -> None:
    cfg = Config(dict(model=dict(type="RetinaNet")))
    env = {"segdet": "9.9", "plugins_used": {"segdet": "9.9"}, "git_hash": "abc"}
    given = {"CLASSES": ("x",), "tags": ["t"]}
    meta = checkpoint_meta(cfg, SimpleNamespace(CLASSES=("a",)), given, env=env)
    assert meta["CLASSES"] == ("x",) and meta["tags"] == ["t"] and "PALETTE" not in meta
    assert (meta["segdet_version"], meta["plugins"], meta["git_hash"]) == ("9.9", {"segdet": "9.9"}, "abc")
    assert meta["env_info"] == env and given == {"CLASSES": ("x",), "tags": ["t"]}
