"""Built-in HTML reports: stage ``report`` (one run) and :func:`write_sweep_report` (a sweep).

Importing this package is cheap; matplotlib and PIL load when a report is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import spinml
from spinml.hookspecs import Register

from .config import ReportConfig

__all__ = ["write_sweep_report"]


@spinml.hookimpl
def spinml_register_stages(register: Register) -> None:
    register("report", "spinml_report.report:ReportStage", config=ReportConfig,
             summary="HTML report: references and masks, shared items, synthetic samples, "
                     "model figures, leakage",
             inputs=(), optional_inputs=("references", "segmentation", "payload", "synthetic",
                                         "model", "leakage"),
             outputs=("report",))


def write_sweep_report(rows: Sequence[Mapping[str, Any]], out_path: str | Path,
                       runs: Mapping[str, Mapping[str, Any]] | None = None, **options: Any) -> Path:
    """Write a sweep's HTML report (see :func:`spinml_report.report.write_sweep_report`)."""
    from .report import write_sweep_report as write

    return write(rows, out_path, runs, **options)
