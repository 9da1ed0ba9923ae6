"""The device's guarantee, on real photographs with known masks.

* L0: no pixel of the object is in the payload: every shared file is black and
  transparent (or a binary feature value) at the object's pixels, and changing the
  object's pixels leaves every payload file byte-identical (nothing is derived from it).
* L1: the shared file is exactly the sanitizer's output on the object's segment and
  holds no raw pixel values.
* L2: the shared file is the object's raw pixels inside its mask, black and
  transparent outside.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import spinml_sanitize
from device_photos import PHOTOS, REQUEST, known_masks, write_photo_references
from spinml_sanitize.stage import bounding_box, object_segment, reference_ids

from spinml.config import Policy
from spinml.errors import ConfigError, PayloadError
from spinml.io import read_image, sha256_file, write_image, write_json
from spinml.payload import Payload
from spinml.private import ReferenceSet, Segmentation

CONFIGS = ["L0_L0", "L1_L0", "L2_L0", "L2_L2", "L0_L2", "L1_L1"]


def segment_with_masks(refs: Path, out: Path, pm) -> Segmentation:
    segmenter = pm.registry.create("segmenter", "masks")
    return segmenter.run({"references": ReferenceSet.load(refs)}, out, _ctx())["segmentation"]


def _ctx():
    from spinml.components import StageContext

    return StageContext(stage="test", show_progress=False)


def payload_for(refs: Path, work: Path, policy, pm, name: str = "payload") -> Payload:
    seg = segment_with_masks(refs, work / f"seg-{name}", pm)
    return spinml_sanitize.sanitize(ReferenceSet.load(refs), seg, REQUEST, policy, work / name,
                                    registry=pm.registry)


def file_hashes(payload: Payload) -> dict[str, str]:
    return {i.file: sha256_file(payload.path / i.file) for i in payload}


def perturb_group(refs: Path, group: str, seed: int = 1) -> None:
    """Replace the pixels of ``group`` in every reference by noise (masks unchanged)."""
    rng = np.random.default_rng(seed)
    for ref in ReferenceSet.load(refs):
        name = Path(ref.path).stem
        masks = known_masks(name)
        covered = masks["target"] | masks["sign"]
        mask = {"target": masks["target"], "background": ~covered,
                "sign": masks["sign"] & ~masks["target"]}[group]
        image = read_image(ref.path)
        image[mask] = rng.integers(0, 256, size=(int(mask.sum()), 3), dtype=np.uint8)
        write_image(ref.path, image)


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photo_references(tmp_path_factory.mktemp("photos") / "refs")


@pytest.mark.parametrize("shorthand", CONFIGS)
def test_payload_shares_exactly_the_policy(shorthand, reference_dir, tmp_path, pm):
    policy = Policy.parse(shorthand)
    payload = payload_for(reference_dir, tmp_path, policy, pm)
    refs = ReferenceSet.load(reference_dir)
    ids = reference_ids(refs)
    expected = {(ids[r.id], g) for r in refs for g in ("target", "background")
                if policy.for_group(g).level > 0}
    assert {(i.reference, i.group) for i in payload} == expected
    assert all(i.level == int(policy.for_group(i.group).level) for i in payload)
    assert Payload.load(payload.path).items == payload.items  # verifies hashes and levels

    for ref in refs:
        image = ref.load()
        masks = Segmentation(tmp_path / "seg-payload").masks(ref.id)
        for item in payload.select():
            if item.reference != ids[ref.id]:
                continue
            shared = payload.read(item)
            mask = masks[item.group]
            assert item.box == bounding_box(mask)
            # at every pixel of an L0 group: L2 files are black and transparent; L1 files
            # are zero except on the shared object's own outline (an edge straddles it)
            outline = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            for group, other in masks.items():
                if policy.for_group(group).level == 0:
                    where = other if item.level == 2 else other & ~outline
                    assert not shared[where].any(), f"{item.file} holds values at L0 {group}"
            if item.level == 2:
                assert shared.shape == (*image.shape[:2], 4)
                assert np.array_equal(shared[..., :3][mask], image[mask])
                assert np.array_equal(shared[..., 3], np.where(mask, 255, 0))
            else:
                expected_edges = cv2.Canny(cv2.cvtColor(object_segment(image, mask),
                                                        cv2.COLOR_RGB2GRAY), 100, 200)
                assert np.array_equal(shared, expected_edges)
                assert set(np.unique(shared)) <= {0, 255}  # a binary feature, no pixel values


@pytest.mark.parametrize("shorthand,l0_group", [("L0_L0", "target"), ("L1_L0", "background"),
                                                ("L2_L0", "background"), ("L0_L2", "target"),
                                                ("L2_L2", "sign")])
def test_changing_an_l0_object_changes_no_payload_byte(shorthand, l0_group, tmp_path, pm):
    refs = write_photo_references(tmp_path / "refs")
    # the sign is its own object, so in L2_L2 it stays L0 while everything around it is shared
    before = payload_for(refs, tmp_path, shorthand, pm, "before")
    perturb_group(refs, l0_group)
    after = payload_for(refs, tmp_path, shorthand, pm, "after")
    assert file_hashes(before) == file_hashes(after)
    assert len(before) == sum(Policy.parse(shorthand).for_group(g).level > 0
                              for g in ("target", "background")) * len(PHOTOS)
    if shorthand == "L2_L2":  # the shared groups did change: the check can see a change
        perturb_group(refs, "target")
        changed = payload_for(refs, tmp_path, shorthand, pm, "changed")
        assert file_hashes(changed) != file_hashes(after)


def test_named_objects_are_l0_unless_the_policy_shares_them(reference_dir, tmp_path, pm):
    policy = {"target": {"level": 2},
              "objects": {"sign": {"level": 1, "sanitizer": "silhouette"}}}
    payload = payload_for(reference_dir, tmp_path, policy, pm)
    signs = payload.select(group="sign")
    assert len(signs) == len(PHOTOS) and all(i.sanitizer == "silhouette" for i in signs)
    assert not payload.select(group="background")
    seg = Segmentation(tmp_path / "seg-payload")
    ids = {v: k for k, v in reference_ids(ReferenceSet.load(reference_dir)).items()}
    for item in signs:
        assert np.array_equal(payload.read(item) > 0, seg.masks(ids[item.reference])["sign"])


def test_payload_names_no_device_file(reference_dir, tmp_path, pm):
    payload = payload_for(reference_dir, tmp_path, "L2_L1", pm)
    text = (payload.path / "manifest.json").read_text()
    files = [p.relative_to(payload.path).as_posix() for p in payload.path.rglob("*") if p.is_file()]
    for ref in ReferenceSet.load(reference_dir):  # ids are "<label>/<file stem>"
        assert ref.id not in text and not any(ref.path.stem in f for f in files)
    assert "astronaut" not in text


def test_an_unknown_object_in_the_policy_is_a_config_error(reference_dir, tmp_path, pm):
    policy = {"target": {"level": 1}, "objects": {"bowl": {"level": 2}}}
    with pytest.raises(ConfigError, match="'bowl' is not in any reference's segmentation"):
        payload_for(reference_dir, tmp_path, policy, pm)
    assert not (tmp_path / "payload").exists()


def test_a_sanitizer_of_another_level_is_a_config_error(reference_dir, tmp_path, pm):
    policy = {"target": {"level": 1, "sanitizer": "segment"}}
    with pytest.raises(ConfigError, match=r"policy.target.sanitizer.*'segment' shares at L2"):
        payload_for(reference_dir, tmp_path, policy, pm)


def test_an_unknown_sanitizer_suggests_close_names(reference_dir, tmp_path, pm):
    with pytest.raises(ConfigError, match="did you mean 'canny'"):
        payload_for(reference_dir, tmp_path, {"target": {"level": 1, "sanitizer": "cany"}}, pm)


# -- Payload.load refuses what the device did not write --------------------------------------

@pytest.fixture
def written(reference_dir, tmp_path, pm) -> Payload:
    return payload_for(reference_dir, tmp_path, "L2_L1", pm)


def test_a_tampered_file_is_refused(written):
    item = written.select(group="target")[0]
    arr = written.read(item)
    arr[0, 0] = (1, 2, 3, 255)
    write_image(written.path / item.file, arr)
    with pytest.raises(PayloadError, match=f"{item.file} does not match its SHA-256"):
        Payload.load(written.path)


def test_an_extra_file_is_refused(written):
    (written.path / "target" / "notes.txt").write_text("a private note")
    with pytest.raises(PayloadError, match=r"files not listed in the manifest: \['target/notes.txt'\]"):
        Payload.load(written.path)


def test_a_missing_file_is_refused(written):
    item = written.select(group="background")[0]
    (written.path / item.file).unlink()
    with pytest.raises(PayloadError, match=f"shared file {item.file} is missing"):
        Payload.load(written.path)


def test_a_share_over_the_policy_is_refused(written):
    manifest = json.loads((written.path / "manifest.json").read_text())
    manifest["policy"] = Policy.parse("L1_L1").model_dump(mode="json")  # claims less than shared
    write_json(written.path / "manifest.json", manifest)
    with pytest.raises(PayloadError, match="shares 'target' at L2 but the policy allows L1"):
        Payload.load(written.path)


def test_the_manifest_records_device_cost(written):
    stats = written.manifest["stats"]
    assert stats["references"] == stats["sanitized"] == len(PHOTOS) and stats["failures"] == {}
    assert stats["seconds_per_image"] > 0 and stats["peak_memory_bytes"] > 0
    assert stats["peak_memory_method"].startswith("tracemalloc")
    assert stats["payload_bytes"] == written.nbytes
    assert stats["payload_bytes_per_image"] == round(written.nbytes / len(PHOTOS))
    groups = stats["groups"]
    assert groups["target"]["level"] == 2 and groups["target"]["sanitizer"] == "segment"
    assert groups["background"]["sanitizer"] == "canny"
    assert groups["target"]["bytes"] + groups["background"]["bytes"] == written.nbytes
    assert stats["payload_bytes_by_level"] == {"L1": groups["background"]["bytes"],
                                               "L2": groups["target"]["bytes"]}
