"""The ``meta`` a checkpoint carries, built in one place for ``segdet train`` and ``train_model``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["checkpoint_meta"]


def checkpoint_meta(cfg: Any, dataset: Any = None, meta: Mapping[str, Any] | None = None,
                    env: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Checkpoint meta: ``CLASSES`` (and ``PALETTE``) of the training data set, the resolved config
    text, the segdet version, the plugin distributions the config uses, the git hash and the seed.

    Args:
        cfg: the resolved :class:`~segdet.config.Config` (or a mapping).
        dataset: the first training data set; its ``CLASSES`` / ``PALETTE`` are what
            ``init_detector`` / ``init_segmentor`` and ``segdet test`` read back.
        meta: entries that win over the computed ones (e.g. ``exp_name``, ``tags``).
        env: :func:`segdet.engine.env.collect_env` output, kept as ``env_info`` and reused for the
            versions and git hash instead of asking again.

    Returns:
        a new dict; the inputs are not modified.
    """
    import segdet

    from ..config import to_plain
    from .env import get_git_hash, plugin_versions, plugins_used

    out: dict[str, Any] = dict(meta or {})
    if env is not None:
        out.setdefault("env_info", dict(env))
    out.setdefault("CLASSES", getattr(dataset, "CLASSES", None))
    palette = getattr(dataset, "PALETTE", None)
    if palette is not None:
        out.setdefault("PALETTE", [list(c) for c in palette])
    out.setdefault("config", getattr(cfg, "pretty_text", None) or repr(to_plain(cfg)))
    out.setdefault("segdet_version", (env or {}).get("segdet") or segdet.__version__)
    if "plugins" not in out:
        out["plugins"] = (env or {}).get("plugins_used") or plugins_used(to_plain(cfg)) or plugin_versions()
    if "git_hash" not in out:
        out["git_hash"] = (env or {}).get("git_hash") or get_git_hash()
    out.setdefault("seed", cfg.get("seed"))
    return out
