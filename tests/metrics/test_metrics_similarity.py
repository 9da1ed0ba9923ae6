"""Similarity metric and embedders: readable figures (floor < value < ceiling), named embedders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spinml_metrics.embedders import HogEmbedder
from spinml_metrics.similarity import Similarity, augment, mean_cosine, unrelated_images

from spinml.components import StageContext
from spinml.config import Policy, Request
from spinml.datasets import DatasetWriter, ImageDataset
from spinml.errors import ModelNotFoundError
from spinml.io import read_mask
from spinml.payload import PayloadWriter
from spinml.private import ReferenceSet, Segmentation
from spinml.testing import fresh_plugin_manager, sample_image


@pytest.fixture(scope="module")
def registry():
    return fresh_plugin_manager().registry


@pytest.fixture
def private(demo, tmp_path: Path):
    refs = ReferenceSet.load(demo.refs)
    seg = Segmentation(tmp_path / "seg")
    for ref in refs:
        seg.add(ref, {"target": read_mask(ref.target.mask)})
    payload = PayloadWriter(tmp_path / "payload", Request(target="digit", labels=("1", "3")),
                            Policy.parse("L0_L0")).close()
    return refs, seg, payload


def _dataset(path: Path, images: list[tuple[str, np.ndarray, list]]) -> ImageDataset:
    writer = DatasetWriter(path, "classification", ["1", "3"])
    for k, (label, image, boxes) in enumerate(images):
        writer.add(f"{label}/{k}", image, label=label, boxes=boxes)
    return writer.finalize()


def _measure(registry, private, synthetic, **params):
    refs, seg, payload = private
    ctx = StageContext(stage="test", registry=registry, show_progress=False)
    return {m.group: m for m in Similarity(params).measure(refs, seg, payload, synthetic, ctx)}


def test_identical_images_have_similarity_one() -> None:
    image = sample_image(48, 48)
    emb = HogEmbedder().embed([image, image.copy()])
    assert emb.shape[0] == 2 and np.allclose(np.linalg.norm(emb, axis=1), 1)
    assert mean_cosine(emb[:1], emb[1:]) == pytest.approx(1.0, abs=1e-6)


def test_floor_below_ceiling_on_real_images(demo) -> None:
    refs = [r.load() for r in ReferenceSet.load(demo.refs)]
    emb = HogEmbedder()
    rng = np.random.default_rng(0)
    ceiling = np.mean([mean_cosine(emb.embed([im]), emb.embed([augment(im, rng)])) for im in refs])
    floor = mean_cosine(emb.embed(unrelated_images(seed=0)), emb.embed(refs))
    assert floor < ceiling - 0.2


def test_real_lookalikes_beat_unrelated_synthetic(demo, private, registry, tmp_path: Path) -> None:
    test = ImageDataset.load(demo.test)
    alike = _dataset(tmp_path / "alike", [(r.label, r.load(), list(r.boxes)) for r in test])
    unrelated = _dataset(tmp_path / "unrelated", [(("1", "3")[k % 2], im, [(8, 8, 40, 40, ("1", "3")[k % 2])])
                                                  for k, im in enumerate(unrelated_images(16, 48, seed=9))])
    near = _measure(registry, private, alike)
    far = _measure(registry, private, unrelated)
    for group in ("target", "background"):
        m = near[group]
        assert m.embedder == HogEmbedder().name and m.level == 0 and m.n == 16 * 6
        assert m.floor < m.value < m.ceiling
        assert far[group].value < m.value
        assert m.extra["synthetic_segments"] == "boxes"


def test_whole_images_without_boxes_and_no_synthetic(private, registry, tmp_path: Path) -> None:
    plain = _dataset(tmp_path / "plain", [("1", sample_image(48, 48, seed=k), []) for k in range(3)])
    found = _measure(registry, private, plain, groups=("target",))
    assert set(found) == {"target"} and found["target"].extra["synthetic_segments"] == "whole images"
    assert _measure(registry, private, None) == {}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIPModel saved exactly as a real checkpoint is."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-clip")
    config = CLIPConfig(
        text_config={"vocab_size": 99, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                       "num_attention_heads": 4, "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(config).save_pretrained(path)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor.save_pretrained(path)
    return path


def test_clip_from_a_local_directory(tiny_clip: Path, registry, private, demo, tmp_path: Path) -> None:
    clip = registry.create("embedder", "clip", {"model": str(tiny_clip), "device": "cpu"})
    image = sample_image(40, 56)
    emb = clip.embed([image, image, sample_image(40, 56, seed=3)])
    assert emb.shape == (3, 16) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert float(emb[0] @ emb[1]) == pytest.approx(1.0, abs=1e-5)
    assert clip.name == f"clip:{tiny_clip.name}"
    test = ImageDataset.load(demo.test)
    synthetic = _dataset(tmp_path / "syn", [(r.label, r.load(), [b]) for r in test.records[:4]
                                             for b in r.boxes])
    found = _measure(registry, private, synthetic, embedder="clip", variant="clip",
                     embedder_params={"model": str(tiny_clip), "device": "cpu"})
    assert found["target"].embedder == clip.name and -1 <= found["target"].value <= 1
    assert found["target"].key == "similarity/clip/target"


def test_clip_hub_id_offline_and_missing_directory(registry, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="openai/clip-vit-base-patch32") as err:
        registry.create("embedder", "clip", {"model": "openai/clip-vit-base-patch32"})
    assert "save_pretrained" in str(err.value)
    with pytest.raises(ModelNotFoundError, match="no such directory"):
        registry.create("embedder", "clip", {"model": str(tmp_path / "nowhere")})


@pytest.mark.gpu
def test_clip_on_cuda_matches_cpu(tiny_clip: Path, registry) -> None:
    images = [sample_image(40, 56, seed=k) for k in range(4)]
    on_cpu = registry.create("embedder", "clip", {"model": str(tiny_clip), "device": "cpu"}).embed(images)
    on_gpu = registry.create("embedder", "clip", {"model": str(tiny_clip), "device": "cuda"}).embed(images)
    assert np.allclose(on_cpu, on_gpu, atol=1e-3)


def test_unknown_group_is_a_config_error(registry) -> None:
    from spinml.errors import ConfigError

    with pytest.raises(ConfigError, match="groups"):
        registry.create("metric", "similarity", {"groups": ["bowl"]})
