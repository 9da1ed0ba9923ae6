"""Run and sweep reports: self-contained HTML with every given artifact and configuration."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from spinml_report import write_sweep_report
from spinml_report.report import plot_confusion

from spinml.components import StageContext
from spinml.config import Policy, Request
from spinml.datasets import DatasetWriter, Measurement, Measurements, ModelArtifact
from spinml.io import write_json
from spinml.payload import PayloadWriter
from spinml.pipeline import Pipeline
from spinml.private import ReferenceSet, Segmentation
from spinml.testing import fresh_plugin_manager, make_references, sample_image, sample_mask

LABELS = ("a", "b")


class _Sources(HTMLParser):
    """Every ``src`` and ``href`` attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href"):
                getattr(self, name).append(value or "")


def sources(html_text: str) -> _Sources:
    parser = _Sources()
    parser.feed(html_text)
    return parser


def assert_self_contained(html_text: str, min_images: int) -> None:
    found = sources(html_text)
    assert len(found.src) >= min_images
    assert all(s.startswith("data:image/png;base64,") for s in found.src)
    assert not found.href


@pytest.fixture
def run_artifacts(tmp_path: Path) -> dict:
    refs = ReferenceSet.load(make_references(tmp_path / "refs", labels=LABELS, per_label=2))
    seg = Segmentation(tmp_path / "seg")
    writer = PayloadWriter(tmp_path / "payload", Request(target="disc", labels=LABELS), Policy.parse("L2_L1"))
    for ref in refs:
        seg.add(ref, {"target": sample_mask()})
        image, masks = ref.load(), seg.masks(ref.id)
        writer.add(ref.id, ref.label, "target", 2, "segment",
                   np.dstack([np.where(masks["target"][..., None], image, 0), masks["target"] * 255]
                             ).astype(np.uint8))
        silhouette = masks["background"].astype(np.uint8) * 255
        writer.add(ref.id, ref.label, "background", 1, "silhouette", silhouette)
    synth = DatasetWriter(tmp_path / "synthetic", "classification", LABELS)
    for k in range(6):
        label = LABELS[k % 2]
        synth.add(f"{label}/{k}", sample_image(seed=k), label=label, boxes=[(10, 10, 50, 50, label)],
                  generator="cutpaste", level=2)
    model_dir = tmp_path / "model"
    write_json(model_dir / "model.json", {"model": "mobilenetv2_035", "labels": list(LABELS)})
    write_json(model_dir / "metrics.json", {
        "accuracy": 0.75, "per_class_accuracy": {"a": 0.5, "b": 1.0},
        "confusion_matrix": {"labels": list(LABELS), "matrix": [[2, 2], [0, 4]]}})
    leakage = Measurements([
        Measurement("mi", "target", 0.4, variant="artifact", level=2),
        Measurement("similarity", "target", 0.61, level=2, embedder="hog64", floor=0.5, ceiling=0.9, n=24)])
    return {"references": refs, "segmentation": seg, "payload": writer.close(),
            "synthetic": synth.finalize(), "model": ModelArtifact(model_dir), "leakage": leakage}


def _report(artifacts: dict, out: Path, **params) -> str:
    pm = fresh_plugin_manager()
    stage = pm.registry.create("stage", "report", params)
    ctx = StageContext(stage="report", registry=pm.registry, show_progress=False)
    result = stage.run(artifacts, out, ctx)
    return (result["report"] / "report.html").read_text(encoding="utf-8")


def test_run_report_shows_every_artifact(run_artifacts: dict, tmp_path: Path) -> None:
    html_text = _report(run_artifacts, tmp_path / "report", title="husky <demo>")
    # 4 references, 4 + 4 shared items, 6 synthetic samples, 1 confusion matrix
    assert_self_contained(html_text, min_images=19)
    assert "husky &lt;demo&gt;" in html_text and "<demo>" not in html_text
    for text in ("L2_L1", "target: L2 (segment)", "background: L1 (silhouette)", "0.7500",
                 "mobilenetv2_035", "mi/artifact/target", "similarity/target", "hog64",
                 "Confusion matrix", "Private images"):
        assert text in html_text, text


