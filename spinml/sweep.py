"""Sweeps: one pipeline run over sanitization policies, alpha values and seeds.

The sweep section of a pipeline YAML::

    sweep:
      policies: [L0_L0, L1_L0, L2_L0, L0_L2, L2_L2]
      alphas: [0.0, 0.5]         # fraction of training data from the mix pool
      mix_policy: L0_L0          # the pool alpha draws from (the paper's L0 pool)
      seeds: [0, 1]

Every configuration runs in the same run directory, so stages whose inputs and
parameters are equal (segmentation, the L0 pool, ...) run once and are reused.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from .config import Policy, StrictModel, format_validation_error
from .errors import ConfigError
from .io import write_json
from .pipeline import Pipeline, Stage

__all__ = ["SweepSpec", "run_sweep", "print_table", "utility_of"]


class GeneratorChoice(StrictModel):
    use: str
    params: dict[str, Any] = Field(default_factory=dict)


class SweepSpec(StrictModel):
    policies: tuple[str, ...] = ("L0_L0", "L1_L0", "L2_L0", "L0_L2", "L2_L2")
    alphas: tuple[float, ...] = (0.0,)
    seeds: tuple[int, ...] = (0,)
    mix_policy: str = "L0_L0"
    #: names of the stages the sweep varies
    sanitize: str = "sanitize"
    generate: str = "generate"
    train: str = "train"
    alpha_policies: tuple[str, ...] | None = Field(
        None, description="policies to combine with alpha > 0 (default: all but mix_policy)")
    #: a different generate stage per policy, e.g. ``{L1_L0: {use: generator:sd-controlnet,
    #: params: {...}}}``: diffusion backends each handle one kind of share
    generators: dict[str, GeneratorChoice] = Field(default_factory=dict)


def _configurations(spec: SweepSpec) -> list[tuple[str, float, int]]:
    out = []
    for policy in spec.policies:
        Policy.parse(policy)
        for alpha in spec.alphas:
            mixable = spec.alpha_policies if spec.alpha_policies is not None else \
                [p for p in spec.policies if p != spec.mix_policy]
            if alpha > 0 and policy not in mixable:
                continue
            for seed in spec.seeds:
                out.append((policy, alpha, seed))
    return out


def configure(pipe: Pipeline, spec: SweepSpec, policy: str, alpha: float, seed: int) -> Pipeline:
    """The pipeline of one sweep configuration."""
    base_gen = pipe[spec.generate]

    def generator_for(pol: str) -> Stage:
        choice = spec.generators.get(pol)
        stage = base_gen if choice is None else base_gen.model_copy(
            update={"use": choice.use, "params": choice.params})
        return stage.model_copy(update={"params": {**stage.params, "seed": seed}})

    p = pipe.with_params(spec.sanitize, policy=policy).replace(spec.generate, generator_for(policy))
    p = p.with_params(spec.train, seed=seed, alpha=alpha)
    if alpha > 0:
        san, gen = p[spec.sanitize], generator_for(spec.mix_policy)
        p = p.insert(Stage(name=f"{san.name}_mix", use=san.use,
                           params={**san.params, "policy": spec.mix_policy},
                           inputs=san.inputs, outputs={"payload": "payload_mix"}),
                     before=spec.train)
        p = p.insert(Stage(name=f"{gen.name}_mix", use=gen.use, params=gen.params,
                           inputs={"payload": "payload_mix"}, outputs={"synthetic": "synthetic_mix"}),
                     before=spec.train)
    return p


def utility_of(metrics: dict[str, Any]) -> tuple[str, float]:
    """The headline utility figure on real test data (accuracy, else mAP50-95)."""
    for source in (metrics.get("test"), metrics):
        if not isinstance(source, dict):
            continue
        for key in ("accuracy", "mAP50-95", "map50_95", "mAP"):
            if isinstance(source.get(key), (int, float)):
                return key, float(source[key])
    return "utility", math.nan


def run_sweep(pipe: Pipeline, run_dir: str | Path, *, progress: bool = True,
              spec: SweepSpec | None = None, report: bool = True) -> dict[str, Any]:
    """Run every configuration; write ``sweep.json`` (and the sweep report); return the table."""
    try:
        spec = spec or SweepSpec.model_validate(pipe.sweep or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix="sweep")) from None
    run_dir = Path(run_dir)
    base = pipe.model_copy(update={"sweep": None})
    rows: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}
    configs = _configurations(spec)
    for i, (policy, alpha, seed) in enumerate(configs, start=1):
        name = policy + (f"+a{alpha:g}" if alpha > 0 else "")
        if progress:
            print(f"[{i}/{len(configs)}] {name} seed {seed}", flush=True)
        artifacts = configure(base, spec, policy, alpha, seed).run(run_dir, progress=progress)
        model = artifacts.get("model")
        metric, utility = utility_of(model.metrics if model is not None else {})
        row: dict[str, Any] = {"config": name, "policy": policy, "alpha": alpha, "seed": seed,
                               metric: utility}
        for m in artifacts.get("leakage") or []:
            row[m.key] = m.value
        rows.append(row)
        runs.setdefault(name, artifacts)
    table = aggregate(rows)
    result = {"rows": rows, "table": table, "run_dir": str(run_dir)}
    write_json(run_dir / "sweep.json", result)
    if report:
        try:
            from spinml_report import write_sweep_report
        except ImportError:
            write_sweep_report = None  # the report plugin is optional
        if write_sweep_report is not None:
            result["report"] = str(write_sweep_report(table, run_dir / "sweep-report.html", runs=runs))
    return result


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of every numeric column, per configuration."""
    out: list[dict[str, Any]] = []
    for name in dict.fromkeys(r["config"] for r in rows):
        group = [r for r in rows if r["config"] == name]
        agg: dict[str, Any] = {"config": name, "policy": group[0]["policy"],
                               "alpha": group[0]["alpha"], "seeds": len(group)}
        keys = [k for k in group[0] if k not in ("config", "policy", "alpha", "seed")]
        for k in keys:
            vals = [r[k] for r in group if isinstance(r.get(k), (int, float))]
            if vals:
                agg[k] = statistics.fmean(vals)
                agg[f"{k}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        out.append(agg)
    return out


def print_table(result: dict[str, Any]) -> None:
    """Print the sweep table (mean±std over seeds when there are several)."""
    from ._text import table_lines

    table = result["table"]
    keys = dict.fromkeys(k for row in table for k in row)  # rows may lack some figures
    cols = [k for k in keys if not k.endswith("_std") and k not in ("policy", "seeds")]
    rows = []
    for row in table:
        cells = []
        for c in cols:
            v = row.get(c, "-")
            if isinstance(v, float) and c != "alpha":
                sd = f"±{row.get(f'{c}_std', 0.0):.3f}" if row["seeds"] > 1 else ""
                cells.append(f"{v:.3f}{sd}")
            else:
                cells.append(str(v))
        rows.append(cells)
    print("\n".join(table_lines(cols, rows)))
    print(f"run directory: {result['run_dir']}")
    if result.get("report"):
        print(f"report: {result['report']}")
