"""Pipelines: named stages wired by the artifacts they read and write.

A :class:`Pipeline` is immutable: :meth:`~Pipeline.replace`, :meth:`~Pipeline.insert`,
:meth:`~Pipeline.remove` and :meth:`~Pipeline.with_params` return new pipelines.
Swapping the diffusion backend is one line::

    pipe = pipe.replace("generate", use="generator:sd-img2img", params={"model": "path/to/sd"})

Before running, :meth:`~Pipeline.validate` checks every stage's component and
parameters (importing nothing heavy) and that each input is produced upstream
or given. Each stage writes to ``RUN/stages/<name>-<key>/`` where ``key``
hashes the component, its validated parameters and its inputs' keys, so a
rerun skips finished stages and runs that differ only downstream share the
upstream work.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from .config import StrictModel, format_validation_error
from .errors import ConfigError, PipelineError, SpinMLError, StageError
from .io import hash_tree, read_json, write_json

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import PluginManager
    from .registry import ComponentSpec

__all__ = ["Stage", "Pipeline", "StageRun", "run_stage", "ARTIFACT_LOADERS", "load_artifact"]

MARKER = ".spinml-stage.json"


def _loaders() -> dict[str, Callable[[Path], Any]]:
    from .datasets import ImageDataset, Measurements, ModelArtifact
    from .payload import Payload
    from .private import ReferenceSet, Segmentation

    return {"references": ReferenceSet.load, "segmentation": Segmentation.load,
            "payload": Payload.load, "synthetic": ImageDataset.load,
            "synthetic_mix": ImageDataset.load, "test": ImageDataset.load,
            "model": ModelArtifact.load, "leakage": Measurements.load}


#: port name -> loader of an artifact stored at a path (other ports get the Path itself)
ARTIFACT_LOADERS: dict[str, Callable[[Path], Any]] = {}


def load_artifact(port: str, value: Any) -> Any:
    """Turn a path given for ``port`` into its artifact object (objects pass through)."""
    if not isinstance(value, (str, Path)):
        return value
    if not ARTIFACT_LOADERS:
        ARTIFACT_LOADERS.update(_loaders())
    loader = ARTIFACT_LOADERS.get(port)
    return loader(Path(value)) if loader else Path(value)


class Stage(StrictModel):
    """One step: a component (``"kind:name"``), its parameters, and its wiring.

    ``inputs``/``outputs`` rename ports to artifacts, e.g. ``inputs={"synthetic":
    "synthetic_l0"}`` makes a trainer read the artifact ``synthetic_l0``.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    use: str
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)

    @field_validator("use")
    @classmethod
    def _kind_name(cls, v: str) -> str:
        kind, sep, name = v.partition(":")
        if not sep or not kind or not name:
            raise ValueError(f"{v!r} must look like 'kind:name', e.g. 'generator:cutpaste'")
        return v

    @property
    def kind(self) -> str:
        return self.use.partition(":")[0]

    @property
    def component(self) -> str:
        return self.use.partition(":")[2]

    def artifact_for(self, port: str, *, output: bool = False) -> str:
        return (self.outputs if output else self.inputs).get(port, port)