def test_trainer_confusion_png_is_embedded_as_written(run_artifacts: dict, tmp_path: Path) -> None:
    model = run_artifacts["model"]
    png = plot_confusion(np.array([[1, 0], [0, 1]]), LABELS)
    (model.path / "confusion_matrix.png").write_bytes(png)
    html_text = _report(run_artifacts, tmp_path / "report")
    assert base64.b64encode(png).decode() in html_text


def test_report_of_nothing_still_opens(tmp_path: Path) -> None:
    html_text = _report({}, tmp_path / "empty")
    assert "none given" in html_text and sources(html_text).src == []


ROWS = [
    {"config": "L0_L0", "policy": "L0_L0", "alpha": 0.0, "seeds": 2, "accuracy": 0.41, "accuracy_std": 0.02,
     "mi/corrected/target": 0.0, "mi/corrected/target_std": 0.0, "similarity/target": 0.52},
    {"config": "L1_L0", "policy": "L1_L0", "alpha": 0.0, "seeds": 2, "accuracy": 0.63, "accuracy_std": 0.03,
     "mi/corrected/target": 0.01, "mi/corrected/target_std": 0.001, "similarity/target": 0.58},
    {"config": "L2_L0+a0.5", "policy": "L2_L0", "alpha": 0.5, "seeds": 2, "accuracy": 0.71,
     "accuracy_std": 0.01, "mi/corrected/target": 0.2, "mi/corrected/target_std": 0.0,
     "similarity/target": 0.66},
]


def test_sweep_report_has_every_configuration_and_the_plot(run_artifacts: dict, tmp_path: Path) -> None:
    runs = {"L2_L0+a0.5": {**run_artifacts, "model": str(run_artifacts["model"].path)}}  # paths load too
    path = write_sweep_report(ROWS, tmp_path / "sweep.html", runs=runs)
    html_text = path.read_text(encoding="utf-8")
    for row in ROWS:
        assert f"<td class=\"t\">{row['config']}</td>" in html_text
    assert "0.6300 ± 0.0300" in html_text and "similarity/target" in html_text
    assert 'alt="privacy-utility plot"' in html_text
    # the plot, the run's two synthetic samples and its confusion matrix
    assert_self_contained(html_text, min_images=4)


def test_sweep_report_without_utility_has_a_table_and_says_why_no_plot(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if not k.startswith("accuracy")} for r in ROWS]
    html_text = write_sweep_report(rows, tmp_path / "sweep.html").read_text(encoding="utf-8")
    assert "No plot" in html_text and sources(html_text).src == []
    assert all(r["config"] in html_text for r in rows)


def test_measure_and_report_stages_in_a_pipeline(run_artifacts: dict, tmp_path: Path) -> None:
    pipe = Pipeline.from_dict({
        "inputs": {"references": str(run_artifacts["references"].path),
                   "segmentation": str(run_artifacts["segmentation"].path),
                   "payload": str(run_artifacts["payload"].path)},
        "stages": [{"name": "measure", "use": "stage:measure", "params": {"metrics": [{"name": "mi"}]}},
                   {"name": "report", "use": "stage:report"}]})
    pm = fresh_plugin_manager()
    out = pipe.run(tmp_path / "run", pm=pm, progress=False)
    html_text = (out["report"] / "report.html").read_text(encoding="utf-8")
    assert {m.key for m in out["leakage"]} >= {"mi/artifact/target", "mi/corrected/background"}
    assert "mi/corrected/background_via_target" in html_text
    again = pipe.run(tmp_path / "run", pm=pm, progress=False)  # cached: same report
    assert (again["report"] / "report.html").read_text(encoding="utf-8") == html_text
