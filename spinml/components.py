"""Base classes of components.

A component is a class with a pydantic ``Config`` and a constructor taking that
config. Components that can be pipeline stages declare the artifacts they read
(``inputs``, ``optional_inputs``) and write (``outputs``) and implement
:meth:`Component.run`. The kind base classes implement ``run`` for you in
terms of one method each (``segment``, ``generate``, ``train``, ``measure``).

The device/server boundary is in the signatures: :class:`Segmenter` and
:class:`Sanitizer` see private pixels; :class:`Generator` and :class:`Trainer`
see a :class:`~spinml.payload.Payload` and datasets, never a reference set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, Field

from .config import ComponentConfig, Level

if TYPE_CHECKING:  # pragma: no cover
    from .datasets import DatasetWriter, ImageDataset, Measurement, ModelArtifact
    from .payload import Payload
    from .private import Reference, ReferenceSet, Segmentation
    from .registry import Registry

__all__ = ["Component", "StageContext", "Segmenter", "Sanitizer", "Generator", "GeneratorConfig",
           "Trainer", "PrivacyMetric", "Embedder", "BASES"]

log = logging.getLogger("spinml")
T = TypeVar("T")


@dataclass
class StageContext:
    """What a running stage may use besides its inputs: the registry, progress and logging."""

    stage: str = "stage"
    registry: Registry | None = None
    show_progress: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    def progress(self, iterable: Iterable[T], *, total: int | None = None,
                 desc: str | None = None) -> Iterable[T]:
        """Wrap ``iterable`` in a progress bar (tqdm on stderr, when stderr is a terminal)."""
        if not self.show_progress:
            return iterable
        from tqdm.auto import tqdm

        # disable=None: bars only on a terminal, so logs and CI output stay readable
        return tqdm(iterable, total=total, desc=desc or self.stage, leave=False, dynamic_ncols=True,
                    disable=None)

    def log(self, message: str) -> None:
        log.info("[%s] %s", self.stage, message)

    def get_registry(self) -> Registry:
        if self.registry is None:
            from .plugins import get_registry

            self.registry = get_registry()
        return self.registry


class Component:
    """Base of every component. Subclasses set ``Config`` to a :class:`ComponentConfig`."""

    kind: ClassVar[str] = "stage"
    Config: ClassVar[type[BaseModel]] = ComponentConfig
    inputs: ClassVar[tuple[str, ...]] = ()
    optional_inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None, **overrides: Any) -> None:
        if isinstance(config, self.Config) and not overrides:
            self.config = config
        else:
            data = config.model_dump() if isinstance(config, BaseModel) else dict(config or {})
            self.config = self.Config.model_validate({**data, **overrides})

    @classmethod
    def from_config(cls, config: BaseModel | Mapping[str, Any] | None = None, **overrides: Any):
        """Build from a config (another component's config works: unknown fields are errors)."""
        return cls(config, **overrides)

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        """Run as a pipeline stage: read ``inputs``, write under ``out_dir``, return outputs.

        ``out_dir`` survives an interrupted run: a component that writes its work
        piece by piece should skip pieces already there. Each returned value is an
        artifact object with a ``path`` attribute inside ``out_dir`` (or a Path).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot run as a pipeline stage")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


# -- device side ---------------------------------------------------------------------------

class Segmenter(Component):
    """Finds the objects of each private reference image (device side)."""

    kind = "segmenter"
    inputs = ("references",)
    outputs = ("segmentation",)

    def segment(self, image: np.ndarray, reference: Reference) -> dict[str, np.ndarray]:
        """Boolean ``H x W`` masks: ``target`` and any other named objects of ``reference``.

        ``background`` is computed for you (everything no other object covers).
        """
        raise NotImplementedError

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        from .errors import InputError
        from .private import Segmentation

        refs: ReferenceSet = inputs["references"]
        seg = Segmentation(out_dir)
        todo = [r for r in refs if r.id not in seg]
        for ref in ctx.progress(todo, desc=ctx.stage):
            try:
                image = ref.load()
                seg.add(ref, self.segment(image, ref))
            except InputError as exc:  # the rest of the batch goes on
                seg.fail(ref.id, exc)
                ctx.log(f"skipped {ref.id}: {exc}")
        return {"segmentation": seg}


class Sanitizer(Component):
    """Turns one object's pixels into what is shared of it (device side).

    :meth:`apply` receives only the object's own pixels: ``segment`` is the image
    with everything outside ``mask`` already black. Whatever it returns is what
    leaves the device for that object.
    """

    kind = "sanitizer"
    level: ClassVar[Level] = Level.L1

    def apply(self, segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Return the shared array: uint8, ``H x W`` (a feature map), ``H x W x 3`` or ``x 4``."""
        raise NotImplementedError


# -- server side ---------------------------------------------------------------------------

class GeneratorConfig(ComponentConfig):
    """Settings every generator accepts."""

    images_per_label: int = Field(20, ge=1)
    seed: int = 0
    batch_size: int = Field(4, ge=1)
    resolution: int = Field(64, ge=8)


class Generator(Component):
    """Turns a payload into a labelled synthetic dataset (server side)."""

    kind = "generator"
    Config: ClassVar[type[BaseModel]] = GeneratorConfig
    inputs = ("payload",)
    outputs = ("synthetic",)

    def generate(self, payload: Payload, writer: DatasetWriter, ctx: StageContext) -> None:
        """Write ``images_per_label`` images per label into ``writer``.

        Skip ids for which ``writer.done(id)`` is true (resume), and derive each
        image's seed from the config seed and the image's index so that any image
        can be regenerated alone.
        """
        raise NotImplementedError

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        from .datasets import DatasetWriter

        payload: Payload = inputs["payload"]
        writer = DatasetWriter(out_dir, payload.request.task, payload.request.labels)
        self.generate(payload, writer, ctx)
        return {"synthetic": writer.finalize(policy=payload.policy.shorthand)}


class Trainer(Component):
    """Trains the specialized model on synthetic data (server side).

    Optional inputs: ``synthetic_mix`` (a second pool, e.g. the L0 pool of the
    paper's alpha mixing), ``test`` (real labelled images for evaluation) and
    ``references`` (used only to refuse a test set that overlaps them).
    """

    kind = "trainer"
    inputs = ("synthetic",)
    optional_inputs = ("synthetic_mix", "test", "references")
    outputs = ("model",)

    def train(self, pools: Sequence[tuple[ImageDataset, float]], out_dir: Path, ctx: StageContext, *,
              test: ImageDataset | None = None, exclude_hashes: frozenset[str] = frozenset()
              ) -> ModelArtifact:
        """Train on ``pools`` (dataset, weight) and write the model into ``out_dir``.

        ``exclude_hashes`` are SHA-256 digests of the private references, of their files
        and of their decoded pixels (:func:`spinml.io.pixel_hash`, so that a re-encoded
        copy is caught too); a test set containing any of them must be refused.
        """
        raise NotImplementedError

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        from .io import pixel_hash, read_image, sha256_file

        alpha = float(getattr(self.config, "alpha", 0.0))
        pools = [(inputs["synthetic"], 1.0 - alpha)]
        if alpha > 0:
            if "synthetic_mix" not in inputs:
                from .errors import PipelineError

                raise PipelineError(f"{ctx.stage}: alpha={alpha} needs a 'synthetic_mix' input")
            pools.append((inputs["synthetic_mix"], alpha))
        refs = inputs.get("references")
        exclude: set[str] = set()
        for ref in refs or ():
            exclude |= {sha256_file(ref.path), pixel_hash(read_image(ref.path))}
        model = self.train([p for p in pools if p[1] > 0], out_dir, ctx,
                           test=inputs.get("test"), exclude_hashes=frozenset(exclude))
        return {"model": model}


class PrivacyMetric(Component):
    """Measures what leaked, comparing shared and generated data with the private references."""

    kind = "metric"
    inputs = ("references", "segmentation", "payload")
    optional_inputs = ("synthetic",)
    outputs = ("leakage",)

    def measure(self, references: ReferenceSet, segmentation: Segmentation, payload: Payload,
                synthetic: ImageDataset | None, ctx: StageContext) -> list[Measurement]:
        raise NotImplementedError

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        from .datasets import Measurements

        found = self.measure(inputs["references"], inputs["segmentation"], inputs["payload"],
                             inputs.get("synthetic"), ctx)
        result = Measurements(found)
        result.save(out_dir)
        return {"leakage": result}


class Embedder(Component):
    """Maps images to embedding vectors (for similarity metrics)."""

    kind = "embedder"

    @property
    def name(self) -> str:
        """A name that identifies the embedding model in every reported figure."""
        return type(self).__name__

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, D)`` float32 embeddings of ``H x W x 3`` uint8 images."""
        raise NotImplementedError


BASES: dict[str, type] = {
    "segmenter": Segmenter, "sanitizer": Sanitizer, "generator": Generator, "trainer": Trainer,
    "metric": PrivacyMetric, "embedder": Embedder, "stage": Component,
}
