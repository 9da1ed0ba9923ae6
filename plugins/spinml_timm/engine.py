"""What the timm classifier and detector trainers share: the ``train`` template, the
seeded epoch loop with best-validation checkpointing, batch augmentation, and the
pipeline entry point that also hashes the private references' pixels."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from spinml.components import StageContext, Trainer
from spinml.datasets import ImageDataset, ModelArtifact
from spinml.io import atomic_write

from .config import DetectionAugment, TimmTrainerConfig
from .data import (
    LoadedImages,
    check_test_labels,
    draw_mix,
    load_images,
    pool_labels,
    refuse_overlap,
    split_indices,
)
from .models import normalization, write_model_dir

__all__ = ["TimmTrainer", "FitResult", "EpochCheckpoint", "torch_session", "batch_bounds",
           "augment_batch"]


@contextlib.contextmanager
def torch_session(config: TimmTrainerConfig) -> Iterator[torch.device]:
    """Seed torch, set the thread count for the block (restored after), pick the device."""
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    name = config.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        yield torch.device(name)
    finally:
        torch.set_num_threads(threads)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each batch; a last batch of one image joins the one before
    (batch norm cannot train on a single image)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [(s, starts[i + 1] if i + 1 < len(starts) else n) for i, s in enumerate(starts)]


def augment_batch(images: torch.Tensor, aug: DetectionAugment, gen: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Float images in [0, 1] from a uint8 batch, randomly flipped, jittered and (for
    classification configs with ``crop_scale < 1``) cropped; also returns the flip mask."""
    x = images.float().div_(255)
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < aug.hflip
    x[flip] = x[flip].flip(-1)
    crop_scale = getattr(aug, "crop_scale", 1.0)
    if crop_scale < 1:
        scale = crop_scale + (1 - crop_scale) * torch.rand(n, generator=gen)
        shift = (1 - scale) * (2 * torch.rand(2, n, generator=gen) - 1)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = scale, scale
        theta[:, 0, 2], theta[:, 1, 2] = shift[0], shift[1]
        grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
        x = nn.functional.grid_sample(x, grid, mode="bilinear", align_corners=False)
    if aug.color_jitter > 0:
        j = aug.color_jitter
        contrast = 1 + j * (2 * torch.rand(n, 1, 1, 1, generator=gen) - 1)
        brightness = 1 + j * (2 * torch.rand(n, 1, 1, 1, generator=gen) - 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean).mul_(brightness).clamp_(0, 1)
    return x, flip


#: the per-epoch training state of an unfinished run (``.spinml*`` files are not content)
CHECKPOINT = ".spinml-train-state.pt"


class EpochCheckpoint:
    """The training state saved after each epoch, valid only for the run ``key`` names."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key

    def load(self) -> dict[str, Any] | None:
        """The saved state, or ``None`` if there is none or it belongs to another run."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        return state if state.get("key") == self.key else None

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({"key": self.key, **state}, buffer)
        with atomic_write(self.path) as fh:
            fh.write(buffer.getvalue())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _run_key(cfg: TimmTrainerConfig, data: LoadedImages, train_idx: list[int]) -> str:
    """What a saved state must match to be resumed: config, drawn images, the split."""
    doc = {"config": cfg.model_dump(mode="json"), "images": data.file_hashes, "train": train_idx}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@dataclass
class FitResult:
    """What the epoch loop reports: the kept epoch, per-epoch history and speed."""

    best_epoch: int
    best_score: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    train_images: int = 0
    train_seconds: float = 0.0
    #: CPU time of this process over the training steps (all its threads)
    train_cpu_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"best_epoch": self.best_epoch, "best_val_score": self.best_score,
                "history": self.history, "images_trained": self.train_images,
                "train_seconds": round(self.train_seconds, 3),
                "images_per_s": round(self.train_images / max(self.train_seconds, 1e-9), 1),
                "images_per_cpu_s": round(self.train_images / max(self.train_cpu_seconds, 1e-9), 1)}


