"""The weight-free generators on payloads made from real photos."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gen_payloads import make_payload
from spinml_synth.cutpaste import CutPaste, PublicPool
from spinml_synth.plan import image_seed

from spinml.components import StageContext
from spinml.config import Policy, Request
from spinml.datasets import DatasetWriter, ImageDataset
from spinml.errors import ConfigError
from spinml.io import read_json, write_image
from spinml.payload import Payload, PayloadWriter
from spinml.testing import fresh_plugin_manager

QUIET = StageContext(stage="generate", show_progress=False)


def generate(generator, payload: Payload, out: Path) -> ImageDataset:
    writer = DatasetWriter(out, payload.request.task, payload.request.labels)
    generator.generate(payload, writer, QUIET)
    return writer.finalize(policy=payload.policy.shorthand)


def test_registered_lazily() -> None:
    registry = fresh_plugin_manager().registry
    assert {"cutpaste", "public-pool"} <= set(registry.names("generator"))
    code = "import sys, spinml_synth; assert not {'cv2', 'torch', 'skimage'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("policy", ["L0_L0", "L1_L0", "L2_L0"])
def test_detection_boxes_are_exact(policy: str, tmp_path: Path, pool: Path, green: Path) -> None:
    """On a uniform green background, the non-green pixels are exactly the boxed object."""
    payload = make_payload(tmp_path / "payload", policy, task="detection")
    gen = CutPaste(public_pool=pool, backgrounds=green, images_per_label=12, color_jitter=0.0)
    data = generate(gen, payload, tmp_path / "out")
    assert len(data) == 12
    coco = read_json(tmp_path / "out" / "annotations" / "coco.json")
    coco_boxes = {im["file_name"]: a["bbox"] for im in coco["images"] for a in coco["annotations"]
                  if a["image_id"] == im["id"]}
    for rec in data:
        (x0, y0, x1, y1, label), = rec.boxes
        assert label == "coin"
        image = rec.load()
        obj = np.any(image != (0, 255, 0), axis=2)
        ys, xs = np.nonzero(obj)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert coco_boxes[f"{rec.id}.png"] == [x0, y0, x1 - x0, y1 - y0]
        yolo = (tmp_path / "out" / "labels" / f"{rec.id}.txt").read_text().split()
        assert yolo[0] == "0" and float(yolo[3]) == pytest.approx((x1 - x0) / 64, abs=1e-6)


@pytest.mark.parametrize("l1", ["silhouette", "blur"])
def test_other_l1_features(l1: str, tmp_path: Path, green: Path) -> None:
    """A silhouette is painted like a filled outline; a blurred segment keeps its own colours."""
    payload = make_payload(tmp_path / "payload", "L1_L1", task="detection", l1=l1)
    gen = CutPaste(backgrounds=green, images_per_label=6, color_jitter=0.0)
    data = generate(gen, payload, tmp_path / "out")
    for rec in data:
        image = rec.load().astype(int)
        (x0, y0, x1, y1, _), = rec.boxes
        inside = image[int(y0):int(y1), int(x0):int(x1)].reshape(-1, 3)
        gray = np.ptp(inside, axis=1).max() <= 2
        assert not np.all(image[0, 0] == (0, 255, 0))  # the shared L1 background, not the photo
        assert gray == (l1 == "blur"), rec.provenance


@pytest.mark.parametrize("policy", ["L0_L0", "L1_L0", "L2_L0", "L1_L1", "L2_L1", "L0_L2", "L2_L2"])
def test_every_level_combination(policy: str, tmp_path: Path, pool: Path, backgrounds: Path) -> None:
    payload = make_payload(tmp_path / "payload", policy)
    gen = CutPaste(public_pool=pool, backgrounds=backgrounds, images_per_label=6, resolution=48)
    data = generate(gen, payload, tmp_path / "out")
    assert data.counts() == {"small": 6, "large": 6}
    target, background = (int(c) for c in policy[1::3])
    for rec in data:
        p = rec.provenance
        assert rec.load().shape == (48, 48, 3)
        assert (p["target_level"], p["background_level"]) == (target, background)
        assert p["seed"] == image_seed(0, rec.label, int(rec.id.split("/")[1]))
        if target:  # shared targets come from references of the image's own label
            assert p["target_source"].startswith(f"payload:target/L{target}-")
            ref_label = next(i.label for i in payload.items if i.reference == p["source_reference"])
            assert ref_label == rec.label
        else:
            assert p["target_source"].startswith(f"pool:{rec.label}/")
        expected_bg = f"payload:background/L{background}-" if background else "backgrounds:"
        assert p["background_source"].startswith(expected_bg)


def test_same_seed_same_image_and_any_image_alone(tmp_path: Path, pool: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L2_L1")
    a = generate(CutPaste(images_per_label=8, seed=3), payload, tmp_path / "a").content_hashes()
    b = generate(CutPaste(images_per_label=8, seed=3), payload, tmp_path / "b").content_hashes()
    alone = generate(CutPaste(images_per_label=3, seed=3), payload, tmp_path / "c").content_hashes()
    other = generate(CutPaste(images_per_label=8, seed=4), payload, tmp_path / "d").content_hashes()
    assert a == b
    assert all(a[k] == v for k, v in alone.items())
    assert len(set(a.values())) == len(a)  # every image differs from the others
    assert not set(a.values()) & set(other.values())


def test_public_pool_ignores_the_payload(tmp_path: Path, pool: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L2_L2", task="detection")
    data = generate(PublicPool(public_pool=pool, images_per_label=5), payload, tmp_path / "out")
    assert len(data) == 5
    for rec in data:
        assert rec.provenance["target_source"].startswith("pool:coin/")
        assert rec.provenance["source_reference"] is None
        (x0, y0, x1, y1, _), = rec.boxes
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64


def test_small_grayscale_digits_are_fast(tmp_path: Path) -> None:
    """MNIST-like light strokes on dark, 28 x 28, as L2 targets: hundreds of images per second."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    request = Request(target="digit", labels=tuple("0123"))
    writer = PayloadWriter(tmp_path / "payload", request, Policy.parse("L2_L0"))
    for k in range(12):
        d = int(digits.target[k])
        if str(d) not in request.labels:
            continue
        gray = np.kron(digits.images[k] * 15, np.ones((3, 3))).astype(np.uint8)
        gray = np.pad(gray, 2)
        rgba = np.dstack([gray, gray, gray, (gray > 0).astype(np.uint8) * 255])
        writer.add(f"r{k}", str(d), "target", 2, "segment", rgba)
    payload = writer.close()
    gen = CutPaste(images_per_label=150, resolution=64)
    start = time.perf_counter()
    data = generate(gen, payload, tmp_path / "out")
    seconds = time.perf_counter() - start
    assert len(data) == 600
    assert seconds < 10, f"600 images took {seconds:.1f} s"


