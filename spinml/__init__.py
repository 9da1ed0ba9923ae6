"""SpinML: customized synthetic data for private training of specialized vision models.

The core is small and imports nothing heavy; components come from plugins::

    import spinml

    spinml.list_components("generator")
    gen = spinml.create("generator", "cutpaste", images_per_label=50)
    pipe = spinml.Pipeline.from_yaml("pipeline.yaml")
    pipe.replace("generate", use="generator:sd-img2img").run("runs/mine")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigError,
    InputError,
    ModelNotFoundError,
    PayloadError,
    PipelineError,
    PluginError,
    SpinMLError,
    UnknownComponentError,
)
from .plugins import hookimpl

__version__ = "0.1.0"

__all__ = [
    "__version__", "hookimpl", "create", "list_components", "get_component",
    "Pipeline", "Stage", "Policy", "Request", "Level",
    "SpinMLError", "ConfigError", "InputError", "ModelNotFoundError", "PayloadError",
    "PipelineError", "PluginError", "UnknownComponentError",
]

_LAZY = {
    "Pipeline": "spinml.pipeline", "Stage": "spinml.pipeline",
    "Policy": "spinml.config", "Request": "spinml.config", "Level": "spinml.config",
    "Payload": "spinml.payload", "ReferenceSet": "spinml.private", "ImageDataset": "spinml.datasets",
}

if TYPE_CHECKING:  # pragma: no cover
    from .config import Level, Policy, Request
    from .pipeline import Pipeline, Stage


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spinml' has no attribute {name!r}")


def create(kind: str, name: str, params: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """Create a component by kind and name, like ``timm.create_model``.

    Parameters are validated against the component's config before it is imported.
    """
    from .plugins import get_registry

    return get_registry().create(kind, name, params, **overrides)


def list_components(kind: str | None = None, pattern: str | None = None) -> list[str]:
    """Names (``kind:name``) of registered components, optionally filtered by a glob."""
    from .plugins import get_registry

    return [s.id for s in get_registry().list(kind, pattern)]


def get_component(kind: str, name: str) -> Any:
    """The :class:`~spinml.registry.ComponentSpec` of one component."""
    from .plugins import get_registry

    return get_registry().get(kind, name)
