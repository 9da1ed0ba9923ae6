"""The built-in sanitizers on a real photograph's segment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from device_photos import known_masks, photo
from spinml_sanitize.stage import object_segment

from spinml.config import Level
from spinml.errors import ConfigError


@pytest.fixture(scope="module")
def cat() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, target mask, segment) of the chelsea photo."""
    image = photo("chelsea")
    mask = known_masks("chelsea")["target"]
    return image, mask, object_segment(image, mask)


def test_levels_are_declared_on_the_class_and_in_the_registry(pm):
    expected = {"canny": 1, "silhouette": 1, "pixelate": 1, "blur": 1, "segment": 2}
    for name, level in expected.items():
        spec = pm.registry.get("sanitizer", name)
        assert spec.meta["level"] == level
        assert spec.load().level == Level(level)


def test_canny_is_opencv_canny_of_the_segment_with_the_papers_thresholds(cat, pm):
    image, mask, segment = cat
    edges = pm.registry.create("sanitizer", "canny").apply(segment, mask)
    gray = cv2.cvtColor(segment, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(edges, cv2.Canny(gray, 100, 200))
    assert edges.dtype == np.uint8 and set(np.unique(edges)) == {0, 255}
    fewer = pm.registry.create("sanitizer", "canny", low=200, high=400).apply(segment, mask)
    assert 0 < (fewer > 0).sum() < (edges > 0).sum()
    with pytest.raises(ConfigError, match="low must not exceed high"):
        pm.registry.create("sanitizer", "canny", low=300, high=200)


def test_silhouette_is_the_mask(cat, pm):
    _, mask, segment = cat
    out = pm.registry.create("sanitizer", "silhouette").apply(segment, mask)
    assert np.array_equal(out, np.where(mask, 255, 0))


def test_pixelate_holds_the_mean_of_the_objects_pixels_per_block(cat, pm):
    image, mask, segment = cat
    out = pm.registry.create("sanitizer", "pixelate", block=10).apply(segment, mask)
    assert out.shape == image.shape
    block = (slice(70, 80), slice(100, 110))  # inside the ellipse
    assert mask[block].all()
    expected = np.rint(image[block].reshape(-1, 3).mean(axis=0))
    assert np.array_equal(out[block].reshape(-1, 3), np.tile(expected, (100, 1)))
    assert not out[0:10, 0:10].any()  # a block without the object is black
    raw_kept = (out == image).all(axis=2)[mask].mean()
    assert raw_kept < 0.05  # almost no pixel keeps its raw value


def test_blur_is_heavy_and_stays_inside_the_mask(cat, pm):
    image, mask, segment = cat
    out = pm.registry.create("sanitizer", "blur", sigma=8).apply(segment, mask)
    assert out.shape == image.shape and not out[~mask].any()
    detail = np.abs(np.diff(out.astype(int), axis=1))[mask[:, 1:] & mask[:, :-1]].mean()
    raw_detail = np.abs(np.diff(image.astype(int), axis=1))[mask[:, 1:] & mask[:, :-1]].mean()
    assert detail < raw_detail / 4
    # no darkening at the edge: normalised by the blurred mask
    assert abs(out[mask].mean() - image[mask].mean()) < 10


def test_segment_is_rgba_with_the_mask_as_alpha(cat, pm):
    image, mask, segment = cat
    out = pm.registry.create("sanitizer", "segment").apply(segment, mask)
    assert out.shape == (*image.shape[:2], 4)
    assert np.array_equal(out[..., :3][mask], image[mask]) and not out[..., :3][~mask].any()
    assert np.array_equal(out[..., 3], np.where(mask, 255, 0))
