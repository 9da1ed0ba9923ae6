"""ONNX export of a trained model directory, checked against ONNX Runtime."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from spinml.errors import SpinMLError
from spinml.io import atomic_write, read_json

from .models import load_model

__all__ = ["export_onnx", "OnnxExport"]

#: TorchScript-based exporter opset; the torch.export-based one needs onnxscript
OPSET = 17


@dataclass(frozen=True)
class OnnxExport:
    """Where the model went and how closely ONNX Runtime reproduces PyTorch on a check batch."""

    path: Path
    max_abs_diff: float      #: largest |ONNX Runtime - PyTorch| over the check batch's logits
    max_abs_logit: float     #: largest |PyTorch logit|, the scale the difference is judged against
    tolerance: float


def export_onnx(model_dir: str | Path, out_path: str | Path, *, tolerance: float = 1e-4,
                check_batch: int = 2, seed: int = 0) -> OnnxExport:
    """Export a trained classifier to ONNX (input ``images``: float ``N x 3 x S x S``,
    already normalized with ``mean``/``std`` of ``model.json``; output ``logits``), then run
    a seeded random batch through PyTorch and ONNX Runtime and compare.

    Raises :class:`SpinMLError` if the largest absolute difference exceeds ``tolerance``.
    Uses the TorchScript-based exporter (``dynamo=False``): the ``torch.export``-based one
    needs the ``onnxscript`` package.
    """
    import onnxruntime as ort

    model_dir, out_path = Path(model_dir), Path(out_path)
    meta = read_json(model_dir / "model.json")
    if meta.get("task") != "classification":
        raise SpinMLError(f"{model_dir}: ONNX export supports classifiers; this model is a "
                          f"{meta.get('task')} model",
                          hint="deploy detectors from model.safetensors with load_model()")
    model = load_model(model_dir)
    pixels = torch.rand((check_batch, *meta["input_size"]), generator=torch.Generator().manual_seed(seed))
    x = (pixels - torch.tensor(meta["mean"]).view(1, 3, 1, 1)) / torch.tensor(meta["std"]).view(1, 3, 1, 1)
    with atomic_write(out_path) as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces itself
        torch.onnx.export(model, (x,), fh, dynamo=False, opset_version=OPSET,
                          input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"images": x.numpy()})[0]
    diff, scale = float(np.abs(got - expected).max()), float(np.abs(expected).max())
    if not diff <= tolerance * max(1.0, scale):
        raise SpinMLError(f"{out_path}: ONNX Runtime logits differ from PyTorch's by {diff:.3g} "
                          f"(largest logit {scale:.3g}, tolerance {tolerance:g} relative)")
    return OnnxExport(out_path, diff, scale, tolerance)