class TimmTrainer(Trainer):
    """Template of the timm trainers; subclasses define the model, a step, and evaluation."""

    config: TimmTrainerConfig
    task: ClassVar[str]
    #: name of the validation score that picks the kept epoch (higher is better)
    val_score_name: ClassVar[str]
    #: test figures repeated at the top of ``metrics.json``
    headline: ClassVar[tuple[str, ...]]

    # -- what subclasses define -----------------------------------------------------------

    def build_model(self, labels: Sequence[str]) -> nn.Module:
        raise NotImplementedError

    def model_meta(self, labels: Sequence[str]) -> dict[str, Any]:
        """Architecture fields of ``model.json`` beyond those every model has."""
        return {}

    def train_step(self, model: nn.Module, data: LoadedImages, idx: list[int],
                   gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """The loss of one augmented batch (the caller steps the optimizer)."""
        raise NotImplementedError

    def validation_score(self, model: nn.Module, data: LoadedImages, idx: list[int],
                         labels: Sequence[str], device: torch.device) -> float:
        raise NotImplementedError

    def evaluate(self, model: nn.Module, test: LoadedImages, labels: Sequence[str],
                 device: torch.device, out_dir: Path) -> dict[str, Any]:
        """Figures on the real test set (files such as plots go into ``out_dir``)."""
        raise NotImplementedError

    # -- the template ---------------------------------------------------------------------

    def train(self, pools: Sequence[tuple[ImageDataset, float]], out_dir: Path,
              ctx: StageContext | None = None, *, test: ImageDataset | None = None,
              exclude_hashes: frozenset[str] = frozenset()) -> ModelArtifact:
        """Draw the mix of ``pools``, train, keep the best validation epoch, evaluate on
        ``test`` and write the model directory ``out_dir``.

        ``exclude_hashes`` are SHA-256 digests (of files or decoded pixels) of private
        images; a test set containing any of them, or any drawn training image, is refused
        before training starts.
        """
        cfg, ctx, out_dir = self.config, ctx or StageContext(stage=self.task), Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with torch_session(cfg) as device:
            labels = pool_labels(pools, self.task)
            drawn = draw_mix(pools, cfg.mix_size, cfg.seed)
            data = load_images([r for _, r in drawn], cfg.image_size,
                               lambda it: ctx.progress(it, total=len(drawn), desc=f"{ctx.stage}: load"))
            test_data = None
            if test is not None:
                check_test_labels(test, labels)
                test_data = load_images(test.records, cfg.image_size)
                refuse_overlap(test_data, test.path, exclude_hashes, data)
            train_idx, val_idx = split_indices(len(data), cfg.val_fraction, cfg.seed)
            model = self.build_model(labels).to(device)
            checkpoint = EpochCheckpoint(out_dir / CHECKPOINT, _run_key(cfg, data, train_idx))
            fit = self.fit(model, data, train_idx, val_idx, labels, device, ctx, checkpoint)
            metrics: dict[str, Any] = {"task": self.task, self.val_score_name: fit.best_score}
            if test_data is not None:
                figures = self.evaluate(model, test_data, labels, device, out_dir)
                metrics.update({k: figures[k] for k in self.headline})
                metrics["test"] = {"path": str(test.path), "images": len(test_data), **figures}
            metrics.update(labels=labels, train=fit.as_dict())
            mean, std = normalization(cfg.model)
            meta = {"task": self.task, "architecture": cfg.model.partition(".")[0],
                    "num_classes": len(labels), "labels": labels,
                    "input_size": [3, cfg.image_size, cfg.image_size], "mean": mean, "std": std,
                    **self.model_meta(labels),
                    "data": self._data_summary(pools, drawn, train_idx, val_idx),
                    "trainer": cfg.model_dump(mode="json"), "versions": _versions()}
            write_model_dir(out_dir, model, meta, metrics)
            checkpoint.remove()
        return ModelArtifact(out_dir)

    def fit(self, model: nn.Module, data: LoadedImages, train_idx: list[int], val_idx: list[int],
            labels: Sequence[str], device: torch.device, ctx: StageContext,
            checkpoint: EpochCheckpoint | None = None) -> FitResult:
        """Seeded epochs over ``train_idx``; the state with the best validation score is
        loaded back into ``model`` (the last epoch's without validation data).

        With ``checkpoint``, the full training state is saved after every epoch and a
        matching saved state is resumed from, giving the same weights as an
        uninterrupted run.
        """
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        optimizer = _optimizer(cfg, model)
        bounds = batch_bounds(len(train_idx), cfg.batch_size)
        result = FitResult(best_epoch=cfg.epochs - 1, best_score=None)
        best_state = None
        first_epoch = 0
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            gen.set_state(saved["generator"])
            torch.set_rng_state(saved["torch_rng"])
            result, best_state = FitResult(**saved["result"]), saved["best_state"]
            first_epoch = saved["epoch"] + 1
            ctx.log(f"resuming after epoch {saved['epoch']} from {checkpoint.path}")
        total = cfg.epochs * len(bounds)
        steps = ctx.progress(range(first_epoch * len(bounds), total), total=total - first_epoch * len(bounds),
                             desc=f"{ctx.stage}: train")
        order, epoch_loss, start, cpu_start = torch.tensor(train_idx), 0.0, 0.0, 0.0
        for step in steps:
            epoch, b = divmod(step, len(bounds))
            if b == 0:
                model.train()
                order = torch.tensor(train_idx)[torch.randperm(len(train_idx), generator=gen)]
                epoch_loss, start, cpu_start = 0.0, time.perf_counter(), time.process_time()
            idx = order[bounds[b][0]:bounds[b][1]].tolist()
            loss = self.train_step(model, data, idx, gen, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epoch_loss += float(loss.detach()) * len(idx)
            if b + 1 < len(bounds):
                continue
            result.train_seconds += time.perf_counter() - start
            result.train_cpu_seconds += time.process_time() - cpu_start
            result.train_images += len(train_idx)
            record = {"epoch": epoch, "loss": epoch_loss / len(train_idx)}
            if val_idx:
                score = self.validation_score(model, data, val_idx, labels, device)
                record[self.val_score_name] = score
                if result.best_score is None or score > result.best_score:
                    result.best_score, result.best_epoch = score, epoch
                    best_state = copy.deepcopy(model.state_dict())
            result.history.append(record)
            ctx.log(f"epoch {epoch}: " + ", ".join(f"{k}={v:.4g}" for k, v in record.items()
                                                   if k != "epoch"))
            if checkpoint is not None and epoch + 1 < cfg.epochs:
                checkpoint.save({"epoch": epoch, "model": model.state_dict(),
                                 "optimizer": optimizer.state_dict(), "generator": gen.get_state(),
                                 "torch_rng": torch.get_rng_state(), "result": result.__dict__,
                                 "best_state": best_state})
        if best_state is not None:
            model.load_state_dict(best_state)
        return result

    def _data_summary(self, pools: Sequence[tuple[ImageDataset, float]], drawn: list[tuple[int, Any]],
                      train_idx: list[int], val_idx: list[int]) -> dict[str, Any]:
        counts = [sum(1 for p, _ in drawn if p == i) for i in range(len(pools))]
        return {"pools": [{"path": str(ds.path), "weight": w, "images": len(ds), "drawn": k}
                          for (ds, w), k in zip(pools, counts)],
                "train": len(train_idx), "val": len(val_idx)}


def _optimizer(cfg: TimmTrainerConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _versions() -> dict[str, str]:
    import timm

    return {"torch": torch.__version__, "timm": timm.__version__, "python": platform.python_version()}
