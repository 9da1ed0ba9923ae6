"""Built-in SpinML plugin: specialized classifiers and detectors trained with timm.

Registers ``trainer:timm-classifier`` and ``trainer:timm-detector``. Importing this
package is cheap; torch and timm are imported when a trainer is created or when
:func:`load_model` / :func:`export_onnx` are first used.
"""

from __future__ import annotations

from typing import Any

import spinml

from .config import ClassifierConfig, DetectorConfig

__all__ = ["load_model", "export_onnx", "ClassifierConfig", "DetectorConfig"]

_LAZY = {"load_model": "spinml_timm.models", "export_onnx": "spinml_timm.export"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spinml_timm' has no attribute {name!r}")


@spinml.hookimpl
def spinml_register_trainers(register: Any) -> None:
    register("timm-classifier", "spinml_timm.classifier:TimmClassifier", config=ClassifierConfig,
             summary="any timm architecture as an image classifier; accuracy on real test data")
    register("timm-detector", "spinml_timm.detector:TimmDetector", config=DetectorConfig,
             summary="FCOS detector on a timm backbone with an FPN; COCO mAP on real test data")
