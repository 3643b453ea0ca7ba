"""MMCV's ``open-mmlab://msra/hrnetv2_*`` names of the ImageNet HRNetV2 weights, resolved to URLs.

Nothing is read here: ``segdet.api.load_pretrained`` reads the path or URL (fetched once into its cache).
"""
from __future__ import annotations

__all__ = ["OPEN_MMLAB", "resolve_checkpoint"]

_THIRD_PARTY = "https://download.openmmlab.com/pretrain/third_party/"
# From mmcv/model_zoo/open_mmlab.json; the files hold MMDetection's HRNet keys.
OPEN_MMLAB: dict[str, str] = {
    "msra/hrnetv2_w18_small": _THIRD_PARTY + "hrnetv2_w18_small-b5a04e21.pth",
    "msra/hrnetv2_w18": _THIRD_PARTY + "hrnetv2_w18-00eb2006.pth",
    "msra/hrnetv2_w32": _THIRD_PARTY + "hrnetv2_w32-dc9eeb4f.pth",
    "msra/hrnetv2_w40": _THIRD_PARTY + "hrnetv2_w40-ed0b031c.pth",
    "msra/hrnetv2_w48": _THIRD_PARTY + "hrnetv2_w48-d2186c55.pth",
}


def resolve_checkpoint(checkpoint: str) -> str:
    """``open-mmlab://msra/hrnetv2_w32`` -> its URL; local paths and http(s) URLs pass through.

    Raises:
        ValueError: an unknown open-mmlab name or another ``scheme://``.
    """
    if checkpoint.startswith("open-mmlab://"):
        name = checkpoint[len("open-mmlab://"):]
        if name not in OPEN_MMLAB:
            raise ValueError(f"HRNet init_cfg.checkpoint {checkpoint!r}: unknown open-mmlab name; known: "
                             f"{sorted(OPEN_MMLAB)}. Download the checkpoint and give its local path")
        return OPEN_MMLAB[name]
    if "://" in checkpoint and not checkpoint.startswith(("http://", "https://")):
        raise ValueError(f"HRNet init_cfg.checkpoint {checkpoint!r}: only local paths, http(s) URLs and "
                         "open-mmlab://msra/hrnetv2_* names are understood; download the file and give its path")
    return checkpoint
