"""Helpers shared by the built-in segmenters: boxes, prompt checks and mask choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from spinml.errors import InputError
from spinml.private import Prompt, Reference

__all__ = ["Box", "clip_box", "box_mask", "named_prompts", "best_match", "box_iou"]

Box = tuple[int, int, int, int]


def named_prompts(reference: Reference) -> Iterator[tuple[str, Prompt]]:
    """``("target", prompt)`` then each other named object of ``reference``."""
    yield "target", reference.target
    yield from reference.objects.items()


def clip_box(box: Box, shape: tuple[int, ...], reference: Reference, group: str) -> Box:
    """``box`` clipped to an image of ``shape``; a box wholly outside it is an :class:`InputError`."""
    h, w = shape[:2]
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    if x1 <= x0 or y1 <= y0:
        raise InputError(reference.path, f"box {list(box)} of {group!r} lies outside the "
                         f"{w}x{h} image (after EXIF rotation)")
    return x0, y0, x1, y1


def box_mask(shape: tuple[int, ...], box: Box) -> np.ndarray:
    """A boolean ``H x W`` mask that is true inside ``box`` (``x1``/``y1`` exclusive)."""
    mask = np.zeros(shape[:2], dtype=bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    return mask


def box_iou(mask: np.ndarray, box: Box) -> float:
    """Intersection over union of a mask and a box."""
    inside = int(mask[box[1]:box[3], box[0]:box[2]].sum())
    area = (box[2] - box[0]) * (box[3] - box[1])
    union = int(mask.sum()) + area - inside
    return inside / union if union else 0.0


def best_match(masks: Sequence[np.ndarray], prompt: Prompt, box: Box | None) -> int:
    """Index of the mask that best fits a prompt.

    With a box: the highest IoU with it. With points: the most foreground points inside
    (minus background points inside), the larger mask on a tie. Otherwise: the largest.
    """
    if box is not None:
        return int(np.argmax([box_iou(m, box) for m in masks]))

    def score(mask: np.ndarray) -> tuple[int, int]:
        h, w = mask.shape
        hits = sum((1 if lab else -1) for (x, y), lab in zip(prompt.points, prompt.point_labels)
                   if 0 <= x < w and 0 <= y < h and mask[y, x])
        return hits, int(mask.sum())

    return max(range(len(masks)), key=lambda i: score(masks[i]))
