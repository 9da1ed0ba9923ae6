"""The weight-free segmenters (grabcut, masks) on real photographs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from device_photos import known_masks, photo

from spinml.errors import ConfigError, InputError
from spinml.private import Prompt, Reference


def reference(box=None, mask=None, objects=None, path="refs/cat/chelsea.png") -> Reference:
    return Reference(id="cat/chelsea", path=Path(path), label="cat",
                     target=Prompt(box=box, mask=mask), objects=objects or {})


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def test_grabcut_finds_the_object_inside_its_box(pm):
    from skimage import data

    image = data.coffee()  # the cup and saucer fill the middle of a plain table
    box = (60, 20, 460, 380)
    masks = pm.registry.create("segmenter", "grabcut", max_side=300).segment(image, reference(box))
    target = masks["target"]
    assert target.shape == image.shape[:2]
    assert not target[:, :60].any() and not target[380:].any()  # never outside the box
    assert 0.3 < target[20:380, 60:460].mean() < 0.95  # a real cut, not the whole box
    again = pm.registry.create("segmenter", "grabcut", max_side=300).segment(image, reference(box))
    assert np.array_equal(target, again["target"])  # reproducible (seeded colour models)


def test_grabcut_downscales_large_images_and_returns_full_size_masks(pm):
    from skimage import data

    image = data.coffee()
    box = (60, 20, 460, 380)
    full = pm.registry.create("segmenter", "grabcut", max_side=300).segment(image, reference(box))
    small = pm.registry.create("segmenter", "grabcut", max_side=120).segment(image, reference(box))
    assert small["target"].shape == image.shape[:2]
    assert iou(full["target"], small["target"]) > 0.8


@pytest.mark.parametrize("box", [(100, 50, 104, 53), (0, 0, 226, 150)])
def test_grabcut_falls_back_to_the_box_when_it_cannot_run(box, pm):
    image = photo("chelsea")
    mask = pm.registry.create("segmenter", "grabcut").segment(image, reference(box))["target"]
    expected = np.zeros(image.shape[:2], dtype=bool)
    expected[box[1]:box[3], box[0]:box[2]] = True
    assert np.array_equal(mask, expected)


def test_grabcut_segments_named_objects_too(pm):
    image = photo("chelsea")
    ref = reference((50, 25, 170, 135), objects={"sign": Prompt(box=(180, 110, 220, 145))})
    masks = pm.registry.create("segmenter", "grabcut").segment(image, ref)
    assert set(masks) == {"target", "sign"}
    assert masks["sign"].any() and not masks["sign"][:110].any()


def test_grabcut_refuses_missing_and_outside_boxes(pm):
    segmenter = pm.registry.create("segmenter", "grabcut")
    with pytest.raises(InputError, match=r"chelsea.png: grabcut needs a box for 'target'"):
        segmenter.segment(photo("chelsea"), reference())
    with pytest.raises(InputError, match=r"box \[300, 10, 320, 20\] of 'target' lies outside"):
        segmenter.segment(photo("chelsea"), reference((300, 10, 320, 20)))


def test_grabcut_parameters_are_validated_before_import(pm):
    with pytest.raises(ConfigError, match="iterations"):
        pm.registry.create("segmenter", "grabcut", iterations=0)


def test_masks_segmenter_reads_annotation_files(photo_refs, pm):
    from spinml.private import ReferenceSet

    ref = ReferenceSet.load(photo_refs)["cat/chelsea"]
    masks = pm.registry.create("segmenter", "masks").segment(ref.load(), ref)
    expected = known_masks("chelsea")
    assert set(masks) == {"target", "sign"}
    assert all(np.array_equal(masks[g], expected[g]) for g in masks)


def test_masks_segmenter_takes_arrays_from_python(pm):
    from spinml_segment.masks import MaskSegmenter

    image = photo("chelsea")
    given = known_masks("chelsea")
    bowl = np.zeros(image.shape[:2], dtype=np.uint8)
    bowl[5:20, 5:30] = 1
    segmenter = MaskSegmenter(masks={"cat/chelsea": {"target": given["target"], "bowl": bowl}})
    masks = segmenter.segment(image, reference())
    assert set(masks) == {"target", "bowl"} and masks["bowl"].sum() == 15 * 25
    with pytest.raises(InputError, match=r"masks\['cat/chelsea'\]\['target'\]: mask is 3x2"):
        MaskSegmenter(masks={"cat/chelsea": {"target": np.ones((2, 3))}}).segment(image, reference())
    with pytest.raises(InputError, match="no mask given for 'target'"):
        MaskSegmenter().segment(image, reference())
