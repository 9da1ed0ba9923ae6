"""Parameters of the sobel sanitizer (cheap to import: pydantic only)."""

from __future__ import annotations

from pydantic import Field

from spinml.config import ComponentConfig


class SobelConfig(ComponentConfig):
    #: gradient magnitude (0-255 scale) above which a pixel is an edge
    threshold: float = Field(64.0, ge=0, le=255)
