"""Configuration models of the metrics plugin (cheap to import: pydantic only)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from spinml.config import ComponentConfig, StrictModel

__all__ = ["MIConfig", "SimilarityConfig", "HogConfig", "ClipConfig", "MetricUse", "MeasureConfig"]


class MIConfig(ComponentConfig):
    """Parameters of metric ``mi``."""

    #: also report what a shared group leaks about the *other* objects (``background_via_target``)
    cross_groups: bool = True


class SimilarityConfig(ComponentConfig):
    """Parameters of metric ``similarity``."""

    embedder: str = "hog"
    #: names the figures' variant (key ``similarity/<variant>/<group>``), to tell several
    #: embedders apart in one run; empty by default (key ``similarity/<group>``)
    variant: str = ""
    embedder_params: dict[str, Any] = Field(default_factory=dict)
    groups: tuple[Literal["target", "background"], ...] = ("target", "background")
    #: at most this many synthetic images are embedded (a seeded sample)
    max_synthetic: int = Field(200, ge=1)
    seed: int = 0


class HogConfig(ComponentConfig):
    """Parameters of embedder ``hog`` (weight-free)."""

    size: int = Field(64, ge=16)
    orientations: int = Field(9, ge=2)
    pixels_per_cell: int = Field(8, ge=2)
    cells_per_block: int = Field(2, ge=1)
    colour_bins: int = Field(8, ge=2, le=64)


class ClipConfig(ComponentConfig):
    """Parameters of embedder ``clip`` (transformers)."""

    #: a local directory written by ``save_pretrained``, or a hub id already in the local cache
    model: str = "openai/clip-vit-base-patch32"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    batch_size: int = Field(32, ge=1)


class MetricUse(StrictModel):
    """One metric of a ``measure`` stage."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class MeasureConfig(ComponentConfig):
    """Parameters of stage ``measure``: the metrics to compute, in order."""

    metrics: tuple[MetricUse, ...] = (MetricUse(name="mi"), MetricUse(name="similarity"))
