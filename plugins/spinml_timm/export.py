"""ONNX export of a trained model directory, checked against ONNX Runtime."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spinml.errors import SpinMLError
from spinml.io import atomic_write, read_json

from .models import load_model

__all__ = ["export_onnx", "OnnxExport"]

#: opset of the TorchScript-based exporter (the torch.export-based one needs onnxscript)
OPSET = 17


@dataclass(frozen=True)
class OnnxExport:
    """Where the model went and how closely ONNX Runtime reproduces PyTorch on a check input."""

    path: Path
    outputs: tuple[str, ...]
    max_abs_diff: float      #: largest |ONNX Runtime - PyTorch| over the float outputs
    scale: float             #: largest |PyTorch output|, the scale the difference is judged by
    tolerance: float


def export_onnx(model_dir: str | Path, out_path: str | Path, *, tolerance: float = 1e-4,
                check_batch: int = 2, seed: int = 0, min_score: float = 0.1) -> OnnxExport:
    """Export a trained model to ONNX, then check it with ONNX Runtime.

    - classifier: input ``images`` (float ``N x 3 x S x S``, normalized with ``mean``/``std``
      of ``model.json``; dynamic batch), output ``logits``;
    - detector: input ``image`` (one float ``3 x S x S`` image in [0, 1]; the model
      normalizes it), outputs ``boxes`` (``K x 4``, pixels of the S x S input), ``scores``
      and ``labels``.

    A seeded input of random pixels goes through PyTorch and ONNX Runtime. Classifier
    logits must agree within ``tolerance * max(1, largest |logit|)`` (float32 rounding
    grows with the scale). Detections are compared as sets (their order among near-equal
    scores is not stable): every detection scoring at least ``min_score`` on either side
    must have one of the same label on the other side whose box and score agree within
    the same tolerance. Otherwise :class:`SpinMLError`.

    Uses the TorchScript-based exporter (``dynamo=False``): the ``torch.export``-based one
    needs the ``onnxscript`` package. Its tracer warnings are silenced: the comparison
    with ONNX Runtime is the check.
    """
    import onnxruntime as ort

    model_dir, out_path = Path(model_dir), Path(out_path)
    meta = read_json(model_dir / "model.json")
    model = load_model(model_dir)
    gen = torch.Generator().manual_seed(seed)
    if meta.get("task") == "detection":
        x = torch.rand(tuple(meta["input_size"]), generator=gen)
        args: tuple[Any, ...] = ([x],)
        # torchvision's detectors return dict(boxes=..., scores=..., labels=...), in this order
        inputs, outputs, dynamic = ["image"], ["boxes", "scores", "labels"], None
    else:
        mean, std = (torch.tensor(meta[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
        x = (torch.rand((check_batch, *meta["input_size"]), generator=gen) - mean) / std
        args = (x,)
        inputs, outputs = ["images"], ["logits"]
        dynamic = {"images": {0: "batch"}, "logits": {0: "batch"}}
    with atomic_write(out_path) as fh, warnings.catch_warnings():
        for category in (DeprecationWarning, UserWarning, torch.jit.TracerWarning):
            warnings.simplefilter("ignore", category)
        torch.onnx.export(model, args, fh, dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic)
    with torch.no_grad():
        result = model(*args)
    expected = ([result[0][k] for k in outputs] if isinstance(result, list) else [result])
    session = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    got = session.run(outputs, {inputs[0]: x.numpy()})
    expected_np = [e.numpy() for e in expected]
    if meta.get("task") == "detection":
        diff, scale = _match_detections(out_path, expected_np, got, min_score)
    else:
        diff, scale = _compare(out_path, outputs, expected_np, got)
    if not diff <= tolerance * max(1.0, scale):
        raise SpinMLError(f"{out_path}: ONNX Runtime outputs differ from PyTorch's by {diff:.3g} "
                          f"(largest output {scale:.3g}, tolerance {tolerance:g} relative)")
    return OnnxExport(out_path, tuple(outputs), diff, scale, tolerance)


def _compare(path: Path, names: list[str], expected: list[np.ndarray], got: list[np.ndarray]
             ) -> tuple[float, float]:
    """Largest absolute difference and largest magnitude over same-shaped outputs."""
    diff = scale = 0.0
    for name, e, g in zip(names, expected, got):
        if e.shape != g.shape:
            raise SpinMLError(f"{path}: ONNX Runtime gives {name} of shape {g.shape}, "
                              f"PyTorch {e.shape}")
        if e.size:
            diff = max(diff, float(np.abs(g - e).max()))
            scale = max(scale, float(np.abs(e).max()))
    return diff, scale


def _match_detections(path: Path, expected: list[np.ndarray], got: list[np.ndarray],
                      min_score: float) -> tuple[float, float]:
    """Two-way match of (boxes, scores, labels): the largest box/score difference of the
    closest same-label detection, over detections scoring at least ``min_score``."""
    diff = scale = 0.0
    for (boxes, scores, labels), (o_boxes, o_scores, o_labels), side in (
            (expected, got, "PyTorch"), (got, expected, "ONNX Runtime")):
        for box, label, score in zip(boxes, labels, scores):
            if score < min_score:
                continue
            same = o_labels == label
            if not same.any():
                raise SpinMLError(f"{path}: a {side} detection of class {label} (score {score:.3f}) "
                                  "has no counterpart")
            gaps = np.maximum(np.abs(o_boxes[same] - box).max(1), np.abs(o_scores[same] - score))
            diff = max(diff, float(gaps.min()))
            scale = max(scale, float(np.abs(box).max()))
    return diff, scale
