"""What a generator must produce, image by image: ids, labels and per-image seeds.

Cheap to import (standard library only) and shared by every built-in generator,
so that all backends name and seed their images the same way:

* image ``k`` of label ``L`` is ``"L/00000k"`` in the dataset;
* its seed is :func:`image_seed` ``(config seed, L, k)``, a 63-bit integer that
  depends on nothing else, so any single image can be regenerated alone and the
  same seed always gives the same image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from spinml.datasets import DatasetWriter

__all__ = ["Job", "image_seed", "plan", "pending", "batched", "pick"]

T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """One image to generate."""

    id: str       #: dataset id, ``"<label>/<index:06d>"``
    label: str
    index: int    #: index of the image within its label
    seed: int     #: :func:`image_seed` of (config seed, label, index)


def image_seed(seed: int, label: str, index: int) -> int:
    """The seed of one image: a stable 63-bit hash of (config seed, label, index)."""
    digest = hashlib.sha256(f"spinml:{seed}:{label}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def plan(labels: Sequence[str], images_per_label: int, seed: int) -> list[Job]:
    """Every image of a dataset, label by label."""
    return [Job(f"{label}/{k:06d}", label, k, image_seed(seed, label, k))
            for label in labels for k in range(images_per_label)]


def pending(jobs: Sequence[Job], writer: DatasetWriter) -> list[Job]:
    """The jobs whose image ``writer`` does not hold yet (what a resumed run still has to do)."""
    return [j for j in jobs if not writer.done(j.id)]


def batched(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in consecutive chunks of at most ``size``."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def pick(options: Sequence[T], job: Job) -> T:
    """Choose one of ``options`` for ``job``, round-robin over the label's images."""
    if not options:
        raise ValueError("nothing to choose from")
    return options[job.index % len(options)]
