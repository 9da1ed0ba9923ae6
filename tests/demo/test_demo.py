"""``spinml demo`` end to end, at a reduced size: every configuration reaches the table and report."""

from __future__ import annotations

import json

from spinml_demo.demo import DEMO_SWEEP, run_demo


def test_demo_runs_the_sweep_and_reports_every_configuration(tmp_path, capsys):
    out = tmp_path / "demo"
    assert run_demo(out, progress=False, images_per_label=12, epochs=1, test_size=40) == 0
    printed = capsys.readouterr().out
    sweep = json.loads((out / "runs" / "sweep.json").read_text())
    configs = [row["config"] for row in sweep["table"]]
    assert configs == [*DEMO_SWEEP["policies"][:3], "L2_L0+a0.5", *DEMO_SWEEP["policies"][3:]]
    report = (out / "runs" / "sweep-report.html").read_text()
    for name in configs:
        assert name in printed and name in report
    for row in sweep["table"]:
        assert 0.0 <= row["accuracy"] <= 1.0
        # L0 shares nothing of the target: its MI is exactly zero; L2 shares pixels
        mi = row["mi/artifact/target"]
        assert (mi == 0.0) if row["policy"].startswith("L0") else (mi > 0.0)
    assert f"report: {out / 'runs' / 'sweep-report.html'}" in printed
    # a rerun reuses every stage
    assert run_demo(out, progress=False, images_per_label=12, epochs=1, test_size=40) == 0
    stages = json.loads((out / "runs" / "run.json").read_text())["stages"]
    assert all(s["cached"] for s in stages.values())
