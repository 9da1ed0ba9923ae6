"""Mutual-information leakage: how much of a private object's information a shared artifact carries.

The pure functions follow the paper's definition exactly:

* :func:`letterbox_512` resizes an image to fit 512 x 512 keeping its aspect ratio
  (Lanczos) and centres it on a black 512 x 512 canvas;
* :func:`edge_canvas` is the L1 form of a canvas: gray, ``Canny(100, 200)``, three channels;
* :func:`mutual_information` is ``sum p(x, y) ln(p(x, y) / (p(x) p(y)))`` over the non-empty
  bins of the 256 x 256 joint histogram of two uint8 value vectors;
* :func:`normalized_mi` divides by ``MI(raw, raw)``, the entropy of the raw image.

:class:`MutualInformation` (metric ``mi``) applies them to every shared artifact and every
private object of its reference, in two variants (see ``docs/metrics.md``):

``artifact``
    ``MI(X, P_g) / H(R)`` with ``X`` the private segment of the shared group (L2) or its
    Canny edge canvas (L1), as the authors' scripts compute it. For the shared group itself
    at L2 this is ``MI(P_g, P_g) / H(R) = H(P_g) / H(R)``, an entropy ratio.
``corrected``
    ``MI(S[M_g], R[M_g]) / H(R)``: the artifact actually received (``S``) against the raw
    image, both restricted to the pixels of object ``g``. The black pixels outside an object
    no longer count as shared information, so a target segment no longer "leaks" the
    background merely because the two masks are complementary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from spinml.components import PrivacyMetric, StageContext
from spinml.config import Level
from spinml.datasets import Measurement

from .config import MIConfig

if TYPE_CHECKING:  # pragma: no cover
    from spinml.datasets import ImageDataset
    from spinml.payload import Payload, SharedItem
    from spinml.private import ReferenceSet, Segmentation

__all__ = ["CANVAS", "VARIANTS", "letterbox_512", "letterbox_mask", "edge_canvas",
           "mutual_information", "entropy", "normalized_mi", "share_to_rgb", "align_share",
           "items_by_reference", "MutualInformation"]

CANVAS = 512
VARIANTS = ("artifact", "corrected")


# -- the definition ------------------------------------------------------------------------

def _fit(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """New (height, width) fitting ``size`` x ``size``, and the (top, left) offset centring it."""
    scale = size / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    return h, w, (size - h) // 2, (size - w) // 2


def letterbox_512(image: np.ndarray, size: int = CANVAS, *, nearest: bool = False) -> np.ndarray:
    """Resize ``image`` to fit ``size`` x ``size`` (Lanczos, aspect kept), centred on black.

    Accepts ``H x W`` (replicated to RGB) or ``H x W x 3`` uint8; returns ``size x size x 3``
    uint8. ``nearest`` resizes by pixel replication instead, which invents no new values.
    """
    from PIL import Image

    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an H x W or H x W x 3 image, got shape {img.shape}")
    h, w, top, left = _fit(img.shape[0], img.shape[1], size)
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    resized = np.asarray(Image.fromarray(img).resize((w, h), resample))
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[top:top + h, left:left + w] = resized
    return canvas


def letterbox_mask(mask: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """A boolean mask placed exactly like :func:`letterbox_512` places its image (nearest)."""
    from PIL import Image

    m = np.asarray(mask, dtype=bool)
    h, w, top, left = _fit(m.shape[0], m.shape[1], size)
    resized = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(
        (w, h), Image.Resampling.NEAREST)) > 127
    canvas = np.zeros((size, size), dtype=bool)
    canvas[top:top + h, left:left + w] = resized
    return canvas


def edge_canvas(canvas: np.ndarray) -> np.ndarray:
    """The L1 form of a canvas: converted to gray, ``Canny(100, 200)``, replicated to 3 channels."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(canvas), cv2.COLOR_RGB2GRAY)
    return np.repeat(cv2.Canny(gray, 100, 200)[..., None], 3, axis=2)


