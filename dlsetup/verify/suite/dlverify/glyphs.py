"""A procedurally generated, seeded 28x28 "digit-like glyph" dataset, drawn on the device.

Ten classes, each a hand-made polyline template in [-1, 1]^2 (x right, y down). Every sample gets
control-point jitter, a random rotation (±15°), scale (±17 %), shear, shift (±3 px), stroke half-width
(1-2.6 px), background level, contrast and Gaussian noise, and with p = 0.3 a distractor stroke. Strokes
are anti-aliased by distance to the nearest segment. The same (seed, n, device type) gives the same
tensors, so no download is needed and a run is repeatable.
"""

from __future__ import annotations

import math

import torch

SIZE = 28
_HALF = 10.0  # template half-size in pixels: a glyph spans about 20 of the 28 pixels
_CENTER = (SIZE - 1) / 2.0

# One list of polylines per class; each polyline is a list of (x, y) points.
TEMPLATES: list[list[list[tuple[float, float]]]] = [
    # 0: an ellipse
    [[(0.55 * math.cos(a), 0.8 * math.sin(a)) for a in [2 * math.pi * k / 10 for k in range(11)]]],
    # 1: a vertical bar with a flag
    [[(-0.3, -0.5), (0.05, -0.85), (0.05, 0.85)]],
    # 2
    [[(-0.5, -0.45), (-0.3, -0.75), (0.1, -0.85), (0.45, -0.6), (0.45, -0.25), (-0.5, 0.8), (0.55, 0.8)]],
    # 3
    [[(-0.5, -0.7), (0.0, -0.85), (0.45, -0.6), (0.35, -0.2), (-0.1, -0.05), (0.4, 0.15), (0.5, 0.5),
      (0.1, 0.85), (-0.5, 0.7)]],
    # 4
    [[(0.2, -0.85), (-0.55, 0.3), (0.6, 0.3)], [(0.3, -0.3), (0.3, 0.85)]],
    # 5
    [[(0.5, -0.8), (-0.4, -0.8), (-0.45, -0.1), (0.1, -0.2), (0.5, 0.1), (0.45, 0.6), (0.0, 0.85),
      (-0.5, 0.65)]],
    # 6
    [[(0.4, -0.8), (-0.1, -0.6), (-0.45, 0.0), (-0.4, 0.6), (0.0, 0.85), (0.4, 0.6), (0.4, 0.2), (0.0, 0.0),
      (-0.42, 0.25)]],
    # 7
    [[(-0.55, -0.8), (0.55, -0.8), (-0.1, 0.85)]],
    # 8
    [[(0.0, -0.05), (-0.4, -0.4), (-0.2, -0.8), (0.2, -0.8), (0.4, -0.4), (0.0, -0.05), (-0.45, 0.4),
      (-0.2, 0.85), (0.2, 0.85), (0.45, 0.4), (0.0, -0.05)]],
    # 9
    [[(0.42, -0.3), (0.0, -0.05), (-0.42, -0.35), (-0.2, -0.8), (0.25, -0.8), (0.45, -0.4), (0.4, 0.3),
      (0.1, 0.85)]],
]


_RES = 56  # templates are drawn at twice the output resolution
_WIDTHS = (1.0, 1.4, 1.8, 2.2, 2.6)  # stroke half-widths, in output pixels
_TILE = 100  # atlas tile: the 56 px template plus a blank margin that out-of-glyph samples land in


def _segments(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All template segments as endpoints a, b (total, 2) and their class ids (total,)."""
    a, b, cls = [], [], []
    for c, polylines in enumerate(TEMPLATES):
        for line in polylines:
            for p, q in zip(line, line[1:]):  # noqa: B905 (the suite also runs on Python < 3.10)
                a.append(p)
                b.append(q)
                cls.append(c)
    return (torch.tensor(a, dtype=torch.float32, device=device), torch.tensor(b, dtype=torch.float32, device=device),
            torch.tensor(cls, device=device))


def _seg_distance(px: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance from points px (P, 2) to segments a->b (S, 2); returns (S, P)."""
    ab = (b - a).unsqueeze(1)
    ap = px.unsqueeze(0) - a.unsqueeze(1)
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-9)).clamp(0.0, 1.0)
    diff = ap - t.unsqueeze(-1) * ab
    return (diff * diff).sum(-1).sqrt()


def _pixel_grid(res: int, device: torch.device) -> torch.Tensor:
    """Pixel centres of a res x res image in normalised coordinates [-1, 1], as (res*res, 2) (x, y)."""
    c = (torch.arange(res, device=device, dtype=torch.float32) + 0.5) / res * 2 - 1
    return torch.stack(torch.meshgrid(c, c, indexing="xy"), -1).view(-1, 2)


