"""Figures on real test data: accuracy and confusion matrix, and COCO box mAP."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["classification_metrics", "plot_confusion", "coco_map"]


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int],
                           labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class accuracy (recall of each label present in the test set) and the
    confusion matrix (rows: true label, columns: predicted, in the order of ``labels``)."""
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    total = int(cm.sum())
    per_class = {labels[i]: float(cm[i, i] / cm[i].sum()) for i in range(k) if cm[i].sum() > 0}
    return {"accuracy": float(np.trace(cm) / total) if total else 0.0,
            "per_class_accuracy": per_class,
            "confusion_matrix": {"labels": list(labels), "matrix": cm.tolist()}}


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path,
                   title: str = "confusion matrix (real test images)") -> Path:
    """Save the confusion matrix as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spinml.io import atomic_write

    cm = np.asarray(matrix)
    side = 1.6 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    try:
        im = ax.imshow(cm, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center",
                    color="white" if v > cm.max() / 2 else "black")
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        with atomic_write(path) as fh:
            fig.savefig(fh, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path


def coco_map(ground_truth: Sequence[Sequence[tuple[float, float, float, float, int]]],
             detections: Sequence[Sequence[tuple[float, float, float, float, int, float]]],
             sizes: Sequence[tuple[int, int]], num_classes: int) -> dict[str, float]:
    """COCO box mAP (pycocotools ``COCOeval``): mAP50-95, mAP50 and mAP75, each in [0, 1].

    ``ground_truth[i]`` are ``(x0, y0, x1, y1, class)`` of image ``i``; ``detections[i]``
    add a score; ``sizes[i]`` is ``(width, height)``. No detection at all scores 0.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = [{"id": i + 1, "width": w, "height": h} for i, (w, h) in enumerate(sizes)]
    anns = [{"id": n + 1, "image_id": i + 1, "category_id": c + 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
             "area": (x1 - x0) * (y1 - y0), "iscrowd": 0}
            for n, (i, (x0, y0, x1, y1, c)) in enumerate(
                (i, b) for i, boxes in enumerate(ground_truth) for b in boxes)]
    dets = [{"image_id": i + 1, "category_id": c + 1, "bbox": [x0, y0, x1 - x0, y1 - y0], "score": s}
            for i, boxes in enumerate(detections) for (x0, y0, x1, y1, c, s) in boxes]
    zero = {"mAP50-95": 0.0, "mAP50": 0.0, "mAP75": 0.0}
    if not anns or not dets:
        return zero
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [max(float(v), 0.0) for v in ev.stats[:3]]  # -1 means "no ground truth": report 0
    return dict(zip(zero, stats))
