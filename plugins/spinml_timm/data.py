"""Training data for the timm trainers: drawing the pool mix, loading pixels, overlap checks.

How a mix is drawn (:func:`draw_mix`):

1. the total ``N`` is ``mix_size`` if given, else the number of images of the first pool;
2. weights are normalised to sum to 1 and ``N`` is shared out by largest remainder:
   pool ``i`` gets ``floor(w_i N)`` images, and the images left over go one each to the
   pools with the largest fractional parts ``w_i N - floor(w_i N)`` (ties: earlier pool),
   so the counts always sum to exactly ``N``;
3. each pool's images are sampled without replacement by ``numpy.random.default_rng(
   [seed, i])``; a pool with fewer images than its count is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from spinml.datasets import ImageDataset, Record
from spinml.errors import ConfigError, InputError
from spinml.io import pixel_hash, read_image, sha256_file

__all__ = ["mix_counts", "draw_mix", "pool_labels", "LoadedImages", "load_images", "pixel_hash",
           "check_test_labels", "refuse_overlap", "split_indices"]

Pools = Sequence[tuple[ImageDataset, float]]


def mix_counts(weights: Sequence[float], total: int) -> list[int]:
    """Share ``total`` images among pools by weight (largest remainder; sums to ``total``)."""
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"pool weights must be non-negative and not all zero, got {list(weights)}")
    s = float(sum(weights))
    exact = [w / s * total for w in weights]
    counts = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def draw_mix(pools: Pools, total: int | None, seed: int) -> list[tuple[int, Record]]:
    """The drawn training images as ``(pool index, record)`` pairs, pool by pool."""
    if not pools:
        raise ConfigError("a trainer needs at least one pool of training images")
    n = total if total is not None else len(pools[0][0])
    counts = mix_counts([w for _, w in pools], n)
    drawn: list[tuple[int, Record]] = []
    for i, ((ds, _), k) in enumerate(zip(pools, counts)):
        if k > len(ds):
            raise ConfigError(f"pool {i} ({ds.path}) has {len(ds)} images but the mix needs {k} "
                              f"of its {n}", hint="lower mix_size or give a larger pool")
        picked = np.random.default_rng([seed, i]).choice(len(ds), size=k, replace=False)
        drawn.extend((i, ds.records[j]) for j in sorted(picked.tolist()))
    return drawn


def pool_labels(pools: Pools, task: str) -> list[str]:
    """The label set of the pools (the first pool's order); every pool must share it."""
    first = pools[0][0]
    for ds, _ in pools:
        if ds.task != task:
            raise InputError(ds.path, f"is a {ds.task} dataset; this trainer needs {task}")
        if sorted(ds.labels) != sorted(first.labels):
            raise InputError(ds.path, f"has labels {ds.labels}, but the first pool has {first.labels}",
                             hint="mixed pools must come from the same request")
    return list(first.labels)


@dataclass
class LoadedImages:
    """Images resized to ``size`` x ``size`` (uint8 ``N x 3 x S x S``) with their content hashes."""

    records: list[Record]
    pixels: torch.Tensor
    sizes: list[tuple[int, int]]         #: original (width, height) of each image
    file_hashes: list[str]
    pixel_hashes: list[str]

    def __len__(self) -> int:
        return len(self.records)


def load_images(records: Sequence[Record], size: int,
                progress: Callable[[Iterable[Record]], Iterable[Record]] = iter) -> LoadedImages:
    """Decode, hash and resize every image once (bilinear, to a square of ``size``)."""
    pixels = torch.empty((len(records), 3, size, size), dtype=torch.uint8)
    sizes, fhash, phash = [], [], []
    for i, rec in enumerate(progress(records)):
        image = read_image(rec.file)
        fhash.append(sha256_file(rec.file))
        phash.append(pixel_hash(image))
        sizes.append((image.shape[1], image.shape[0]))
        resized = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
        pixels[i] = torch.from_numpy(np.asarray(resized).copy()).permute(2, 0, 1)
    return LoadedImages(list(records), pixels, sizes, fhash, phash)


def check_test_labels(test: ImageDataset, labels: Sequence[str]) -> None:
    """Test labels are matched to the model's by name; an unknown one is an error."""
    known = set(labels)
    used = {r.label for r in test.records} | {b[4] for r in test.records for b in r.boxes}
    unknown = sorted(used - known)
    if unknown:
        raise InputError(test.path, f"test labels {unknown} are not labels of the model {list(labels)}",
                         hint="test folders must be named after the request's labels")


def refuse_overlap(test: LoadedImages, test_path: Path, exclude_hashes: Iterable[str],
                   train: LoadedImages) -> None:
    """Refuse a test set sharing any image (file bytes or decoded pixels) with the private
    references (``exclude_hashes``) or with the drawn training/validation images."""
    exclude = set(exclude_hashes)
    seen = set(train.file_hashes) | set(train.pixel_hashes)
    for what, forbidden in (("private reference images", exclude), ("training/validation images", seen)):
        hits = [r.id for r, f, p in zip(test.records, test.file_hashes, test.pixel_hashes)
                if f in forbidden or p in forbidden]
        if hits:
            raise InputError(test_path, f"{len(hits)} test image(s) are identical to {what} "
                             f"(e.g. {', '.join(hits[:3])}); refusing to evaluate on them",
                             hint="evaluate on real images the model and the server never saw")


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded shuffle of ``range(n)`` cut into (train, validation); validation gets
    ``round(val_fraction * n)`` images, at least one when ``val_fraction > 0`` and ``n > 1``."""
    order = np.random.default_rng([seed, 1 << 20]).permutation(n).tolist()
    n_val = round(val_fraction * n)
    if val_fraction > 0 and n > 1:
        n_val = min(max(n_val, 1), n - 1)
    return sorted(order[n_val:]), sorted(order[:n_val])
