"""``spinml demo``: the embedded default, end to end, offline and without weights.

A person wants a classifier of their own handwritten digits as their camera sees
them on their own desk. The demo builds that data (:mod:`spinml_demo.data`), writes
a pipeline (``pipeline.yaml``) that segments the references with the person's
masks, sanitizes them under a policy, generates a synthetic dataset with the
weight-free ``cutpaste`` generator, trains a small timm classifier, measures MI and
similarity, and writes a report; then it sweeps the policies (and the paper's alpha
mixing) and prints the privacy-utility table.

Rerunning continues where it stopped; everything already computed is reused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

__all__ = ["demo_pipeline", "run_demo", "DEMO_SWEEP"]

#: the configurations the demo compares; alpha mixes the L0 pool into an L2_L0 pool
DEMO_SWEEP: dict[str, Any] = {
    "policies": ["L0_L0", "L1_L0", "L2_L0", "L0_L2", "L2_L2"],
    "alphas": [0.0, 0.5],
    "alpha_policies": ["L2_L0"],
    "mix_policy": "L0_L0",
}


def demo_pipeline(data_root: Path, *, images_per_label: int = 400, epochs: int = 15,
                  seeds: int = 1) -> dict[str, Any]:
    """The demo's pipeline as a YAML-ready mapping."""
    request = yaml.safe_load((data_root / "request.yaml").read_text(encoding="utf-8"))
    rel = data_root.resolve().as_posix()
    return {
        "inputs": {"references": f"{rel}/refs", "test": f"{rel}/test"},
        "stages": [
            {"name": "segment", "use": "segmenter:masks"},
            {"name": "sanitize", "use": "stage:sanitize",
             "params": {"request": request, "policy": "L1_L0"}},
            {"name": "generate", "use": "generator:cutpaste",
             "params": {"images_per_label": images_per_label, "resolution": 64, "batch_size": 32,
                        "public_pool": f"{rel}/public/objects",
                        "backgrounds": f"{rel}/public/backgrounds"}},
            # timm's smallest ResNet at 32 px trains in seconds on a laptop CPU; digits must
            # not be mirrored, so horizontal flips are off
            {"name": "train", "use": "trainer:timm-classifier",
             "params": {"model": "test_resnet", "image_size": 32, "epochs": epochs,
                        "batch_size": 64, "augment": {"hflip": 0.0}}},
            {"name": "measure", "use": "stage:measure",
             "params": {"metrics": [{"name": "mi"}, {"name": "similarity"}]}},
            {"name": "report", "use": "stage:report"},
        ],
        "sweep": {**DEMO_SWEEP, "seeds": list(range(seeds))},
    }


def run_demo(out: str | Path = "spinml-demo", *, seeds: int = 1, progress: bool = True,
             images_per_label: int = 400, epochs: int = 15, test_size: int = 500) -> int:
    """Build the demo data, run the sweep, print the table and the report's path."""
    from spinml.pipeline import Pipeline
    from spinml.sweep import print_table, run_sweep

    from .data import build_demo_data

    out = Path(out)
    start = time.perf_counter()
    data_root = out / "data"
    if not (data_root / "request.yaml").exists():
        print(f"building the demo data in {data_root} ...", flush=True)
        build_demo_data(data_root, test_size=test_size)
    config = out / "pipeline.yaml"
    spec = demo_pipeline(data_root, images_per_label=images_per_label, epochs=epochs, seeds=seeds)
    config.write_text("# the demo's pipeline; rerun with: spinml sweep " + str(config) + "\n"
                      + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    pipe = Pipeline.from_yaml(config)
    result = run_sweep(pipe, out / "runs", progress=progress)
    print()
    print_table(result)
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    return 0
