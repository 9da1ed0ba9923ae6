"""The diffusers backends on tiny random pipelines saved and loaded like real ones."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gen_payloads import coin_references, make_payload, share

from spinml.components import StageContext
from spinml.datasets import DatasetWriter, ImageDataset
from spinml.errors import ConfigError, ModelNotFoundError
from spinml.payload import Payload
from spinml.pipeline import Pipeline, Stage
from spinml.testing import fresh_plugin_manager

pytest.importorskip("diffusers")
pytestmark = pytest.mark.usefixtures("one_thread")

from spinml_diffusers.backends import ControlNet, Inpaint, Text2Img  # noqa: E402
from spinml_diffusers.config import DiffusionConfig  # noqa: E402
from spinml_diffusers.frames import Frames  # noqa: E402
from spinml_diffusers.loading import device_and_dtype  # noqa: E402
from spinml_synth.plan import plan  # noqa: E402

QUIET = StageContext(stage="generate", show_progress=False)
FAST = {"resolution": 32, "steps": 2, "images_per_label": 2, "batch_size": 2}
BACKENDS = {  # backend -> (policy it needs, model params)
    "sd-text2img": ("L0_L0", lambda m: {"model": m["sd"]}),
    "sd-img2img": ("L2_L0", lambda m: {"model": m["sd"], "strength": 0.6}),
    "sd-controlnet": ("L1_L1", lambda m: {"model": m["sd"], "controlnet": m["controlnet"]}),
    "sd-inpaint": ("L2_L0", lambda m: {"model": m["inpaint"]}),
}


def generate(generator, payload: Payload, out: Path) -> ImageDataset:
    writer = DatasetWriter(out, payload.request.task, payload.request.labels)
    generator.generate(payload, writer, QUIET)
    return writer.finalize()


def test_registered_without_importing_torch() -> None:
    registry = fresh_plugin_manager().registry
    assert set(BACKENDS) <= set(registry.names("generator"))
    spec = registry.get("generator", "sd-img2img")
    assert spec.validate({}).steps == 50 and spec.validate({}).guidance_scale == 7.5  # the paper's
    code = "import sys, spinml_diffusers; assert not {'torch', 'diffusers'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("task", ["classification", "detection"])
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_backend_as_pipeline_stage(backend: str, task: str, tmp_path: Path,
                                   tiny_models: dict[str, str]) -> None:
    policy, params = BACKENDS[backend]
    payload = make_payload(tmp_path / "payload", policy, task=task)
    stage = Stage(name="generate", use=f"generator:{backend}", params={**FAST, **params(tiny_models)})
    data = Pipeline(stages=[stage]).run(tmp_path / "run", {"payload": payload.path},
                                        pm=fresh_plugin_manager(), progress=False)["synthetic"]
    assert data.counts() == dict.fromkeys(payload.request.labels, 2)
    for rec in data:
        p = rec.provenance
        assert rec.load().shape == (32, 32, 3)
        assert p["generator"] == backend and p["model"] == params(tiny_models)["model"]
        assert p["scheduler"] == "DDIMScheduler" and p["steps"] == 2 and p["device"] == "cpu"
        assert p["prompt"].startswith(payload.request.prompt_for(rec.label))
        assert p["target_level"] == int(policy[1]) and isinstance(p["seed"], int)
        assert (p["source_reference"] is None) == (policy == "L0_L0")
        if task == "detection":
            (x0, y0, x1, y1, label), = rec.boxes
            assert label == "coin" and 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32
    if task == "detection":
        assert (data.path / "annotations" / "coco.json").exists()


def test_same_seed_same_image_batched_or_alone(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    make = lambda **kw: Text2Img(model=tiny_models["sd"], **{**FAST, "images_per_label": 3, **kw})
    a = generate(make(batch_size=1), payload, tmp_path / "a")
    b = generate(make(batch_size=1), payload, tmp_path / "b")
    alone = generate(make(batch_size=1, images_per_label=1), payload, tmp_path / "c")
    batched = generate(make(batch_size=3), payload, tmp_path / "d")
    assert a.content_hashes() == b.content_hashes()
    assert all(a.content_hashes()[k] == v for k, v in alone.content_hashes().items())
    for ra, rb in zip(a, batched):  # batched math may differ in the last float bit
        assert np.abs(ra.load().astype(int) - rb.load().astype(int)).max() <= 1
    assert len(set(a.content_hashes().values())) == 6


def test_scheduler_swapped_from_the_model_config(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    gen = Text2Img(model=tiny_models["sd"], scheduler="euler-a", **FAST)
    data = generate(gen, payload, tmp_path / "out")
    assert {r.provenance["scheduler"] for r in data} == {"EulerAncestralDiscreteScheduler"}
    assert gen.pipe.scheduler.config.beta_schedule == "scaled_linear"  # kept from the model
    assert gen.pipe.scheduler.config.beta_end == 0.012


def test_one_line_backend_swap(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L2_L0")
    pm = fresh_plugin_manager()
    pipe = Pipeline(stages=[Stage(name="generate", use="generator:cutpaste",
                                  params={"images_per_label": 2})])
    first = pipe.run(tmp_path / "run", {"payload": payload.path}, pm=pm, progress=False)
    pipe = pipe.replace("generate", use="generator:sd-img2img",
                        params={"model": tiny_models["sd"], "strength": 0.5, "scheduler": "ddim", **FAST})
    second = pipe.run(tmp_path / "run", {"payload": payload.path}, pm=pm, progress=False)
    assert {r.provenance["generator"] for r in first["synthetic"]} == {"cutpaste"}
    assert {r.provenance["generator"] for r in second["synthetic"]} == {"sd-img2img"}
    assert {r.provenance["strength"] for r in second["synthetic"]} == {0.5}


def test_inpaint_keeps_the_target_pixels(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    """At the references' own size (80 px) the kept target is bit-identical to the share."""
    payload = make_payload(tmp_path / "payload", "L2_L0", task="detection")
    gen = Inpaint(model=tiny_models["inpaint"], **{**FAST, "resolution": 80})
    data = generate(gen, payload, tmp_path / "out")
    refs = {ref: (rgb, mask) for ref, _, rgb, mask in coin_references()}
    for rec in data:
        rgb, mask = refs[rec.provenance["source_reference"]]
        image = rec.load()
        assert np.array_equal(image[mask], rgb[mask])
        ys, xs = np.nonzero(mask)
        assert rec.boxes[0][:4] == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_compose_keeps_the_shared_background(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L2", task="detection")
    kept = generate(Text2Img(model=tiny_models["sd"], **{**FAST, "resolution": 80}),
                    payload, tmp_path / "kept")
    refs = {ref: (rgb, mask) for ref, _, rgb, mask in coin_references()}
    for rec in kept:
        rgb, mask = refs[rec.provenance["source_reference"]]
        assert np.array_equal(rec.load()[~mask], rgb[~mask])
        assert rec.provenance["box_source"] == "hole" and rec.provenance["composed"]
        ys, xs = np.nonzero(mask)
        assert rec.boxes[0][:4] == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    off = generate(Text2Img(model=tiny_models["sd"], compose="off", **FAST), payload, tmp_path / "off")
    assert {r.provenance["background_level"] for r in off} == {0}
    assert {r.provenance["box_source"] for r in off} <= {"threshold", "frame"}


def test_controlnet_is_conditioned_on_every_shared_feature(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L1_L1")
    _, _, rgb, mask = coin_references()[0]
    frame = Frames(payload, 80).for_job(plan(["small"], 1, 0)[0])
    control = ControlNet(model="unused", controlnet="unused").control_image(frame)
    expected = np.maximum(share(rgb, mask, 1), share(rgb, ~mask, 1))
    assert np.array_equal(control[..., 0], expected)


def test_controlnet_sees_a_silhouette_as_its_outline(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L1_L0", l1="silhouette")
    frame = Frames(payload, 80).for_job(plan(["small"], 1, 0)[0])
    _, _, _, mask = coin_references()[0]
    edges = ControlNet(model="unused", controlnet="unused").control_image(frame)[..., 0] > 0
    assert 0 < edges.sum() < mask.sum() / 2
    assert np.array_equal(frame.target_mask, mask)


def test_level_requirements_are_checked_before_loading(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L1_L0")
    spec = fresh_plugin_manager().registry.get("generator", "sd-img2img")
    with pytest.raises(ConfigError, match="sd-img2img needs the target shared at L2.*L1_L0"):
        generate(spec.create({"model": "not/loaded"}), payload, tmp_path / "out")


def test_missing_model_is_one_clear_error_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # even with the hub "allowed", no network call
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError) as err:
        generate(Text2Img(model="CompVis/stable-diffusion-v1-4", **FAST), payload, tmp_path / "a")
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "'CompVis/stable-diffusion-v1-4' is not available offline" in message
    assert "SPINML_MODELS_DIR" in message and "model=DIR" in message
    with pytest.raises(ModelNotFoundError, match="lllyasviel/sd-controlnet-canny"):
        generate(ControlNet(model=tiny_models["sd"], **FAST), make_payload(
            tmp_path / "p1", "L1_L0"), tmp_path / "b")
    # a hub id found under $SPINML_MODELS_DIR loads from there
    root = tmp_path / "models"
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "sd").symlink_to(tiny_models["sd"])
    monkeypatch.setenv("SPINML_MODELS_DIR", str(root))
    data = generate(Text2Img(model="tiny/sd", **FAST), payload, tmp_path / "c")
    assert {r.provenance["model"] for r in data} == {"tiny/sd"}


def test_a_broken_model_directory_names_the_directory(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="empty: not a diffusers StableDiffusionPipeline directory"):
        generate(Text2Img(model=str(tmp_path / "empty"), **FAST), payload, tmp_path / "out")


def test_device_and_dtype_choice() -> None:
    import torch

    auto = device_and_dtype(DiffusionConfig())
    expected = ("cuda", torch.float16) if torch.cuda.is_available() else ("cpu", torch.float32)
    assert (auto[0].type, auto[1]) == expected
    assert device_and_dtype(DiffusionConfig(device="cpu", dtype="bfloat16")) == (
        torch.device("cpu"), torch.bfloat16)


@pytest.mark.gpu
def test_cuda_float16_by_default(tmp_path: Path, tiny_models: dict[str, str]) -> None:
    payload = make_payload(tmp_path / "payload", "L0_L0")
    data = generate(Text2Img(model=tiny_models["sd"], **FAST), payload, tmp_path / "out")
    assert {(r.provenance["device"], r.provenance["dtype"]) for r in data} == {("cuda:0", "float16")}


def test_killed_run_resumes(tmp_path: Path, tiny_models: dict[str, str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    payload = make_payload(tmp_path / "payload", "L2_L0", task="detection")
    make = lambda: Inpaint(model=tiny_models["inpaint"], **{**FAST, "images_per_label": 4,
                                                             "batch_size": 1})
    clean = generate(make(), payload, tmp_path / "clean")
    real_add, calls = DatasetWriter.add, []

    def dies_after_two(self: DatasetWriter, image_id: str, *args, **kwargs) -> None:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(image_id)
        real_add(self, image_id, *args, **kwargs)

    monkeypatch.setattr(DatasetWriter, "add", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        generate(make(), payload, tmp_path / "killed")
    done = {i: (tmp_path / "killed" / "images" / f"{i}.png").stat().st_mtime_ns for i in calls}
    monkeypatch.setattr(DatasetWriter, "add", real_add)
    resumed = generate(make(), payload, tmp_path / "killed")
    assert resumed.content_hashes() == clean.content_hashes()
    assert all(r.file.stat().st_mtime_ns == done[r.id] for r in resumed if r.id in done)
    lines = [json.loads(x) for x in (resumed.path / "provenance.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == sorted(clean.content_hashes())
