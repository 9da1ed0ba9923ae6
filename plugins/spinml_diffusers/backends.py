"""The diffusers generators: ``sd-text2img``, ``sd-img2img``, ``sd-controlnet``, ``sd-inpaint``.

All four share one loop (:meth:`DiffusionGenerator.generate`): plan the images,
skip finished ones, and call the pipeline in batches of ``batch_size`` with one
``torch.Generator`` per image seeded from (config seed, label, index), so any
image can be regenerated alone. Each backend only says what the pipeline is
given per image (:meth:`~DiffusionGenerator.inputs`) and where the target is in
the result (:meth:`~DiffusionGenerator.target_region`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from spinml_synth.plan import Job, batched, pending, plan
from spinml_synth.render import mask_box

from spinml.components import Generator, StageContext
from spinml.datasets import DatasetWriter
from spinml.errors import ConfigError, PayloadError
from spinml.payload import Payload

from .config import ControlNetConfig, DiffusionConfig, Img2ImgConfig, InpaintConfig, Text2ImgConfig
from .frames import Frame, Frames, canny
from .loading import device_and_dtype, load_model, set_scheduler

__all__ = ["DiffusionGenerator", "Text2Img", "Img2Img", "ControlNet", "Inpaint", "to_uint8"]

GREY = 127


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Pipeline output (``output_type="np"``, floats in [0, 1]) as uint8, rounded like diffusers."""
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


