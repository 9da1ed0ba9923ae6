"""trainer:timm-detector: FCOS on a timm backbone learns bright squares on a dark background."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spinml_timm import export_onnx, load_model
from spinml_timm.data import load_images
from spinml_timm.detector import detect

from spinml.datasets import DatasetWriter, ImageDataset
from spinml.pipeline import Pipeline, Stage
from spinml.testing import fresh_plugin_manager

LABELS = ("bright", "grey")


def squares(path, n: int, seed: int, size: int = 64) -> ImageDataset:
    """Noisy dark images, each with one square: near-white (``bright``) or mid-grey (``grey``)."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(path, "detection", LABELS)
    for i in range(n):
        label = LABELS[i % 2]
        image = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
        side = int(rng.integers(14, 26))
        x, y = (int(v) for v in rng.integers(0, size - side, 2))
        image[y:y + side, x:x + side] = 235 if label == "bright" else 130
        writer.add(f"{label}/{i:04d}", image, label=label, boxes=[(x, y, x + side, y + side, label)])
    return writer.finalize()


PARAMS = {"epochs": 6, "batch_size": 16, "lr": 3e-3, "fpn_channels": 32, "num_threads": 1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("squares")
    train, test = squares(root / "synthetic", 64, seed=0), squares(root / "real", 24, seed=1)
    stage = Stage(name="train", use="trainer:timm-detector", params=PARAMS)
    artifacts = Pipeline(stages=(stage,)).run(root / "run", {"synthetic": train.path, "test": test.path},
                                              pm=fresh_plugin_manager(), progress=False)
    return {"model": artifacts["model"], "test": test}


def test_detector_writes_model_and_coco_metrics(trained):
    model = trained["model"]
    assert {"model.safetensors", "model.json", "metrics.json"} <= {p.name for p in model.path.iterdir()}
    meta = model.config
    assert meta["task"] == "detection" and meta["labels"] == list(LABELS)
    assert meta["detector"] == {"head": "fcos", "out_indices": [1, 2, 3], "fpn_channels": 32,
                                "head_convs": 2, "score_threshold": 0.05, "detections_per_image": 100}
    test = model.metrics["test"]
    assert test["images"] == 24 and test["boxes"] == 24
    for key in ("mAP50-95", "mAP50", "mAP75"):
        assert 0.0 <= test[key] <= 1.0
    assert test["mAP50"] >= test["mAP75"] >= 0
    assert test["mAP50"] > 0.3, test  # an easy task: it must clearly beat zero
    assert {k: model.metrics[k] for k in ("mAP50-95", "mAP50", "mAP75")} == {
        k: test[k] for k in ("mAP50-95", "mAP50", "mAP75")}
    assert 0.0 <= model.metrics["val_mAP50-95"] <= 1.0


def test_load_model_reproduces_the_detections(trained):
    from spinml_timm.evaluation import coco_map

    model = load_model(trained["model"].path)
    test = load_images(trained["test"].records, 64)
    found = detect(model, test.pixels, 8, torch.device("cpu"))
    gt = [[(*b[:4], LABELS.index(b[4])) for b in r.boxes] for r in test.records]
    again = coco_map(gt, found, test.sizes, len(LABELS))
    assert again["mAP50"] == pytest.approx(trained["model"].metrics["test"]["mAP50"])


def test_onnx_export_of_a_detector_matches_onnx_runtime(trained, tmp_path):
    import onnxruntime as ort

    result = export_onnx(trained["model"].path, tmp_path / "det.onnx")
    assert result.outputs == ("boxes", "scores", "labels")
    assert result.max_abs_diff <= 1e-4 * max(1.0, result.scale)
    # on a real test image, ONNX Runtime finds the same boxes as PyTorch
    image = load_images(trained["test"].records[:1], 64).pixels[0].float() / 255
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    boxes, scores, labels = session.run(None, {"image": image.numpy()})
    with torch.no_grad():
        expected = load_model(trained["model"].path)([image])[0]
    best = int(expected["scores"].argmax())
    assert labels[0] == int(expected["labels"][best])  # ONNX Runtime's are sorted by score
    assert np.abs(boxes[0] - expected["boxes"][best].numpy()).max() < 1e-3
    assert abs(scores[0] - float(expected["scores"][best])) < 1e-4


def test_coco_map_of_perfect_and_empty_detections():
    from spinml_timm.evaluation import coco_map

    gt = [[(10, 10, 30, 30, 0)], [(5, 5, 20, 25, 1)]]
    perfect = [[(10, 10, 30, 30, 0, 0.9)], [(5, 5, 20, 25, 1, 0.8)]]
    assert coco_map(gt, perfect, [(64, 64)] * 2, 2) == pytest.approx(
        {"mAP50-95": 1.0, "mAP50": 1.0, "mAP75": 1.0})
    assert coco_map(gt, [[], []], [(64, 64)] * 2, 2) == {"mAP50-95": 0.0, "mAP50": 0.0, "mAP75": 0.0}
    shifted = [[(14, 10, 34, 30, 0, 0.9)], [(5, 5, 20, 25, 0, 0.8)]]  # IoU 0.67; wrong class
    result = coco_map(gt, shifted, [(64, 64)] * 2, 2)
    assert result["mAP50"] == pytest.approx(0.5) and result["mAP75"] == 0.0
