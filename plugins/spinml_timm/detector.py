"""``trainer:timm-detector``: torchvision's FCOS head on a timm backbone with an FPN.

The backbone is ``timm.create_model(..., features_only=True, out_indices=...)`` topped by
``torchvision.ops.FeaturePyramidNetwork``; each FPN level gets one FCOS "anchor" (a point)
whose size is the level's stride, which is how torchvision's FCOS assigns boxes to levels.
FCOS is anchor-free, so it needs no anchor tuning for the small images and few boxes of a
specialized request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spinml.components import StageContext

from .config import DetectorConfig
from .data import LoadedImages
from .engine import EpochCheckpoint, FitResult, TimmTrainer, augment_batch, batch_bounds
from .evaluation import coco_map
from .models import create_timm_model, normalization

__all__ = ["TimmDetector", "TimmFPNBackbone", "build_detector", "detect"]

Boxes = list[tuple[float, float, float, float, int]]


class TimmFPNBackbone(nn.Module):
    """A timm ``features_only`` model followed by an FPN; ``out_channels`` as torchvision expects."""

    def __init__(self, body: nn.Module, channels: int) -> None:
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        self.body = body
        self.fpn = FeaturePyramidNetwork(body.feature_info.channels(), channels)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(self.body(x))))


def build_detector(meta: Mapping[str, Any], body: nn.Module | None = None) -> nn.Module:
    """The FCOS detector described by ``model.json`` (``body``: an already built backbone)."""
    from torchvision.models.detection import FCOS
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOSHead

    det = meta["detector"]
    if body is None:
        body = create_timm_model(meta["architecture"], features_only=True,
                                 out_indices=tuple(det["out_indices"]))
    strides = body.feature_info.reduction()
    size = meta["input_size"][-1]
    return FCOS(TimmFPNBackbone(body, det["fpn_channels"]), num_classes=meta["num_classes"],
                min_size=size, max_size=size, image_mean=meta["mean"], image_std=meta["std"],
                anchor_generator=AnchorGenerator(tuple((s,) for s in strides), ((1.0,),) * len(strides)),
                head=FCOSHead(det["fpn_channels"], 1, meta["num_classes"], num_convs=det["head_convs"]),
                score_thresh=det["score_threshold"], detections_per_img=det["detections_per_image"])


@torch.no_grad()
def detect(model: nn.Module, images: torch.Tensor, batch_size: int, device: torch.device
           ) -> list[list[tuple[float, float, float, float, int, float]]]:
    """``(x0, y0, x1, y1, class, score)`` per uint8 ``N x 3 x S x S`` image, in its pixels."""
    was_training = model.training
    model.eval()
    out = []
    for a, b in batch_bounds(len(images), batch_size):
        for d in model([im.float().div(255).to(device) for im in images[a:b]]):
            out.append([(*map(float, box), int(c), float(s))
                        for box, c, s in zip(d["boxes"].cpu(), d["labels"].cpu(), d["scores"].cpu())])
    model.train(was_training)
    return out


class TimmDetector(TimmTrainer):
    """Trains an FCOS detector on a timm backbone from the boxes of the synthetic pools."""

    Config = DetectorConfig
    config: DetectorConfig
    task = "detection"
    val_score_name = "val_mAP50-95"
    headline = ("mAP50-95", "mAP50", "mAP75")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._boxes: list[torch.Tensor] = []
        self._classes: list[torch.Tensor] = []

    def model_meta(self, labels: Sequence[str]) -> dict[str, Any]:
        cfg = self.config
        return {"detector": {"head": "fcos", "out_indices": list(cfg.out_indices),
                             "fpn_channels": cfg.fpn_channels, "head_convs": cfg.head_convs,
                             "score_threshold": cfg.score_threshold,
                             "detections_per_image": cfg.detections_per_image}}

    def build_model(self, labels: Sequence[str]) -> nn.Module:
        cfg = self.config
        body = create_timm_model(cfg.model, pretrained=cfg.pretrained, pretrained_path=cfg.pretrained_path,
                                 download=cfg.download, features_only=True, out_indices=cfg.out_indices)
        mean, std = normalization(cfg.model)
        meta = {"num_classes": len(labels), "input_size": [3, cfg.image_size, cfg.image_size],
                "mean": mean, "std": std, **self.model_meta(labels)}
        return build_detector(meta, body)

    def fit(self, model: nn.Module, data: LoadedImages, train_idx: list[int], val_idx: list[int],
            labels: Sequence[str], device: torch.device, ctx: StageContext,
            checkpoint: EpochCheckpoint | None = None) -> FitResult:
        index = {lab: i for i, lab in enumerate(labels)}
        self._boxes, self._classes = [], []
        for gt in _scaled_boxes(data, index):
            self._boxes.append(torch.tensor([b[:4] for b in gt], dtype=torch.float32).reshape(-1, 4))
            self._classes.append(torch.tensor([b[4] for b in gt], dtype=torch.int64))
        return super().fit(model, data, train_idx, val_idx, labels, device, ctx, checkpoint)

    def train_step(self, model: nn.Module, data: LoadedImages, idx: list[int],
                   gen: torch.Generator, device: torch.device) -> torch.Tensor:
        x, flipped = augment_batch(data.pixels[idx], self.config.augment, gen)
        size = x.shape[-1]
        targets = []
        for i, flip in zip(idx, flipped.tolist()):
            boxes = self._boxes[i].clone()
            if flip:
                boxes[:, [0, 2]] = size - boxes[:, [2, 0]]
            targets.append({"boxes": boxes.to(device), "labels": self._classes[i].to(device)})
        losses = model([im.to(device) for im in x], targets)
        return sum(losses.values())

    def validation_score(self, model: nn.Module, data: LoadedImages, idx: list[int],
                         labels: Sequence[str], device: torch.device) -> float:
        size = self.config.image_size
        dets = detect(model, data.pixels[idx], self.config.batch_size, device)
        gt = [[(*self._boxes[i][k].tolist(), int(self._classes[i][k])) for k in range(len(self._boxes[i]))]
              for i in idx]
        return coco_map(gt, dets, [(size, size)] * len(idx), len(labels))["mAP50-95"]

    def evaluate(self, model: nn.Module, test: LoadedImages, labels: Sequence[str],
                 device: torch.device, out_dir: Path) -> dict[str, Any]:
        index = {lab: i for i, lab in enumerate(labels)}
        size = self.config.image_size
        dets = []
        for (w, h), found in zip(test.sizes, detect(model, test.pixels, self.config.batch_size, device)):
            sx, sy = w / size, h / size
            dets.append([(x0 * sx, y0 * sy, x1 * sx, y1 * sy, c, s) for x0, y0, x1, y1, c, s in found])
        gt = [[(*b[:4], index[b[4]]) for b in r.boxes] for r in test.records]
        return {**coco_map(gt, dets, test.sizes, len(labels)),
                "boxes": sum(len(g) for g in gt), "detections": sum(len(d) for d in dets)}


def _scaled_boxes(data: LoadedImages, index: Mapping[str, int]) -> list[Boxes]:
    """Each image's boxes in the pixels of its resized (square) copy, with class indices."""
    size = data.pixels.shape[-1]
    out = []
    for rec, (w, h) in zip(data.records, data.sizes):
        sx, sy = size / w, size / h
        out.append([(x0 * sx, y0 * sy, x1 * sx, y1 * sy, index[lab]) for x0, y0, x1, y1, lab in rec.boxes])
    return out
