"""Window attention with relative position bias, plain and shifted (MMDetection's W-MSA / SW-MSA)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WindowMSA", "ShiftWindowMSA", "DropPath"]

# MMDetection and the official Swin mask cross-region pairs with -100, not -inf;
# kept so that outputs match theirs exactly.
_MASK_VALUE = -100.0


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's residual branch with probability ``drop_prob``."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


def _relative_position_index(window_size: int) -> torch.Tensor:
    """``(N, N)`` index into the ``(2w-1)**2`` bias table, ``N = w*w`` (the official Swin's order)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size),
                                        indexing="ij")).flatten(1)  # 2, N
    rel = coords[:, :, None] - coords[:, None, :] + (window_size - 1)  # 2, N, N
    return rel[0] * (2 * window_size - 1) + rel[1]


class WindowMSA(nn.Module):
    """Multi-head self-attention inside windows, with a learned relative position bias.

    Args:
        embed_dims: channels ``C``.
        num_heads: heads; ``C`` must be divisible by it.
        window_size: window side ``w``; windows hold ``N = w*w`` tokens.
        qkv_bias: bias in the ``qkv`` projection. Default ``True``.
        qk_scale: scale of ``q``; default ``None`` means ``head_dims ** -0.5``.
        attn_drop_rate, proj_drop_rate: dropout of attention weights / of the output.

    Shapes: ``x (B*nW, N, C)``, optional additive ``mask (nW, N, N)`` -> ``(B*nW, N, C)``.
    """

    relative_position_index: torch.Tensor

    def __init__(self, embed_dims: int, num_heads: int, window_size: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop_rate: float = 0.0,
                 proj_drop_rate: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f"embed_dims {embed_dims} is not divisible by num_heads {num_heads}")
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.window_size = window_size
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", _relative_position_index(window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop_rate = attn_drop_rate
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self) -> torch.Tensor:
        """``(num_heads, N, N)`` bias added to the attention logits."""
        n = self.window_size * self.window_size
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, self.num_heads).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        bw, n, c = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).view(bw, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B*nW, heads, N, d)
        # Written out rather than F.scaled_dot_product_attention: with a learned bias as
        # attn_mask, CPU SDPA falls back to its unfused math path, which scales q and k
        # separately and was 1.3x (train) to 2x (inference) slower per attention in
        # bench/backbones.py's setting. Adding bias and mask in place saves two full
        # (B*nW, heads, N, N) temporaries; matmul's backward does not need its output.
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn.add_(self.relative_position_bias())
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, heads, n, n).add_(mask.unsqueeze(1)).view(bw, heads, n, n)
        attn = attn.softmax(dim=-1)
        if self.training and self.attn_drop_rate > 0:
            attn = F.dropout(attn, p=self.attn_drop_rate)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        return self.proj_drop(self.proj(out))


def _window_partition(x: torch.Tensor, w: int) -> torch.Tensor:
    """``(B, H, W, C)`` -> ``(B*nW, w*w, C)``, windows in row-major order."""
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)


def _window_reverse(windows: torch.Tensor, w: int, h: int, wd: int) -> torch.Tensor:
    """Inverse of :func:`_window_partition`: ``(B*nW, w*w, C)`` -> ``(B, H, W, C)``."""
    c = windows.shape[-1]
    x = windows.view(-1, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, wd, c)


def _shift_mask(h: int, w: int, window: int, shift: int, device: torch.device) -> torch.Tensor:
    """``(nW, N, N)`` additive mask: 0 within one region of the rolled map, -100 across regions."""
    region = torch.zeros(h, w, device=device)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            region[hs, ws] = label
            label += 1
    region = _window_partition(region.view(1, h, w, 1), window).squeeze(-1)  # nW, N
    diff = region.unsqueeze(1) - region.unsqueeze(2)
    return torch.zeros_like(diff).masked_fill_(diff != 0, _MASK_VALUE)


class ShiftWindowMSA(nn.Module):
    """(Shifted-)window attention over a token map, padding it to whole windows.

    As in MMDetection (and unlike the official Swin / torchvision), the shift is kept
    even when the map is no larger than one window; padded tokens (zeros) take part in
    attention unmasked, as in all three.

    Args:
        embed_dims, num_heads, window_size, qkv_bias, qk_scale, attn_drop_rate,
            proj_drop_rate: as :class:`WindowMSA`.
        shift_size: cyclic shift, ``0 <= shift_size < window_size``. Default 0.
        drop_path_rate: stochastic depth on the output. Default 0.

    Shapes: ``query (B, H*W, C)``, ``hw_shape = (H, W)`` -> ``(B, H*W, C)``.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int, shift_size: int = 0,
                 qkv_bias: bool = True, qk_scale: float | None = None, attn_drop_rate: float = 0.0,
                 proj_drop_rate: float = 0.0, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f"shift_size must be in [0, window_size={window_size}), got {shift_size}")
        self.window_size = window_size
        self.shift_size = shift_size
        self.w_msa = WindowMSA(embed_dims, num_heads, window_size, qkv_bias, qk_scale,
                               attn_drop_rate, proj_drop_rate)
        self.drop = DropPath(drop_path_rate)
        self._mask_key: tuple | None = None
        self._mask: torch.Tensor | None = None

    def _cached_mask(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        key = (h, w, device)
        if self._mask_key != key or self._mask is None:
            self._mask = _shift_mask(h, w, self.window_size, self.shift_size, device)
            self._mask_key = key
        return self._mask

    def forward(self, query: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        b, length, c = query.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f"query has {length} tokens but hw_shape {hw_shape} needs {h * w}")
        ws, shift = self.window_size, self.shift_size
        x = query.view(b, h, w, c)
        pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
        if pad_r or pad_b:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        mask = None
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            mask = self._cached_mask(hp, wp, x.device)
        windows = self.w_msa(_window_partition(x, ws), mask=mask)
        x = _window_reverse(windows, ws, hp, wp)
        if shift:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        if pad_r or pad_b:
            x = x[:, :h, :w, :]
        return self.drop(x.reshape(b, h * w, c))
