"""Segmentation from masks the user provides (files or arrays)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel

from spinml.components import Segmenter
from spinml.errors import InputError
from spinml.io import read_mask
from spinml.private import Reference

from .common import named_prompts

__all__ = ["MaskSegmenter"]


class MaskSegmenter(Segmenter):
    """User-provided masks: ``mask`` files named in annotations.json, or arrays given in Python.

    ``masks`` maps a reference id to ``{group: H x W array}``; an array takes precedence
    over the reference's mask file for the same group, and arrays may name objects the
    annotations do not. Any non-zero pixel is inside the object.
    """

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None, *,
                 masks: Mapping[str, Mapping[str, np.ndarray]] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.arrays = {ref_id: dict(groups) for ref_id, groups in (masks or {}).items()}

    def segment(self, image: np.ndarray, reference: Reference) -> dict[str, np.ndarray]:
        shape = image.shape[:2]
        arrays = self.arrays.get(reference.id, {})
        groups = dict.fromkeys([g for g, _ in named_prompts(reference)] + list(arrays))
        out = {}
        for group in groups:
            prompt = reference.target if group == "target" else reference.objects.get(group)
            if group in arrays:
                source = f"masks[{reference.id!r}][{group!r}]"
                mask = np.asarray(arrays[group]).astype(bool)
                if mask.shape != shape:
                    raise InputError(source, f"mask is {_size(mask.shape)} but its image "
                                     f"{reference.path} is {_size(shape)}")
            elif prompt is not None and prompt.mask is not None:
                source = str(prompt.mask)
                mask = read_mask(prompt.mask, shape)
            else:
                raise InputError(reference.path, f"no mask given for {group!r}; add \"mask\": "
                                 "\"masks/<file>.png\" to its entry in annotations.json")
            if not mask.any():
                raise InputError(source, f"mask of {group!r} is empty (no pixel is set)")
            out[group] = mask
        return out


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}" if len(shape) >= 2 else str(shape)
