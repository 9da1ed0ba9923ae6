"""The sobel sanitizer: only a binary gradient map of the object leaves the device."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from spinml.components import Sanitizer
from spinml.config import Level

from .config import SobelConfig


class Sobel(Sanitizer):
    """Thresholded Sobel gradient magnitude of the object (L1 feature)."""

    Config = SobelConfig
    level: ClassVar[Level] = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        gray = segment.astype(np.float32).mean(axis=2)
        p = np.pad(gray, 1, mode="edge")
        gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
        gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
        magnitude = np.hypot(gx, gy) / 4.0  # back to the 0-255 scale of the input
        return np.where(magnitude > self.config.threshold, 255, 0).astype(np.uint8)
