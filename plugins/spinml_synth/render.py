"""Image operations of the weight-free generators (numpy + OpenCV, small and fast).

A :class:`Patch` is an object cut to its bounding box: RGB pixels plus a boolean
mask. Everything here is deterministic given the ``numpy.random.Generator``
passed in, so an image depends only on its own seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Patch", "EdgeSketch", "crop_to_mask", "patch_from_rgba", "fill_edges", "edge_map",
           "sketch_from_edges", "render_sketch", "edge_regions", "render_regions", "fill_holes", "fit_square",
           "random_crop", "texture", "augment", "paste", "mask_box"]


@dataclass(frozen=True)
class Patch:
    """An object cut to its bounding box."""

    rgb: np.ndarray   #: h x w x 3 uint8
    mask: np.ndarray  #: h x w bool


@dataclass(frozen=True)
class EdgeSketch:
    """An L1 edge map turned into shapes: the filled outline and the (dilated) strokes."""

    fill: np.ndarray    #: h x w bool, inside closed contours or on a stroke
    stroke: np.ndarray  #: h x w bool


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of the true pixels (``x1``/``y1`` exclusive), or ``None``."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def crop_to_mask(rgb: np.ndarray, mask: np.ndarray) -> Patch | None:
    box = mask_box(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return Patch(np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.ascontiguousarray(mask[y0:y1, x0:x1]))


def patch_from_rgba(rgba: np.ndarray) -> Patch | None:
    """An L2 segment (RGBA, alpha = mask) cut to its object; ``None`` if the mask is empty."""
    return crop_to_mask(rgba[..., :3], rgba[..., 3] > 0)


def fill_edges(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shape a 2-D feature map (non-zero = on) outlines: (filled region, strokes).

    Edges are dilated in proportion to the image size into strokes and closed.
    Three kinds of maps are told apart by how much of the region inside the
    closed outer contours they cover:

    * edges of a solid object (an outline with some inner edges): everything
      inside the outer contours is filled, the strokes are drawn on top;
    * edges of a thin-stroked object (a handwritten digit): the closed strokes
      cover most of that region, so they are the shape, and its holes (the loop
      of a 6) stay open;
    * a filled silhouette: the map is its own region, its outline the stroke.
    """
    fill, stroke, _ = _outline(edges)
    return fill, stroke


def edge_map(feature: np.ndarray) -> np.ndarray:
    """A 2-D feature map as edges (0/255): edges as they are, a silhouette as its outline."""
    _, stroke, silhouette = _outline(feature)
    return np.where(stroke if silhouette else feature > 0, 255, 0).astype(np.uint8)


