"""Image embedders for the similarity metric.

``hog``
    Weight-free: a HOG descriptor of the gray image (stroke and edge orientations, i.e.
    shape) concatenated with an RGB colour histogram (surface and ink colours), each half
    L2-normalised. It needs no download, so the demo and CI can read similarity figures.
``clip``
    CLIP image embeddings through transformers (``CLIPVisionModelWithProjection`` and
    ``CLIPImageProcessor``), loaded from a local ``save_pretrained`` directory or from a
    hub id already in the local Hugging Face cache; nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from spinml.components import Embedder
from spinml.errors import ModelNotFoundError

from .config import ClipConfig, HogConfig

__all__ = ["HogEmbedder", "ClipEmbedder", "normalize_rows"]


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class HogEmbedder(Embedder):
    """HOG of the gray image plus an RGB colour histogram; weight-free and deterministic."""

    Config = HogConfig

    @property
    def name(self) -> str:
        c = self.config
        return (f"hog{c.size}-o{c.orientations}-c{c.pixels_per_cell}-b{c.cells_per_block}"
                f"+rgb{c.colour_bins}")

    def _one(self, image: np.ndarray) -> np.ndarray:
        from PIL import Image
        from skimage.feature import hog

        c = self.config
        img = np.asarray(Image.fromarray(image).resize((c.size, c.size), Image.Resampling.BILINEAR))
        gray = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        shape = hog(gray, orientations=c.orientations, pixels_per_cell=(c.pixels_per_cell,) * 2,
                    cells_per_block=(c.cells_per_block,) * 2, block_norm="L2-Hys")
        bins = (img.reshape(-1, 3).astype(np.int64) * c.colour_bins) // 256
        colour = np.concatenate([np.bincount(bins[:, ch], minlength=c.colour_bins) for ch in range(3)])
        halves = normalize_rows(shape[None])[0], normalize_rows(colour[None])[0]
        return np.concatenate(halves) / np.sqrt(2.0)  # unit norm, shape and colour weighed equally

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not len(images):  # the feature length, from a blank image
            return np.zeros((0, self._one(np.zeros((8, 8, 3), np.uint8)).size), np.float32)
        return normalize_rows(np.stack([self._one(np.asarray(im, dtype=np.uint8)) for im in images]))


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1


class ClipEmbedder(Embedder):
    """CLIP image embeddings (after the visual projection), L2-normalised.

    A full ``CLIPModel`` checkpoint (e.g. ``openai/clip-vit-base-patch32``) is read with
    ``CLIPModel``; a vision-only one with ``CLIPVisionModelWithProjection``.
    """

    Config = ClipConfig

    def __init__(self, config: ClipConfig | dict | None = None, **overrides: object) -> None:
        super().__init__(config, **overrides)
        self.device = self._device()
        self.model, self.processor = self._load(self.config.model)
        self.model.to(self.device).eval()

    @property
    def name(self) -> str:
        path = Path(self.config.model).expanduser()
        return f"clip:{path.name if path.is_dir() else self.config.model}"

    @staticmethod
    def _load(model: str):  # type: ignore[no-untyped-def]
        from transformers import AutoConfig, CLIPImageProcessor, CLIPModel, CLIPVisionModelWithProjection

        how = ("pass model=<directory> holding a CLIP checkpoint written by save_pretrained "
               "(CLIPModel or CLIPVisionModelWithProjection, with its preprocessor_config.json), "
               "or a hub id already in the Hugging Face cache (HF_HOME)")
        path = Path(model).expanduser()
        if not path.is_dir() and _looks_like_path(model):
            raise ModelNotFoundError(model, how=f"no such directory; {how}")
        source = str(path) if path.is_dir() else model
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=True)
            classes = {"clip": CLIPModel, "clip_vision_model": CLIPVisionModelWithProjection}
            if config.model_type not in classes:
                raise ModelNotFoundError(model, how=f"it holds a {config.model_type!r} model, "
                                         f"not CLIP; {how}")
            return (classes[config.model_type].from_pretrained(source, local_files_only=True),
                    CLIPImageProcessor.from_pretrained(source, local_files_only=True))
        except OSError as exc:
            raise ModelNotFoundError(model, how=how) from exc

    def _device(self) -> str:
        import torch

        if self.config.device != "auto":
            return self.config.device
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"

    def _features(self, pixels):  # type: ignore[no-untyped-def]
        import torch

        if hasattr(self.model, "get_image_features"):  # CLIPModel
            out = self.model.get_image_features(pixel_values=pixels)
            return out if torch.is_tensor(out) else out.pooler_output  # transformers 5 wraps it
        return self.model(pixel_values=pixels).image_embeds

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        out = []
        size = self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(images), size):
                batch = [np.array(im, dtype=np.uint8) for im in images[start:start + size]]  # writable copies
                pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"]
                out.append(self._features(pixels.to(self.device)).float().cpu().numpy())
        dim = int(self.model.config.projection_dim)
        return normalize_rows(np.concatenate(out) if out else np.zeros((0, dim), np.float32))
