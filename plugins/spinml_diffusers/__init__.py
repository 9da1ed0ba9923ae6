"""Stable Diffusion backends (text-to-image, img2img, ControlNet, inpainting) via diffusers.

Importing this module is cheap; torch and diffusers are imported only when a
generator runs. Models load with ``from_pretrained`` from a local directory or a
hub id available offline; see ``docs/generation.md``.
"""

from __future__ import annotations

import spinml

from .config import ControlNetConfig, Img2ImgConfig, InpaintConfig, Text2ImgConfig

_BACKENDS = (
    ("sd-text2img", "Text2Img", Text2ImgConfig, "Stable Diffusion text-to-image from the label prompt (L0)"),
    ("sd-img2img", "Img2Img", Img2ImgConfig, "Stable Diffusion img2img from the shared L2 target segment"),
    ("sd-controlnet", "ControlNet", ControlNetConfig,
     "Stable Diffusion + ControlNet conditioned on the shared L1 features (Canny)"),
    ("sd-inpaint", "Inpaint", InpaintConfig,
     "keep the shared L2 target, inpaint an L0 background around it"),
)


@spinml.hookimpl
def spinml_register_generators(register: spinml.hookspecs.Register) -> None:
    for name, cls, config, summary in _BACKENDS:
        register(name, f"spinml_diffusers.backends:{cls}", config=config, summary=summary,
                 weights=True)
