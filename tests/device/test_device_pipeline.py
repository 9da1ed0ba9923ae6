"""segment -> sanitize as pipeline stages: a run directory, caching, resume, and the way
``spinml sanitize`` runs the stage through ``run_stage``."""

from __future__ import annotations

from pathlib import Path

import pytest
from device_photos import PHOTOS, REQUEST, write_photo_references

from spinml.components import StageContext
from spinml.errors import ConfigError
from spinml.io import hash_tree
from spinml.payload import Payload
from spinml.pipeline import Pipeline, Stage, run_stage, stage_key
from spinml.private import ReferenceSet


def device_pipeline(refs: Path, policy: str = "L1_L0") -> Pipeline:
    return Pipeline.from_dict({
        "inputs": {"references": str(refs)},
        "stages": [
            {"name": "segment", "use": "segmenter:grabcut", "params": {"iterations": 3}},
            {"name": "sanitize", "use": "stage:sanitize",
             "params": {"request": REQUEST.model_dump(), "policy": policy}},
        ],
    })


@pytest.fixture(scope="module")
def refs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photo_references(tmp_path_factory.mktemp("photos") / "refs")


def test_segment_then_sanitize_runs_and_reruns_from_cache(refs, tmp_path, pm):
    pipe = device_pipeline(refs, "L2_L1")
    first = pipe.run(tmp_path / "run", pm=pm, progress=False)
    payload = first["payload"]
    assert isinstance(payload, Payload) and len(payload) == 2 * len(PHOTOS)
    assert payload.path.parent == tmp_path / "run" / "stages"
    assert {i.sanitizer for i in payload} == {"segment", "canny"}
    tree = hash_tree(payload.path)

    again = pipe.run(tmp_path / "run", pm=pm, progress=False)
    summary = (tmp_path / "run" / "run.json").read_text()
    assert summary.count('"cached": true') == 2
    assert again["payload"].items == payload.items and hash_tree(payload.path) == tree

    other = pipe.with_params("sanitize", policy="L1_L0").run(tmp_path / "run", pm=pm, progress=False)
    assert other["payload"].path != payload.path  # a new policy is a new stage directory
    assert other["segmentation"].path == first["segmentation"].path  # segmentation is reused


def test_the_stage_runs_alone_the_way_the_cli_runs_it(refs, tmp_path, pm):
    """``spinml sanitize REFS --out DIR --policy ... --segmenter grabcut`` on run_stage."""
    seg_stage = Stage(name="segment", use="segmenter:grabcut")
    seg_spec = pm.registry.get("segmenter", "grabcut")
    seg_config = seg_spec.validate({})
    seg_key = stage_key(seg_spec, seg_config, {"references": hash_tree(refs)})
    ctx = StageContext(stage="segment", registry=pm.registry, show_progress=False)
    references = ReferenceSet.load(refs)
    seg = run_stage(seg_stage, seg_spec, seg_config, {"references": references},
                    tmp_path / "out" / "segmentation", key=seg_key, pm=pm, ctx=ctx)

    stage = Stage(name="sanitize", use="stage:sanitize",
                  params={"request": REQUEST.model_dump(), "policy": "L1_L0"})
    spec = pm.registry.get("stage", "sanitize")
    config = spec.validate(stage.params)
    key = stage_key(spec, config, {"references": hash_tree(refs), "segmentation": seg_key})
    inputs = {"references": references, "segmentation": seg.outputs["segmentation"]}
    out = tmp_path / "out" / "payload"
    result = run_stage(stage, spec, config, inputs, out, key=key, pm=pm, ctx=ctx)
    assert not result.cached and result.outputs["payload"].path == out
    assert Payload.load(out).policy.shorthand == "L1_L0"
    assert run_stage(stage, spec, config, inputs, out, key=key, pm=pm, ctx=ctx).cached


def test_an_interrupted_stage_resumes_without_stale_shares(refs, tmp_path, pm):
    pipe = device_pipeline(refs, "L2_L0")
    payload = pipe.run(tmp_path / "run", pm=pm, progress=False)["payload"]
    marker = payload.path / ".spinml-stage.json"
    marker.write_text(marker.read_text().replace('"done"', '"running"'))  # killed before the end
    (payload.path / "manifest.json").unlink()
    stale = payload.path / "target" / "L2-segment" / "ref-9999.png"  # from an older attempt
    stale.write_bytes(b"stale")
    resumed = pipe.run(tmp_path / "run", pm=pm, progress=False)["payload"]
    assert resumed.path == payload.path and not stale.exists()
    assert resumed.items == payload.items


def test_the_policy_is_validated_before_anything_runs(refs, tmp_path, pm):
    with pytest.raises(ConfigError, match="stages.1.params.policy.*must look like 'L1_L0'"):
        device_pipeline(refs, "L3_L0").run(tmp_path / "run", pm=pm, progress=False)
    assert not (tmp_path / "run").exists()


def test_a_yaml_pipeline_gives_per_group_sanitizers(refs, tmp_path, pm):
    labels = ", ".join(REQUEST.labels)
    (tmp_path / "device.yaml").write_text(f"""
inputs:
  references: {refs}
stages:
  - name: segment
    use: segmenter:masks
  - name: sanitize
    use: stage:sanitize
    params:
      request: {{target: object, labels: [{labels}]}}
      policy:
        target: {{level: L1, sanitizer: pixelate, params: {{block: 8}}}}
        objects:
          sign: {{level: L2}}
""")
    payload = Pipeline.from_yaml(tmp_path / "device.yaml").run(tmp_path / "run", pm=pm,
                                                               progress=False)["payload"]
    assert {(i.group, i.level, i.sanitizer) for i in payload} == {("target", 1, "pixelate"),
                                                                  ("sign", 2, "segment")}
    assert payload.policy.shorthand == "L1_L0+signL2"


def test_spinml_sanitize_on_the_command_line(refs, tmp_path, capsys):
    import yaml

    from spinml.cli import main

    (tmp_path / "request.yaml").write_text(yaml.safe_dump(REQUEST.model_dump(mode="json")))
    argv = [str(refs), "--out", str(tmp_path / "payload"), "--policy", "L1_L0",
            "--request", str(tmp_path / "request.yaml"), "--segmenter", "grabcut", "-q"]
    assert main(["sanitize", *argv]) == 0
    assert "stage:sanitize: done" in capsys.readouterr().out
    payload = Payload.load(tmp_path / "payload")
    assert len(payload) == len(PHOTOS) and {i.sanitizer for i in payload} == {"canny"}
    assert main(["sanitize", *argv]) == 0
    assert "stage:sanitize: already done (cached)" in capsys.readouterr().out