def _outline(feature: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(filled region, strokes, whether the map is a silhouette); see :func:`fill_edges`."""
    on = (feature > 0).astype(np.uint8)
    width = max(1, round(max(on.shape) / 96))  # strokes thicken with the image size
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    stroke = cv2.dilate(on, kernel)
    closed = cv2.morphologyEx(stroke, cv2.MORPH_CLOSE, kernel, iterations=2)
    fill = _filled(closed) | stroke
    if int(on.sum()) > 0.5 * int(fill.sum()):  # a silhouette
        fill = _filled(on)
        return fill > 0, (fill - cv2.erode(fill, kernel)) > 0, True
    if int(closed.sum()) > 0.5 * int(fill.sum()):  # thin strokes: they are the shape
        shape = stroke.astype(bool) | _gaps(stroke, thickness=width + 1)
        return shape, np.zeros(on.shape, bool), False
    return fill > 0, stroke > 0, False


def _gaps(stroke: np.ndarray, thickness: float) -> np.ndarray:
    """Holes of ``stroke`` no thicker than ``thickness``: the gap between a stroke's two
    edges, not a loop of the shape (the loop of a 6 is thicker)."""
    free = (stroke == 0).astype(np.uint8)
    n, labels = cv2.connectedComponents(free, connectivity=4)
    depth = cv2.distanceTransform(free, cv2.DIST_L2, 3)
    deepest = np.zeros(n, np.float32)
    np.maximum.at(deepest, labels.ravel(), depth.ravel())
    gap = deepest <= thickness
    gap[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = False
    gap[0] = False  # label 0 is the stroke itself
    return gap[labels]


def _filled(on: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(on, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    fill = np.zeros_like(on)
    cv2.drawContours(fill, contours, -1, 1, thickness=cv2.FILLED)
    return fill


def sketch_from_edges(edges: np.ndarray) -> EdgeSketch | None:
    """An edge map's filled outline and strokes, cut to their extent; ``None`` without edges."""
    fill, stroke = fill_edges(edges)
    box = mask_box(fill)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return EdgeSketch(fill[y0:y1, x0:x1].copy(), stroke[y0:y1, x0:x1].copy())


def render_sketch(sketch: EdgeSketch, rng: np.random.Generator) -> Patch:
    """Paint a sketch: a random fill colour with a soft shading, strokes in a darker tone."""
    h, w = sketch.fill.shape
    base = rng.uniform(40, 230, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / max(w, 1) + np.sin(angle) * yy / max(h, 1))[..., None]
    rgb = base + 40.0 * (ramp - 0.5)
    rgb = np.where(sketch.stroke[..., None], rgb * rng.uniform(0.25, 0.6), rgb)
    return Patch(np.clip(rgb, 0, 255).astype(np.uint8), sketch.fill)


def edge_regions(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regions of an L1 edge map: (region label per pixel, stroke mask), for flat-colour rendering."""
    on = (edges > 0).astype(np.uint8)
    stroke = cv2.dilate(on, np.ones((3, 3), np.uint8)) > 0
    _, labels = cv2.connectedComponents((~stroke).astype(np.uint8), connectivity=4)
    return labels.astype(np.int32), stroke


def render_regions(labels: np.ndarray, stroke: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat random colours per region (a related palette), strokes dark: a rendered edge scene."""
    n = int(labels.max()) + 1
    hue = rng.uniform(0, 1)
    palette = _hsv_palette(hue, n, rng)
    rgb = palette[labels]
    rgb[stroke] = (rgb[stroke] * 0.3).astype(np.uint8)
    return rgb


def _hsv_palette(hue: float, n: int, rng: np.random.Generator) -> np.ndarray:
    hsv = np.stack([(hue + rng.normal(0, 0.08, n)) % 1.0 * 180,
                    rng.uniform(0.15, 0.6, n) * 255,
                    rng.uniform(0.35, 0.95, n) * 255], axis=1)
    return cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2RGB)[0]


def fill_holes(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the pixels outside ``valid`` (e.g. where the target was cut out) from their surroundings."""
    hole = (~valid).astype(np.uint8)
    if not hole.any():
        return rgb
    if not valid.any():
        return np.full_like(rgb, 127)
    return cv2.inpaint(rgb, hole, 3, cv2.INPAINT_TELEA)


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the shorter side is ``size`` and crop the centre square."""
    h, w = image.shape[:2]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    out = cv2.resize(image, (nw, nh), interpolation=interp)
    y, x = (nh - size) // 2, (nw - size) // 2
    return out[y:y + size, x:x + size]


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` square of ``image`` (whose sides are at least ``size``), maybe mirrored."""
    h, w = image.shape[:2]
    y, x = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
    out = image[y:y + size, x:x + size]
    return out[:, ::-1] if rng.random() < 0.5 else out


def texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random texture: low-frequency colour noise plus a little grain."""
    coarse = rng.uniform(30, 220, size=(4, 4, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, size=(size, size, 1)).astype(np.float32)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def augment(patch: Patch, longest: float, rotate: float, flip: bool, jitter: float,
            rng: np.random.Generator) -> Patch:
    """Scale a patch so its longer side is ``longest`` px, rotate, maybe flip, jitter colours."""
    rgb, mask = patch.rgb, patch.mask
    if flip:
        rgb, mask = rgb[:, ::-1], mask[:, ::-1]
    h, w = mask.shape
    s = longest / max(h, w)
    angle = rng.uniform(-rotate, rotate) if rotate else 0.0
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, s)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = max(1, int(np.ceil(h * sin + w * cos))), max(1, int(np.ceil(h * cos + w * sin)))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    interp = cv2.INTER_AREA if s < 1 and not angle else cv2.INTER_LINEAR
    out_rgb = cv2.warpAffine(np.ascontiguousarray(rgb), m, (nw, nh), flags=interp,
                             borderMode=cv2.BORDER_REPLICATE)
    out_mask = cv2.warpAffine(np.ascontiguousarray(mask, dtype=np.uint8) * 255, m, (nw, nh),
                              flags=cv2.INTER_LINEAR, borderValue=0) >= 128
    if jitter:
        out_rgb = _jitter(out_rgb, out_mask, jitter, rng)
    cropped = crop_to_mask(out_rgb, out_mask)
    return cropped if cropped is not None else Patch(out_rgb, np.ones((nh, nw), bool))


def _jitter(rgb: np.ndarray, mask: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
    x = rgb.astype(np.float32)
    mean = x[mask].mean(axis=0) if mask.any() else x.reshape(-1, 3).mean(axis=0)
    x = (x - mean) * c + mean * b
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * s
    return np.clip(x, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, patch: Patch, x: int, y: int) -> tuple[int, int, int, int]:
    """Paste ``patch`` with its top-left corner at (x, y), in place; return its exact box."""
    h, w = patch.mask.shape
    region = canvas[y:y + h, x:x + w]
    region[patch.mask] = patch.rgb[patch.mask]
    x0, y0, x1, y1 = mask_box(patch.mask) or (0, 0, w, h)
    return x + x0, y + y0, x + x1, y + y1