def _joint_histogram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = np.asarray(x).ravel()
    y = np.asarray(y).ravel()
    if x.shape != y.shape:
        raise ValueError(f"value vectors differ in length: {x.size} vs {y.size}")
    if x.dtype != np.uint8 or y.dtype != np.uint8:
        raise ValueError(f"value vectors must be uint8, got {x.dtype} and {y.dtype}")
    if x.size == 0:
        raise ValueError("value vectors are empty")
    return np.bincount(x.astype(np.int64) * 256 + y, minlength=256 * 256).reshape(256, 256)


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """MI of two equally long uint8 value vectors, in nats, from their 256 x 256 joint histogram."""
    joint = _joint_histogram(x, y)
    p = joint / joint.sum()
    px = p.sum(axis=1, keepdims=True)
    py = p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / (px * py)[nz])))


def entropy(x: np.ndarray) -> float:
    """Shannon entropy of a uint8 value vector in nats; equals ``mutual_information(x, x)``."""
    counts = np.bincount(np.asarray(x, dtype=np.uint8).ravel(), minlength=256)
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def normalized_mi(shared: np.ndarray, private: np.ndarray, raw: np.ndarray) -> float:
    """``MI(shared, private) / MI(raw, raw)``; 0 for a constant raw image (nothing to leak)."""
    h = entropy(raw)
    return mutual_information(shared, private) / h if h > 0 else 0.0


def share_to_rgb(array: np.ndarray) -> np.ndarray:
    """A shared array as ``H x W x 3`` uint8: features replicated, RGBA composited on black."""
    a = np.asarray(array)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 4:
        rgb = a[..., :3].astype(np.float32) * (a[..., 3:4].astype(np.float32) / 255.0)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 3:
        return a.astype(np.uint8, copy=False)
    raise ValueError(f"cannot read a shared array of shape {a.shape} as an image")


def align_share(array: np.ndarray, shape: tuple[int, int],
                box: tuple[int, int, int, int] | None) -> np.ndarray:
    """Put a shared array back where its object was: a crop of ``box`` is pasted into a black
    image of the reference's ``shape``; a full-frame share is returned unchanged."""
    rgb = share_to_rgb(array)
    if rgb.shape[:2] == tuple(shape) or box is None:
        return rgb
    x0, y0, x1, y1 = box
    if rgb.shape[:2] != (y1 - y0, x1 - x0):
        return rgb  # a resized full frame: letterboxing realigns it (same aspect ratio)
    out = np.zeros((*shape, 3), dtype=np.uint8)
    out[y0:y1, x0:x1] = rgb
    return out


# -- the metric ----------------------------------------------------------------------------

@dataclass
class _Private:
    """One reference on the 512 canvas: raw image, its entropy, and per group mask and segment."""

    raw: np.ndarray
    h_raw: float
    masks: dict[str, np.ndarray]
    segments: dict[str, np.ndarray]


def _private(image: np.ndarray, masks: dict[str, np.ndarray]) -> _Private:
    raw = letterbox_512(image)
    return _Private(raw=raw, h_raw=entropy(raw),
                    masks={g: letterbox_mask(m) for g, m in masks.items()},
                    segments={g: letterbox_512(np.where(m[..., None], image, 0).astype(np.uint8))
                              for g, m in masks.items()})


def artifact_term(p: _Private, shared_group: str, level: int, group: str) -> float:
    """``MI(X, P_g) / H(R)``, ``X`` the shared group's segment (L2) or its edge canvas (L1)."""
    x = p.segments[shared_group] if level == Level.L2 else edge_canvas(p.segments[shared_group])
    return mutual_information(x, p.segments[group]) / p.h_raw if p.h_raw > 0 else 0.0


