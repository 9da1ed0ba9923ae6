"""The command line: listings, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spinml.cli import main
from spinml.plugins import reset_plugin_manager


@pytest.fixture(autouse=True)
def _fresh_global_manager():
    reset_plugin_manager()
    yield
    reset_plugin_manager()


def test_plugins_json_lists_every_builtin(capsys):
    assert main(["plugins", "--json"]) == 0
    infos = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    for name in ("segment", "sanitize", "synth", "diffusers", "timm", "metrics", "report"):
        p = infos[name]
        assert p["status"] == "loaded" and p["distribution"] == "spinml" and p["version"]
        assert p["hooks"], f"{name} implements no hook"


def test_blocking_a_builtin_removes_it_from_components(capsys, monkeypatch):
    assert main(["components", "sanitizer"]) == 0
    assert "canny" in capsys.readouterr().out
    monkeypatch.setenv("SPINML_BLOCK_PLUGINS", "sanitize")
    reset_plugin_manager()
    assert main(["components", "sanitizer", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "canny" not in {c["name"] for c in listed}
    assert {c["plugin"] for c in listed}.isdisjoint({"sanitize"})
    assert main(["plugins"]) == 0
    assert any(line.split()[:2] == ["sanitize", "blocked"]
               for line in capsys.readouterr().out.splitlines())


def test_errors_are_one_line_with_nonzero_exit(capsys, tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("stages:\n  - {name: g, use: 'generator:cutpaste', params: {images_per_label: -1}}\n")
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "stages.0.params.images_per_label" in err and err.startswith("spinml: error:")


def test_unknown_component_error_suggests(capsys, tmp_path):
    assert main(["generate", str(tmp_path), "--out", str(tmp_path / "o"), "--generator", "cutpast"]) == 2
    assert "did you mean 'cutpaste'" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spinml.cli", "--debug", "run",
                           str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "spinml.cli", "run", str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "missing.yaml: file not found" in proc.stderr


def test_bad_set_option(capsys, tmp_path):
    assert main(["generate", str(tmp_path), "--out", str(tmp_path / "o"), "--set", "seed"]) == 2
    assert "--set 'seed' must look like PARAM=VALUE" in capsys.readouterr().err
