"""The ``sam`` segmenter with a tiny randomly initialised Segment Anything model.

The model is saved as a state dict with ``torch.save`` (the format of the published
checkpoints) and loaded back through the same code a user's run takes. Its masks are
meaningless, so the tests check shapes, prompts, selection and errors, and that its
masks feed the same sanitize stage as the weight-free segmenters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from device_photos import PHOTOS, REQUEST, photo

from spinml.errors import ConfigError, ModelNotFoundError
from spinml.pipeline import Pipeline
from spinml.private import Prompt, Reference

torch = pytest.importorskip("torch")
pytest.importorskip("segment_anything")

TINY = {"image_size": 64, "patch_size": 16, "encoder_embed_dim": 16, "encoder_depth": 2,
        "encoder_num_heads": 2, "encoder_global_attn_indexes": [1], "window_size": 2,
        "prompt_embed_dim": 16, "mask_in_chans": 4, "decoder_depth": 1, "decoder_mlp_dim": 32,
        "decoder_num_heads": 2, "iou_head_depth": 1, "iou_head_hidden_dim": 16}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spinml_segment.config import SamArchitecture
    from spinml_segment.sam import build_sam

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("sam") / "sam_tiny.pth"
    torch.save(build_sam(SamArchitecture(**TINY)).state_dict(), path)
    return path


def sam_params(checkpoint: Path, **extra) -> dict:
    return {"model_type": "custom", "architecture": TINY, "checkpoint": str(checkpoint), **extra}


def reference(**target) -> Reference:
    return Reference(id="cat/chelsea", path=Path("refs/cat/chelsea.png"), label="cat",
                     target=Prompt(**target), objects={"sign": Prompt(box=(180, 110, 220, 145))})


def test_box_and_point_prompts_give_one_mask_per_object(checkpoint, pm):
    image = photo("chelsea")
    for select in ("score", "largest"):
        sam = pm.registry.create("segmenter", "sam", sam_params(checkpoint, select=select))
        masks = sam.segment(image, reference(points=((110, 80),), point_labels=(1,)))
        assert set(masks) == {"target", "sign"}
        assert all(m.shape == image.shape[:2] and m.dtype == bool for m in masks.values())
    single = pm.registry.create("segmenter", "sam", sam_params(checkpoint, multimask=False))
    assert single.segment(image, reference(box=(50, 25, 170, 135)))["target"].shape == image.shape[:2]


def test_largest_selection_keeps_the_largest_candidate(checkpoint, pm):
    from segment_anything import SamPredictor
    from spinml_segment.config import SamConfig
    from spinml_segment.sam import load_sam

    image = photo("chelsea")
    predictor = SamPredictor(load_sam(SamConfig(**sam_params(checkpoint))))
    predictor.set_image(image)
    candidates, _, _ = predictor.predict(box=np.array([50, 25, 170, 135]), multimask_output=True)
    sam = pm.registry.create("segmenter", "sam", sam_params(checkpoint, select="largest"))
    target = sam.segment(image, reference(box=(50, 25, 170, 135)))["target"]
    assert target.sum() == max(c.sum() for c in candidates)


def test_automatic_masks_pick_the_one_matching_the_box(checkpoint, pm):
    params = sam_params(checkpoint, mode="auto", points_per_side=4, pred_iou_thresh=0.0,
                        stability_score_thresh=0.0)
    sam = pm.registry.create("segmenter", "sam", params)
    masks = sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))
    assert set(masks) == {"target", "sign"} and masks["target"].any()


def test_the_checkpoint_may_come_from_the_environment(checkpoint, pm, monkeypatch):
    monkeypatch.setenv("SPINML_SAM_CHECKPOINT", str(checkpoint))
    params = {"model_type": "custom", "architecture": TINY}
    sam = pm.registry.create("segmenter", "sam", params)
    assert sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))["target"].any()


def test_a_missing_checkpoint_says_how_to_provide_one(pm, tmp_path, monkeypatch):
    monkeypatch.delenv("SPINML_SAM_CHECKPOINT", raising=False)
    sam = pm.registry.create("segmenter", "sam", model_type="vit_b")
    with pytest.raises(ModelNotFoundError) as err:
        sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))
    assert "'sam vit_b' is not available offline" in str(err.value)
    assert "sam_vit_b_01ec64.pth" in str(err.value) and "SPINML_SAM_CHECKPOINT" in str(err.value)
    sam = pm.registry.create("segmenter", "sam", model_type="vit_h",
                             checkpoint=str(tmp_path / "nowhere.pth"))
    with pytest.raises(ModelNotFoundError, match="nowhere.pth does not exist"):
        sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))


def test_a_checkpoint_of_another_architecture_is_a_config_error(checkpoint, pm):
    other = {**TINY, "encoder_embed_dim": 32}
    sam = pm.registry.create("segmenter", "sam", sam_params(checkpoint, architecture=other))
    with pytest.raises(ConfigError, match="sam_tiny.pth does not fit SAM custom: size mismatch"):
        sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))


def test_a_file_that_is_not_a_state_dict_is_a_config_error(tmp_path, pm):
    (tmp_path / "sam.pth").write_text("<html>404 Not Found</html>")
    sam = pm.registry.create("segmenter", "sam", sam_params(tmp_path / "sam.pth"))
    with pytest.raises(ConfigError, match=r"sam.pth is not a PyTorch state dict"):
        sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))


def test_the_config_rejects_inconsistent_architectures(pm):
    with pytest.raises(ConfigError, match="needs 'architecture'"):
        pm.registry.create("segmenter", "sam", model_type="custom")
    with pytest.raises(ConfigError, match="has fixed dimensions"):
        pm.registry.create("segmenter", "sam", model_type="vit_b", architecture=TINY)


def test_sam_masks_feed_the_sanitize_stage(checkpoint, photo_refs, tmp_path, pm):
    pipe = Pipeline.from_dict({
        "inputs": {"references": str(photo_refs)},
        "stages": [{"name": "segment", "use": "segmenter:sam", "params": sam_params(checkpoint)},
                   {"name": "sanitize", "use": "stage:sanitize",
                    "params": {"request": REQUEST.model_dump(), "policy": "L2_L0"}}]})
    artifacts = pipe.run(tmp_path / "run", pm=pm, progress=False)
    seg, payload = artifacts["segmentation"], artifacts["payload"]
    assert len(seg) == len(PHOTOS) and not seg.failures
    shared = {i.reference: i for i in payload}
    assert 0 < len(shared) <= len(PHOTOS)  # a reference whose target mask is empty shares nothing
    for item in payload:
        assert item.level == 2 and payload.read(item).shape[2] == 4


@pytest.mark.gpu
def test_sam_runs_on_cuda(checkpoint, pm):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    sam = pm.registry.create("segmenter", "sam", sam_params(checkpoint, device="auto"))
    masks = sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))
    assert sam.predictor.device.type == "cuda"
    assert masks["target"].shape == photo("chelsea").shape[:2]


@pytest.mark.slow
def test_a_published_architecture_loads_through_the_library_registry(tmp_path, pm):
    from segment_anything import sam_model_registry

    torch.manual_seed(0)
    path = tmp_path / "sam_vit_b.pth"
    torch.save(sam_model_registry["vit_b"]().state_dict(), path)
    sam = pm.registry.create("segmenter", "sam", model_type="vit_b", checkpoint=str(path))
    masks = sam.segment(photo("chelsea"), reference(box=(50, 25, 170, 135)))
    assert masks["target"].shape == photo("chelsea").shape[:2]
