"""Built-in segmenters: ``grabcut`` (weight-free), ``masks`` (user-provided) and ``sam``.

Importing this package is cheap: the implementations (OpenCV, torch, segment-anything)
are imported only when a segmenter is created.
"""

from __future__ import annotations

import spinml
from spinml.config import ComponentConfig
from spinml.hookspecs import Register

from .config import GrabCutConfig, SamConfig


@spinml.hookimpl
def spinml_register_segmenters(register: Register) -> None:
    register("grabcut", "spinml_segment.grabcut:GrabCutSegmenter", config=GrabCutConfig,
             summary="OpenCV GrabCut from each object's box prompt (weight-free)")
    register("masks", "spinml_segment.masks:MaskSegmenter", config=ComponentConfig,
             summary="masks the user provides (annotations.json 'mask' files or arrays)")
    register("sam", "spinml_segment.sam:SamSegmenter", config=SamConfig,
             summary="Segment Anything from box/point prompts or automatic masks "
                     "(needs a local checkpoint)")
