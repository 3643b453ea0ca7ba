"""Map other projects' Swin checkpoints to segdet's (= MMDetection's) ``SwinTransformer`` keys.

Both are plain ``fn(state_dict) -> state_dict`` functions registered in the
``segdet.converters`` group (``swin``, ``torchvision-swin``). The results hold backbone
keys without prefix; load them with ``SwinTransformer.load_state_dict`` or prefix
``backbone.`` for a detector.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

__all__ = ["convert_official_swin", "convert_torchvision_swin"]

# The official Swin and torchvision concatenate a 2x2 neighbourhood as
# [x(0,0), x(1,0), x(0,1), x(1,1)] blocks of C channels; segdet/MMDetection use nn.Unfold's
# order, channel-major then (dy, dx) = (0,0), (0,1), (1,0), (1,1).
_BLOCK_ORDER = [0, 2, 1, 3]


def _unfold_order_linear(weight: torch.Tensor) -> torch.Tensor:
    """Reorder the input features of a ``(out, 4C)`` reduction weight."""
    out, four_c = weight.shape
    return weight.reshape(out, 4, four_c // 4)[:, _BLOCK_ORDER, :].transpose(1, 2).reshape(out, four_c)


def _unfold_order_vector(vec: torch.Tensor) -> torch.Tensor:
    """Reorder a ``(4C,)`` norm weight or bias."""
    return vec.reshape(4, -1)[_BLOCK_ORDER, :].transpose(0, 1).reshape(-1)


def _merge_tensor(key: str, value: torch.Tensor) -> torch.Tensor:
    if key.endswith("reduction.weight"):
        return _unfold_order_linear(value)
    if ".norm." in key:
        return _unfold_order_vector(value)
    return value


def convert_official_swin(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official Swin release (``layers.i.blocks.j.attn.qkv`` ...) -> segdet keys.

    The mapping of MMSegmentation's ``swin2mmseg``: ``layers`` -> ``stages``, ``attn`` ->
    ``attn.w_msa``, ``mlp.fc1``/``mlp.fc2`` -> ``ffn.layers.0.0``/``ffn.layers.1``,
    ``patch_embed.proj`` -> ``patch_embed.projection``, patch-merging ``reduction``/``norm``
    permuted to the unfold order. Classifier ``head.*`` and the cached ``attn_mask`` buffers
    are dropped. Unlike ``swin2mmseg``, the final ``norm`` becomes ``norm3`` (the norm of the
    last stage's output, which is exactly what it was trained as).
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("head.") or key.endswith("attn_mask"):
            continue
        new = key
        if key.startswith("layers."):
            new = "stages." + key[len("layers."):]
            new = new.replace(".attn.", ".attn.w_msa.")
            new = new.replace(".mlp.fc1.", ".ffn.layers.0.0.").replace(".mlp.fc2.", ".ffn.layers.1.")
            if ".downsample." in new:
                value = _merge_tensor(new, value)
        elif key.startswith("patch_embed.proj."):
            new = key.replace("patch_embed.proj.", "patch_embed.projection.")
        elif key.startswith("norm."):
            new = "norm3." + key[len("norm."):]
        out[new] = value
    return out


_TV_BLOCK = re.compile(r"features\.(\d+)\.(\d+)\.(.+)")
_TV_MERGE = re.compile(r"features\.(\d+)\.(reduction|norm)\.(.+)")
_TV_BLOCK_RENAMES = {
    "attn.qkv.": "attn.w_msa.qkv.",
    "attn.proj.": "attn.w_msa.proj.",
    "attn.relative_position_bias_table": "attn.w_msa.relative_position_bias_table",
    "attn.relative_position_index": "attn.w_msa.relative_position_index",
    "mlp.0.": "ffn.layers.0.0.",
    "mlp.3.": "ffn.layers.1.",
    "norm1.": "norm1.",
    "norm2.": "norm2.",
}


def _tv_block_key(stage: int, block: str, rest: str) -> str:
    for old, new in _TV_BLOCK_RENAMES.items():
        if rest.startswith(old):
            return f"stages.{stage}.blocks.{block}.{new}{rest[len(old):]}"
    raise KeyError(f"unexpected key in a torchvision Swin block: features.*.{block}.{rest}")


def convert_torchvision_swin(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision ``swin_t`` / ``swin_s`` / ``swin_b`` (v1) state dict -> segdet keys.

    torchvision's ``features`` interleave stages and merges: ``features.0`` is the patch
    embedding (``0`` conv, ``2`` LayerNorm), ``features.{1,3,5,7}`` the block sequences of
    stages 0-3 and ``features.{2,4,6}`` the patch mergings after stages 0-2. Its block MLP is
    ``mlp.0``/``mlp.3``; its flat ``relative_position_index`` becomes ``(N, N)``; its merge
    weights are permuted to the unfold order; its final ``norm`` becomes ``norm3``. ``head.*``
    is dropped. ``norm0..norm2`` have no counterpart and keep their initialisation.
    """
    if any("cpb_mlp" in k or "logit_scale" in k for k in state_dict):
        raise ValueError("this is a torchvision Swin V2 state dict (cpb_mlp / logit_scale keys); "
                         "segdet's SwinTransformer is Swin V1 (swin_t / swin_s / swin_b)")
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("head."):
            continue
        if key.startswith("features.0."):
            rest = key[len("features.0."):]
            layer, _, param = rest.partition(".")
            name = {"0": "patch_embed.projection", "2": "patch_embed.norm"}.get(layer)
            if name is None:
                raise KeyError(f"unexpected key in torchvision's patch embedding: {key}")
            out[f"{name}.{param}"] = value
        elif key.startswith("norm."):
            out["norm3." + key[len("norm."):]] = value
        elif (m := _TV_MERGE.fullmatch(key)) is not None:
            index, part, param = m.groups()
            new = f"stages.{int(index) // 2 - 1}.downsample.{part}.{param}"
            out[new] = _merge_tensor(new, value)
        elif (m := _TV_BLOCK.fullmatch(key)) is not None:
            index, block, rest = m.groups()
            new = _tv_block_key((int(index) - 1) // 2, block, rest)
            if new.endswith("relative_position_index"):
                n = math.isqrt(value.numel())
                value = value.reshape(n, n)
            out[new] = value
        else:
            raise KeyError(f"unexpected key in a torchvision Swin state dict: {key}")
    return out