class Pipeline(StrictModel):
    """An ordered, immutable list of stages plus the artifacts given from outside."""

    stages: tuple[Stage, ...] = Field(min_length=1)
    #: artifacts given from outside, e.g. ``{"references": "refs/", "test": "real/"}``
    inputs: dict[str, str] = Field(default_factory=dict)
    #: optional sweep specification (read by ``spinml sweep``)
    sweep: dict[str, Any] | None = None

    @field_validator("stages")
    @classmethod
    def _unique(cls, v: tuple[Stage, ...]) -> tuple[Stage, ...]:
        seen: set[str] = set()
        for s in v:
            if s.name in seen:
                raise ValueError(f"stage name {s.name!r} is used twice")
            seen.add(s.name)
        return v

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Pipeline:
        try:
            pipe = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc), source=source) from None
        if source:
            base = Path(source).parent
            pipe = pipe.model_copy(update={"inputs": {
                k: str(v if Path(v).is_absolute() else base / v) for k, v in pipe.inputs.items()}})
        return pipe

    @classmethod
    def from_yaml(cls, path: str | Path) -> Pipeline:
        """Load and validate a YAML pipeline (relative input paths are relative to the file)."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("file not found", source=str(path)) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}".replace("\n", " "), source=str(path)) from None
        if not isinstance(data, dict):
            raise ConfigError("expected a mapping with a 'stages' list", source=str(path))
        return cls.from_dict(data, source=str(path))

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)

    # -- editing (each returns a new pipeline) -------------------------------------------

    def index(self, name: str) -> int:
        for i, s in enumerate(self.stages):
            if s.name == name:
                return i
        raise PipelineError(f"no stage named {name!r}; stages are "
                            f"{', '.join(s.name for s in self.stages)}")

    def __getitem__(self, name: str) -> Stage:
        return self.stages[self.index(name)]

    def _with_stages(self, stages: list[Stage]) -> Pipeline:
        return type(self).model_validate({**self.model_dump(), "stages": [s.model_dump() for s in stages]})

    def replace(self, name: str, stage: Stage | None = None, **changes: Any) -> Pipeline:
        """Replace stage ``name`` by ``stage``, or change some of its fields (``use``, ``params``)."""
        i = self.index(name)
        new = stage or self.stages[i].model_copy(update=changes)
        new = Stage.model_validate(new.model_dump())
        return self._with_stages([*self.stages[:i], new, *self.stages[i + 1:]])

    def with_params(self, name: str, **params: Any) -> Pipeline:
        """Merge ``params`` into stage ``name``'s parameters."""
        s = self[name]
        return self.replace(name, params={**s.params, **params})

    def insert(self, stage: Stage, *, before: str | None = None, after: str | None = None) -> Pipeline:
        """Insert ``stage`` before or after a named stage (at the end if neither is given)."""
        stages = list(self.stages)
        if before is not None and after is not None:
            raise PipelineError("give before= or after=, not both")
        pos = (self.index(before) if before is not None else
               self.index(after) + 1 if after is not None else len(stages))
        stages.insert(pos, stage)
        return self._with_stages(stages)

    def remove(self, name: str) -> Pipeline:
        i = self.index(name)
        return self._with_stages([*self.stages[:i], *self.stages[i + 1:]])

    def with_inputs(self, **inputs: str | Path) -> Pipeline:
        return self.model_copy(update={"inputs": {**self.inputs, **{k: str(v) for k, v in inputs.items()}}})

    # -- checking and running ------------------------------------------------------------

    def validate_with(self, registry: Any = None, given: Mapping[str, Any] | None = None
                      ) -> list[tuple[Stage, ComponentSpec, BaseModel]]:
        """Resolve components, validate parameters and wiring; import nothing heavy."""
        from .plugins import get_registry

        registry = registry or get_registry()
        available = set(self.inputs) | set(given or {})
        resolved = []
        for i, stage in enumerate(self.stages):
            try:
                spec = registry.get(stage.kind, stage.component)
            except SpinMLError as exc:
                raise ConfigError(str(exc), location=f"stages.{i}.use") from None
            config = spec.validate(stage.params, location=f"stages.{i}.params")
            ports = _ports(spec)
            missing = [stage.artifact_for(p) for p in ports["inputs"]
                       if stage.artifact_for(p) not in available]
            if missing:
                raise PipelineError(
                    f"stage {stage.name!r} ({stage.use}) needs {', '.join(map(repr, missing))}, "
                    "which no earlier stage produces and which is not given",
                    hint="add it under 'inputs:' or add a stage that produces it")
            available |= {stage.artifact_for(p, output=True) for p in ports["outputs"]}
            resolved.append((stage, spec, config))
        return resolved

    def run(self, run_dir: str | Path, inputs: Mapping[str, Any] | None = None, *,
            pm: PluginManager | None = None, progress: bool = True) -> dict[str, Any]:
        """Run every stage (skipping cached ones); return the artifacts by name."""
        from .components import StageContext
        from .plugins import get_plugin_manager

        pm = pm or get_plugin_manager()
        run_dir = Path(run_dir)
        given = {**self.inputs, **(inputs or {})}
        resolved = self.validate_with(pm.registry, given)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "pipeline.yaml").write_text(self.with_inputs(**{
            k: str(v) for k, v in given.items() if isinstance(v, (str, Path))}).to_yaml())
        artifacts: dict[str, Any] = {}
        keys: dict[str, str] = {}
        for name, value in given.items():
            artifacts[name] = value
            path = value if isinstance(value, (str, Path)) else getattr(value, "path", None)
            keys[name] = hash_tree(path) if path is not None else repr(value)
        summary: dict[str, Any] = {"stages": {}}
        pm.hook.spinml_before_run(pipeline=self, run_dir=run_dir)
        try:
            for stage, spec, config in resolved:
                ports = _ports(spec)
                bound = {p: stage.artifact_for(p) for p in (*ports["inputs"], *ports["optional"])
                         if stage.artifact_for(p) in artifacts}
                key = stage_key(spec, config, {p: keys[a] for p, a in bound.items()})
                stage_dir = run_dir / "stages" / f"{stage.name}-{key[:10]}"
                values = {p: load_artifact(p, artifacts[a]) for p, a in bound.items()}
                for p, a in bound.items():
                    artifacts[a] = values[p]
                ctx = StageContext(stage=stage.name, registry=pm.registry, show_progress=progress)
                result = run_stage(stage, spec, config, values, stage_dir, key=key, pm=pm, ctx=ctx)
                for port, value in result.outputs.items():
                    art = stage.artifact_for(port, output=True)
                    artifacts[art], keys[art] = value, key
                summary["stages"][stage.name] = {"dir": stage_dir.relative_to(run_dir).as_posix(),
                                                 "use": stage.use, "key": key,
                                                 "cached": result.cached,
                                                 "seconds": round(result.seconds, 3)}
                write_json(run_dir / "run.json", summary)
        except BaseException as exc:
            pm.hook.spinml_on_run_error(pipeline=self, run_dir=run_dir, error=exc)
            raise
        pm.hook.spinml_after_run(pipeline=self, run_dir=run_dir, artifacts=artifacts)
        return artifacts


