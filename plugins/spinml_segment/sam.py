"""Segment Anything (``segment-anything``), loaded from a local checkpoint file.

The published models (``vit_b``, ``vit_l``, ``vit_h``) are built by the library's own
``sam_model_registry``; ``custom`` builds the same modules with the dimensions of
:class:`~spinml_segment.config.SamArchitecture`. Both load the checkpoint through
:func:`load_sam`, the way ``segment_anything.build_sam`` does (``torch.load`` of a
state dict, then ``load_state_dict``).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segment_anything import SamAutomaticMaskGenerator, SamPredictor, sam_model_registry
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from spinml.components import Segmenter, StageContext
from spinml.errors import ConfigError, InputError, ModelNotFoundError
from spinml.private import Prompt, Reference

from .common import Box, best_match, clip_box, named_prompts
from .config import SAM_CHECKPOINT_ENV, SamArchitecture, SamConfig

__all__ = ["SamSegmenter", "build_sam", "load_sam", "resolve_device"]

_CHECKPOINTS = {"vit_b": "sam_vit_b_01ec64.pth", "vit_l": "sam_vit_l_0b3195.pth",
                "vit_h": "sam_vit_h_4b8939.pth"}


def resolve_device(device: str) -> torch.device:
    """``auto`` is CUDA if present, then Apple MPS, then CPU; anything else is passed to torch."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def build_sam(arch: SamArchitecture) -> Sam:
    """A randomly initialised SAM with the given dimensions (mirrors ``segment_anything``'s builder)."""
    embedding = arch.image_size // arch.patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=arch.encoder_depth, embed_dim=arch.encoder_embed_dim, img_size=arch.image_size,
            mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=arch.encoder_num_heads, patch_size=arch.patch_size, qkv_bias=True,
            use_rel_pos=True, global_attn_indexes=arch.encoder_global_attn_indexes,
            window_size=arch.window_size, out_chans=arch.prompt_embed_dim),
        prompt_encoder=PromptEncoder(
            embed_dim=arch.prompt_embed_dim, image_embedding_size=(embedding, embedding),
            input_image_size=(arch.image_size, arch.image_size), mask_in_chans=arch.mask_in_chans),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=arch.decoder_depth,
                                          embedding_dim=arch.prompt_embed_dim,
                                          mlp_dim=arch.decoder_mlp_dim,
                                          num_heads=arch.decoder_num_heads),
            transformer_dim=arch.prompt_embed_dim, iou_head_depth=arch.iou_head_depth,
            iou_head_hidden_dim=arch.iou_head_hidden_dim),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return sam.eval()


def checkpoint_path(config: SamConfig) -> Path:
    """The configured checkpoint file; a missing one is a :class:`ModelNotFoundError`."""
    raw = config.checkpoint or os.environ.get(SAM_CHECKPOINT_ENV)
    name = f"sam {config.model_type}"
    file = _CHECKPOINTS.get(config.model_type, "a state dict saved with torch.save")
    how = (f"download {file} from the segment-anything repository on a connected machine, "
           f"then pass checkpoint: PATH or set {SAM_CHECKPOINT_ENV}=PATH")
    if not raw:
        raise ModelNotFoundError(name, how=f"no checkpoint is configured; {how}")
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(name, how=f"checkpoint {path} does not exist; {how}")
    return path


def load_sam(config: SamConfig) -> Sam:
    """Build the configured SAM and load its checkpoint onto the configured device."""
    path = checkpoint_path(config)
    device = resolve_device(config.device)
    if config.model_type == "custom":
        assert config.architecture is not None  # guaranteed by SamConfig
        sam = build_sam(config.architecture)
    else:
        sam = sam_model_registry[config.model_type]()
    try:
        with open(path, "rb") as fh:
            state = torch.load(fh, map_location=device, weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as exc:
        detail = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else ""
        raise ConfigError(f"{path} is not a PyTorch state dict ({type(exc).__name__}: {detail[:200]})",
                          location="checkpoint",
                          hint="SAM checkpoints are the .pth files of the segment-anything "
                               "repository") from None
    try:
        sam.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
        raise ConfigError(f"{path} does not fit SAM {config.model_type}: {detail[:300]}",
                          location="checkpoint",
                          hint="check model_type (and architecture for 'custom')") from None
    return sam.to(device).eval()


class SamSegmenter(Segmenter):
    """Segment Anything from box/point prompts, or its automatic masks (needs a checkpoint)."""

    Config = SamConfig
    config: SamConfig

    def __init__(self, config: SamConfig | Mapping[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._predictor: SamPredictor | None = None

    @property
    def predictor(self) -> SamPredictor:
        """The predictor of the loaded model (the checkpoint is read on first use)."""
        if self._predictor is None:
            self._predictor = SamPredictor(load_sam(self.config))
        return self._predictor

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        ctx.log(f"SAM {self.config.model_type} on {self.predictor.device}")  # loads it first:
        return super().run(inputs, out_dir, ctx)  # a missing checkpoint stops before any image

    def segment(self, image: np.ndarray, reference: Reference) -> dict[str, np.ndarray]:
        if self.config.mode == "auto":
            return self._segment_auto(image, reference)
        self.predictor.set_image(image)
        try:
            return {group: self._predict(image.shape, reference, group, prompt)
                    for group, prompt in named_prompts(reference)}
        finally:
            self.predictor.reset_image()

    def _predict(self, shape: tuple[int, ...], reference: Reference, group: str,
                 prompt: Prompt) -> np.ndarray:
        if prompt.box is None and not prompt.points:
            raise InputError(reference.path, f"sam needs a box or points for {group!r} (or "
                             "mode: auto); add them to its entry in annotations.json")
        box = clip_box(prompt.box, shape, reference, group) if prompt.box is not None else None
        masks, scores, _ = self.predictor.predict(
            point_coords=np.asarray(prompt.points, dtype=np.float32) if prompt.points else None,
            point_labels=np.asarray(prompt.point_labels) if prompt.points else None,
            box=np.asarray(box, dtype=np.float32) if box is not None else None,
            multimask_output=self.config.multimask)
        pick = int(np.argmax(scores if self.config.select == "score" else masks.sum(axis=(1, 2))))
        mask = np.asarray(masks[pick], dtype=bool)
        if not mask.any():
            raise InputError(reference.path, f"sam found no pixel of {group!r} at its prompt")
        return mask

    def _segment_auto(self, image: np.ndarray, reference: Reference) -> dict[str, np.ndarray]:
        generator = SamAutomaticMaskGenerator(
            self.predictor.model, points_per_side=self.config.points_per_side,
            pred_iou_thresh=self.config.pred_iou_thresh,
            stability_score_thresh=self.config.stability_score_thresh)
        limit = self.config.max_area_fraction * image.shape[0] * image.shape[1]
        found = [np.asarray(m["segmentation"], dtype=bool) for m in generator.generate(image)]
        candidates = [m for m in found if 0 < m.sum() <= limit]
        if not candidates:
            raise InputError(reference.path, f"sam found no object mask ({len(found)} masks, none "
                             f"covering between 1 pixel and {self.config.max_area_fraction:.0%} "
                             "of the image)")
        out = {}
        for group, prompt in named_prompts(reference):
            box: Box | None = (clip_box(prompt.box, image.shape, reference, group)
                               if prompt.box is not None else None)
            if group != "target" and box is None and not prompt.points:
                raise InputError(reference.path, "mode: auto needs a box or points to tell "
                                 f"which mask is {group!r}")
            out[group] = candidates[best_match(candidates, prompt, box)]
        return out
