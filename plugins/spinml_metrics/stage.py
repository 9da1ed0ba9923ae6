"""The ``measure`` stage: runs a list of privacy metrics and stores their figures together."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spinml.components import Component, StageContext
from spinml.datasets import Measurements

from .config import MeasureConfig

__all__ = ["MeasureStage"]


class MeasureStage(Component):
    """Run each configured metric (created through the registry) and save ``measurements.json``.

    Each metric's figures are saved under ``metrics/<index>-<name>/`` as soon as it finishes,
    so an interrupted stage does not recompute the metrics it already has.
    """

    Config = MeasureConfig
    inputs = ("references", "segmentation", "payload")
    optional_inputs = ("synthetic",)
    outputs = ("leakage",)

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        registry = ctx.get_registry()
        metrics = [(use, registry.create("metric", use.name, use.params))
                   for use in self.config.metrics]  # validate every metric before running any
        result = Measurements()
        for i, (use, metric) in enumerate(metrics):
            part_dir = Path(out_dir) / "metrics" / f"{i}-{use.name}"
            if (part_dir / Measurements.FILE).exists():
                result.extend(Measurements.load(part_dir))
                continue
            ctx.log(f"measuring {use.name}")
            found = Measurements(metric.measure(inputs["references"], inputs["segmentation"],
                                                inputs["payload"], inputs.get("synthetic"), ctx))
            found.save(part_dir)
            result.extend(found)
        result.save(out_dir)
        return {"leakage": result}
