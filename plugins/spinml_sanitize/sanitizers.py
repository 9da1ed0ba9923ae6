"""The built-in sanitizers: L1 features (``canny``, ``silhouette``, ``pixelate``, ``blur``)
and the L2 ``segment``.

Each receives one object's pixels (everything outside its mask already black) and
its mask, and returns the array that is shared for it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from spinml.components import Sanitizer
from spinml.config import Level

from .config import BlurConfig, CannyConfig, PixelateConfig

__all__ = ["CannySanitizer", "SilhouetteSanitizer", "PixelateSanitizer", "BlurSanitizer",
           "SegmentSanitizer"]


class CannySanitizer(Sanitizer):
    """Canny edge map of the segment (L1; the paper's feature, thresholds 100/200)."""

    Config = CannyConfig
    config: CannyConfig
    level = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(segment, cv2.COLOR_RGB2GRAY)
        return cv2.Canny(gray, self.config.low, self.config.high,
                         apertureSize=self.config.aperture_size, L2gradient=self.config.l2_gradient)


class SilhouetteSanitizer(Sanitizer):
    """The object's binary mask (L1): its shape and position, no pixel values."""

    level = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, 255, 0).astype(np.uint8)


class PixelateSanitizer(Sanitizer):
    """The segment's mean colour per square block (L1).

    Each block holds the mean of the object's pixels in it (the black outside is not
    averaged in); blocks with none of the object's pixels are black.
    """

    Config = PixelateConfig
    config: PixelateConfig
    level = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        b = self.config.block
        gh, gw = math.ceil(h / b), math.ceil(w / b)
        pad = ((0, gh * b - h), (0, gw * b - w))
        m = np.pad(mask, pad).reshape(gh, b, gw, b).sum(axis=(1, 3))
        s = np.pad(segment.astype(np.float64), (*pad, (0, 0))).reshape(gh, b, gw, b, 3).sum(axis=(1, 3))
        means = np.where(m[..., None] > 0, s / np.maximum(m, 1)[..., None], 0.0)
        blocks = np.clip(np.rint(means), 0, 255).astype(np.uint8)
        return np.repeat(np.repeat(blocks, b, axis=0), b, axis=1)[:h, :w]


class BlurSanitizer(Sanitizer):
    """A heavy Gaussian blur of the segment, inside its mask (L1).

    The blur is normalised by the blurred mask, so the object's colours are smoothed
    without being darkened by the black outside it.
    """

    Config = BlurConfig
    config: BlurConfig
    level = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        sigma = self.config.sigma
        weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)
        blurred = cv2.GaussianBlur(segment.astype(np.float32), (0, 0), sigma)
        out = blurred / np.maximum(weight, 1e-6)[..., None]
        out[~mask] = 0
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class SegmentSanitizer(Sanitizer):
    """The object's raw pixels as RGBA, all else black and transparent (L2)."""

    level = Level.L2

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        alpha = np.where(mask, 255, 0).astype(np.uint8)
        return np.dstack([segment, alpha])
