"""Built-in sanitizers and the ``sanitize`` stage that writes the payload.

Sanitizers (kind ``sanitizer``): ``canny`` (L1, the default L1), ``silhouette`` (L1),
``pixelate`` (L1), ``blur`` (L1) and ``segment`` (L2, the default L2). The stage
``sanitize`` turns references and their segmentation into a payload under a policy;
:func:`sanitize` does the same from Python.

Importing this package is cheap: OpenCV is imported only when a sanitizer is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import spinml
from spinml.config import ComponentConfig
from spinml.hookspecs import Register

from .config import BlurConfig, CannyConfig, PixelateConfig, SanitizeConfig

if TYPE_CHECKING:  # pragma: no cover
    from spinml.config import Policy, Request
    from spinml.payload import Payload
    from spinml.private import ReferenceSet, Segmentation

__all__ = ["sanitize"]

_SANITIZERS = "spinml_sanitize.sanitizers"


@spinml.hookimpl
def spinml_register_sanitizers(register: Register) -> None:
    register("canny", f"{_SANITIZERS}:CannySanitizer", config=CannyConfig, level=1,
             summary="Canny edge map of the segment (OpenCV, thresholds 100/200)")
    register("silhouette", f"{_SANITIZERS}:SilhouetteSanitizer", config=ComponentConfig, level=1,
             summary="the object's binary mask")
    register("pixelate", f"{_SANITIZERS}:PixelateSanitizer", config=PixelateConfig, level=1,
             summary="mean colour of the object per square block")
    register("blur", f"{_SANITIZERS}:BlurSanitizer", config=BlurConfig, level=1,
             summary="heavy Gaussian blur of the object, inside its mask")
    register("segment", f"{_SANITIZERS}:SegmentSanitizer", config=ComponentConfig, level=2,
             summary="the object's pixels as RGBA, all else black and transparent")


@spinml.hookimpl
def spinml_register_stages(register: Register) -> None:
    register("sanitize", "spinml_sanitize.stage:SanitizeStage", config=SanitizeConfig,
             summary="references + segmentation -> payload, object by object under a policy",
             inputs=("references", "segmentation"), outputs=("payload",))


def sanitize(references: ReferenceSet | str | Path, segmentation: Segmentation | str | Path,
             request: Request | Mapping[str, Any], policy: Policy | str | Mapping[str, Any],
             out_dir: str | Path, *, registry: Any = None) -> Payload:
    """Sanitize ``references`` under ``policy`` into a payload directory and return the payload.

    ``references`` and ``segmentation`` may be given as directories. ``registry`` is
    where sanitizers are looked up (default: the installed plugins).
    """
    from spinml.private import ReferenceSet, Segmentation

    from .stage import sanitize_references

    refs = references if isinstance(references, ReferenceSet) else ReferenceSet.load(references)
    seg = segmentation if isinstance(segmentation, Segmentation) else Segmentation(segmentation)
    return sanitize_references(refs, seg, request, policy, out_dir, registry=registry)
