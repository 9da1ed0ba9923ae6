from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install a throwaway distribution with ``spinml`` entry points on sys.path.

    ``fake_dist("spinml-foo", {"foo": "code of module foo_mod"})`` writes the module and
    a ``.dist-info`` whose entry point ``foo = foo_mod`` importlib.metadata discovers.
    """
    def make(dist: str, plugins: dict[str, str], version: str = "1.0") -> Path:
        root = tmp_path / "site"
        info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        eps = ["[spinml]"]
        for name, code in plugins.items():
            (root / f"{name}_mod.py").write_text(textwrap.dedent(code))
            eps.append(f"{name} = {name}_mod")
        (info / "entry_points.txt").write_text("\n".join(eps) + "\n")
        monkeypatch.syspath_prepend(str(root))
        return root

    return make
