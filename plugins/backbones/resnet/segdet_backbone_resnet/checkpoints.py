"""Checkpoint names used by MMDetection / MMSegmentation ResNet configs, resolved to URLs.

No file is read here: a name is only turned into something ``segdet.models.weights.load_pretrained``
reads (a local path or an http(s) URL, fetched once into its cache).
"""
from __future__ import annotations

__all__ = ["OPEN_MMLAB", "resolve_checkpoint"]

# MMCV's open-mmlab:// names (mmcv/model_zoo/open_mmlab.json) of the ImageNet ResNet-family weights that
# detection and segmentation configs start from; the files already hold MMDetection's keys.
_THIRD_PARTY = "https://download.openmmlab.com/pretrain/third_party/"
OPEN_MMLAB: dict[str, str] = {
    "resnet50_v1c": _THIRD_PARTY + "resnet50_v1c-2cccc1ad.pth",
    "resnet101_v1c": _THIRD_PARTY + "resnet101_v1c-e67eebb6.pth",
    "detectron/resnet50_caffe": _THIRD_PARTY + "resnet50_caffe-788b5fa3.pth",
    "detectron2/resnet50_caffe": _THIRD_PARTY + "resnet50_msra-5891d200.pth",
    "detectron/resnet101_caffe": _THIRD_PARTY + "resnet101_caffe-3ad79236.pth",
    "detectron2/resnet101_caffe": _THIRD_PARTY + "resnet101_msra-6cc46731.pth",
    "resnet18_v1c": _THIRD_PARTY + "resnet18_v1c-b5776b93.pth",
    "detectron2/resnext101_32x8d": _THIRD_PARTY + "resnext101_32x8d-1516f1aa.pth",
    "resnext50_32x4d": _THIRD_PARTY + "resnext50-32x4d-0ab1a123.pth",
    "resnext101_32x4d": _THIRD_PARTY + "resnext101_32x4d-a5af3160.pth",
    "resnext101_64x4d": _THIRD_PARTY + "resnext101_64x4d-ee2c6f71.pth",
    "res2net101_v1d_26w_4s": _THIRD_PARTY + "res2net101_v1d_26w_4s_mmdetv2-f0a600f9.pth",
    "regnetx_400mf": _THIRD_PARTY + "regnetx_400mf-a5b10d96.pth",
    "regnetx_800mf": _THIRD_PARTY + "regnetx_800mf-1f4be4c7.pth",
    "regnetx_1.6gf": _THIRD_PARTY + "regnetx_1.6gf-5791c176.pth",
    "regnetx_3.2gf": _THIRD_PARTY + "regnetx_3.2gf-c2599b0f.pth",
    "regnetx_4.0gf": _THIRD_PARTY + "regnetx_4.0gf-a88f671e.pth",
    "regnetx_6.4gf": _THIRD_PARTY + "regnetx_6.4gf-006af45d.pth",
    "regnetx_8.0gf": _THIRD_PARTY + "regnetx_8.0gf-3c68abe7.pth",
    "regnetx_12gf": _THIRD_PARTY + "regnetx_12gf-4c2a3350.pth",
}


def resolve_checkpoint(checkpoint: str) -> str:
    """``torchvision://resnet50`` and ``open-mmlab://name`` -> download URL; paths and URLs pass through.

    Raises:
        ValueError: an unknown torchvision model or open-mmlab name, or another ``scheme://``.
    """
    if checkpoint.startswith("torchvision://"):
        name = checkpoint[len("torchvision://"):]
        import torchvision.models as tvm

        try:
            weights = tvm.get_model_weights(name)
        except (ValueError, KeyError) as err:
            raise ValueError(f"init_cfg.checkpoint {checkpoint!r}: torchvision has no model {name!r}") from err
        # MMCV's torchvision:// names the original (V1) ImageNet weights.
        return str(weights["IMAGENET1K_V1"].url)
    if checkpoint.startswith("open-mmlab://"):
        name = checkpoint[len("open-mmlab://"):]
        if name not in OPEN_MMLAB:
            raise ValueError(
                f"init_cfg.checkpoint {checkpoint!r}: unknown open-mmlab name; known: {sorted(OPEN_MMLAB)}. "
                "Download the checkpoint and give its local path"
            )
        return OPEN_MMLAB[name]
    if "://" in checkpoint and not checkpoint.startswith(("http://", "https://")):
        raise ValueError(
            f"init_cfg.checkpoint {checkpoint!r}: only local paths, http(s) URLs, torchvision:// and "
            "open-mmlab:// names are understood; download the file and give its local path (convert it "
            "with `segdet convert` if its keys come from another project)"
        )
    return checkpoint