def _atlas(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One image holding every (width, class) template in its own tile, and a separate distractor bar."""
    span = _HALF / (SIZE / 2)  # template unit -> normalised output coordinate
    grid = _pixel_grid(_RES, device)
    a, b, cls = _segments(device)
    dist = _seg_distance(grid, a * span, b * span) * (_RES / 2)  # in template pixels
    per_class = torch.stack([dist[cls == c].amin(0) for c in range(len(TEMPLATES))]).view(-1, _RES, _RES)
    rows, cols = len(_WIDTHS), len(TEMPLATES)
    atlas = torch.zeros(rows * _TILE, cols * _TILE, device=device)
    pad = (_TILE - _RES) // 2
    for r, hw in enumerate(_WIDTHS):
        ink = (hw * _RES / SIZE + 0.5 - per_class).clamp(0.0, 1.0)
        for c in range(cols):
            atlas[r * _TILE + pad : r * _TILE + pad + _RES, c * _TILE + pad : c * _TILE + pad + _RES] = ink[c]
    bar_d = _seg_distance(grid, torch.tensor([[-0.5, 0.0]], device=device), torch.tensor([[0.5, 0.0]], device=device))
    bar = (1.2 + 0.5 - bar_d * (_RES / 2)).clamp(0.0, 1.0).view(1, 1, _RES, _RES)
    return atlas.view(1, 1, rows * _TILE, cols * _TILE), bar


def _basis(device: torch.device) -> torch.Tensor:
    """Polynomial basis (10, 784) over the output pixel centres: 1, u, v, then 2nd and 3rd order terms."""
    g = _pixel_grid(SIZE, device)
    u, v = g[:, 0], g[:, 1]
    return torch.stack([torch.ones_like(u), u, v, u * u, u * v, v * v, u * u * u, u * u * v, u * v * v, v * v * v])


def _warp(n: int, rnd, rot: float, scale: tuple[float, float], shear: float, shift: float, bend: float) -> torch.Tensor:
    """(n, 2, 10) polynomial output->input coordinate maps: a random affine map plus a smooth bend."""
    theta = rnd(n, lo=-rot, hi=rot)
    inv = 1.0 / rnd(n, lo=scale[0], hi=scale[1])
    sh = rnd(n, lo=-shear, hi=shear)
    cos, sin = torch.cos(theta), torch.sin(theta)
    coef = (rnd(n, 2, 10, lo=-1.0, hi=1.0) * bend)
    coef[:, :, 0] = rnd(n, 2, lo=-shift, hi=shift)
    coef[:, 0, 1], coef[:, 0, 2] = inv * cos, inv * (sin + sh)
    coef[:, 1, 1], coef[:, 1, 2] = -inv * sin, inv * cos
    return coef


def _sample(F, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of one (1, 1, H, W) image at n 28x28 grids: the grids are stacked into one tall grid,
    so the image is never copied n times."""
    n = grid.shape[0]
    out = F.grid_sample(image, grid.reshape(1, n * SIZE, SIZE, 2), mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out.view(n, 1, SIZE, SIZE)


def _render(labels: torch.Tensor, gen: torch.Generator, atlas: torch.Tensor, bar: torch.Tensor,
            basis: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    device = labels.device
    n = labels.numel()

    def rnd(*shape: int, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
        return torch.rand(*shape, generator=gen, device=device) * (hi - lo) + lo

    width = (rnd(n) * len(_WIDTHS)).long().clamp_max(len(_WIDTHS) - 1)
    coef = _warp(n, rnd, math.radians(15), (0.83, 1.17), 0.2, 3.0 / (SIZE / 2), 0.02)
    # Map template coordinates into this sample's atlas tile (a scale and an offset per axis).
    rows, cols = atlas.shape[2] // _TILE, atlas.shape[3] // _TILE
    scale = torch.tensor([_RES / (cols * _TILE), _RES / (rows * _TILE)], device=device).view(1, 2, 1)
    centre = torch.stack([(labels.float() + 0.5) / cols * 2 - 1, (width.float() + 0.5) / rows * 2 - 1], 1)
    coef = coef * scale
    coef[:, :, 0] += centre
    grid = torch.matmul(coef, basis).transpose(1, 2).reshape(n, SIZE, SIZE, 2)
    ink = _sample(F, atlas, grid)

    # A distractor stroke with p = 0.3: the bar, turned any way, shrunk and placed anywhere.
    dcoef = _warp(n, rnd, math.pi, (0.3, 0.8), 0.0, 0.9, 0.0)
    dgrid = torch.matmul(dcoef, basis).transpose(1, 2).reshape(n, SIZE, SIZE, 2)
    dink = _sample(F, bar, dgrid)
    ink = torch.maximum(ink, dink * (rnd(n, 1, 1, 1, lo=0.4, hi=0.9) * (rnd(n, 1, 1, 1) < 0.3)))

    background = rnd(n, 1, 1, 1, lo=0.0, hi=0.2)
    contrast = rnd(n, 1, 1, 1, lo=0.6, hi=1.0)
    noise = torch.randn(n, 1, SIZE, SIZE, generator=gen, device=device) * rnd(n, 1, 1, 1, lo=0.0, hi=0.1)
    return (background + contrast * ink + noise - 0.25) / 0.35


def make_dataset(n: int, seed: int, device: torch.device, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images (n, 1, 28, 28) float32 and labels (n,) int64, generated on ``device`` from ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    labels = torch.randint(0, len(TEMPLATES), (n,), generator=gen, device=device)
    atlas, bar = _atlas(device)
    basis = _basis(device)
    parts = [_render(labels[i : i + chunk], gen, atlas, bar, basis) for i in range(0, n, chunk)]
    return torch.cat(parts), labels
