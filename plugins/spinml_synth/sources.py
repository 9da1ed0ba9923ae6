"""Where the weight-free generators take objects and backgrounds from.

Everything heavy (decoding, hole filling, contour filling) happens once per
source when it is first needed; drawing one image from a source is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from spinml.errors import ConfigError, InputError, PayloadError
from spinml.io import IMAGE_SUFFIXES, read_image
from spinml.payload import Payload, SharedItem

from . import render
from .plan import Job, pick
from .render import Patch

__all__ = ["PoolImage", "ObjectPool", "Backgrounds", "Drawn", "TargetSource", "BackgroundSource"]


def read_with_alpha(path: Path) -> np.ndarray:
    """An image as RGB, or RGBA when the file has an alpha channel (clear errors for bad files)."""
    rgb = read_image(path)
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            return np.asarray(im.convert("RGBA")).copy()
    return rgb


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.name.lower().endswith(IMAGE_SUFFIXES))


@dataclass(frozen=True)
class PoolImage:
    """One public object image: where it came from, its pixels and its object mask."""

    source: str         #: ``<label>/<file>`` inside the pool
    rgb: np.ndarray     #: H x W x 3 uint8
    mask: np.ndarray    #: H x W bool

    @cached_property
    def patch(self) -> Patch | None:
        return render.crop_to_mask(self.rgb, self.mask)


class ObjectPool:
    """A folder ``<label>/<image>`` of public object images, read one label at a time."""

    def __init__(self, root: Path, threshold: int) -> None:
        if not root.is_dir():
            raise ConfigError(f"public_pool {root} is not a directory",
                              hint="give an ImageFolder of public images: <label>/<image>")
        self.root, self.threshold = root, threshold
        self._cache: dict[str, list[PoolImage]] = {}

    def images(self, label: str, target: str) -> list[PoolImage]:
        """Images of ``label``, or of the ``target`` folder when the label has none."""
        for name in (label, target):
            folder = self.root / name
            if folder.is_dir():
                if name not in self._cache:
                    self._cache[name] = self._read(folder)
                return self._cache[name]
        names = " nor ".join(repr(n) for n in dict.fromkeys((label, target)))
        raise ConfigError(f"public_pool {self.root} has no folder {names}",
                          hint="add public images as <label>/<image> or <target>/<image>")

    def _read(self, folder: Path) -> list[PoolImage]:
        out = []
        for f in image_files(folder):
            image = read_with_alpha(f)
            rgb, mask = self._split(image)
            out.append(PoolImage(f.relative_to(self.root).as_posix(), rgb, mask))
        if not out:
            raise InputError(folder, "no images in this public pool folder")
        return out

    def _split(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if image.shape[2] == 4:
            return np.ascontiguousarray(image[..., :3]), image[..., 3] > 0
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        ground = np.median(border, axis=0).astype(np.int16)
        mask = np.abs(image.astype(np.int16) - ground).max(axis=2) > self.threshold
        return image, mask


class Backgrounds:
    """Public background photos (random crops), or smooth random textures when none are given."""

    def __init__(self, folder: Path | None, size: int) -> None:
        self.folder, self.size = folder, size
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"backgrounds {folder} is not a directory",
                              hint="give a folder of public background photos")

    @cached_property
    def photos(self) -> list[tuple[str, np.ndarray]]:
        assert self.folder is not None
        files = image_files(self.folder)
        if not files:
            raise InputError(self.folder, "no background images found")
        cover = round(self.size * 1.25)
        return [(f.relative_to(self.folder).as_posix(), render.fit_square(read_image(f), cover))
                for f in files]

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        if self.folder is None:
            return render.texture(self.size, rng), "texture"
        name, photo = self.photos[int(rng.integers(len(self.photos)))]
        return render.random_crop(photo, self.size, rng).copy(), f"backgrounds:{name}"


@dataclass(frozen=True)
class Drawn:
    """An object or background drawn for one image, and where it came from."""

    source: str                 #: ``payload:<file>``, ``pool:<label>/<file>``, ``texture``, ...
    reference: str | None       #: the shared reference it came from, if any
    level: int


def _for_label(items: list[SharedItem], label: str) -> list[SharedItem]:
    same = [i for i in items if i.label == label]
    return same or items


class TargetSource:
    """The target object by level: L2 segments, L1 edge maps rendered, L0 public images."""

    def __init__(self, payload: Payload, pool: Callable[[], ObjectPool]) -> None:
        self.payload, self._pool = payload, pool
        self.level = int(payload.level_of("target"))
        self.items = payload.select(group="target")
        if self.level > 0 and not self.items:
            raise PayloadError(f"{payload.path}: the policy shares the target at L{self.level} "
                               "but the payload holds no target items")
        self._patches: dict[str, Patch | render.EdgeSketch | None] = {}

    def draw(self, job: Job, rng: np.random.Generator) -> tuple[Patch, Drawn]:
        if not self.items:
            return self._from_pool(job, rng)
        candidates = _for_label(self.items, job.label)
        for k in range(len(candidates)):  # skip items whose object is empty
            item = candidates[(job.index + k) % len(candidates)]
            shape = self._shape(item)
            if shape is not None:
                patch = shape if isinstance(shape, Patch) else render.render_sketch(shape, rng)
                return patch, Drawn(f"payload:{item.file}", item.reference, item.level)
        raise PayloadError(f"{self.payload.path}: every shared target of label {job.label!r} is empty")

    def _shape(self, item: SharedItem) -> Patch | render.EdgeSketch | None:
        if item.file not in self._patches:
            array = self.payload.read(item)
            if _has_pixels(item, array):
                self._patches[item.file] = render.patch_from_rgba(_rgba(array))
            else:
                self._patches[item.file] = render.sketch_from_edges(_gray(array))
        return self._patches[item.file]

    def _from_pool(self, job: Job, rng: np.random.Generator) -> tuple[Patch, Drawn]:
        images = [p for p in self._pool().images(job.label, self.payload.request.target) if p.patch]
        if not images:
            raise InputError(self._pool().root, f"no public image of {job.label!r} has a visible "
                             "object (check pool_threshold)")
        image = images[int(rng.integers(len(images)))]
        assert image.patch is not None
        return image.patch, Drawn(f"pool:{image.source}", None, 0)


class BackgroundSource:
    """The background by level: L2 segments with the target's hole filled, L1 edges rendered,
    L0 public photos or textures."""

    def __init__(self, payload: Payload, backgrounds: Backgrounds, size: int) -> None:
        self.payload, self.backgrounds, self.size = payload, backgrounds, size
        self.items = payload.select(group="background")
        self._cache: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}

    def draw(self, job: Job, reference: str | None, rng: np.random.Generator
             ) -> tuple[np.ndarray, Drawn]:
        if not self.items:
            canvas, source = self.backgrounds.draw(rng)
            return canvas, Drawn(source, None, 0)
        same_ref = [i for i in self.items if i.reference == reference]
        item = same_ref[0] if same_ref else pick(_for_label(self.items, job.label), job)
        layer = self._layer(item)
        if isinstance(layer, tuple):
            layer = render.render_regions(*layer, rng)
        canvas = render.random_crop(layer, self.size, rng).copy()
        return canvas, Drawn(f"payload:{item.file}", item.reference, item.level)

    def _layer(self, item: SharedItem) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        if item.file not in self._cache:
            array = self.payload.read(item)
            cover = round(self.size * 1.25)
            if _has_pixels(item, array):
                rgba = render.fit_square(_rgba(array), cover)
                self._cache[item.file] = render.fill_holes(
                    np.ascontiguousarray(rgba[..., :3]), rgba[..., 3] > 0)
            else:
                edges = render.fit_square(render.edge_map(_gray(array)), cover)
                self._cache[item.file] = render.edge_regions(edges)
        return self._cache[item.file]


def _gray(array: np.ndarray) -> np.ndarray:
    return array if array.ndim == 2 else array[..., :3].max(axis=2)


def _has_pixels(item: SharedItem, array: np.ndarray) -> bool:
    """Whether a share holds colours (L2 segments; L1 colour features such as blur or
    pixelation), rather than a 2-D feature map (edges, silhouette)."""
    return item.level >= 2 or array.ndim == 3


def _rgba(array: np.ndarray) -> np.ndarray:
    """A share as RGBA; without alpha, the mask is its non-black pixels."""
    if array.ndim == 3 and array.shape[2] == 4:
        return array
    rgb = np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]
    alpha = (rgb.max(axis=2) > 0).astype(np.uint8) * 255
    return np.dstack([rgb, alpha])


def resize_patch(patch: Patch, limit: int) -> Patch:
    """Shrink ``patch`` so neither side exceeds ``limit`` pixels."""
    h, w = patch.mask.shape
    if max(h, w) <= limit:
        return patch
    s = limit / max(h, w)
    size = (max(1, int(w * s)), max(1, int(h * s)))
    rgb = cv2.resize(patch.rgb, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(patch.mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_LINEAR) >= 128
    return render.crop_to_mask(rgb, mask) or Patch(rgb, np.ones(mask.shape, bool))
