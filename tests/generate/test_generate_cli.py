"""``spinml generate`` runs the generators through the CLI, resumably and with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_payloads import make_payload

from spinml.cli import main
from spinml.datasets import ImageDataset


def test_generate_cutpaste_from_the_command_line(tmp_path: Path, pool: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    payload = make_payload(tmp_path / "payload", "L1_L0", task="detection")
    argv = ["generate", str(payload.path), "--out", str(tmp_path / "data"), "--generator", "cutpaste",
            "--set", "images_per_label=5", "--set", f"public_pool={pool}", "--quiet"]
    assert main(argv) == 0
    assert "5 images: coin=5" in capsys.readouterr().out
    data = ImageDataset.load(tmp_path / "data")
    assert data.task == "detection" and all(len(r.boxes) == 1 for r in data)
    assert (tmp_path / "data" / "annotations" / "coco.json").exists()
    assert main(argv) == 0
    assert "already done (cached)" in capsys.readouterr().out


def test_generate_with_a_missing_model_fails_with_one_line(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("diffusers")
    payload = make_payload(tmp_path / "payload", "L0_L0")
    argv = ["generate", str(payload.path), "--out", str(tmp_path / "data"),
            "--generator", "sd-text2img", "--set", "model=nobody/no-such-model", "--quiet"]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "model 'nobody/no-such-model' is not available offline" in err
    assert "Traceback" not in err
