"""``import spinml`` stays light: no heavy library is imported by the core."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "torchvision", "diffusers", "transformers", "timm", "segment_anything", "kornia",
         "cv2", "skimage", "sklearn", "matplotlib", "scipy")


def _imported_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_spinml_imports_nothing_heavy():
    assert _imported_after("import spinml") == set()


def test_listing_components_imports_nothing_heavy():
    code = ("import spinml; spinml.list_components(); "
            "from spinml.plugins import get_plugin_manager; get_plugin_manager().plugin_infos()")
    assert _imported_after(code) == set()


def test_validating_a_pipeline_imports_nothing_heavy():
    code = ("from spinml.pipeline import Pipeline; Pipeline.from_dict({'stages': ["
            "{'name': 'g', 'use': 'generator:cutpaste'}, {'name': 't', 'use': 'trainer:timm-classifier'}],"
            " 'inputs': {'payload': 'p', 'test': 't'}}).validate_with()")
    assert _imported_after(code) == set()
