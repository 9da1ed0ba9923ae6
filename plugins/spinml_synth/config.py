"""Configuration models of the weight-free generators (cheap: pydantic only)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from spinml.components import GeneratorConfig

__all__ = ["PoolConfig", "PublicPoolConfig", "CutPasteConfig"]


class PoolConfig(GeneratorConfig):
    """How public object images are read.

    ``public_pool`` is an ImageFolder ``<label>/<image>`` of public images of the
    object (a folder named after the request's target is used for labels that have
    no folder of their own). An object's mask is the image's alpha channel when it
    has one; otherwise every pixel whose colour differs from the image's border
    colour (the median of its outermost pixels) by more than ``pool_threshold``
    (on a 0-255 scale, largest channel difference) is the object, so pool images
    should show the object on a uniform background.
    """

    public_pool: Path | None = None
    pool_threshold: int = Field(30, ge=0, le=254)


class PublicPoolConfig(PoolConfig):
    """``public-pool``: public images of each label, ignoring everything the payload shares."""

    public_pool: Path  # type: ignore[assignment]  # required here


class CutPasteConfig(PoolConfig):
    """``cutpaste``: level-aware cut-and-paste of the shared target onto backgrounds.

    Each image draws, from its own seed, a scale (the object's longer side as a
    fraction of ``resolution``, within ``scale``), a rotation within
    ``+-rotate`` degrees, a horizontal flip (only if ``hflip``), a colour jitter of
    strength ``color_jitter`` (brightness, contrast and saturation factors within
    ``1 +- color_jitter``) and a position that keeps the object inside the image.
    ``backgrounds`` is a folder of public background photos used when the
    background is not shared (L0); without it, smooth random textures are used.
    """

    backgrounds: Path | None = None
    scale: tuple[float, float] = (0.35, 0.75)
    rotate: float = Field(15.0, ge=0, le=180)
    hflip: bool = False
    color_jitter: float = Field(0.2, ge=0, lt=1)

    @model_validator(mode="after")
    def _scale_range(self) -> CutPasteConfig:
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {self.scale}")
        return self
