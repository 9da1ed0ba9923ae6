"""Loading diffusers pipelines exactly as diffusers does, offline, with one clear error.

A model is a local directory written by ``save_pretrained`` or a hub id. Nothing
is downloaded unless asked for: hub ids are resolved from
``$SPINML_MODELS_DIR/<hub id>`` or from the Hugging Face cache with
``local_files_only=True``, so a missing model fails at once with
:class:`~spinml.errors.ModelNotFoundError` instead of hanging on the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from spinml.errors import InputError, ModelNotFoundError

from .config import MODELS_DIR_ENV, DiffusionConfig

__all__ = ["SCHEDULERS", "resolve_model", "load_model", "device_and_dtype", "set_scheduler"]


def _schedulers() -> dict[str, Any]:
    import diffusers as d

    return {"ddim": d.DDIMScheduler, "ddpm": d.DDPMScheduler, "pndm": d.PNDMScheduler,
            "lms": d.LMSDiscreteScheduler, "heun": d.HeunDiscreteScheduler,
            "euler": d.EulerDiscreteScheduler, "euler-a": d.EulerAncestralDiscreteScheduler,
            "dpm++": d.DPMSolverMultistepScheduler, "unipc": d.UniPCMultistepScheduler}


#: scheduler name -> diffusers scheduler class
SCHEDULERS: dict[str, Any] = _schedulers()


def _dtype_keyword() -> str:
    """diffusers renamed ``torch_dtype`` to ``dtype`` (huggingface/diffusers#14205); older
    releases know only ``torch_dtype``."""
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def resolve_model(model: str) -> str:
    """A local directory if ``model`` is one (or is found under ``$SPINML_MODELS_DIR``), else the hub id."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    root = os.environ.get(MODELS_DIR_ENV)
    if root and (Path(root) / model).is_dir():
        return str(Path(root) / model)
    return model


def _how(model: str) -> str:
    return (f"download it on a connected machine (huggingface-cli download {model} --local-dir "
            f"DIR), then pass model=DIR, put it at ${MODELS_DIR_ENV}/{model}, or point HF_HOME "
            "at a cache that holds it; allow_download=true lets SpinML download it")


def load_model(cls: Any, model: str, *, allow_download: bool, torch_dtype: torch.dtype,
               **kwargs: Any) -> Any:
    """``cls.from_pretrained(model, ...)`` offline; a missing model is a :class:`ModelNotFoundError`."""
    from huggingface_hub.errors import HFValidationError

    where = resolve_model(model)
    local = Path(where).is_dir()
    try:
        return cls.from_pretrained(where, local_files_only=local or not allow_download,
                                   **{_dtype_keyword(): torch_dtype}, **kwargs)
    except (OSError, HFValidationError, ValueError) as exc:
        if local:
            raise InputError(where, f"not a diffusers {cls.__name__} directory: {exc}") from None
        if isinstance(exc, ValueError) and not isinstance(exc, HFValidationError) \
                and "valid repo id" not in str(exc):
            raise
        raise ModelNotFoundError(model, how=_how(model)) from None


def device_and_dtype(config: DiffusionConfig) -> tuple[torch.device, torch.dtype]:
    """CUDA + float16 when a GPU is present, else CPU + float32; ``device``/``dtype`` override."""
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if config.dtype is not None:
        return device, getattr(torch, config.dtype)
    return device, torch.float16 if device.type == "cuda" else torch.float32


def set_scheduler(pipe: Any, name: str | None) -> None:
    """Swap ``pipe.scheduler`` for the scheduler called ``name``, keeping its configuration."""
    if name is not None:
        pipe.scheduler = SCHEDULERS[name].from_config(pipe.scheduler.config)
