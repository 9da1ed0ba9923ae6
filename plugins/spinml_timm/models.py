"""Creating timm models (random, local or cached ImageNet weights), saving and rebuilding them.

A trained model directory holds ``model.safetensors`` (the state dict), ``model.json``
(everything :func:`load_model` needs to rebuild the network, plus the trainer config)
and ``metrics.json``. ``model.json`` is written last, so a directory that has one is
complete.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from spinml.errors import ConfigError, InputError, ModelNotFoundError
from spinml.io import atomic_write, read_json, write_json

__all__ = ["FORMAT", "create_timm_model", "resolve_pretrained_file", "normalization",
           "write_model_dir", "load_model", "build_from_meta"]

FORMAT = "spinml-timm/1"
#: files timm looks for in a Hugging Face repo when the pretrained config names none
_HUB_FILES = ("model.safetensors", "pytorch_model.bin")


def resolve_pretrained_file(model: str, pretrained_path: str | None, download: bool) -> str | None:
    """The local weights file to load, or ``None`` when timm should download them itself.

    Order: ``pretrained_path``; else the file of the model's Hugging Face repo in the
    local hub cache; else (``download``) let timm fetch it. Anything else is a clear
    :class:`ModelNotFoundError`, raised at once rather than after network retries.
    """
    if pretrained_path is not None:
        path = Path(pretrained_path).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"{model} weights {path}",
                                     how="pretrained_path must be an existing .safetensors/.pth file")
        return str(path)
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(model)
    if cfg is None or not cfg.hf_hub_id:
        raise ModelNotFoundError(model, how="timm knows no pretrained weights for it; give a local "
                                 "state dict as pretrained_path, or set pretrained: false")
    from huggingface_hub import try_to_load_from_cache

    for name in ((cfg.hf_hub_filename,) if cfg.hf_hub_filename else _HUB_FILES):
        cached = try_to_load_from_cache(cfg.hf_hub_id, name)
        if isinstance(cached, str):
            return cached
    if download:
        return None
    raise ModelNotFoundError(cfg.hf_hub_id, how="not in the local Hugging Face cache; give the "
                             "weights file as pretrained_path (e.g. a downloaded model.safetensors), "
                             "or set download: true where the hub is reachable")


def create_timm_model(model: str, *, pretrained: bool = False, pretrained_path: str | None = None,
                      download: bool = False, **kwargs: Any) -> nn.Module:
    """``timm.create_model`` with SpinML's weight resolution and clear errors.

    Local weights go through timm's own loader (``pretrained_cfg_overlay=dict(file=...)``),
    which adapts the first conv and drops a classifier of a different size.
    """
    import timm

    if not timm.is_model(model.partition(".")[0]):
        close = difflib.get_close_matches(model, timm.list_models(), n=3)
        raise ConfigError(f"unknown timm model {model!r}" +
                          (f"; did you mean {' or '.join(map(repr, close))}?" if close else ""),
                          location="model", hint="see timm.list_models()")
    if not (pretrained or pretrained_path):
        return timm.create_model(model, pretrained=False, **kwargs)
    file = resolve_pretrained_file(model, pretrained_path, download)
    overlay = {"pretrained_cfg_overlay": {"file": file}} if file else {}
    try:
        return timm.create_model(model, pretrained=True, **overlay, **kwargs)
    except (OSError, RuntimeError) as exc:  # hub unreachable, or a file of another model
        if file is None:
            raise ModelNotFoundError(model, how=f"download failed ({type(exc).__name__}); give "
                                     "pretrained_path") from exc
        raise InputError(file, f"cannot be loaded as {model} weights: {exc}") from exc


def normalization(model: str) -> tuple[list[float], list[float]]:
    """Mean and std the architecture's pretrained weights expect (ImageNet's if unknown)."""
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(model)
    mean = cfg.mean if cfg is not None else IMAGENET_DEFAULT_MEAN
    std = cfg.std if cfg is not None else IMAGENET_DEFAULT_STD
    return [float(v) for v in mean], [float(v) for v in std]


def write_model_dir(out_dir: Path, model: nn.Module, meta: Mapping[str, Any],
                    metrics: Mapping[str, Any]) -> None:
    """Write weights, metrics, then ``model.json`` (last: it marks the directory complete)."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_write(out_dir / "model.safetensors") as fh:
        fh.write(save(state, metadata={"format": FORMAT}))
    write_json(out_dir / "metrics.json", metrics)
    write_json(out_dir / "model.json", {"format": FORMAT, **meta})


def build_from_meta(meta: Mapping[str, Any]) -> nn.Module:
    """A randomly initialised network of the architecture described by ``model.json``."""
    if meta.get("task") == "detection":
        from .detector import build_detector

        return build_detector(meta)
    return create_timm_model(meta["architecture"], num_classes=meta["num_classes"])


def load_model(model_dir: str | Path, map_location: str = "cpu") -> nn.Module:
    """Rebuild a trained model from its directory, in eval mode.

    ``ModelArtifact(model_dir).config`` holds its labels, input size and normalization.
    """
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    meta_path = model_dir / "model.json"
    if not meta_path.is_file():
        raise InputError(model_dir, "not a model directory (no model.json)")
    meta = read_json(meta_path)
    if meta.get("format") != FORMAT:
        raise InputError(meta_path, f"format {meta.get('format')!r} is not {FORMAT!r}")
    model = build_from_meta(meta)
    model.load_state_dict(load_file(model_dir / "model.safetensors", device=map_location))
    return model.eval()
