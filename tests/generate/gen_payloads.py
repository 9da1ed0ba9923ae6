"""Payloads built from real photos (scikit-image's bundled coins) with known masks.

Each reference is an 80 x 80 crop of ``skimage.data.coins()`` around one coin; the
coin's mask is its Otsu component with holes filled. Payload items are made the
way the device makes them: Canny(100, 200) of the segment at L1, the RGBA
segment (black outside, alpha = mask) at L2.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from spinml.config import Policy, Request
from spinml.io import write_image
from spinml.payload import Payload, PayloadWriter

LABELS = ("small", "large")
CROP = 80


@lru_cache(maxsize=1)
def coin_references() -> tuple[tuple[str, str, np.ndarray, np.ndarray], ...]:
    """(reference id, label, RGB crop, boolean coin mask) for eight coins, four per label."""
    from scipy import ndimage
    from skimage import data, filters, measure

    gray = data.coins()
    fg = ndimage.binary_fill_holes(gray > filters.threshold_otsu(gray))
    comps = measure.label(fg)
    coins = [p for p in measure.regionprops(comps) if 1500 <= p.area <= 3200]
    coins = sorted(coins, key=lambda p: p.area)[:4] + sorted(coins, key=lambda p: p.area)[-4:]
    out = []
    for k, prop in enumerate(coins):
        cy, cx = (int(v) for v in prop.centroid)
        y0 = int(np.clip(cy - CROP // 2, 0, gray.shape[0] - CROP))
        x0 = int(np.clip(cx - CROP // 2, 0, gray.shape[1] - CROP))
        crop = gray[y0:y0 + CROP, x0:x0 + CROP]
        mask = comps[y0:y0 + CROP, x0:x0 + CROP] == prop.label
        rgb = np.repeat(crop[..., None], 3, axis=2)
        label = LABELS[0] if k < 4 else LABELS[1]
        out.append((f"ref{k}", label, rgb, mask))
    return tuple(out)


def share(rgb: np.ndarray, mask: np.ndarray, level: int, l1: str = "canny") -> np.ndarray:
    """What the device shares of one object: an L1 feature (``canny``, ``silhouette`` or
    ``blur``, as the built-in sanitizers make them) or the RGBA segment (L2)."""
    segment = rgb * mask[..., None].astype(np.uint8)
    if level == 2:
        return np.dstack([segment, mask.astype(np.uint8) * 255])
    if l1 == "silhouette":
        return mask.astype(np.uint8) * 255
    if l1 == "blur":
        weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 3)
        out = cv2.GaussianBlur(segment.astype(np.float32), (0, 0), 3) / np.maximum(weight, 1e-6)[..., None]
        out[~mask] = 0
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return cv2.Canny(cv2.cvtColor(segment, cv2.COLOR_RGB2GRAY), 100, 200)


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def make_payload(path: Path, policy: str, task: str = "classification", l1: str = "canny") -> Payload:
    """A payload of the eight coin references under ``policy`` (e.g. ``"L2_L1"``), with
    ``l1`` as the L1 sanitizer."""
    pol = Policy.parse(policy)
    labels = LABELS if task == "classification" else ("coin",)
    request = Request(task=task, target="coin", labels=labels)
    writer = PayloadWriter(path, request, pol)
    for ref, label, rgb, mask in coin_references():
        label = label if task == "classification" else "coin"
        for group, m in (("target", mask), ("background", ~mask)):
            level = int(pol.for_group(group).level)
            if level:
                writer.add(ref, label, group, level, l1 if level == 1 else "segment",
                           share(rgb, m, level, l1), box=box_of(m) if group == "target" else None)
    return writer.close()


def make_pool(path: Path, labels: tuple[str, ...] = LABELS) -> Path:
    """A public pool: per label, coins as RGBA cut-outs and as RGB on a white background."""
    for k, (_, _, rgb, mask) in enumerate(coin_references()):
        for label in labels:
            rgba = np.dstack([rgb, mask.astype(np.uint8) * 255])
            write_image(path / label / f"cut{k}.png", rgba)
            white = np.where(mask[..., None], rgb, 255).astype(np.uint8)
            write_image(path / label / f"white{k}.png", white)
    return path


def make_backgrounds(path: Path) -> Path:
    """Public background photos: crops of scikit-image's coffee and cat photos."""
    from skimage import data

    write_image(path / "coffee.png", data.coffee()[::3, ::3])
    write_image(path / "chelsea.png", data.chelsea()[::3, ::3])
    return path
