"""The payload: the only thing that leaves the device.

A payload directory holds the request, the shared files, and ``manifest.json``
listing exactly what was shared, one item per (reference, object group), with
the SHA-256 of each file. :meth:`Payload.load` refuses a payload whose files do
not match the manifest, that holds files the manifest does not list, or that
shares more than its own policy allows.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import Level, Policy, Request
from .errors import PayloadError
from .io import read_json, sha256_file, write_image, write_json

__all__ = ["Payload", "SharedItem", "PayloadWriter", "PAYLOAD_FORMAT"]

PAYLOAD_FORMAT = "spinml-payload/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SharedItem:
    """One shared artifact: what of which object of which reference left the device."""

    reference: str        #: opaque reference id (no file name of the device is shared)
    label: str
    group: str            #: ``target``, ``background`` or another object name
    level: int            #: 1 or 2 (L0 objects have no item)
    sanitizer: str        #: the sanitizer that produced the file, e.g. ``canny``
    file: str             #: path relative to the payload directory
    sha256: str
    shape: tuple[int, ...]
    box: tuple[int, int, int, int] | None = None  #: the object's bounding box, if shared

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Payload:
    """A verified payload directory, as the server receives it."""

    def __init__(self, path: Path, request: Request, policy: Policy, items: list[SharedItem],
                 manifest: dict[str, Any]) -> None:
        self.path, self.request, self.policy, self.items = path, request, policy, items
        self.manifest = manifest

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True) -> Payload:
        path = Path(path)
        mpath = path / MANIFEST
        if not mpath.is_file():
            raise PayloadError(f"{path}: not a payload (no {MANIFEST})")
        try:
            m = read_json(mpath)
            if m.get("format") != PAYLOAD_FORMAT:
                raise PayloadError(f"{mpath}: unknown format {m.get('format')!r}, "
                                   f"expected {PAYLOAD_FORMAT!r}")
            request = Request.model_validate(m["request"])
            policy = Policy.model_validate(m["policy"])
            items = [SharedItem(**{**i, "shape": tuple(i["shape"]),
                                   "box": tuple(i["box"]) if i.get("box") else None})
                     for i in m["items"]]
        except PayloadError:
            raise
        except Exception as exc:
            raise PayloadError(f"{mpath}: malformed manifest: {exc}") from None
        payload = cls(path, request, policy, items, m)
        if verify:
            payload.verify()
        return payload

    def verify(self) -> None:
        """Check hashes, that nothing unlisted is present, and that levels obey the policy."""
        listed = {MANIFEST}
        for item in self.items:
            f = self.path / item.file
            listed.add(item.file)
            if not f.is_file():
                raise PayloadError(f"{self.path}: shared file {item.file} is missing")
            if sha256_file(f) != item.sha256:
                raise PayloadError(f"{self.path}: {item.file} does not match its SHA-256 "
                                   "in the manifest (modified after sanitization?)")
            allowed = self.policy.for_group(item.group)
            if item.level > int(allowed.level) or item.level < 1:
                raise PayloadError(f"{self.path}: {item.file} shares {item.group!r} at "
                                   f"L{item.level} but the policy allows L{int(allowed.level)}")
        extra = sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                       if p.is_file() and not p.name.startswith(".spinml")
                       and p.relative_to(self.path).as_posix() not in listed)
        if extra:
            raise PayloadError(f"{self.path}: files not listed in the manifest: {extra[:5]}")

    def __iter__(self) -> Iterator[SharedItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def select(self, *, group: str | None = None, level: int | None = None,
               label: str | None = None) -> list[SharedItem]:
        """Items filtered by object group, level and label."""
        return [i for i in self.items if (group is None or i.group == group)
                and (level is None or i.level == level) and (label is None or i.label == label)]

    def read(self, item: SharedItem) -> np.ndarray:
        """The shared array of ``item`` (uint8; 2-D for features, RGBA for L2 segments)."""
        from PIL import Image

        with Image.open(self.path / item.file) as im:
            return np.asarray(im).copy()

    def level_of(self, group: str) -> Level:
        return self.policy.for_group(group).level

    @property
    def nbytes(self) -> int:
        return sum((self.path / i.file).stat().st_size for i in self.items)


class PayloadWriter:
    """Builds a payload directory item by item; :meth:`close` writes the manifest last."""

    def __init__(self, path: str | Path, request: Request, policy: Policy) -> None:
        self.path = Path(path)
        self.request, self.policy = request, policy
        self.items: dict[tuple[str, str], SharedItem] = {}

    def add(self, reference: str, label: str, group: str, level: int, sanitizer: str,
            array: np.ndarray, box: tuple[int, int, int, int] | None = None) -> SharedItem:
        allowed = int(self.policy.for_group(group).level)
        if not 1 <= level <= allowed:
            raise PayloadError(f"refusing to share {group!r} of {reference} at L{level}: "
                               f"the policy allows L{allowed}")
        rel = f"{group}/L{level}-{sanitizer}/{reference}.png"
        digest = write_image(self.path / rel, array)
        item = SharedItem(reference, label, group, level, sanitizer, rel, digest,
                          tuple(int(s) for s in np.shape(array)), box)
        self.items[(reference, group)] = item
        return item

    def close(self, **stats: Any) -> Payload:
        manifest = {
            "format": PAYLOAD_FORMAT,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "request": self.request.model_dump(mode="json"),
            "policy": self.policy.model_dump(mode="json"),
            "items": [i.as_dict() for i in self.items.values()],
            "stats": stats,
        }
        write_json(self.path / MANIFEST, manifest)
        return Payload.load(self.path)
