"""Device-side data: the person's private reference images and their segmentation.

Nothing in this module may be handed to a server-side component. Server-side
components (generators, trainers) receive a :class:`spinml.payload.Payload`.

A reference folder is an ImageFolder (``REFS/<label>/<image>``) with an optional
``annotations.json`` that maps an image's relative path to its prompts::

    {"eating/img1.jpg": {"box": [x0, y0, x1, y1],
                          "points": [[x, y]], "point_labels": [1],
                          "mask": "masks/img1.png",
                          "objects": {"bowl": {"box": [...]}}}}

Boxes are pixel coordinates, ``x1``/``y1`` exclusive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .io import IMAGE_SUFFIXES, read_image, read_json, read_mask, write_image, write_json

__all__ = ["Prompt", "Reference", "ReferenceSet", "Segmentation"]


@dataclass(frozen=True)
class Prompt:
    """How to find one object in a reference: a box, points, or a ready mask."""

    box: tuple[int, int, int, int] | None = None
    points: tuple[tuple[int, int], ...] = ()
    point_labels: tuple[int, ...] = ()
    mask: Path | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: Path, where: str) -> Prompt:
        unknown = set(d) - {"box", "points", "point_labels", "mask", "objects"}
        if unknown:
            raise InputError(where, f"unknown annotation fields {sorted(unknown)}")
        box = d.get("box")
        if box is not None:
            if len(box) != 4:
                raise InputError(where, f"box must be [x0, y0, x1, y1], got {box}")
            box = tuple(int(round(v)) for v in box)
            if box[2] <= box[0] or box[3] <= box[1]:
                raise InputError(where, f"box {list(box)} is empty (x1 <= x0 or y1 <= y0)")
        points = tuple(tuple(int(v) for v in p) for p in d.get("points", ()))
        labels = tuple(int(v) for v in d.get("point_labels", [1] * len(points)))
        if len(labels) != len(points):
            raise InputError(where, "point_labels must have one entry per point")
        mask = d.get("mask")
        return cls(box=box, points=points, point_labels=labels,  # type: ignore[arg-type]
                   mask=(base / mask) if mask else None)

    @property
    def empty(self) -> bool:
        return self.box is None and not self.points and self.mask is None


@dataclass(frozen=True)
class Reference:
    """One private reference image, its label and the prompts of its objects."""

    id: str                      #: relative path without suffix, e.g. ``"eating/img1"``
    path: Path
    label: str
    target: Prompt = field(default_factory=Prompt)
    objects: dict[str, Prompt] = field(default_factory=dict)

    def load(self) -> np.ndarray:
        """The image as ``H x W x 3`` uint8 RGB (raises :class:`InputError` if unusable)."""
        return read_image(self.path)


class ReferenceSet:
    """The private reference images of a request (device side only)."""

    def __init__(self, root: str | Path, references: list[Reference]) -> None:
        self.path = Path(root)
        self.references = references

    @classmethod
    def load(cls, root: str | Path) -> ReferenceSet:
        """Read an ImageFolder of references plus its optional ``annotations.json``."""
        root = Path(root)
        if not root.is_dir():
            raise InputError(root, "reference folder not found")
        ann_path = root / "annotations.json"
        try:
            ann = read_json(ann_path) if ann_path.exists() else {}
        except ValueError as exc:
            raise InputError(ann_path, f"invalid JSON: {exc}") from None
        refs = []
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if label_dir.name == "masks":
                continue
            for f in sorted(label_dir.iterdir()):
                if f.name.startswith(".") or not f.is_file():
                    continue
                rel = f.relative_to(root).as_posix()
                entry = ann.get(rel, {})
                where = f"{ann_path}[{rel}]"
                target = Prompt.from_dict(entry, root, where)
                objects = {name: Prompt.from_dict(p, root, f"{where}.objects.{name}")
                           for name, p in entry.get("objects", {}).items()}
                refs.append(Reference(id=rel.rsplit(".", 1)[0] if "." in f.name else rel,
                                      path=f, label=label_dir.name, target=target, objects=objects))
        if not refs:
            raise InputError(root, "no reference images found (expected REFS/<label>/<image>)")
        unknown = set(ann) - {r.path.relative_to(root).as_posix() for r in refs}
        if unknown:
            raise InputError(ann_path, f"annotations name files that do not exist: {sorted(unknown)[:5]}")
        return cls(root, refs)

    @property
    def labels(self) -> list[str]:
        return sorted({r.label for r in self.references})

    def __iter__(self) -> Iterator[Reference]:
        return iter(self.references)

    def __len__(self) -> int:
        return len(self.references)

    def __getitem__(self, ref_id: str) -> Reference:
        for r in self.references:
            if r.id == ref_id:
                return r
        raise KeyError(ref_id)

    @staticmethod
    def is_image_name(name: str) -> bool:
        return name.lower().endswith(IMAGE_SUFFIXES)


class Segmentation:
    """Object masks per reference: ``target``, ``background`` and other named objects.

    Stored as ``<dir>/<reference id>/<group>.png`` plus ``segmentation.json``; each
    reference is written atomically as it is done, so an interrupted run resumes.
    ``failures`` maps reference ids to the error that stopped them.
    """

    INDEX = "segmentation.json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        index = self.path / self.INDEX
        data = read_json(index) if index.exists() else {"references": {}, "failures": {}}
        self.entries: dict[str, dict[str, Any]] = data["references"]
        self.failures: dict[str, str] = data.get("failures", {})

    load = classmethod(lambda cls, path: cls(path))

    def __contains__(self, ref_id: str) -> bool:
        return ref_id in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, ref: Reference, masks: dict[str, np.ndarray], **info: Any) -> None:
        """Store masks of ``ref``; ``background`` is everything no other group covers."""
        if "target" not in masks:
            raise ValueError(f"{ref.id}: a segmentation needs a 'target' mask")
        shape = next(iter(masks.values())).shape
        covered = np.zeros(shape, dtype=bool)
        groups = {}
        for group, m in masks.items():
            m = np.asarray(m, dtype=bool)
            if m.shape != shape:
                raise InputError(ref.path, f"mask of {group!r} is {m.shape}, others are {shape}")
            if group != "background":
                m = m & ~covered  # objects never overlap: earlier groups win
                covered |= m
            groups[group] = m
        groups["background"] = ~covered
        files = {}
        for group, m in groups.items():
            rel = f"{ref.id}/{group}.png"
            write_image(self.path / rel, m)
            files[group] = {"file": rel, "pixels": int(m.sum())}
        self.entries[ref.id] = {"label": ref.label, "shape": list(shape), "groups": files, **info}
        self.failures.pop(ref.id, None)
        self._save()

    def fail(self, ref_id: str, error: BaseException | str) -> None:
        self.failures[ref_id] = str(error)
        self._save()

    def masks(self, ref_id: str) -> dict[str, np.ndarray]:
        """The boolean masks of one reference, by group."""
        entry = self.entries[ref_id]
        shape = tuple(entry["shape"])
        return {g: read_mask(self.path / v["file"], shape) for g, v in entry["groups"].items()}

    def groups(self, ref_id: str) -> list[str]:
        return list(self.entries[ref_id]["groups"])

    def _save(self) -> None:
        write_json(self.path / self.INDEX, {"references": self.entries, "failures": self.failures})
