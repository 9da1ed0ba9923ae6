"""GrabCut segmentation from box prompts (OpenCV, weight-free)."""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from spinml.components import Segmenter
from spinml.errors import InputError
from spinml.private import Reference

from .common import Box, box_mask, clip_box, named_prompts
from .config import GrabCutConfig

__all__ = ["GrabCutSegmenter"]

log = logging.getLogger("spinml")


class GrabCutSegmenter(Segmenter):
    """OpenCV GrabCut initialised from each object's box prompt (weight-free)."""

    Config = GrabCutConfig
    config: GrabCutConfig

    def segment(self, image: np.ndarray, reference: Reference) -> dict[str, np.ndarray]:
        masks = {}
        for group, prompt in named_prompts(reference):
            if prompt.box is None:
                raise InputError(reference.path, f"grabcut needs a box for {group!r}; add "
                                 "\"box\": [x0, y0, x1, y1] to its entry in annotations.json")
            box = clip_box(prompt.box, image.shape, reference, group)
            masks[group] = self.grabcut(image, box, where=f"{reference.id}/{group}")
        return masks

    def grabcut(self, image: np.ndarray, box: Box, *, where: str = "image") -> np.ndarray:
        """The foreground GrabCut finds inside ``box``; the box itself when GrabCut cannot run.

        GrabCut needs background pixels outside the box and enough pixels inside it
        for its colour models, and it may find no foreground at all; in each of these
        cases the box is the mask (and a message is logged).
        """
        h, w = image.shape[:2]
        scale = min(1.0, self.config.max_side / max(h, w))
        x0, y0 = math.floor(box[0] * scale), math.floor(box[1] * scale)
        x1, y1 = math.ceil(box[2] * scale), math.ceil(box[3] * scale)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        x1, y1 = min(x1, sw), min(y1, sh)
        whole = x0 <= 0 and y0 <= 0 and x1 >= sw and y1 >= sh
        if whole or min(x1 - x0, y1 - y0) < self.config.min_box_side:
            why = "covers the whole image" if whole else "is too small"
            log.info("grabcut: box of %s %s; using the box as the mask", where, why)
            return box_mask(image.shape, box)
        small = image if scale == 1.0 else cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        labels = np.zeros((sh, sw), dtype=np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: keep runs reproducible
        cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), labels, (x0, y0, x1 - x0, y1 - y0),
                    bgd, fgd, self.config.iterations, cv2.GC_INIT_WITH_RECT)
        fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
        if scale != 1.0:
            fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_NEAREST)
        mask = fg.astype(bool) & box_mask(image.shape, box)
        if not mask.any():
            log.info("grabcut: no foreground found in the box of %s; using the box", where)
            return box_mask(image.shape, box)
        return mask
