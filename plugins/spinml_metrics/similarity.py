"""Similarity: how close the synthetic data is to the private data, per object group.

``value``
    the mean over all pairs (synthetic segment i, private segment j) of the cosine
    similarity of their embeddings.
``floor`` (chance)
    the same mean over pairs (unrelated image u, private segment j), with ``u`` a fixed,
    seeded set of crops of public photographs that show none of the demo's content
    (:data:`UNRELATED`), cut the same way as the group's segments.
``ceiling`` (near copy)
    the mean over private segments j of the cosine similarity of j and a light
    augmentation of j (a random 90 % crop resized back, brightness within 10 %).

Segments, for private and synthetic images alike:

* ``target``: the crop of the target's bounding box (private: the box of its mask;
  synthetic: each of the image's boxes, or the whole image when it has none);
* ``background``: the whole image with those boxes blacked out (the whole image when a
  synthetic image has no boxes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from spinml.components import PrivacyMetric, StageContext
from spinml.datasets import Measurement

from .config import SimilarityConfig
from .embedders import normalize_rows

if TYPE_CHECKING:  # pragma: no cover
    from spinml.datasets import ImageDataset, Record
    from spinml.payload import Payload
    from spinml.private import ReferenceSet, Segmentation

__all__ = ["Similarity", "mean_cosine", "augment", "unrelated_images", "target_crop",
           "without_boxes", "UNRELATED"]

Box = tuple[int, int, int, int]

#: public photographs bundled with scikit-image used for the chance floor
UNRELATED = ("astronaut", "camera", "coins", "moon", "hubble_deep_field", "immunohistochemistry",
             "chelsea", "rocket", "page", "text")
GROUPS = ("target", "background")


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of rows of ``a`` and ``b``."""
    return float((normalize_rows(a) @ normalize_rows(b).T).mean())


def box_of(mask: np.ndarray) -> Box | None:
    """The bounding box ``(x0, y0, x1, y1)`` (exclusive) of a mask, or None if it is empty."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _clip(box: Sequence[float], shape: tuple[int, ...]) -> Box | None:
    h, w = shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def target_crop(image: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def without_boxes(image: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    out = image.copy()
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = 0
    return out


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light augmentation: a random crop of 90 % of each side resized back, brightness +-10 %."""
    from PIL import Image

    h, w = image.shape[:2]
    ch, cw = max(1, round(h * 0.9)), max(1, round(w * 0.9))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = Image.fromarray(np.ascontiguousarray(image[y:y + ch, x:x + cw]))
    out = np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR)).astype(np.float32)
    return np.clip(out * rng.uniform(0.9, 1.1) + 0.5, 0, 255).astype(np.uint8)


