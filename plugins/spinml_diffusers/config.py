"""Configuration models of the diffusers backends (cheap: pydantic only).

Defaults are the paper's: Stable Diffusion v1.4, 512 px, 50 steps, guidance 7.5.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from spinml.components import GeneratorConfig

__all__ = ["SCHEDULER_NAMES", "MODELS_DIR_ENV", "DiffusionConfig", "Text2ImgConfig",
           "Img2ImgConfig", "ControlNetConfig", "InpaintConfig"]

#: scheduler names accepted by ``scheduler`` (see ``spinml_diffusers.loading.SCHEDULERS``)
SCHEDULER_NAMES = ("ddim", "ddpm", "pndm", "lms", "heun", "euler", "euler-a", "dpm++", "unipc")
#: environment variable naming a folder of local model copies, ``$DIR/<hub id>/``
MODELS_DIR_ENV = "SPINML_MODELS_DIR"

Scheduler = Literal["ddim", "ddpm", "pndm", "lms", "heun", "euler", "euler-a", "dpm++", "unipc"]


class DiffusionConfig(GeneratorConfig):
    """Settings shared by every diffusers backend.

    ``model`` is a local directory written by ``save_pretrained`` or a hub id. A
    hub id is looked up in ``$SPINML_MODELS_DIR/<hub id>``, then in the Hugging
    Face cache (``HF_HOME``); it is downloaded only if ``allow_download`` is set.
    ``device``/``dtype`` default to CUDA with float16 when a GPU is present, else
    CPU with float32. ``scheduler`` (``None``: the model's own) is swapped in with
    ``Scheduler.from_config(pipe.scheduler.config)``. With ``compose="auto"`` a
    background shared at L2 keeps its own pixels and only the rest of the frame
    (the target's region and any padding) comes from the model.
    """

    model: str = "CompVis/stable-diffusion-v1-4"
    scheduler: Scheduler | None = None
    steps: int = Field(50, ge=1)
    guidance_scale: float = Field(7.5, ge=0)
    negative_prompt: str | None = None
    resolution: int = Field(512, ge=8, multiple_of=8)
    device: str | None = None
    dtype: Literal["float16", "bfloat16", "float32"] | None = None
    compose: Literal["auto", "off"] = "auto"
    allow_download: bool = False


class Text2ImgConfig(DiffusionConfig):
    """``sd-text2img``: the target from its label's prompt alone (L0).

    For detection, an object whose place no share tells is generated on a plain
    background (``isolate``, appended to the prompt) and boxed where the image
    differs from its border colour by more than ``box_threshold``.
    """

    isolate: str = ", isolated on a plain white background"
    box_threshold: int = Field(30, ge=0, le=254)


class Img2ImgConfig(DiffusionConfig):
    """``sd-img2img``: start from the shared L2 target segment; ``strength`` is how much to change."""

    strength: float = Field(0.75, gt=0, le=1)


class ControlNetConfig(DiffusionConfig):
    """``sd-controlnet``: a ControlNet conditioned on the shared L1 features (Canny by default).

    An L2 segment is turned into Canny edges (``canny_low``/``canny_high``) on the
    server; a background shared at L1 joins the conditioning image.
    """

    controlnet: str = "lllyasviel/sd-controlnet-canny"
    conditioning_scale: float = Field(1.0, ge=0)
    canny_low: int = Field(100, ge=0, le=255)
    canny_high: int = Field(200, ge=0, le=255)


class InpaintConfig(DiffusionConfig):
    """``sd-inpaint``: keep the shared L2 target's pixels and inpaint an L0 background around it."""

    model: str = "stable-diffusion-v1-5/stable-diffusion-inpainting"