class DiffusionGenerator(Generator):
    """Base of the Stable Diffusion backends (one diffusers pipeline class each)."""

    Config: ClassVar[type[DiffusionConfig]] = DiffusionConfig
    config: DiffusionConfig
    #: registry name, recorded as the image's ``generator``
    name: ClassVar[str]
    #: the diffusers pipeline class
    pipeline_class: ClassVar[str]
    #: the least level at which the target must be shared
    needs_target: ClassVar[int] = 0
    #: whether the backend conditions on a shared background besides composing with it
    uses_background: ClassVar[bool] = False

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._pipe: Any = None

    # -- the pipeline ---------------------------------------------------------------------

    @property
    def pipe(self) -> Any:
        """The diffusers pipeline, loaded on first use, on its device, scheduler swapped."""
        if self._pipe is None:
            device, dtype = device_and_dtype(self.config)
            pipe = self.load(dtype)
            set_scheduler(pipe, self.config.scheduler)
            pipe.set_progress_bar_config(disable=True)
            self._pipe = pipe.to(device)
        return self._pipe

    def load(self, dtype: Any) -> Any:
        """Load the pipeline with ``from_pretrained`` (offline unless ``allow_download``)."""
        import diffusers

        return load_model(getattr(diffusers, self.pipeline_class), self.config.model,
                          allow_download=self.config.allow_download, torch_dtype=dtype,
                          safety_checker=None, requires_safety_checker=False)

    def call_options(self) -> dict[str, Any]:
        """Keyword arguments of every pipeline call besides the per-image ones."""
        cfg = self.config
        return {"num_inference_steps": cfg.steps, "guidance_scale": cfg.guidance_scale,
                "height": cfg.resolution, "width": cfg.resolution}

    # -- what each backend decides ----------------------------------------------------------

    def inputs(self, frame: Frame) -> dict[str, Any]:
        """Per-image pipeline inputs (e.g. ``image``) as PIL images; none for text-to-image."""
        return {}

    def prompt(self, payload: Payload, job: Job, frame: Frame) -> str:
        return payload.request.prompt_for(job.label)

    def target_region(self, frame: Frame, image: np.ndarray) -> tuple[np.ndarray | None, str]:
        """Where the target is in the generated ``image``, and how that is known."""
        return frame.target_mask, "segment" if frame.target_level >= 2 else "edges"

    def finish(self, frame: Frame, image: np.ndarray) -> tuple[np.ndarray, bool]:
        """Compose the generated image with what is kept of the shares; (image, composed)."""
        if self.config.compose == "auto" and frame.background_rgb is not None:
            assert frame.background_valid is not None
            return np.where(frame.background_valid[..., None], frame.background_rgb, image), True
        return image, False

    def provenance(self) -> dict[str, Any]:
        """Backend-specific provenance fields."""
        return {}

    # -- the shared loop ------------------------------------------------------------------

    def check(self, payload: Payload) -> None:
        """Refuse, before loading any model, a payload that does not share what this backend needs."""
        level = int(payload.level_of("target"))
        if level >= self.needs_target > 0 and not payload.select(group="target"):
            raise PayloadError(f"{payload.path}: the policy shares the target at L{level} "
                               "but the payload holds no target items")
        if level < self.needs_target:
            raise ConfigError(
                f"{self.name} needs the target shared at L{self.needs_target} or more, but the "
                f"payload shares it at L{level} (policy {payload.policy.shorthand})",
                hint="sd-text2img works at L0, sd-controlnet from L1, sd-img2img and sd-inpaint at L2")

    def generate(self, payload: Payload, writer: DatasetWriter, ctx: StageContext) -> None:
        self.check(payload)
        cfg = self.config
        jobs = pending(plan(payload.request.labels, cfg.images_per_label, cfg.seed), writer)
        if not jobs:
            return
        frames = Frames(payload, cfg.resolution)
        settings = self.settings()
        batches = batched(jobs, cfg.batch_size)
        for batch in ctx.progress(batches, total=len(batches)):
            chosen = [frames.for_job(job) for job in batch]
            prompts = [self.prompt(payload, job, frame) for job, frame in zip(batch, chosen)]
            images = self.run_pipeline(prompts, [job.seed for job in batch],
                                       [self.inputs(frame) for frame in chosen])
            for job, frame, prompt, image in zip(batch, chosen, prompts, images):
                self.write(writer, payload, job, frame, prompt, image, settings)

    def run_pipeline(self, prompts: list[str], seeds: list[int],
                     inputs: list[dict[str, Any]]) -> np.ndarray:
        """One batched pipeline call with one seeded ``torch.Generator`` per image; uint8 images."""
        import torch

        options = self.call_options()
        for key in inputs[0] if inputs else ():
            options[key] = [i[key] for i in inputs]
        negative = self.config.negative_prompt
        if negative is not None:
            options["negative_prompt"] = [negative] * len(prompts)
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        with torch.inference_mode():
            out = self.pipe(prompt=prompts, generator=generators, output_type="np", **options)
        return to_uint8(out.images)

    def write(self, writer: DatasetWriter, payload: Payload, job: Job, frame: Frame, prompt: str,
              generated: np.ndarray, settings: dict[str, Any]) -> None:
        """Finish one generated image and store it with its box and provenance."""
        image, composed = self.finish(frame, generated)
        region, box_source = self.target_region(frame, generated)
        box = mask_box(region) if region is not None else None
        if box is None:
            box, box_source = (0, 0, image.shape[1], image.shape[0]), "frame"
        boxes = [(*map(float, box), job.label)] if payload.request.task == "detection" else []
        background = frame.background_level if composed or self.uses_background else 0
        writer.add(job.id, image, label=job.label, boxes=boxes, prompt=prompt, seed=job.seed,
                   target_level=self.used_target_level(frame), background_level=background,
                   source_reference=frame.reference, box_source=box_source, composed=composed,
                   **settings)

    def settings(self) -> dict[str, Any]:
        """Provenance shared by every image: backend, model, scheduler, sampling, device."""
        cfg = self.config
        return {"generator": self.name, "model": cfg.model,
                "scheduler": type(self.pipe.scheduler).__name__,
                "negative_prompt": cfg.negative_prompt, "steps": cfg.steps,
                "guidance_scale": cfg.guidance_scale, "device": str(self.pipe.device),
                "dtype": str(self.pipe.dtype).removeprefix("torch."), **self.provenance()}

    def used_target_level(self, frame: Frame) -> int:
        """The level of the target share this image was made from."""
        return frame.target_level


class Text2Img(DiffusionGenerator):
    """Text-to-image from the label's prompt alone: the L0 target.

    With a background shared at L2 (``compose="auto"``), the background keeps its
    pixels and the target's box is its hole; otherwise, for detection, the object
    is drawn on a plain background and boxed where the image departs from it.
    """

    Config = Text2ImgConfig
    config: Text2ImgConfig
    name = "sd-text2img"
    pipeline_class = "StableDiffusionPipeline"

    def _hole(self, frame: Frame) -> np.ndarray | None:
        return frame.hole() if self.config.compose == "auto" else None

    def prompt(self, payload: Payload, job: Job, frame: Frame) -> str:
        prompt = payload.request.prompt_for(job.label)
        if payload.request.task == "detection" and self._hole(frame) is None:
            prompt += self.config.isolate
        return prompt

    def target_region(self, frame: Frame, image: np.ndarray) -> tuple[np.ndarray | None, str]:
        hole = self._hole(frame)
        if hole is not None:
            return hole, "hole"
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        ground = np.median(border, axis=0).astype(np.int16)
        differs = np.abs(image.astype(np.int16) - ground).max(axis=2) > self.config.box_threshold
        return differs, "threshold"

    def used_target_level(self, frame: Frame) -> int:
        return 0