def corrected_term(p: _Private, shared: np.ndarray, group: str) -> float:
    """``MI(S[M_g], R[M_g]) / H(R)``: the received share against the raw pixels of object ``g``."""
    m = p.masks[group]
    if not m.any() or p.h_raw == 0:
        return 0.0
    return mutual_information(shared[m], p.raw[m]) / p.h_raw


def items_by_reference(references: ReferenceSet, payload: Payload) -> dict[str, list[SharedItem]]:
    """The payload's items by the id of the private reference they came from.

    A payload names references by an opaque id; the ``sanitize`` stage derives it from the
    reference's position (``spinml_sanitize.stage.reference_ids``), which is recomputed
    here. A payload written with the references' own ids is read as is.
    """
    shared = {item.reference for item in payload}
    own = {ref.id: ref.id for ref in references}
    if shared <= set(own):
        to_ref = own
    else:
        from spinml_sanitize.stage import reference_ids

        to_ref = {opaque: ref_id for ref_id, opaque in reference_ids(references).items()}
    unknown = sorted(shared - set(to_ref))
    if unknown:
        from spinml.errors import PayloadError

        raise PayloadError(f"{payload.path}: items of references that are not in "
                           f"{references.path}: {unknown[:5]}",
                           hint="measure a payload against the reference set it was made from")
    out: dict[str, list[SharedItem]] = defaultdict(list)
    for item in payload:
        out[to_ref[item.reference]].append(item)
    return out


class MutualInformation(PrivacyMetric):
    """Normalised mutual information between each shared artifact and each private object."""

    Config = MIConfig

    def measure(self, references: ReferenceSet, segmentation: Segmentation, payload: Payload,
                synthetic: ImageDataset | None, ctx: StageContext) -> list[Measurement]:
        by_ref = items_by_reference(references, payload)
        values: dict[tuple[str, str, int, str], dict[str, float]] = defaultdict(dict)
        zero_groups: dict[str, list[str]] = defaultdict(list)
        refs = [r for r in references if r.id in segmentation]
        for ref in ctx.progress(refs, desc=f"{ctx.stage}: mi"):
            masks = segmentation.masks(ref.id)
            for group in masks:
                if payload.level_of(group) == Level.L0:
                    zero_groups[group].append(ref.id)
            items = [i for i in by_ref.get(ref.id, []) if i.group in masks]
            if not items:
                continue
            priv = _private(ref.load(), masks)
            for item in items:
                array = payload.read(item)
                # a one-channel feature map (edges, silhouette) is placed by pixel replication:
                # Lanczos would invent values that were never shared
                shared = letterbox_512(align_share(array, masks[item.group].shape, item.box),
                                       nearest=array.ndim == 2)
                for group in (masks if self.config.cross_groups else [item.group]):
                    key = (item.group, item.level, group)
                    values[("artifact", *key)][ref.id] = artifact_term(priv, item.group, item.level, group)
                    values[("corrected", *key)][ref.id] = corrected_term(priv, shared, group)
        return self._summarise(values, zero_groups)

    def _summarise(self, values: dict[tuple[str, str, int, str], dict[str, float]],
                   zero_groups: dict[str, list[str]]) -> list[Measurement]:
        out: list[Measurement] = []
        for variant in VARIANTS:
            for group, refs in zero_groups.items():  # L0: nothing shared, counts as zero
                out.append(Measurement("mi", group, 0.0, variant=variant, level=0, n=len(refs),
                                       extra={"object": group, "via": group,
                                              "per_reference": dict.fromkeys(refs, 0.0)}))
            for (var, via, level, group), per_ref in sorted(values.items()):
                if var != variant:
                    continue
                name = group if via == group else f"{group}_via_{via}"
                extra: dict[str, Any] = {"object": group, "via": via,
                                         "per_reference": {k: round(v, 6) for k, v in per_ref.items()}}
                out.append(Measurement("mi", name, float(np.mean(list(per_ref.values()))),
                                       variant=variant, level=int(level), n=len(per_ref),
                                       extra=extra))
        return out