def unrelated_images(count: int = 20, size: int = 128, seed: int = 0) -> list[np.ndarray]:
    """``count`` seeded square crops of the :data:`UNRELATED` photographs, ``size`` px."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = []
    for name in UNRELATED:
        img = np.asarray(getattr(skimage.data, name)())
        photos.append(np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3])
    out = []
    for k in range(count):
        photo = photos[k % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.integers(min(h, w) // 3, 2 * min(h, w) // 3 + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(np.ascontiguousarray(photo[y:y + side, x:x + side]))
        out.append(np.asarray(crop.resize((size, size), Image.Resampling.BILINEAR)))
    return out


def _relative(box: Box, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    h, w = shape[:2]
    return box[0] / w, box[1] / h, box[2] / w, box[3] / h


def _scaled(rel: tuple[float, float, float, float], shape: tuple[int, ...]) -> Box:
    h, w = shape[:2]
    return _clip((rel[0] * w, rel[1] * h, rel[2] * w, rel[3] * h), shape) or (0, 0, w, h)


class Similarity(PrivacyMetric):
    """Mean pairwise cosine similarity of synthetic and private segments, with floor and ceiling."""

    Config = SimilarityConfig

    def measure(self, references: ReferenceSet, segmentation: Segmentation, payload: Payload,
                synthetic: ImageDataset | None, ctx: StageContext) -> list[Measurement]:
        if synthetic is None:
            ctx.log("similarity needs a synthetic dataset; none given, nothing measured")
            return []
        embedder = ctx.get_registry().create("embedder", self.config.embedder,
                                             self.config.embedder_params)
        private, private_boxes, private_labels = self._private(references, segmentation, ctx)
        if not private_boxes:
            ctx.log("no reference has a usable target mask; nothing measured")
            return []
        records = [(rec, rec.load()) for rec in self._sample(synthetic)]
        if not records:
            ctx.log(f"{synthetic.path}: no synthetic images; similarity not measured")
            return []
        rng = np.random.default_rng(self.config.seed)
        unrelated = unrelated_images(seed=self.config.seed)
        out = []
        for group in self.config.groups:
            segs = private[group]
            syn, syn_labels, how = self._synthetic(records, group)
            unrel = self._unrelated(unrelated, group, private_boxes)
            e_priv = embedder.embed(segs)
            e_syn = embedder.embed(syn)
            e_aug = embedder.embed([augment(s, rng) for s in segs])
            sims = normalize_rows(e_syn) @ normalize_rows(e_priv).T
            same = np.equal.outer(np.array(syn_labels), np.array(private_labels))
            ceiling = np.sum(normalize_rows(e_priv) * normalize_rows(e_aug), axis=1)
            out.append(Measurement(
                "similarity", group, float(sims.mean()), variant=self.config.variant,
                level=int(payload.level_of(group)),
                embedder=embedder.name, floor=mean_cosine(embedder.embed(unrel), e_priv),
                ceiling=float(ceiling.mean()), n=int(sims.size),
                extra={"synthetic": len(syn), "private": len(segs), "synthetic_segments": how,
                       "same_label": float(sims[same].mean()) if same.any() else None,
                       "floor_images": f"{len(unrel)} crops of skimage.data {', '.join(UNRELATED)}"}))
        return out

    def _private(self, references: ReferenceSet, segmentation: Segmentation, ctx: StageContext
                 ) -> tuple[dict[str, list[np.ndarray]], list[tuple[float, float, float, float]], list[str]]:
        """Private segments by group, the targets' relative boxes, and each segment's label."""
        segs: dict[str, list[np.ndarray]] = {g: [] for g in GROUPS}
        boxes, labels = [], []
        refs = [r for r in references if r.id in segmentation]
        for ref in ctx.progress(refs, desc=f"{ctx.stage}: similarity"):
            masks = segmentation.masks(ref.id)
            box = box_of(masks["target"])
            if box is None:
                continue
            image = ref.load()
            segs["target"].append(target_crop(image, box))
            segs["background"].append(without_boxes(image, [box]))
            boxes.append(_relative(box, image.shape))
            labels.append(ref.label)
        return segs, boxes, labels

    def _sample(self, synthetic: ImageDataset) -> list[Record]:
        records = list(synthetic.records)
        if len(records) <= self.config.max_synthetic:
            return records
        rng = np.random.default_rng(self.config.seed)
        keep = sorted(rng.choice(len(records), self.config.max_synthetic, replace=False))
        return [records[i] for i in keep]

    @staticmethod
    def _synthetic(records: list[tuple[Record, np.ndarray]], group: str
                   ) -> tuple[list[np.ndarray], list[str], str]:
        """Synthetic segments of ``group``, their labels, and how they were cut."""
        segs, labels, boxed = [], [], 0
        for rec, image in records:
            boxes = [b for b in (_clip(box[:4], image.shape) for box in rec.boxes) if b is not None]
            boxed += bool(boxes)
            if group == "target" and boxes:
                segs += [target_crop(image, b) for b in boxes]
                labels += [rec.label] * len(boxes)
            else:
                segs.append(without_boxes(image, boxes) if group == "background" else image)
                labels.append(rec.label)
        how = ("boxes" if boxed == len(records) else "whole images" if not boxed
               else f"boxes ({boxed} of {len(records)} images; the others whole)")
        return segs, labels, how

    @staticmethod
    def _unrelated(images: list[np.ndarray], group: str,
                   boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
        """Unrelated crops cut like the private segments (the k-th takes the k-th target box)."""
        out = []
        for k, image in enumerate(images):
            box = _scaled(boxes[k % len(boxes)], image.shape)
            out.append(target_crop(image, box) if group == "target" else without_boxes(image, [box]))
        return out
