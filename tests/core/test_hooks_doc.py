"""docs/hooks.md documents every hook with its exact signature and docstring."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from spinml import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def _specs():
    return {n: f for n, f in vars(hookspecs).items()
            if n.startswith("spinml_") and callable(f) and hasattr(f, "spinml_spec")}


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_every_hook_is_documented_with_signature_and_docstring():
    doc = DOC.read_text(encoding="utf-8")
    for name, func in _specs().items():
        sig = f"{name}{inspect.signature(func)}".replace("'", "")
        assert f"`{sig}`" in doc, f"docs/hooks.md lacks the signature `{sig}`"
        assert _norm(inspect.getdoc(func)) in _norm(doc), f"docs/hooks.md lacks {name}'s docstring"


def test_docs_name_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(spinml_\w+)\(", DOC.read_text(encoding="utf-8"), re.M))
    assert documented == set(_specs())


def test_hook_specs_have_no_defaults():
    for name, func in _specs().items():
        params = inspect.signature(func).parameters.values()
        assert all(p.default is inspect.Parameter.empty for p in params), name