def _ports(spec: ComponentSpec) -> dict[str, tuple[str, ...]]:
    """A component's ports; declared in ``meta`` or read from the class (which imports it)."""
    meta = spec.meta
    if "inputs" in meta or "outputs" in meta:
        return {"inputs": tuple(meta.get("inputs", ())), "optional": tuple(meta.get("optional_inputs", ())),
                "outputs": tuple(meta.get("outputs", ()))}
    from .components import BASES

    cls = BASES.get(spec.kind) if spec.kind != "stage" else None
    if cls is None or not cls.outputs:
        cls = spec.load()
    return {"inputs": cls.inputs, "optional": cls.optional_inputs, "outputs": cls.outputs}


def stage_key(spec: ComponentSpec, config: BaseModel, input_keys: Mapping[str, str]) -> str:
    """Hash of what determines a stage's output: component and its version, parameters, inputs.

    Code edited in place without a version change is not seen: use a new run directory.
    """
    from . import __version__

    doc = {"use": spec.id, "target": spec.target_name, "version": [__version__, spec.version],
           "params": config.model_dump(mode="json"), "inputs": dict(sorted(input_keys.items()))}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StageRun:
    outputs: dict[str, Any]
    cached: bool
    seconds: float
    dir: Path


def run_stage(stage: Stage, spec: ComponentSpec, config: BaseModel, inputs: Mapping[str, Any],
              out_dir: Path, *, key: str, pm: PluginManager, ctx: Any, force: bool = False) -> StageRun:
    """Run one stage into ``out_dir``, or load its outputs if it finished with the same key.

    ``out_dir`` holding a different stage's work is an error (nothing is overwritten)
    unless ``force``; an unfinished stage with the same key resumes in place.
    """
    marker = out_dir / MARKER
    state = read_json(marker) if marker.exists() else None
    if state and state.get("key") != key and not force:
        raise PipelineError(f"{out_dir} holds the output of a different configuration "
                            f"({state.get('use')}); refusing to overwrite it",
                            hint="choose another output directory or pass --force")
    if state and state.get("key") == key and state.get("status") == "done":
        outputs = {p: load_artifact(p, out_dir / rel) for p, rel in state["outputs"].items()}
        pm.hook.spinml_after_stage(stage=stage, stage_dir=out_dir, outputs=outputs, cached=True)
        return StageRun(outputs, True, 0.0, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(marker, {"stage": stage.name, "use": stage.use, "key": key, "status": "running"})
    pm.hook.spinml_before_stage(stage=stage, stage_dir=out_dir)
    start = time.perf_counter()
    try:
        component = spec.load()(config)
        outputs = component.run(dict(inputs), out_dir, ctx)
        missing = set(_ports(spec)["outputs"]) - set(outputs)
        if missing:
            raise PipelineError(f"{spec.id} did not produce {sorted(missing)}")
    except SpinMLError as exc:
        pm.hook.spinml_on_stage_error(stage=stage, stage_dir=out_dir, error=exc)
        raise
    except BaseException as exc:
        pm.hook.spinml_on_stage_error(stage=stage, stage_dir=out_dir, error=exc)
        if isinstance(exc, Exception):
            raise StageError(stage.name, f"{type(exc).__name__}: {exc}") from exc
        raise
    rels = {}
    for port, value in outputs.items():
        path = Path(value if isinstance(value, (str, Path)) else value.path)
        rels[port] = path.resolve().relative_to(out_dir.resolve()).as_posix()
    write_json(marker, {"stage": stage.name, "use": stage.use, "key": key, "status": "done",
                        "outputs": rels})
    pm.hook.spinml_after_stage(stage=stage, stage_dir=out_dir, outputs=outputs, cached=False)
    return StageRun(outputs, False, time.perf_counter() - start, out_dir)
