"""Configuration of the built-in sanitizers and of the ``sanitize`` stage (pydantic only)."""

from __future__ import annotations

from pydantic import Field, model_validator

from spinml.config import ComponentConfig, Policy, Request

__all__ = ["CannyConfig", "PixelateConfig", "BlurConfig", "SanitizeConfig"]


class CannyConfig(ComponentConfig):
    """OpenCV Canny thresholds; 100 and 200 are the paper's."""

    low: float = Field(100.0, ge=0)
    high: float = Field(200.0, ge=0)
    aperture_size: int = Field(3, ge=3, le=7)
    l2_gradient: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> CannyConfig:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        if self.aperture_size % 2 == 0:
            raise ValueError("aperture_size must be 3, 5 or 7")
        return self


class PixelateConfig(ComponentConfig):
    """Side of the square blocks, in pixels."""

    block: int = Field(16, ge=2)


class BlurConfig(ComponentConfig):
    """Standard deviation of the Gaussian, in pixels."""

    sigma: float = Field(12.0, gt=0)


class SanitizeConfig(ComponentConfig):
    """The request sent with the payload, and the policy deciding what of each object leaves."""

    request: Request
    #: a :class:`~spinml.config.Policy` or its shorthand, e.g. ``"L1_L0"``
    policy: Policy
