"""The demo data builder: layout, disjointness, determinism, and loadability by the core."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from spinml_demo.data import build_demo_data

from spinml.config import Request
from spinml.datasets import ImageDataset
from spinml.io import hash_tree, read_mask
from spinml.private import ReferenceSet


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return build_demo_data(tmp_path_factory.mktemp("demo"), seed=3, refs_per_digit=2, test_size=30,
                           size=32, labels=("0", "7"))


def test_references_have_their_digit_masks_and_boxes(demo) -> None:
    refs = ReferenceSet.load(demo.refs)
    assert refs.labels == ["0", "7"] and len(refs) == 4
    for ref in refs:
        mask = read_mask(ref.target.mask, (32, 32))
        ys, xs = np.nonzero(mask)
        assert ref.target.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        image = ref.load()
        # the stroke differs from the surface around it
        assert abs(image[mask].mean() - image[~mask].mean()) > 20


def test_test_set_is_disjoint_labelled_and_boxed(demo) -> None:
    test = ImageDataset.load(demo.test)
    assert test.task == "classification" and test.counts() == {"0": 15, "7": 15}
    assert all(len(r.boxes) == 1 and r.boxes[0][4] == r.label for r in test)
    ref_hashes = set(ImageDataset.load(demo.refs).content_hashes().values())
    assert not ref_hashes & set(test.content_hashes().values())


def test_public_pools_and_request(demo) -> None:
    objects = sorted(p.name for p in demo.objects.iterdir())
    assert objects == ["0", "7"]
    with Image.open(next((demo.objects / "7").iterdir())) as im:
        assert im.mode == "RGBA" and im.size == (16, 16)
        alpha = np.asarray(im)[..., 3]
    assert alpha.max() > 200 and (alpha == 0).mean() > 0.3
    assert len(list(demo.backgrounds.glob("*.png"))) == 12
    request = Request.model_validate(yaml.safe_load(demo.request.read_text()))
    assert request.labels == ("0", "7") and request.target == "handwritten digit"


def test_same_seed_same_data(demo, tmp_path: Path) -> None:
    again = build_demo_data(tmp_path / "again", seed=3, refs_per_digit=2, test_size=30, size=32,
                            labels=("0", "7"))
    assert hash_tree(again.refs) == hash_tree(demo.refs)
    assert hash_tree(again.test) == hash_tree(demo.test)


def test_bad_labels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="digits"):
        build_demo_data(tmp_path, labels=("cat",))
