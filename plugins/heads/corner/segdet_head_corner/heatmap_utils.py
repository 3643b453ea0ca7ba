"""Gaussian corner targets and heatmap decoding helpers (CornerNet / CenterNet formulas)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "draw_gaussian",
    "gather_feat",
    "gaussian2d",
    "gaussian_radius",
    "local_maximum",
    "topk_from_heatmap",
    "transpose_and_gather_feat",
]


def gaussian2d(radius: int, sigma: float, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """``(2r+1, 2r+1)`` unnormalised Gaussian ``exp(-(x^2 + y^2) / (2 sigma^2))``, peak 1,
    values below ``eps * max`` set to 0."""
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(1, -1)
    y = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(-1, 1)
    h = (-(x * x + y * y) / (2 * sigma * sigma)).exp()
    h[h < torch.finfo(h.dtype).eps * h.max()] = 0
    return h


def draw_gaussian(heatmap: torch.Tensor, center: tuple[int, int], radius: int) -> torch.Tensor:
    """Write ``max(heatmap, gaussian)`` in place around ``center = (x, y)`` of a ``(H, W)`` map.

    ``sigma = (2 * radius + 1) / 6``; the Gaussian is clipped at the borders. Returns ``heatmap``.
    """
    diameter = 2 * radius + 1
    kernel = gaussian2d(radius, sigma=diameter / 6, dtype=heatmap.dtype, device=heatmap.device)
    x, y = center
    height, width = heatmap.shape[:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    region = heatmap[y - top:y + bottom, x - left:x + right]
    patch = kernel[radius - top:radius + bottom, radius - left:radius + right]
    torch.max(region, patch, out=region)
    return heatmap


def gaussian_radius(det_size: tuple[float, float], min_overlap: float) -> float:
    """Largest corner displacement keeping IoU >= ``min_overlap`` with a ``(height, width)`` box.

    The smallest of CornerNet's three cases (one corner in and one out, both inside, both
    outside), each the positive root of a quadratic in ``r``; same values as MMDetection's.
    """
    height, width = det_size
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 - math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 - math.sqrt(b2 ** 2 - 16 * c2)) / 8
    # both outside: (w + 2r)(h + 2r) * m = w h, i.e. 4m r^2 + 2m(h + w) r + (m - 1) w h = 0
    a3 = 4 * min_overlap
    b3 = 2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (-b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / (2 * a3)
    return min(r1, r2, r3)


def local_maximum(heat: torch.Tensor, kernel: int = 3) -> torch.Tensor:
    """Keep only values that are the maximum of their ``kernel x kernel`` neighbourhood (else 0)."""
    pad = (kernel - 1) // 2
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=pad)
    return heat * (hmax == heat).to(heat.dtype)


def topk_from_heatmap(scores: torch.Tensor, k: int = 20) -> tuple[torch.Tensor, ...]:
    """The ``k`` best positions over classes and space of ``(B, C, H, W)``.

    Returns ``(scores, inds, classes, ys, xs)``, each ``(B, k)``; ``inds`` index ``H * W``.
    """
    batch, _, height, width = scores.shape
    k = min(k, scores[0].numel())
    topk_scores, topk_inds = torch.topk(scores.reshape(batch, -1), k)
    classes = torch.div(topk_inds, height * width, rounding_mode="floor")
    inds = topk_inds % (height * width)
    ys = torch.div(inds, width, rounding_mode="floor").to(scores.dtype)
    xs = (inds % width).to(scores.dtype)
    return topk_scores, inds, classes, ys, xs


def gather_feat(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """Rows ``ind`` ``(B, K)`` of ``feat`` ``(B, N, D)`` -> ``(B, K, D)``."""
    return feat.gather(1, ind.unsqueeze(2).expand(-1, -1, feat.shape[2]))


def transpose_and_gather_feat(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """Values of ``(B, C, H, W)`` at flat spatial indices ``ind`` ``(B, K)`` -> ``(B, K, C)``."""
    batch, channels = feat.shape[:2]
    return gather_feat(feat.permute(0, 2, 3, 1).reshape(batch, -1, channels), ind)
