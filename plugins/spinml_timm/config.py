"""Configuration of the timm trainers (cheap to import: pydantic only).

``preset: paper`` fills in the paper's classification defaults for every field
not given explicitly; any field given alongside it wins.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from spinml.config import ComponentConfig, StrictModel

__all__ = ["Augment", "DetectionAugment", "TimmTrainerConfig", "ClassifierConfig", "DetectorConfig",
           "PAPER_PRESET"]

#: the artifact's classification defaults (MobileNetV2, ImageNet weights, 224 px, Adam 1e-3,
#: 5 epochs, batch 128, 90/10 split; the best validation checkpoint is always kept)
PAPER_PRESET: dict[str, Any] = {
    "model": "mobilenetv2_100", "pretrained": True, "image_size": 224, "optimizer": "adam",
    "lr": 1e-3, "weight_decay": 0.0, "epochs": 5, "batch_size": 128, "val_fraction": 0.1,
}


class DetectionAugment(StrictModel):
    """Box-safe augmentations, drawn per image from the trainer's seed."""

    hflip: float = Field(0.5, ge=0, le=1)            #: probability of a horizontal flip
    color_jitter: float = Field(0.1, ge=0, lt=1)     #: max relative change of brightness/contrast


class Augment(DetectionAugment):
    """Classification augmentations; the defaults are light. ``Augment(hflip=0, color_jitter=0,
    crop_scale=1)`` turns them off."""

    crop_scale: float = Field(0.8, gt=0, le=1)       #: min side scale of a random square crop


class TimmTrainerConfig(ComponentConfig):
    """Settings shared by the timm classifier and detector trainers."""

    preset: Literal["fast", "paper"] = "fast"
    #: any ``timm.list_models()`` name, optionally with a pretrained tag (``resnet18.a1_in1k``)
    model: str = "mobilenetv3_small_050"
    #: start from the architecture's ImageNet weights (local file, or the Hugging Face cache)
    pretrained: bool = False
    #: a local weights file (.safetensors / .pth / .bin state dict) loaded the way timm loads
    #: its own pretrained files; implies ``pretrained``
    pretrained_path: str | None = None
    #: with ``pretrained`` and no ``pretrained_path``: fetch from the hub if not cached
    download: bool = False
    image_size: int = Field(64, ge=16, le=1024)
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    #: fraction of the drawn training set held out to pick the best epoch (0: keep the last)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    #: fraction of the mix drawn from the ``synthetic_mix`` pool (the paper's alpha)
    alpha: float = Field(0.0, ge=0, le=1)
    #: images drawn in total from the pools; default: the size of the first pool
    mix_size: int | None = Field(None, ge=1)
    seed: int = 0
    #: ``auto`` (CUDA if available), ``cpu``, ``cuda``, ``cuda:1``, ...
    device: str = "auto"
    #: torch intra-op threads; default: leave torch's choice (one per physical core)
    num_threads: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") == "paper":
            return {**cls._paper_defaults(), **data}
        return data

    @classmethod
    def _paper_defaults(cls) -> dict[str, Any]:
        return dict(PAPER_PRESET)


class ClassifierConfig(TimmTrainerConfig):
    """Settings of ``trainer:timm-classifier``."""

    augment: Augment = Field(default_factory=Augment)


class DetectorConfig(TimmTrainerConfig):
    """Settings of ``trainer:timm-detector`` (FCOS head on a timm backbone with an FPN)."""

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(16, ge=1)
    augment: DetectionAugment = Field(default_factory=DetectionAugment)
    #: backbone feature levels fed to the FPN; (1, 2, 3) are strides 4/8/16 in most timm
    #: models, which suits small images; use (2, 3, 4) (strides 8/16/32) for large ones
    out_indices: tuple[int, ...] = Field((1, 2, 3), min_length=1)
    #: channels of every FPN level
    fpn_channels: int = Field(64, ge=8)
    #: 3x3 conv layers in each FCOS tower (torchvision's default is 4; 2 halves the head cost)
    head_convs: int = Field(2, ge=1)
    #: detections below this score are dropped at inference
    score_threshold: float = Field(0.05, ge=0, le=1)
    detections_per_image: int = Field(100, ge=1)

    @classmethod
    def _paper_defaults(cls) -> dict[str, Any]:
        raise ValueError("preset 'paper' is the paper's classifier setup; the paper's detector "
                         "(YOLOv8n) is not a timm model, so set the detector's fields directly")
