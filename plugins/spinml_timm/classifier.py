"""``trainer:timm-classifier``: any timm architecture trained as an image classifier."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spinml.components import StageContext

from .config import ClassifierConfig
from .data import LoadedImages
from .engine import EpochCheckpoint, FitResult, TimmTrainer, augment_batch, batch_bounds
from .evaluation import classification_metrics, plot_confusion
from .models import create_timm_model, normalization

__all__ = ["TimmClassifier", "predict_logits"]


def _label_index(data: LoadedImages, labels: Sequence[str]) -> torch.Tensor:
    index = {lab: i for i, lab in enumerate(labels)}
    return torch.tensor([index[r.label] for r in data.records])


class TimmClassifier(TimmTrainer):
    """Trains a timm classifier (new head of ``len(labels)`` outputs) on the synthetic pools."""

    Config = ClassifierConfig
    config: ClassifierConfig
    task = "classification"
    val_score_name = "val_accuracy"
    headline = ("accuracy",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mean, std = normalization(self.config.model)
        self._mean = torch.tensor(mean).view(1, 3, 1, 1)
        self._std = torch.tensor(std).view(1, 3, 1, 1)
        self._targets: torch.Tensor | None = None

    def build_model(self, labels: Sequence[str]) -> nn.Module:
        cfg = self.config
        return create_timm_model(cfg.model, pretrained=cfg.pretrained, pretrained_path=cfg.pretrained_path,
                                 download=cfg.download, num_classes=len(labels))

    def train_step(self, model: nn.Module, data: LoadedImages, idx: list[int],
                   gen: torch.Generator, device: torch.device) -> torch.Tensor:
        assert self._targets is not None, "fit() sets the targets"
        x, _ = augment_batch(data.pixels[idx], self.config.augment, gen)
        x = ((x - self._mean) / self._std).to(device)
        return nn.functional.cross_entropy(model(x), self._targets[idx].to(device))

    def fit(self, model: nn.Module, data: LoadedImages, train_idx: list[int], val_idx: list[int],
            labels: Sequence[str], device: torch.device, ctx: StageContext,
            checkpoint: EpochCheckpoint | None = None) -> FitResult:
        self._targets = _label_index(data, labels)
        return super().fit(model, data, train_idx, val_idx, labels, device, ctx, checkpoint)

    def validation_score(self, model: nn.Module, data: LoadedImages, idx: list[int],
                         labels: Sequence[str], device: torch.device) -> float:
        pred = self._predict(model, data.pixels[idx], device)
        return float((pred == _label_index(data, labels)[idx]).float().mean())

    def evaluate(self, model: nn.Module, test: LoadedImages, labels: Sequence[str],
                 device: torch.device, out_dir: Path) -> dict[str, Any]:
        pred = self._predict(model, test.pixels, device)
        figures = classification_metrics(_label_index(test, labels).tolist(), pred.tolist(), labels)
        plot_confusion(figures["confusion_matrix"]["matrix"], labels, out_dir / "confusion_matrix.png")
        return {**figures, "confusion_plot": "confusion_matrix.png"}

    def _predict(self, model: nn.Module, pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
        was_training = model.training
        logits = predict_logits(model, pixels, self._mean, self._std, self.config.batch_size, device)
        model.train(was_training)
        return logits.argmax(1)


@torch.no_grad()
def predict_logits(model: nn.Module, pixels: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                   batch_size: int, device: torch.device) -> torch.Tensor:
    """Logits of uint8 ``N x 3 x S x S`` images, batch by batch, in eval mode."""
    model.eval()
    out = [model(((pixels[a:b].float() / 255 - mean) / std).to(device)).cpu()
           for a, b in batch_bounds(len(pixels), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 0)
