"""Configuration of the built-in segmenters (cheap to import: pydantic only)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from spinml.config import ComponentConfig, StrictModel

__all__ = ["GrabCutConfig", "SamArchitecture", "SamConfig", "SAM_CHECKPOINT_ENV"]

#: environment variable naming a SAM checkpoint file when ``checkpoint`` is not set
SAM_CHECKPOINT_ENV = "SPINML_SAM_CHECKPOINT"


class GrabCutConfig(ComponentConfig):
    """OpenCV GrabCut initialised from each object's box prompt."""

    iterations: int = Field(5, ge=1, le=50)
    #: images are segmented at most this many pixels on their long side (the mask is
    #: scaled back); bounds the cost on large photos
    max_side: int = Field(512, ge=32)
    #: boxes narrower or shorter than this (in pixels, at the working scale) are too small
    #: for GrabCut's colour models; the box itself is used as the mask
    min_box_side: int = Field(8, ge=2)


class SamArchitecture(StrictModel):
    """The dimensions of a SAM model: what ``segment_anything.build_sam`` fixes per model type.

    The defaults are those of ``vit_b``.
    """

    image_size: int = Field(1024, ge=16)
    patch_size: int = Field(16, ge=2)
    encoder_embed_dim: int = Field(768, ge=8)
    encoder_depth: int = Field(12, ge=1)
    encoder_num_heads: int = Field(12, ge=1)
    encoder_global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = Field(14, ge=0)
    prompt_embed_dim: int = Field(256, ge=8)
    mask_in_chans: int = Field(16, ge=4)
    decoder_depth: int = Field(2, ge=1)
    decoder_mlp_dim: int = Field(2048, ge=8)
    decoder_num_heads: int = Field(8, ge=1)
    iou_head_depth: int = Field(3, ge=1)
    iou_head_hidden_dim: int = Field(256, ge=8)

    @model_validator(mode="after")
    def _consistent(self) -> SamArchitecture:
        if self.image_size % self.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        if self.encoder_embed_dim % self.encoder_num_heads:
            raise ValueError("encoder_embed_dim must be a multiple of encoder_num_heads")
        if self.prompt_embed_dim % self.decoder_num_heads:
            raise ValueError("prompt_embed_dim must be a multiple of decoder_num_heads")
        if any(not 0 <= i < self.encoder_depth for i in self.encoder_global_attn_indexes):
            raise ValueError("encoder_global_attn_indexes must lie in [0, encoder_depth)")
        return self


class SamConfig(ComponentConfig):
    """Segment Anything, loaded from a local checkpoint file."""

    model_type: Literal["vit_b", "vit_l", "vit_h", "custom"] = "vit_b"
    #: path of the ``.pth`` state dict; defaults to ``$SPINML_SAM_CHECKPOINT``
    checkpoint: str | None = None
    #: dimensions of a ``custom`` model (required for it, refused for the published types)
    architecture: SamArchitecture | None = None
    #: ``auto`` picks CUDA, then Apple MPS, then CPU
    device: str = "auto"
    #: ``prompt``: the box/points of each object; ``auto``: SamAutomaticMaskGenerator, the
    #: target being the mask that best fits its box or points (or the largest one)
    mode: Literal["prompt", "auto"] = "prompt"
    #: ask SAM for three candidate masks per prompt and keep one (see ``select``)
    multimask: bool = True
    #: how one of the candidate masks is kept: SAM's predicted IoU, or the largest
    select: Literal["score", "largest"] = "score"
    # SamAutomaticMaskGenerator settings (mode: auto)
    points_per_side: int = Field(32, ge=1)
    pred_iou_thresh: float = Field(0.88, ge=0, le=1)
    stability_score_thresh: float = Field(0.95, ge=0, le=1)
    #: automatic masks covering more than this fraction of the image are not taken as target
    max_area_fraction: float = Field(0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _architecture_for_custom(self) -> SamConfig:
        if self.model_type == "custom" and self.architecture is None:
            raise ValueError("model_type 'custom' needs 'architecture' (its dimensions)")
        if self.model_type != "custom" and self.architecture is not None:
            raise ValueError(f"model_type {self.model_type!r} has fixed dimensions; "
                             "use model_type 'custom' to give 'architecture'")
        return self
