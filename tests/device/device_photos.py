"""Real photographs (scikit-image's bundled ones) with known object masks, written as a
reference folder the way a user would give it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spinml.config import Request
from spinml.io import write_image, write_json

#: photo name -> (label, target ellipse (cx, cy, rx, ry), "sign" rectangle (x0, y0, x1, y1)),
#: all at half the photo's size
PHOTOS = {
    "astronaut": ("person", (115, 70, 45, 55), (200, 200, 250, 250)),
    "coffee": ("cup", (150, 100, 80, 60), (5, 5, 60, 40)),
    "chelsea": ("cat", (110, 80, 60, 55), (180, 110, 220, 145)),
    "rocket": ("rocket", (165, 110, 25, 90), (10, 150, 60, 200)),
}
LABELS = tuple(sorted({v[0] for v in PHOTOS.values()}))
REQUEST = Request(target="object", labels=LABELS)


def photo(name: str) -> np.ndarray:
    """A bundled scikit-image photograph at half size (RGB uint8)."""
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[::2, ::2])


def ellipse(shape: tuple[int, ...], cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0


def rectangle(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    return mask


def known_masks(name: str) -> dict[str, np.ndarray]:
    """The ``target`` ellipse and the ``sign`` rectangle of one photo."""
    shape = photo(name).shape
    _, ell, rect = PHOTOS[name]
    return {"target": ellipse(shape, *ell), "sign": rectangle(shape, rect)}


def write_photo_references(root: Path, names: tuple[str, ...] = tuple(PHOTOS)) -> Path:
    """``root/<label>/<photo>.png`` with boxes and mask files in ``annotations.json``.

    Each reference has a ``target`` (an ellipse, boxed) and a ``sign`` object (a rectangle).
    """
    ann = {}
    for name in names:
        label, _, rect = PHOTOS[name]
        masks = known_masks(name)
        write_image(root / label / f"{name}.png", photo(name))
        for group, mask in masks.items():
            write_image(root / "masks" / f"{name}-{group}.png", mask)
        ys, xs = np.nonzero(masks["target"])
        ann[f"{label}/{name}.png"] = {
            "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
            "mask": f"masks/{name}-target.png",
            "objects": {"sign": {"box": list(rect), "mask": f"masks/{name}-sign.png"}},
        }
    write_json(root / "annotations.json", ann)
    return root
