"""The weight-free generators: ``cutpaste`` and the ``public-pool`` baseline."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from spinml.components import Generator, StageContext
from spinml.datasets import DatasetWriter
from spinml.payload import Payload

from . import render
from .config import CutPasteConfig, PublicPoolConfig
from .plan import Job, pending, plan
from .sources import Backgrounds, BackgroundSource, ObjectPool, TargetSource, resize_patch

__all__ = ["CutPaste", "PublicPool"]


def _jobs(generator: Generator, payload: Payload, writer: DatasetWriter) -> list[Job]:
    cfg = generator.config
    return pending(plan(payload.request.labels, cfg.images_per_label, cfg.seed), writer)


def _boxes(payload: Payload, box: tuple[int, int, int, int], label: str
           ) -> list[tuple[float, float, float, float, str]]:
    if payload.request.task != "detection":
        return []
    return [(float(box[0]), float(box[1]), float(box[2]), float(box[3]), label)]


class CutPaste(Generator):
    """Level-aware cut-and-paste of the target onto backgrounds, with exact boxes.

    Target: an L2 segment as shared; an L1 edge map with its closed contours
    filled and painted; at L0 an image of the label from ``public_pool``.
    Background: an L2 background with the target's hole filled; an L1 edge map
    painted region by region; at L0 a crop of a photo from ``backgrounds`` (or
    a random texture). The target is scaled, rotated, optionally mirrored and
    colour-jittered from the image's own seed, then pasted inside the frame.
    """

    Config: ClassVar[type[CutPasteConfig]] = CutPasteConfig
    config: CutPasteConfig

    def generate(self, payload: Payload, writer: DatasetWriter, ctx: StageContext) -> None:
        cfg = self.config
        pool: ObjectPool | None = None

        def get_pool() -> ObjectPool:
            nonlocal pool
            if cfg.public_pool is None:
                from spinml.errors import ConfigError

                raise ConfigError("the target is not shared (L0), so cutpaste needs public_pool",
                                  hint="set public_pool to a folder of public images <label>/<image>")
            pool = pool or ObjectPool(cfg.public_pool, cfg.pool_threshold)
            return pool

        targets = TargetSource(payload, get_pool)
        backgrounds = BackgroundSource(payload, Backgrounds(cfg.backgrounds, cfg.resolution),
                                       cfg.resolution)
        for job in ctx.progress(_jobs(self, payload, writer)):
            image, box, provenance = self.compose(job, targets, backgrounds)
            writer.add(job.id, image, label=job.label, boxes=_boxes(payload, box, job.label),
                       **provenance)

    def compose(self, job: Job, targets: TargetSource, backgrounds: BackgroundSource
                ) -> tuple[np.ndarray, tuple[int, int, int, int], dict[str, Any]]:
        """One image of ``job``: (RGB image, exact target box, provenance)."""
        cfg = self.config
        size = cfg.resolution
        rng = np.random.default_rng(job.seed)
        patch, target = targets.draw(job, rng)
        canvas, background = backgrounds.draw(job, target.reference, rng)
        longest = rng.uniform(*cfg.scale) * size
        flip = bool(cfg.hflip and rng.random() < 0.5)
        placed = resize_patch(render.augment(patch, longest, cfg.rotate, flip, cfg.color_jitter, rng),
                              size)
        h, w = placed.mask.shape
        x, y = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
        box = render.paste(canvas, placed, x, y)
        provenance = {"generator": "cutpaste", "model": None, "scheduler": None, "prompt": None,
                      "seed": job.seed, "target_level": target.level,
                      "background_level": background.level, "source_reference": target.reference,
                      "target_source": target.source, "background_source": background.source,
                      "scale": round(longest / size, 4), "flip": flip}
        return canvas, box, provenance


class PublicPool(Generator):
    """Public images of each label, ignoring the payload: the baseline that shares nothing."""

    Config: ClassVar[type[PublicPoolConfig]] = PublicPoolConfig
    config: PublicPoolConfig

    def generate(self, payload: Payload, writer: DatasetWriter, ctx: StageContext) -> None:
        cfg = self.config
        pool = ObjectPool(cfg.public_pool, cfg.pool_threshold)
        for job in ctx.progress(_jobs(self, payload, writer)):
            images = pool.images(job.label, payload.request.target)
            rng = np.random.default_rng(job.seed)
            chosen = images[int(rng.integers(len(images)))]
            image, mask = _square(chosen.rgb, chosen.mask, cfg.resolution)
            box = render.mask_box(mask) or (0, 0, cfg.resolution, cfg.resolution)
            writer.add(job.id, image, label=job.label, boxes=_boxes(payload, box, job.label),
                       generator="public-pool", model=None, scheduler=None, prompt=None,
                       seed=job.seed, target_level=0, background_level=0, source_reference=None,
                       target_source=f"pool:{chosen.source}", background_source=f"pool:{chosen.source}")


def _square(rgb: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad to a square with the border colour, then resize to ``size``; the mask follows."""
    import cv2

    h, w = mask.shape
    side = max(h, w)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = np.median(border, axis=0).astype(np.uint8)
    full = np.zeros((side, side), np.uint8)
    y, x = (side - h) // 2, (side - w) // 2
    canvas[y:y + h, x:x + w] = rgb
    full[y:y + h, x:x + w] = mask.astype(np.uint8) * 255
    interp = cv2.INTER_AREA if size < side else cv2.INTER_LINEAR
    image = cv2.resize(canvas, (size, size), interpolation=interp)
    resized = cv2.resize(full, (size, size), interpolation=cv2.INTER_LINEAR) >= 128
    return image, resized
