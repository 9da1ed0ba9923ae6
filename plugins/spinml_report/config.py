"""Configuration of the report stage (cheap to import: pydantic only)."""

from __future__ import annotations

from pydantic import Field

from spinml.config import ComponentConfig

__all__ = ["ReportConfig"]


class ReportConfig(ComponentConfig):
    """Parameters of stage ``report``."""

    title: str = "SpinML run"
    #: at most this many references (with their masks) and shared items per group are shown
    max_references: int = Field(24, ge=0)
    #: synthetic samples shown per label
    samples_per_label: int = Field(6, ge=0)
    #: thumbnail side in pixels
    thumbnail: int = Field(112, ge=32, le=512)