def test_l0_target_needs_a_pool(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    with pytest.raises(ConfigError, match="public_pool"):
        generate(CutPaste(images_per_label=1), payload, tmp_path / "out")
    with pytest.raises(ConfigError, match="has no folder 'small'"):
        generate(CutPaste(images_per_label=1, public_pool=tmp_path), payload, tmp_path / "out")


def test_config_errors_name_the_field() -> None:
    spec = fresh_plugin_manager().registry.get("generator", "cutpaste")
    with pytest.raises(ConfigError, match="scale"):
        spec.validate({"scale": (0.8, 0.2)})
    with pytest.raises(ConfigError, match="colour_jitter: unknown field"):
        spec.validate({"colour_jitter": 0.1})
    with pytest.raises(ConfigError, match="public_pool: Field required"):
        fresh_plugin_manager().registry.get("generator", "public-pool").validate({})


def test_rgb_pool_images_are_cut_from_a_uniform_background(tmp_path: Path) -> None:
    """Without alpha, the object is what differs from the border colour by > pool_threshold."""
    from spinml_synth.sources import ObjectPool

    image = np.full((20, 30, 3), 250, np.uint8)
    image[5:12, 8:20] = (200, 30, 30)
    write_image(tmp_path / "apple" / "a.png", image)
    (only,) = ObjectPool(tmp_path, threshold=30).images("red", "apple")
    assert only.source == "apple/a.png"
    assert np.array_equal(np.argwhere(only.mask)[[0, -1]], [[5, 8], [11, 19]])


@pytest.mark.parametrize(("shape", "centre_filled"), [("disc", True), ("ring", False)])
def test_edge_maps_fill_solids_and_keep_loops(shape: str, centre_filled: bool) -> None:
    """Edges of a solid are filled; edges of a thin-stroked 0 (28 px, like MNIST) keep its loop."""
    import cv2
    from spinml_synth.render import fill_edges

    image = np.zeros((28, 28), np.uint8)
    cv2.circle(image, (14, 14), 9, 255, thickness=-1 if shape == "disc" else 3)
    fill, _ = fill_edges(cv2.Canny(image, 100, 200))
    assert fill[14, 14] == centre_filled
    assert fill[14, 5] and fill[14, 23]  # the stroke (or rim) itself is part of the shape
    assert not fill[1, 1]
