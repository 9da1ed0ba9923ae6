"""What the payload shares about one reference, brought to the generation frame.

Shared arrays are letterboxed (padded to a square, centred, then resized) to
``resolution x resolution``, so boxes and masks map linearly and nothing is cut
off; ``frame`` marks the pixels that come from the reference, not the padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from spinml_synth.plan import Job, pick
from spinml_synth.render import edge_map, fill_edges

from spinml.payload import Payload, SharedItem

__all__ = ["Frame", "Frames", "letterbox", "canny"]


def letterbox(array: np.ndarray, size: int, *, binary: bool = False) -> np.ndarray:
    """Pad ``array`` (H x W or H x W x C uint8) with zeros to a centred square, resize to ``size``.

    With ``binary``, ``array`` is a 0/255 mask and the result a boolean mask.
    """
    h, w = array.shape[:2]
    side = max(h, w)
    padded = np.zeros((side, side, *array.shape[2:]), array.dtype)
    y, x = (side - h) // 2, (side - w) // 2
    padded[y:y + h, x:x + w] = array
    interp = cv2.INTER_AREA if size < side else cv2.INTER_LINEAR
    resized = cv2.resize(padded, (size, size), interpolation=interp)
    return resized >= 128 if binary else resized


def canny(rgb: np.ndarray, low: int, high: int) -> np.ndarray:
    """OpenCV Canny edges (0/255) of an RGB image, as the device computes L1 features."""
    return cv2.Canny(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), low, high)


def _edges(feature: np.ndarray, size: int) -> np.ndarray:
    """A 2-D feature map (edges, or a silhouette's outline) at the frame size, 0/255."""
    return np.where(letterbox(edge_map(feature), size) >= 32, 255, 0).astype(np.uint8)


@dataclass(frozen=True)
class Frame:
    """One reference's shares at the generation resolution (``None`` where nothing is shared)."""

    reference: str | None
    frame: np.ndarray                              #: bool, pixels of the reference (not padding)
    target_level: int = 0
    target_rgb: np.ndarray | None = None           #: L2 pixels, black outside the mask
    target_mask: np.ndarray | None = None          #: L2 alpha, or the filled outline of L1 edges
    target_edges: np.ndarray | None = None         #: L1 feature map, 0/255
    background_level: int = 0
    background_rgb: np.ndarray | None = None       #: L2 pixels
    background_valid: np.ndarray | None = None     #: L2 alpha: where the background is real
    background_edges: np.ndarray | None = None     #: L1 feature map, 0/255

    def hole(self) -> np.ndarray | None:
        """Where an L2 background is missing inside the frame: the target's place."""
        if self.background_valid is None:
            return None
        return self.frame & ~self.background_valid


class Frames:
    """Per-job frames of a payload: the job's reference chosen round-robin within its label."""

    def __init__(self, payload: Payload, size: int) -> None:
        self.payload, self.size = payload, size
        self.targets = payload.select(group="target")
        self.backgrounds = payload.select(group="background")
        self._cache: dict[str | None, Frame] = {}

    def for_job(self, job: Job) -> Frame:
        items = self.targets or self.backgrounds
        if not items:
            return self._frame(None)
        same = [i for i in items if i.label == job.label]
        return self._frame(pick(same or items, job).reference)

    def _frame(self, reference: str | None) -> Frame:
        if reference not in self._cache:
            self._cache[reference] = self._build(reference)
        return self._cache[reference]

    def _item(self, items: list[SharedItem], reference: str | None) -> SharedItem | None:
        return next((i for i in items if i.reference == reference), None)

    def _build(self, reference: str | None) -> Frame:
        size = self.size
        target = self._item(self.targets, reference)
        background = self._item(self.backgrounds, reference)
        shape = next((i.shape[:2] for i in (target, background) if i is not None), (size, size))
        fields: dict[str, object] = {
            "reference": reference,
            "frame": letterbox(np.full(shape, 255, np.uint8), size, binary=True)}
        if target is not None:
            array = self.payload.read(target)
            fields["target_level"] = target.level
            if target.level >= 2 or array.ndim == 3:  # pixels (L1: blur, pixelation)
                rgba = _rgba(array)
                fields["target_rgb"] = letterbox(np.ascontiguousarray(rgba[..., :3]), size)
                fields["target_mask"] = letterbox(rgba[..., 3], size, binary=True)
            else:
                fields["target_edges"] = _edges(array, size)
                fields["target_mask"] = fill_edges(letterbox(array, size))[0]
        if background is not None:
            array = self.payload.read(background)
            fields["background_level"] = background.level
            if background.level >= 2 or array.ndim == 3:
                rgba = _rgba(array)
                fields["background_rgb"] = letterbox(np.ascontiguousarray(rgba[..., :3]), size)
                fields["background_valid"] = letterbox(rgba[..., 3], size, binary=True)
            else:
                fields["background_edges"] = _edges(array, size)
        return Frame(**fields)  # type: ignore[arg-type]


def _rgba(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 4:
        return array
    rgb = np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]
    return np.dstack([rgb, (rgb.max(axis=2) > 0).astype(np.uint8) * 255])
