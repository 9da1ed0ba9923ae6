"""trainer:timm-classifier: training, the model directory, evaluation on real images,
the overlap refusal, weights, determinism and ONNX export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from spinml_timm import export_onnx, load_model
from spinml_timm.classifier import TimmClassifier, predict_logits
from spinml_timm.config import ClassifierConfig

from spinml.components import StageContext
from spinml.datasets import ModelArtifact
from spinml.errors import ConfigError, InputError, ModelNotFoundError
from spinml.pipeline import Pipeline, Stage
from spinml.private import ReferenceSet
from spinml.testing import fresh_plugin_manager

#: one thread: test runs share the cores, and oversubscribed OpenMP threads spin
TINY = {"image_size": 32, "epochs": 1, "batch_size": 16, "mix_size": 48, "num_threads": 1}
PIPELINE_PARAMS = {"model": "resnet10t", "alpha": 0.25, "mix_size": 160, "image_size": 32,
                   "epochs": 3, "batch_size": 16, "num_threads": 1}


@pytest.fixture(scope="module")
def pipeline_run(digits, tmp_path_factory) -> dict:
    """A classifier trained through a pipeline stage: alpha mixing, a real test set."""
    stage = Stage(name="train", use="trainer:timm-classifier",
                  params=PIPELINE_PARAMS)
    run_dir = tmp_path_factory.mktemp("run")
    artifacts = Pipeline(stages=(stage,)).run(
        run_dir, {"synthetic": digits["pool_a"].path, "synthetic_mix": digits["pool_b"].path,
                  "test": digits["test"].path}, pm=fresh_plugin_manager(), progress=False)
    return {"model": artifacts["model"], "run_dir": run_dir}


def test_registered_and_cheap_to_import():
    registry = fresh_plugin_manager().registry
    assert registry.get("trainer", "timm-classifier").config is ClassifierConfig
    assert "timm-detector" in registry.names("trainer")
    code = "import sys, spinml_timm; assert 'torch' not in sys.modules and 'timm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pipeline_writes_a_complete_model_directory(pipeline_run, digits):
    model: ModelArtifact = pipeline_run["model"]
    assert {"model.safetensors", "model.json", "metrics.json", "confusion_matrix.png"} <= {
        p.name for p in model.path.iterdir()}
    meta = model.config
    assert meta["architecture"] == "resnet10t" and meta["num_classes"] == 4
    assert meta["labels"] == ["zero", "one", "two", "three"] and meta["input_size"] == [3, 32, 32]
    assert len(meta["mean"]) == len(meta["std"]) == 3
    assert meta["trainer"]["alpha"] == 0.25 and meta["trainer"]["epochs"] == 3
    pools = meta["data"]["pools"]
    assert [p["drawn"] for p in pools] == [120, 40] and [p["weight"] for p in pools] == [0.75, 0.25]
    assert (meta["data"]["train"], meta["data"]["val"]) == (144, 16)
    with Image.open(model.path / "confusion_matrix.png") as im:
        assert im.format == "PNG" and im.width > 100


def test_metrics_on_the_real_test_set(pipeline_run, digits):
    metrics = pipeline_run["model"].metrics
    test = metrics["test"]
    assert test["images"] == len(digits["test"]) == 120
    cm = test["confusion_matrix"]
    assert cm["labels"] == ["zero", "one", "two", "three"]
    assert sum(map(sum, cm["matrix"])) == 120
    assert test["accuracy"] == pytest.approx(sum(cm["matrix"][i][i] for i in range(4)) / 120)
    counts = digits["test"].counts()
    for i, label in enumerate(cm["labels"]):
        assert test["per_class_accuracy"][label] == pytest.approx(cm["matrix"][i][i] / counts[label])
    assert test["accuracy"] > 0.5  # chance is 0.25; three epochs on 160 digits
    assert metrics["accuracy"] == test["accuracy"]  # the headline figure, top level
    assert metrics["val_accuracy"] == metrics["train"]["best_val_score"]
    train = metrics["train"]
    assert len(train["history"]) == 3 and train["images_per_s"] > 0 and train["images_per_cpu_s"] > 0
    assert train["best_val_score"] == max(h["val_accuracy"] for h in train["history"])


def test_load_model_rebuilds_the_trained_network(pipeline_run, digits):
    from spinml_timm.data import load_images

    model_dir = pipeline_run["model"].path
    meta = json.loads((model_dir / "model.json").read_text())
    model = load_model(model_dir)
    assert not model.training
    test = load_images(digits["test"].records, 32)
    mean, std = (torch.tensor(meta[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    pred = predict_logits(model, test.pixels, mean, std, 64, torch.device("cpu")).argmax(1)
    truth = torch.tensor([meta["labels"].index(r.label) for r in test.records])
    accuracy = float((pred == truth).float().mean())
    assert accuracy == pytest.approx(pipeline_run["model"].metrics["test"]["accuracy"])


def test_rerun_of_the_stage_is_taken_from_cache(pipeline_run, digits):
    stage = Stage(name="train", use="trainer:timm-classifier",
                  params=PIPELINE_PARAMS)
    before = (pipeline_run["model"].path / "model.safetensors").stat().st_mtime_ns
    Pipeline(stages=(stage,)).run(
        pipeline_run["run_dir"], {"synthetic": digits["pool_a"].path,
                                  "synthetic_mix": digits["pool_b"].path, "test": digits["test"].path},
        pm=fresh_plugin_manager(), progress=False)
    assert (pipeline_run["model"].path / "model.safetensors").stat().st_mtime_ns == before


def test_export_onnx_matches_onnx_runtime(pipeline_run, tmp_path):
    import onnx
    import onnxruntime as ort

    result = export_onnx(pipeline_run["model"].path, tmp_path / "model.onnx")
    onnx.checker.check_model(str(result.path))
    assert result.outputs == ("logits",)
    assert result.max_abs_diff <= 1e-4 * max(1.0, result.scale) and result.scale > 0
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    batch = np.zeros((5, 3, 32, 32), dtype=np.float32)  # the batch axis is dynamic
    assert session.run(["logits"], {"images": batch})[0].shape == (5, 4)


class RecordingContext(StageContext):
    """A stage context that records the progress bars it was asked for."""

    def __init__(self) -> None:
        super().__init__(stage="train", show_progress=False)
        self.bars: list[tuple[str | None, int | None]] = []

    def progress(self, iterable, *, total=None, desc=None):
        self.bars.append((desc, total))
        return iterable


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path / "model.safetensors")


def test_same_seed_gives_identical_weights(digits, tmp_path):
    ctx = RecordingContext()
    runs = [TimmClassifier(**TINY, seed=seed).train([(digits["pool_a"], 1.0)], tmp_path / name, ctx)
            for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    a, b, c = (_weights(r.path) for r in runs)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert ("train: train", 3) in ctx.bars  # 48 drawn, 43 trained in batches of 16
    assert ("train: load", 48) in ctx.bars


def test_overlap_with_private_references_is_refused(digits, tmp_path):
    """A re-encoded copy of a reference (other file bytes, same pixels) is caught."""
    test_dir = tmp_path / "real"
    shutil.copytree(digits["test"].path, test_dir)
    ref_dir = tmp_path / "refs" / "two"
    ref_dir.mkdir(parents=True)
    victim = next(p for p in sorted((test_dir / "two").iterdir()))
    with Image.open(victim) as im:
        im.save(ref_dir / "private.bmp")
    trainer = TimmClassifier(**TINY)
    inputs = {"synthetic": digits["pool_a"], "test": digits["test"].load(test_dir),
              "references": ReferenceSet.load(tmp_path / "refs")}
    with pytest.raises(InputError, match=r"identical to private reference images \(e.g. two/"):
        trainer.run(inputs, tmp_path / "out", RecordingContext())
    assert not (tmp_path / "out" / "model.json").exists()


def test_overlap_with_training_data_is_refused(digits, tmp_path):
    leaked = tmp_path / "real" / "one"
    leaked.mkdir(parents=True)
    pool = digits["pool_a"]
    rec = next(r for r in pool.records if r.label == "one")
    shutil.copy(rec.file, leaked / "copied.png")
    with pytest.raises(InputError, match="identical to training/validation images"):
        TimmClassifier(**{**TINY, "mix_size": None}).train(
            [(pool, 1.0)], tmp_path / "out", test=pool.load(tmp_path / "real"))


def test_unknown_test_label_is_an_error(digits, tmp_path):
    from train_data import digit_images, write_folder

    real = write_folder(tmp_path / "real", [("seven" if lab == "one" else lab, im)
                                            for lab, im in digit_images(400, 12)])
    with pytest.raises(InputError, match=r"test labels \['seven'\] are not labels of the model"):
        TimmClassifier(**TINY).train([(digits["pool_a"], 1.0)], tmp_path / "out", test=real)


def test_alpha_needs_a_second_pool(digits, tmp_path):
    from spinml.errors import PipelineError

    with pytest.raises(PipelineError, match="needs a 'synthetic_mix' input"):
        TimmClassifier(**TINY, alpha=0.5).run({"synthetic": digits["pool_a"]}, tmp_path, RecordingContext())


# -- weights -------------------------------------------------------------------------------

def test_random_init_differs_from_saved_weights_and_local_file_loads_like_timm(tmp_path):
    import timm
    from safetensors.torch import save_file

    imagenet_like = timm.create_model("mobilenetv3_small_050", num_classes=1000)
    file = tmp_path / "weights.safetensors"
    save_file(imagenet_like.state_dict(), str(file))
    loaded = TimmClassifier(pretrained_path=str(file)).build_model(["a", "b", "c"])
    scratch = TimmClassifier().build_model(["a", "b", "c"])
    ref = imagenet_like.state_dict()
    got = loaded.state_dict()
    body = [k for k in ref if not k.startswith("classifier.")]
    assert all(torch.equal(ref[k], got[k]) for k in body)
    assert got["classifier.weight"].shape == (3, 1024)  # a new head of len(labels) outputs
    assert not torch.equal(scratch.state_dict()["conv_stem.weight"], ref["conv_stem.weight"])


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="pretrained_path must be an existing"):
        TimmClassifier(pretrained_path=str(tmp_path / "nope.safetensors")).build_model(["a", "b"])
    with pytest.raises(ModelNotFoundError, match=r"timm/mobilenetv3_small_050\..*not in the local"):
        TimmClassifier(pretrained=True).build_model(["a", "b"])


def test_unknown_architecture_suggests_close_names():
    with pytest.raises(ConfigError, match="unknown timm model 'mobilenetv3_smal_050'; did you mean"):
        TimmClassifier(model="mobilenetv3_smal_050").build_model(["a", "b"])


# -- configuration --------------------------------------------------------------------------

def test_paper_preset_and_overrides():
    paper = ClassifierConfig(preset="paper")
    assert (paper.model, paper.image_size, paper.optimizer, paper.lr, paper.epochs, paper.batch_size,
            paper.val_fraction, paper.pretrained) == ("mobilenetv2_100", 224, "adam", 1e-3, 5, 128, 0.1, True)
    assert ClassifierConfig(preset="paper", epochs=2, pretrained=False).epochs == 2
    fast = ClassifierConfig()
    assert (fast.model, fast.image_size, fast.alpha) == ("mobilenetv3_small_050", 64, 0.0)


def test_config_errors_name_the_field():
    spec = fresh_plugin_manager().registry.get("trainer", "timm-classifier")
    with pytest.raises(ConfigError, match="alpha"):
        spec.validate({"alpha": 1.5})
    with pytest.raises(ConfigError, match="epoch: unknown field"):
        spec.validate({"epoch": 3})
    with pytest.raises(ConfigError, match="paper"):
        fresh_plugin_manager().registry.get("trainer", "timm-detector").validate({"preset": "paper"})


class InterruptingContext(RecordingContext):
    """Stops the run (as Ctrl-C would) after ``steps`` training steps."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def progress(self, iterable, *, total=None, desc=None):
        super().progress(iterable, total=total, desc=desc)
        if not desc.endswith("train"):
            return iterable
        return self._interrupt(iterable)

    def _interrupt(self, iterable):
        for n, item in enumerate(iterable):
            if n == self.steps:
                raise KeyboardInterrupt
            yield item


