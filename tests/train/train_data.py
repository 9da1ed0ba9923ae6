"""Datasets for the trainer tests, built from scikit-learn's bundled 8x8 digits.

Digits 0-3 are upscaled to 32 px RGB; disjoint slices make the training pools and the
real test set, so nothing is shared unless a test shares it on purpose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from spinml.datasets import DatasetWriter, ImageDataset

LABELS = ("zero", "one", "two", "three")


def digit_images(start: int, count: int, *, size: int = 32, tint: tuple[int, int, int] = (255, 255, 255)
                 ) -> list[tuple[str, np.ndarray]]:
    """``count`` (label, RGB image) pairs of digits 0-3, from position ``start`` of the set."""
    from sklearn.datasets import load_digits

    digits = load_digits(n_class=len(LABELS))
    out = []
    for img, target in list(zip(digits.images, digits.target))[start:start + count]:
        gray = Image.fromarray((img / 16 * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        rgb = (np.asarray(gray, dtype=np.float32)[..., None] * np.asarray(tint) / 255).astype(np.uint8)
        out.append((LABELS[target], rgb))
    return out


def write_dataset(path: Path, images: list[tuple[str, np.ndarray]], **meta: object) -> ImageDataset:
    writer = DatasetWriter(path, "classification", LABELS)
    for n, (label, image) in enumerate(images):
        writer.add(f"{label}/{n:04d}", image, label=label, generator="digits")
    return writer.finalize(**meta)


def write_folder(path: Path, images: list[tuple[str, np.ndarray]]) -> ImageDataset:
    """A plain ImageFolder (how real test sets are given)."""
    for n, (label, image) in enumerate(images):
        (path / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path / label / f"{n:04d}.png")
    return ImageDataset.load(path)
