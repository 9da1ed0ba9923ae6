"""Training throughput of trainer:timm-classifier against a plain timm training loop.

Both train the same timm model (same architecture, seed, optimizer, batch size) on the
same images held in memory as uint8 tensors, so the plain loop is as tight as a training
loop gets: shuffle, normalize, forward, cross-entropy, backward, step. The SpinML figure
is the trainer's own ``images_per_s`` and ``images_per_cpu_s`` (its training steps only;
validation and test evaluation excluded), with augmentation off (like for like) and with
the default light augmentation. Two rates are reported: images per wall-clock second,
and images per CPU second of the process, which other jobs on a shared machine disturb
far less. Runs alternate so that such load hits both alike; each figure is the median
of ``--repeats`` runs, and each ratio the median of the ratios of adjacent runs.

    python benchmarks/bench_train.py --images 1000 --size 64 --epochs 2 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image
from sklearn.datasets import load_digits
from spinml_timm.classifier import TimmClassifier
from spinml_timm.data import load_images
from spinml_timm.engine import batch_bounds
from spinml_timm.models import normalization

from spinml.components import StageContext
from spinml.datasets import DatasetWriter, ImageDataset

LABELS = [str(d) for d in range(10)]


def write_digits(root: Path, n: int, size: int) -> ImageDataset:
    """``n`` of scikit-learn's bundled digits, upscaled to ``size`` px RGB."""
    digits = load_digits()
    writer = DatasetWriter(root, "classification", LABELS)
    for i, (img, target) in enumerate(zip(digits.images[:n], digits.target[:n])):
        gray = Image.fromarray((img / 16 * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        writer.add(f"{target}/{i:04d}", np.repeat(np.asarray(gray)[..., None], 3, axis=2), label=str(target))
    return writer.finalize()


def plain_loop(data: ImageDataset, args: argparse.Namespace) -> tuple[float, float]:
    """Images per wall and per CPU second of a bare timm training loop on the same images."""
    torch.manual_seed(0)
    images = load_images(data.records, args.size)
    targets = torch.tensor([LABELS.index(r.label) for r in data.records])
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in normalization(args.model))
    model = timm.create_model(args.model, num_classes=len(LABELS)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    seconds = cpu_seconds = 0.0
    for _ in range(args.epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        order = torch.randperm(len(targets), generator=gen)
        for a, b in batch_bounds(len(order), args.batch_size):
            idx = order[a:b]
            x = (images.pixels[idx].float() / 255 - mean) / std
            loss = torch.nn.functional.cross_entropy(model(x), targets[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds += time.perf_counter() - start
        cpu_seconds += time.process_time() - cpu_start
    images = args.epochs * len(targets)
    return images / seconds, images / cpu_seconds


def spinml_trainer(data: ImageDataset, args: argparse.Namespace, out: Path, augment: bool
                   ) -> tuple[float, float]:
    """Images per wall and per CPU second of trainer:timm-classifier's training steps."""
    params = {"model": args.model, "image_size": args.size, "epochs": args.epochs,
              "batch_size": args.batch_size, "val_fraction": 0.0, "seed": 0}
    if not augment:
        params["augment"] = {"hflip": 0.0, "color_jitter": 0.0, "crop_scale": 1.0}
    artifact = TimmClassifier(**params).train([(data, 1.0)], out, StageContext(show_progress=False))
    train = artifact.metrics["train"]
    return train["images_per_s"], train["images_per_cpu_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="mobilenetv3_small_050")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_digits(Path(tmp) / "digits", args.images, args.size)
        runs: dict[str, list[tuple[float, float]]] = {
            "plain timm loop": [], "spinml, no augmentation": [],
            "spinml, light augmentation (default)": []}
        for r in range(args.repeats):
            runs["plain timm loop"].append(plain_loop(data, args))
            runs["spinml, no augmentation"].append(spinml_trainer(data, args, Path(tmp) / f"a{r}", False))
            runs["spinml, light augmentation (default)"].append(
                spinml_trainer(data, args, Path(tmp) / f"b{r}", True))
    print(f"{args.model}, {len(data)} images of {args.size} px, {args.epochs} epochs, batch "
          f"{args.batch_size}, {torch.get_num_threads()} torch threads, median of {args.repeats}")
    plain = runs["plain timm loop"]
    for name, values in runs.items():
        wall, cpu = (statistics.median(v[i] for v in values) for i in (0, 1))
        ratio = [statistics.median(v[i] / p[i] for v, p in zip(values, plain)) for i in (0, 1)]
        print(f"  {name:38s} {wall:7.1f} images/s ({ratio[0]:.3f} of plain), "
              f"{cpu:7.1f} images/CPU-s ({ratio[1]:.3f} of plain); "
              f"wall runs: {', '.join(f'{v[0]:.0f}' for v in values)}")


if __name__ == "__main__":
    main()
