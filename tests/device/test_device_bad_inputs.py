"""Bad inputs: each fails alone with a clear error naming the file, the rest of the batch
completes, and nothing already written is lost. Unusual but valid images (grayscale,
RGBA, 16-bit, EXIF-rotated) work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spinml_sanitize
from device_photos import REQUEST, photo, write_photo_references
from PIL import Image
from spinml_sanitize.stage import reference_ids

import spinml.io
from spinml.components import StageContext
from spinml.errors import InputError
from spinml.io import read_image, sha256_file, write_image, write_json
from spinml.private import ReferenceSet, Segmentation

CTX = StageContext(stage="test", show_progress=False)


def segment(pm, refs: Path, out: Path, name: str = "grabcut") -> Segmentation:
    segmenter = pm.registry.create("segmenter", name)
    return segmenter.run({"references": ReferenceSet.load(refs)}, out, CTX)["segmentation"]


def add_reference(refs: Path, rel: str, data: bytes | None = None, *, box=None, mask=None) -> None:
    """Add a file to the reference folder (raw bytes, or nothing if written already)."""
    if data is not None:
        (refs / rel).parent.mkdir(parents=True, exist_ok=True)
        (refs / rel).write_bytes(data)
    ann = spinml.io.read_json(refs / "annotations.json")
    ann[rel] = {k: v for k, v in (("box", box), ("mask", mask)) if v is not None}
    write_json(refs / "annotations.json", ann)


def png_bytes(image: np.ndarray) -> bytes:
    return spinml.io.encode_png(image)


def _corrupt_data(data: bytes) -> bytes:
    """A PNG whose compressed pixel data is overwritten (its header is intact)."""
    mid = len(data) // 2
    return data[:mid] + bytes(range(256)) * 8 + data[mid + 2048:]


BAD_FILES = {
    "truncated": (lambda: png_bytes(photo("coffee"))[:5000], "corrupt or truncated image"),
    "not-an-image": (lambda: b"name,age\nalice,31\n", "not an image file"),
    "zero-bytes": (lambda: b"", "file is empty (0 bytes)"),
    "corrupt-header": (lambda: png_bytes(photo("coffee"))[:16] + b"\x00" * 64,
                       "not an image file"),
    "corrupt-data": (lambda: _corrupt_data(png_bytes(photo("coffee"))), "corrupt or truncated image"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_fails_alone_and_keeps_finished_work(kind, pm, tmp_path):
    refs = write_photo_references(tmp_path / "refs", ("astronaut", "chelsea"))
    seg = segment(pm, refs, tmp_path / "seg", "masks")
    written = {f: sha256_file(f) for f in (tmp_path / "seg").rglob("*.png")}
    make, problem = BAD_FILES[kind]
    add_reference(refs, f"cat/{kind}.png", make(), mask="masks/chelsea-target.png")

    seg = segment(pm, refs, tmp_path / "seg", "masks")  # the rerun resumes the same directory
    bad = f"cat/{kind}"
    assert bad not in seg and len(seg) == 2
    assert f"{kind}.png" in seg.failures[bad] and problem in seg.failures[bad]
    assert {f: sha256_file(f) for f in written} == written  # nothing finished was redone or lost

    payload = spinml_sanitize.sanitize(ReferenceSet.load(refs), seg, REQUEST, "L2_L1",
                                       tmp_path / "payload", registry=pm.registry)
    ids = reference_ids(ReferenceSet.load(refs))
    assert payload.manifest["stats"]["failures"] == {ids[bad]: "segmentation failed"}
    assert {i.reference for i in payload} == {ids["cat/chelsea"], ids["person/astronaut"]}


def test_a_decompression_bomb_is_refused(pm, tmp_path, monkeypatch):
    refs = write_photo_references(tmp_path / "refs", ("chelsea",))
    big = np.zeros((400, 500, 3), dtype=np.uint8)
    add_reference(refs, "cat/huge.png", png_bytes(big), box=[0, 0, 10, 10])
    monkeypatch.setattr(spinml.io, "MAX_IMAGE_PIXELS", 150 * 226 + 1)  # the cat fits, 400x500 not
    seg = segment(pm, refs, tmp_path / "seg")
    assert list(seg) == ["cat/chelsea"]
    assert "huge.png" in seg.failures["cat/huge"]
    assert "decompression bomb" in seg.failures["cat/huge"]
    too_big = r"chelsea.png: image is 226x150 = 33900 pixels, over the limit of 1000"
    with pytest.raises(InputError, match=too_big):
        read_image(refs / "cat" / "chelsea.png", max_pixels=1000)


def test_a_mask_of_the_wrong_size_and_an_empty_mask_fail_by_name(pm, tmp_path):
    refs = write_photo_references(tmp_path / "refs", ("chelsea",))
    image = photo("chelsea")
    for name in ("small", "blank"):
        write_image(refs / "cat" / f"{name}.png", image)
    write_image(refs / "masks" / "small-mask.png", np.ones((10, 12), dtype=bool))
    write_image(refs / "masks" / "blank-mask.png", np.zeros(image.shape[:2], dtype=bool))
    add_reference(refs, "cat/small.png", mask="masks/small-mask.png")
    add_reference(refs, "cat/blank.png", mask="masks/blank-mask.png")

    seg = segment(pm, refs, tmp_path / "seg", "masks")
    assert list(seg) == ["cat/chelsea"]
    assert "small-mask.png: mask is 12x10 but its image is 226x150" in seg.failures["cat/small"]
    assert "blank-mask.png: mask of 'target' is empty" in seg.failures["cat/blank"]


def test_an_image_replaced_after_segmentation_fails_alone_in_the_payload(pm, tmp_path):
    refs = write_photo_references(tmp_path / "refs", ("astronaut", "chelsea"))
    seg = segment(pm, refs, tmp_path / "seg", "masks")
    write_image(refs / "cat" / "chelsea.png", photo("coffee"))  # another size
    payload = spinml_sanitize.sanitize(refs, seg, REQUEST, "L2_L0", tmp_path / "payload",
                                       registry=pm.registry)
    ids = reference_ids(ReferenceSet.load(refs))
    problem = payload.manifest["stats"]["failures"][ids["cat/chelsea"]]
    assert problem == "image is 300x200 but its segmentation is 226x150; segment it again"
    assert [i.reference for i in payload] == [ids["person/astronaut"]]


# -- unusual but valid images work -----------------------------------------------------------

def _upright_l2_matches(pm, refs: Path, tmp_path: Path, rel: str, expected: np.ndarray) -> None:
    seg = segment(pm, refs, tmp_path / "seg", "masks")
    assert rel.rsplit(".", 1)[0] in seg, seg.failures
    payload = spinml_sanitize.sanitize(refs, seg, REQUEST, "L2_L0", tmp_path / "payload",
                                       registry=pm.registry)
    ids = reference_ids(ReferenceSet.load(refs))
    item = next(i for i in payload if i.reference == ids[rel.rsplit(".", 1)[0]])
    shared = payload.read(item)
    mask = shared[..., 3] > 0
    assert shared.shape[:2] == expected.shape[:2] and mask.any()
    assert np.array_equal(shared[..., :3][mask], expected[mask])


def _with_mask(refs: Path, rel: str, shape: tuple[int, ...], box: list[int]) -> None:
    mask = np.zeros(shape[:2], dtype=bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    name = f"masks/{Path(rel).stem}.png"
    write_image(refs / name, mask)
    add_reference(refs, rel, box=box, mask=name)


def test_grayscale_rgba_and_16_bit_images_work(pm, tmp_path):
    refs = write_photo_references(tmp_path / "refs", ("chelsea",))
    from skimage import data

    gray = data.camera()[::4, ::4]
    Image.fromarray(gray).save(refs / "cat" / "gray.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(refs / "cat" / "deep.png")  # 16-bit
    logo = data.logo()[::4, ::4]  # RGBA
    Image.fromarray(logo).save(refs / "cat" / "logo.png")
    for rel, shape in (("cat/gray.png", gray.shape), ("cat/deep.png", gray.shape),
                       ("cat/logo.png", logo.shape)):
        _with_mask(refs, rel, shape, [10, 10, 60, 50])
    assert Image.open(refs / "cat" / "deep.png").mode == "I;16"

    as_rgb = np.repeat(gray[..., None], 3, axis=2)
    on_black = np.rint(logo[..., :3] * (logo[..., 3:] / 255.0)).astype(np.uint8)
    _upright_l2_matches(pm, refs, tmp_path / "g", "cat/gray.png", as_rgb)
    _upright_l2_matches(pm, refs, tmp_path / "d", "cat/deep.png", as_rgb)
    _upright_l2_matches(pm, refs, tmp_path / "l", "cat/logo.png", on_black)


def test_exif_rotation_is_applied_before_prompts(pm, tmp_path):
    refs = write_photo_references(tmp_path / "refs", ("chelsea",))
    upright = photo("coffee")                      # 300 wide, 200 high
    stored = np.rot90(upright, k=1)                # what the camera wrote: 200 wide, 300 high
    exif = Image.Exif()
    exif[0x0112] = 6                               # "rotate 90 degrees clockwise to display"
    Image.fromarray(stored).save(refs / "cat" / "rotated.png", exif=exif)
    box = [200, 20, 290, 120]                      # in upright coordinates: off the stored image
    _with_mask(refs, "cat/rotated.png", upright.shape, box)

    assert np.array_equal(read_image(refs / "cat" / "rotated.png"), upright)
    _upright_l2_matches(pm, refs, tmp_path, "cat/rotated.png", upright)
    seg = segment(pm, refs, tmp_path / "grabcut")  # the box prompt applies to the upright image
    mask = seg.masks("cat/rotated")["target"]
    assert mask.shape == upright.shape[:2] and mask.any()
    assert not mask[:, :200].any() and not mask[120:].any()


def test_float_images_in_unit_range_are_scaled_to_8_bits(tmp_path):
    gray = photo("chelsea")[..., 0]
    Image.fromarray(gray.astype(np.float32) / 255.0).save(tmp_path / "float.tif")
    assert np.array_equal(read_image(tmp_path / "float.tif")[..., 0], gray)


def test_a_batch_where_every_reference_failed_gives_an_empty_payload_listing_them(pm, tmp_path):
    refs = tmp_path / "refs"
    write_json(refs / "annotations.json", {})
    for name in ("one", "two"):
        add_reference(refs, f"cat/{name}.png", b"not a png", box=[0, 0, 5, 5])
    seg = segment(pm, refs, tmp_path / "seg")
    assert len(seg) == 0 and len(seg.failures) == 2
    policy = {"target": {"level": 2}, "objects": {"sign": {"level": 1}}}
    payload = spinml_sanitize.sanitize(refs, seg, REQUEST, policy, tmp_path / "payload",
                                       registry=pm.registry)
    assert len(payload) == 0
    assert payload.manifest["stats"]["failures"] == {"ref-0000": "segmentation failed",
                                                     "ref-0001": "segmentation failed"}
