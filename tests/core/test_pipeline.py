"""Pipelines: composition, validation, caching, resume and lifecycle hooks."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from core_toy import Pieces, ToyPlugin

import spinml
from spinml.errors import ConfigError, PipelineError, StageError
from spinml.pipeline import Pipeline, Stage
from spinml.testing import fresh_plugin_manager, registered_plugin


@pytest.fixture
def pm():
    pm = fresh_plugin_manager(entrypoints=False)
    with registered_plugin(ToyPlugin(), name="toy", pm=pm):
        yield pm


def make_pipe(**params) -> Pipeline:
    return Pipeline(stages=[Stage(name="write", use="stage:write", params=params),
                            Stage(name="pieces", use="stage:pieces")])


def run_info(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["stages"]


def test_runs_and_passes_artifacts_between_stages(pm, tmp_path):
    out = make_pipe(value="ab").run(tmp_path / "run", pm=pm, progress=False)
    assert (out["pieces"] / "piece-3.txt").read_text() == "3:AB"
    assert (tmp_path / "run" / "pipeline.yaml").exists()


def test_rerun_skips_finished_stages_and_downstream_change_reuses_upstream(pm, tmp_path):
    run = tmp_path / "run"
    make_pipe().run(run, pm=pm, progress=False)
    make_pipe().run(run, pm=pm, progress=False)
    assert {k: v["cached"] for k, v in run_info(run).items()} == {"write": True, "pieces": True}
    changed = make_pipe().with_params("pieces", pieces=2)
    changed.run(run, pm=pm, progress=False)
    assert {k: v["cached"] for k, v in run_info(run).items()} == {"write": True, "pieces": False}
    changed_up = make_pipe(value="zz")
    out = changed_up.run(run, pm=pm, progress=False)
    assert {k: v["cached"] for k, v in run_info(run).items()} == {"write": False, "pieces": False}
    assert (out["pieces"] / "piece-0.txt").read_text() == "0:ZZ"


def test_interrupted_stage_resumes_without_redoing_pieces(pm, tmp_path):
    Pieces.written.clear()
    pipe = make_pipe().with_params("pieces", fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        pipe.run(tmp_path / "run", pm=pm, progress=False)
    assert Pieces.written == [0, 1]
    stage_dir = next((tmp_path / "run" / "stages").glob("pieces-*"))
    assert json.loads((stage_dir / ".spinml-stage.json").read_text())["status"] == "running"
    assert not list(stage_dir.glob(".*.tmp"))  # no half-written file
    # rerunning the same configuration continues in place: only the missing pieces are written
    Pieces.written.clear()
    out = pipe.run(tmp_path / "run", pm=pm, progress=False)
    assert Pieces.written == [2, 3]
    assert sorted(p.name for p in out["pieces"].glob("piece-*")) == [f"piece-{i}.txt" for i in range(4)]
    assert json.loads((stage_dir / ".spinml-stage.json").read_text())["status"] == "done"


def test_missing_input_is_named(pm):
    pipe = Pipeline(stages=[Stage(name="pieces", use="stage:pieces")])
    with pytest.raises(PipelineError, match=r"stage 'pieces' \(stage:pieces\) needs 'text'"):
        pipe.validate_with(pm.registry)
    pipe.with_inputs(text="some.txt").validate_with(pm.registry)  # given from outside: fine


def test_renamed_ports_wire_stages(pm, tmp_path):
    pipe = Pipeline(stages=[
        Stage(name="w", use="stage:write", params={"value": "x"}, outputs={"text": "raw"}),
        Stage(name="p", use="stage:pieces", inputs={"text": "raw"}),
    ])
    out = pipe.run(tmp_path / "run", pm=pm, progress=False)
    assert (out["pieces"] / "piece-0.txt").read_text() == "0:X"


def test_editing_returns_new_pipelines(pm):
    pipe = make_pipe()
    swapped = pipe.replace("write", params={"value": "new"})
    assert pipe["write"].params == {} and swapped["write"].params == {"value": "new"}
    inserted = pipe.insert(Stage(name="extra", use="stage:write"), before="pieces")
    assert [s.name for s in inserted.stages] == ["write", "extra", "pieces"]
    assert [s.name for s in inserted.remove("extra").stages] == ["write", "pieces"]
    with pytest.raises(PipelineError, match="no stage named 'nope'; stages are write, pieces"):
        pipe.replace("nope", use="stage:write")
    with pytest.raises(Exception, match="frozen"):
        pipe.stages[0].name = "x"  # type: ignore[misc]


def test_yaml_errors_name_the_field(pm, tmp_path):
    cfg = tmp_path / "pipe.yaml"
    cfg.write_text(textwrap.dedent("""
        stages:
          - {name: write, use: "stage:write"}
          - {name: pieces, use: "stage:pieces", params: {pieces: "many"}}
    """))
    pipe = Pipeline.from_yaml(cfg)
    with pytest.raises(ConfigError, match=r"stages\.1\.params\.pieces: Input should be a valid integer"):
        pipe.validate_with(pm.registry)
    cfg.write_text("stages:\n  - {name: write, use: 'stage:write', params: {valu: 1}}\n")
    with pytest.raises(ConfigError, match=r"stages\.0\.params\.valu: unknown field"):
        Pipeline.from_yaml(cfg).validate_with(pm.registry)
    cfg.write_text("stages:\n  - {name: write, uses: 'stage:write'}\n")
    with pytest.raises(ConfigError, match=r"pipe\.yaml: stages\.0\.use: Field required; "
                                          r"stages\.0\.uses: unknown field"):
        Pipeline.from_yaml(cfg)
    cfg.write_text("stages: [\n")
    with pytest.raises(ConfigError, match="pipe.yaml: invalid YAML"):
        Pipeline.from_yaml(cfg)


def test_unknown_component_in_pipeline_suggests(pm):
    pipe = Pipeline(stages=[Stage(name="w", use="stage:wrte")])
    with pytest.raises(ConfigError, match=r"stages\.0\.use: unknown stage 'wrte'; did you mean 'write'"):
        pipe.validate_with(pm.registry)


def test_stage_error_names_the_stage_and_keeps_the_cause(pm, tmp_path):
    pipe = make_pipe().insert(Stage(name="explode", use="stage:boom"), after="write")
    with pytest.raises(StageError, match="stage 'explode': ValueError: no good") as info:
        pipe.run(tmp_path / "run", pm=pm, progress=False)
    assert isinstance(info.value.__cause__, ValueError)


def test_lifecycle_hooks_run_in_order(pm, tmp_path):
    calls = []

    class Observer:
        @spinml.hookimpl
        def spinml_before_run(self, pipeline, run_dir):
            calls.append("before_run")

        @spinml.hookimpl
        def spinml_before_stage(self, stage, stage_dir):
            calls.append(f"before:{stage.name}")

        @spinml.hookimpl
        def spinml_after_stage(self, stage, stage_dir, outputs, cached):
            calls.append(f"after:{stage.name}:{'cached' if cached else 'ran'}")

        @spinml.hookimpl
        def spinml_after_run(self, pipeline, run_dir, artifacts):
            calls.append("after_run")

        @spinml.hookimpl
        def spinml_on_stage_error(self, stage, stage_dir, error):
            calls.append(f"error:{stage.name}")

        @spinml.hookimpl
        def spinml_on_run_error(self, pipeline, run_dir, error):
            calls.append("run_error")

    with registered_plugin(Observer(), name="observer", pm=pm):
        make_pipe().run(tmp_path / "run", pm=pm, progress=False)
        make_pipe().run(tmp_path / "run", pm=pm, progress=False)
        with pytest.raises(StageError):
            make_pipe().insert(Stage(name="x", use="stage:boom"), after="write").run(
                tmp_path / "run", pm=pm, progress=False)
    assert calls == ["before_run", "before:write", "after:write:ran", "before:pieces",
                     "after:pieces:ran", "after_run",
                     "before_run", "after:write:cached", "after:pieces:cached", "after_run",
                     "before_run", "after:write:cached", "before:x", "error:x", "run_error"]


def test_yaml_round_trip_and_relative_inputs(pm, tmp_path):
    pipe = make_pipe(value="q").with_inputs(extra="data/x")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(pipe.to_yaml())
    loaded = Pipeline.from_yaml(cfg)
    assert loaded.stages == pipe.stages
    assert loaded.inputs == {"extra": str(tmp_path / "data/x")}


def test_public_api_creates_components_like_timm():
    assert "sanitizer:canny" in spinml.list_components("sanitizer")
    assert spinml.list_components("sanitizer", "can*") == ["sanitizer:canny"]
    assert spinml.get_component("sanitizer", "canny").meta["level"] == 1