def test_an_interrupted_run_resumes_to_the_same_weights(digits, tmp_path):
    config = {**TINY, "epochs": 3}  # 3 steps per epoch
    pools = [(digits["pool_a"], 1.0)]
    whole = TimmClassifier(**config).train(pools, tmp_path / "whole", RecordingContext())
    with pytest.raises(KeyboardInterrupt):  # stops one step into the second epoch
        TimmClassifier(**config).train(pools, tmp_path / "cut", InterruptingContext(4))
    assert (tmp_path / "cut" / ".spinml-train-state.pt").is_file()
    assert not (tmp_path / "cut" / "model.json").exists()
    ctx = RecordingContext()
    resumed = TimmClassifier(**config).train(pools, tmp_path / "cut", ctx)
    assert ("train: train", 6) in ctx.bars  # epochs 1 and 2 only
    a, b = _weights(whole.path), _weights(resumed.path)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics["train"]["history"] == whole.metrics["train"]["history"]
    assert not (tmp_path / "cut" / ".spinml-train-state.pt").exists()
    other = TimmClassifier(**{**config, "seed": 1})  # another run ignores a foreign state
    with pytest.raises(KeyboardInterrupt):
        TimmClassifier(**config).train(pools, tmp_path / "cut2", InterruptingContext(4))
    ctx = RecordingContext()
    other.train(pools, tmp_path / "cut2", ctx)
    assert ("train: train", 9) in ctx.bars