class Img2Img(DiffusionGenerator):
    """img2img from the shared L2 target segment (over the shared L2 background, else grey)."""

    Config = Img2ImgConfig
    config: Img2ImgConfig
    name = "sd-img2img"
    pipeline_class = "StableDiffusionImg2ImgPipeline"
    needs_target = 2

    def call_options(self) -> dict[str, Any]:
        cfg = self.config  # the init image fixes the size
        return {"num_inference_steps": cfg.steps, "guidance_scale": cfg.guidance_scale,
                "strength": cfg.strength}

    def inputs(self, frame: Frame) -> dict[str, Any]:
        return {"image": _pil(_over_ground(frame, self.config.compose == "auto"))}

    def provenance(self) -> dict[str, Any]:
        return {"strength": self.config.strength}


class ControlNet(DiffusionGenerator):
    """ControlNet conditioned on the shared features: L1 edge maps as shared, L2 segments as
    Canny edges, target and background together."""

    Config = ControlNetConfig
    config: ControlNetConfig
    name = "sd-controlnet"
    pipeline_class = "StableDiffusionControlNetPipeline"
    needs_target = 1
    uses_background = True

    def load(self, dtype: Any) -> Any:
        import diffusers

        cfg = self.config
        controlnet = load_model(diffusers.ControlNetModel, cfg.controlnet,
                                allow_download=cfg.allow_download, torch_dtype=dtype)
        return load_model(diffusers.StableDiffusionControlNetPipeline, cfg.model,
                          allow_download=cfg.allow_download, torch_dtype=dtype,
                          controlnet=controlnet, safety_checker=None,
                          requires_safety_checker=False)

    def call_options(self) -> dict[str, Any]:
        return {**super().call_options(),
                "controlnet_conditioning_scale": self.config.conditioning_scale}

    def control_image(self, frame: Frame) -> np.ndarray:
        """The conditioning image: every shared feature of the frame, white edges on black."""
        cfg = self.config
        edges = np.zeros(frame.frame.shape, np.uint8)
        for feature, pixels in ((frame.target_edges, frame.target_rgb),
                                (frame.background_edges, frame.background_rgb)):
            if feature is None and pixels is not None:
                feature = canny(pixels, cfg.canny_low, cfg.canny_high)
            if feature is not None:
                edges = np.maximum(edges, feature)
        return np.repeat(edges[..., None], 3, axis=2)

    def inputs(self, frame: Frame) -> dict[str, Any]:
        return {"image": _pil(self.control_image(frame))}

    def provenance(self) -> dict[str, Any]:
        cfg = self.config
        return {"controlnet": cfg.controlnet, "conditioning_scale": cfg.conditioning_scale}


class Inpaint(DiffusionGenerator):
    """Keep the shared L2 target's pixels exactly and inpaint the rest of the frame."""

    Config = InpaintConfig
    config: InpaintConfig
    name = "sd-inpaint"
    pipeline_class = "StableDiffusionInpaintPipeline"
    needs_target = 2

    def _keep(self, frame: Frame) -> np.ndarray:
        assert frame.target_mask is not None
        keep = frame.target_mask.copy()
        if self.config.compose == "auto" and frame.background_valid is not None:
            keep |= frame.background_valid
        return keep

    def inputs(self, frame: Frame) -> dict[str, Any]:
        repaint = np.where(self._keep(frame), 0, 255).astype(np.uint8)
        return {"image": _pil(_over_ground(frame, self.config.compose == "auto")),
                "mask_image": _pil(repaint)}

    def finish(self, frame: Frame, image: np.ndarray) -> tuple[np.ndarray, bool]:
        image, composed = super().finish(frame, image)
        assert frame.target_mask is not None and frame.target_rgb is not None
        return np.where(frame.target_mask[..., None], frame.target_rgb, image), composed


def _over_ground(frame: Frame, with_background: bool) -> np.ndarray:
    """The L2 target over the shared L2 background (if used), else over mid grey."""
    canvas = np.full((*frame.frame.shape, 3), GREY, np.uint8)
    if with_background and frame.background_rgb is not None:
        assert frame.background_valid is not None
        canvas[frame.background_valid] = frame.background_rgb[frame.background_valid]
    if frame.target_rgb is not None and frame.target_mask is not None:
        canvas[frame.target_mask] = frame.target_rgb[frame.target_mask]
    return canvas


def _pil(array: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(array)
