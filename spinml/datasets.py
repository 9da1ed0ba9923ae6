"""Labelled image datasets (synthetic and real), trained-model and measurement artifacts.

A dataset directory::

    DATA/images/<label>/<id>.png   ImageFolder layout
    DATA/provenance.jsonl          one JSON record per image (label, boxes, generator,
                                   model, scheduler, prompt, seed, level, source, ...)
    DATA/annotations/coco.json     detection only, written by finalize()
    DATA/labels/<label>/<id>.txt   detection only, YOLO text files
    DATA/dataset.json              task, labels, count; written last

A plain ImageFolder (``DIR/<label>/<image>``), optionally with a ``coco.json``,
loads as a dataset too: that is how real test sets are given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .io import FSYNC, IMAGE_SUFFIXES, read_image, read_json, sha256_file, write_image, write_json

__all__ = ["Record", "ImageDataset", "DatasetWriter", "ModelArtifact", "Measurement",
           "Measurements"]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


@dataclass(frozen=True)
class Record:
    """One image of a dataset: its file, label, boxes (detection) and provenance."""

    id: str
    file: Path
    label: str
    boxes: tuple[tuple[float, float, float, float, str], ...] = ()  #: (x0, y0, x1, y1, label)
    provenance: dict[str, Any] = field(default_factory=dict)

    def load(self) -> np.ndarray:
        return read_image(self.file)


class ImageDataset:
    """A read-only labelled dataset (a dataset directory or a plain ImageFolder)."""

    def __init__(self, path: Path, task: str, labels: list[str], records: list[Record]) -> None:
        self.path, self.task, self.labels, self.records = path, task, labels, records

    @classmethod
    def load(cls, path: str | Path) -> ImageDataset:
        path = Path(path)
        if not path.is_dir():
            raise InputError(path, "dataset folder not found")
        meta = read_json(path / "dataset.json") if (path / "dataset.json").exists() else {}
        images = path / "images" if (path / "images").is_dir() else path
        prov = {r["id"]: r for r in _read_jsonl(path / "provenance.jsonl")}
        boxes = _coco_boxes(path)
        records = []
        for label_dir in sorted(p for p in images.iterdir() if p.is_dir()):
            if images == path and label_dir.name in {"annotations", "labels"} \
                    or label_dir.name.startswith("."):
                continue
            for f in sorted(label_dir.iterdir()):
                if not f.name.lower().endswith(IMAGE_SUFFIXES) or f.name.startswith("."):
                    continue
                rid = f"{label_dir.name}/{f.stem}"
                p = prov.get(rid, {})
                b = p.get("boxes") or boxes.get(f.relative_to(images).as_posix(), ())
                records.append(Record(rid, f, label_dir.name, tuple(tuple(x) for x in b), p))
        labels = meta.get("labels") or sorted({r.label for r in records})
        if not records:
            raise InputError(path, "dataset has no images (expected <label>/<image> folders)")
        task = meta.get("task") or ("detection" if boxes else "classification")
        return cls(path, task, list(labels), records)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(self.labels, 0)
        for r in self.records:
            out[r.label] = out.get(r.label, 0) + 1
        return out

    def content_hashes(self) -> dict[str, str]:
        """SHA-256 of each image file, by record id (for overlap checks)."""
        return {r.id: sha256_file(r.file) for r in self.records}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file; a truncated last line (a killed write) is ignored."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _coco_boxes(path: Path) -> dict[str, list[tuple[float, float, float, float, str]]]:
    for cand in (path / "annotations" / "coco.json", path / "coco.json"):
        if cand.exists():
            coco = read_json(cand)
            cats = {c["id"]: c["name"] for c in coco.get("categories", [])}
            files = {im["id"]: im["file_name"] for im in coco.get("images", [])}
            out: dict[str, list[tuple[float, float, float, float, str]]] = {}
            for a in coco.get("annotations", []):
                x, y, w, h = a["bbox"]
                out.setdefault(files[a["image_id"]], []).append(
                    (x, y, x + w, y + h, cats[a["category_id"]]))
            return out
    return {}


class DatasetWriter:
    """Writes a dataset image by image, so that a killed run resumes where it stopped.

    Each image is written atomically, then its provenance line is appended and
    flushed; :meth:`done` is true only when both exist, so a rerun regenerates
    exactly the images that were not finished.
    """

    def __init__(self, path: str | Path, task: str, labels: Sequence[str]) -> None:
        self.path = Path(path)
        self.task, self.labels = task, list(labels)
        self.path.mkdir(parents=True, exist_ok=True)
        self._prov_path = self.path / "provenance.jsonl"
        self._records = {r["id"]: r for r in _read_jsonl(self._prov_path)
                         if (self.path / "images" / f"{r['id']}.png").exists()}
        self._rewrite_provenance()  # drop torn lines and lines whose image is gone

    def done(self, image_id: str) -> bool:
        """Whether ``image_id`` (``"<label>/<name>"``) is already complete."""
        return image_id in self._records

    def add(self, image_id: str, image: np.ndarray, *, label: str,
            boxes: Sequence[tuple[float, float, float, float, str]] = (),
            **provenance: Any) -> None:
        """Store one image with its label, boxes (detection) and provenance fields."""
        if label not in self.labels:
            raise ValueError(f"label {label!r} is not one of {self.labels}")
        if not image_id.startswith(f"{label}/"):
            raise ValueError(f"image id {image_id!r} must start with its label '{label}/'")
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"images must be H x W x 3 uint8, got {arr.dtype} {arr.shape}")
        write_image(self.path / "images" / f"{image_id}.png", arr)
        rec = {"id": image_id, "label": label, "width": arr.shape[1], "height": arr.shape[0],
               "boxes": [list(b) for b in boxes], **provenance}
        with open(self._prov_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")
            fh.flush()
            if FSYNC:
                os.fsync(fh.fileno())
        self._records[image_id] = rec

    def __len__(self) -> int:
        return len(self._records)

    def _rewrite_provenance(self) -> None:
        from .io import atomic_write

        with atomic_write(self._prov_path, "w") as fh:
            for rec in self._records.values():
                fh.write(json.dumps(rec, default=str) + "\n")

    def finalize(self, **meta: Any) -> ImageDataset:
        """Write COCO/YOLO annotations (detection) and ``dataset.json``; return the dataset."""
        self._rewrite_provenance()
        records = sorted(self._records.values(), key=lambda r: r["id"])
        if self.task == "detection":
            cats = [{"id": i + 1, "name": n} for i, n in enumerate(self.labels)]
            cat_id = {c["name"]: c["id"] for c in cats}
            images, anns = [], []
            for i, r in enumerate(records, start=1):
                images.append({"id": i, "file_name": f"{r['id']}.png",
                               "width": r["width"], "height": r["height"]})
                lines = []
                for x0, y0, x1, y1, lab in r["boxes"]:
                    anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cat_id[lab],
                                 "bbox": [x0, y0, x1 - x0, y1 - y0],
                                 "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
                    w, h = r["width"], r["height"]
                    lines.append(f"{self.labels.index(lab)} {(x0 + x1) / 2 / w:.6f} "
                                 f"{(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
                yolo = self.path / "labels" / f"{r['id']}.txt"
                yolo.parent.mkdir(parents=True, exist_ok=True)
                from .io import atomic_write

                with atomic_write(yolo, "w") as fh:
                    fh.write("\n".join(lines) + ("\n" if lines else ""))
            write_json(self.path / "annotations" / "coco.json",
                       {"images": images, "annotations": anns, "categories": cats})
        write_json(self.path / "dataset.json",
                   {"task": self.task, "labels": self.labels, "count": len(records), **meta})
        return ImageDataset.load(self.path)


class ModelArtifact:
    """A trained model directory: ``model.safetensors``, ``model.json`` (how to rebuild it)
    and ``metrics.json`` (figures on real test data, if a test set was given)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "model.json").exists():
            raise InputError(self.path, "not a model directory (no model.json)")
        self.config: dict[str, Any] = read_json(self.path / "model.json")
        mp = self.path / "metrics.json"
        self.metrics: dict[str, Any] = read_json(mp) if mp.exists() else {}

    load = classmethod(lambda cls, path: cls(path))

    @property
    def weights(self) -> Path:
        return self.path / "model.safetensors"


@dataclass(frozen=True)
class Measurement:
    """One leakage figure, always naming how it was computed.

    ``variant`` distinguishes definitions (e.g. MI ``artifact`` vs ``corrected``);
    ``embedder`` names the embedding model of a similarity; ``floor`` and
    ``ceiling`` give the chance and near-copy values that make it readable.
    """

    metric: str
    group: str
    value: float
    variant: str = ""
    level: int | None = None
    embedder: str | None = None
    floor: float | None = None
    ceiling: float | None = None
    n: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        parts = [self.metric, self.variant, self.group]
        return "/".join(p for p in parts if p)


class Measurements(list):  # type: ignore[type-arg]
    """A list of :class:`Measurement` stored as ``measurements.json`` in a directory."""

    FILE = "measurements.json"

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        write_json(path / self.FILE, [m.__dict__ for m in self])
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> Measurements:
        out = cls(Measurement(**d) for d in read_json(Path(path) / cls.FILE))
        out.path = Path(path)
        return out
