"""A sanitizer written the way a user writes one: a new L1 feature in a small plugin.

``mean-colour`` shares the object's silhouette filled with its mean colour: its
shape and one colour, no texture and no pixel of its own.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

import spinml
from spinml.components import Sanitizer
from spinml.config import ComponentConfig, Level
from spinml.hookspecs import Register


class MeanColourConfig(ComponentConfig):
    #: colours are rounded to multiples of this step (1 keeps the exact mean)
    step: int = Field(1, ge=1, le=128)


class MeanColour(Sanitizer):
    """The object's silhouette filled with its mean colour (L1)."""

    Config = MeanColourConfig
    level: ClassVar[Level] = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        step = self.config.step
        mean = segment[mask].mean(axis=0) if mask.any() else np.zeros(3)
        colour = np.clip(np.rint(mean / step) * step, 0, 255).astype(np.uint8)
        out = np.zeros_like(segment)
        out[mask] = colour
        return out


class MeanColourPlugin:
    """Registers ``mean-colour``; pass an instance to ``registered_plugin`` or an entry point."""

    @spinml.hookimpl
    def spinml_register_sanitizers(self, register: Register) -> None:
        register("mean-colour", MeanColour, config=MeanColourConfig, level=1)
