"""Hook specifications: the contract between SpinML and its plugins.

A plugin is any module or object with functions marked ``@spinml.hookimpl``
whose names match the hooks below. The docstrings here *are* the reference
documentation; ``docs/hooks.md`` repeats them and a test keeps the two in step.

Registration hooks receive a ``register`` callback. Call it once per component::

    register(name, target, config=None, summary="", **meta)

``target`` is the component class or a lazy ``"package.module:Class"`` string
(imported only when the component is created, so listing components never
imports torch); ``config`` is a pydantic model class (import it from a cheap
module) used to validate parameters before anything heavy is imported;
``summary`` is a one-line description; ``meta`` is free-form information shown
by ``spinml components`` (sanitizers pass ``level=1`` or ``level=2``).
Registering a name that another plugin already registered for the same kind
raises :class:`~spinml.errors.DuplicateComponentError` naming both plugins.

Lifecycle hooks observe a run; their return values are ignored and they must
not change their arguments. Hook implementations must not give their
arguments default values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from .pipeline import Pipeline, Stage

hookspec = pluggy.HookspecMarker("spinml")

Register = Callable[..., None]


# -- registration -------------------------------------------------------------------------

@hookspec
def spinml_register_segmenters(register: Register) -> None:
    """Register segmenters: components that split each private reference image into objects.

    A segmenter subclasses :class:`spinml.components.Segmenter`. It runs on the device
    and sees the private images.
    """


@hookspec
def spinml_register_sanitizers(register: Register) -> None:
    """Register sanitizers: per-object transforms that decide what of an object is shared.

    A sanitizer subclasses :class:`spinml.components.Sanitizer` and declares its
    ``level`` (1: a feature such as an edge map; 2: the segment's pixels). It is given
    only the object's own pixels (everything outside its mask already black), so it
    cannot leak other objects. Pass ``level=`` to ``register`` so listings show it.
    """


@hookspec
def spinml_register_generators(register: Register) -> None:
    """Register generators: server-side components turning a payload into a synthetic dataset.

    A generator subclasses :class:`spinml.components.Generator`; it receives a
    :class:`spinml.data.Payload`, never the private images.
    """


@hookspec
def spinml_register_trainers(register: Register) -> None:
    """Register trainers: components that train the specialized model on synthetic data.

    A trainer subclasses :class:`spinml.components.Trainer`.
    """


@hookspec
def spinml_register_metrics(register: Register) -> None:
    """Register privacy metrics: components that measure leakage.

    A metric subclasses :class:`spinml.components.PrivacyMetric`. It compares what
    was shared (the payload) and what was generated with the private references.
    """


@hookspec
def spinml_register_embedders(register: Register) -> None:
    """Register image embedders used by similarity metrics.

    An embedder subclasses :class:`spinml.components.Embedder`.
    """


@hookspec
def spinml_register_stages(register: Register) -> None:
    """Register generic pipeline stages (kind ``stage``), e.g. a report writer.

    A stage subclasses :class:`spinml.components.Component` and declares
    ``inputs``, ``optional_inputs``, ``outputs`` and ``run``.
    """


# -- lifecycle ----------------------------------------------------------------------------

@hookspec
def spinml_before_run(pipeline: Pipeline, run_dir: Path) -> None:
    """Called once before the first stage of a pipeline run."""


@hookspec
def spinml_after_run(pipeline: Pipeline, run_dir: Path, artifacts: dict[str, Any]) -> None:
    """Called once after every stage finished; ``artifacts`` maps artifact names to values."""


@hookspec
def spinml_on_run_error(pipeline: Pipeline, run_dir: Path, error: BaseException) -> None:
    """Called when a run stops on an error (including ``KeyboardInterrupt``), before it propagates."""


@hookspec
def spinml_before_stage(stage: Stage, stage_dir: Path) -> None:
    """Called before a stage runs (not when it is taken from the cache)."""


@hookspec
def spinml_after_stage(stage: Stage, stage_dir: Path, outputs: dict[str, Any], cached: bool) -> None:
    """Called after a stage finished or was taken from the cache (``cached=True``)."""


@hookspec
def spinml_on_stage_error(stage: Stage, stage_dir: Path, error: BaseException) -> None:
    """Called when a stage raises; the stage directory is kept so a rerun resumes."""
