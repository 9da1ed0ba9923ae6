"""The ``sanitize`` stage: references + segmentation + policy -> payload.

For each segmented reference and each object group the policy shares (level 1 or
2), everything outside the group's mask is blacked out, the group's sanitizer is
applied to what remains, and the result is added to the payload with the group's
bounding box. L0 groups produce nothing, and no sanitizer ever sees a pixel of
another group, so nothing of an L0 object can reach the payload.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spinml.components import Component, Sanitizer, StageContext
from spinml.config import Policy, Request
from spinml.errors import ConfigError, InputError, PluginError
from spinml.payload import Payload, PayloadWriter
from spinml.private import Reference, ReferenceSet, Segmentation

from .config import SanitizeConfig

__all__ = ["SanitizeStage", "sanitize_references", "reference_ids", "object_segment",
           "bounding_box"]

Box = tuple[int, int, int, int]


class SanitizeStage(Component):
    """Sanitize each reference object by object into the payload that leaves the device."""

    Config = SanitizeConfig
    config: SanitizeConfig
    inputs = ("references", "segmentation")
    outputs = ("payload",)

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        payload = sanitize_references(inputs["references"], inputs["segmentation"],
                                      self.config.request, self.config.policy, out_dir,
                                      registry=ctx.get_registry(), ctx=ctx)
        return {"payload": payload}


def reference_ids(references: ReferenceSet) -> dict[str, str]:
    """The opaque id each reference has in a payload (``ref-0000``, ...), by reference id.

    Reference ids are file paths on the device, so they are not shared; the opaque id
    is the reference's position in the set, which device-side code (e.g. leakage
    metrics) can recompute to pair shared items with their references.
    """
    return {ref.id: f"ref-{i:04d}" for i, ref in enumerate(references)}


def object_segment(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` with every pixel outside ``mask`` set to black: all a sanitizer is given."""
    segment = np.zeros_like(image)
    segment[mask] = image[mask]
    return segment


def bounding_box(mask: np.ndarray) -> Box | None:
    """``(x0, y0, x1, y1)`` of the set pixels of ``mask`` (``x1``/``y1`` exclusive)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@dataclass
class _Share:
    group: str
    level: int
    sanitizer: str
    array: np.ndarray
    box: Box


@dataclass
class _Cost:
    """What sanitizing cost on the device, written to the manifest's ``stats``."""

    seconds: list[float] = field(default_factory=list)
    bytes_by_group: dict[str, int] = field(default_factory=dict)
    items_by_group: dict[str, int] = field(default_factory=dict)
    peak_traced: int = 0

    def add(self, group: str, nbytes: int) -> None:
        """Count one shared file of ``group``."""
        self.bytes_by_group[group] = self.bytes_by_group.get(group, 0) + nbytes
        self.items_by_group[group] = self.items_by_group.get(group, 0) + 1

    def stats(self, policy: Policy, n_references: int, failures: dict[str, str]) -> dict[str, Any]:
        done = len(self.seconds)
        total = sum(self.bytes_by_group.values())
        groups = {}
        for group, pol in policy.groups().items():
            n = self.items_by_group.get(group, 0)
            b = self.bytes_by_group.get(group, 0)
            groups[group] = {"level": int(pol.level), "sanitizer": pol.sanitizer_name(), "items": n,
                             "bytes": b, "bytes_per_item": round(b / n) if n else 0}
        by_level = {f"L{lv}": sum(g["bytes"] for g in groups.values() if g["level"] == lv)
                    for lv in (1, 2)}
        return {
            "references": n_references,
            "sanitized": done,
            "failures": failures,
            "seconds_total": round(sum(self.seconds), 4),
            "seconds_per_image": round(sum(self.seconds) / done, 4) if done else 0.0,
            "peak_memory_bytes": self.peak_traced,
            "peak_memory_method": "tracemalloc: peak of Python and NumPy allocations while "
                                  "sanitizing (memory allocated inside OpenCV is not traced)",
            "max_rss_bytes": _max_rss_bytes(),
            "max_rss_method": "resource.getrusage ru_maxrss: the process's peak resident set "
                              "size so far, including everything loaded before this stage",
            "payload_bytes": total,
            "payload_bytes_per_image": round(total / done) if done else 0,
            "payload_bytes_by_level": by_level,
            "groups": groups,
        }


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # kilobytes on Linux


@contextmanager
def _traced_peak(cost: _Cost) -> Iterator[None]:
    """Record the peak traced allocation of the block into ``cost`` (tracemalloc)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        cost.peak_traced = max(0, tracemalloc.get_traced_memory()[1] - base)
        if started:
            tracemalloc.stop()


def sanitize_references(references: ReferenceSet, segmentation: Segmentation,
                        request: Request | Mapping[str, Any], policy: Policy | str | Mapping[str, Any],
                        out_dir: str | Path, *, registry: Any = None,
                        ctx: StageContext | None = None) -> Payload:
    """Write the payload of ``references`` under ``policy`` into ``out_dir`` and return it.

    A reference that cannot be read, or that has no segmentation, is listed under
    ``stats.failures`` of the manifest (by its opaque id) and the others go on.
    """
    request = request if isinstance(request, Request) else Request.model_validate(request)
    policy = Policy.parse(policy)
    ctx = ctx or StageContext(stage="sanitize", show_progress=False)
    if registry is not None:
        ctx.registry = registry
    sanitizers = _create_sanitizers(policy, ctx.get_registry())
    _check_objects(policy, segmentation)
    _check_labels(references, request)
    out_dir = Path(out_dir)
    writer = PayloadWriter(out_dir, request, policy)
    ids = reference_ids(references)
    failures: dict[str, str] = {}
    cost = _Cost()
    with _traced_peak(cost):
        for ref in ctx.progress(list(references), desc=f"{ctx.stage}: sanitize"):
            sid = ids[ref.id]
            if ref.id not in segmentation:
                failures[sid] = ("segmentation failed" if ref.id in segmentation.failures
                                 else "not segmented")
                continue
            start = time.perf_counter()
            try:
                shares = _sanitize_one(ref, segmentation, policy, sanitizers)
            except InputError as exc:  # the rest of the batch goes on
                failures[sid] = exc.problem
                ctx.log(f"skipped {ref.id}: {exc}")
                continue
            for share in shares:
                item = writer.add(sid, ref.label, share.group, share.level, share.sanitizer,
                                  share.array, share.box)
                cost.add(share.group, (out_dir / item.file).stat().st_size)
            cost.seconds.append(time.perf_counter() - start)
    _remove_stale_shares(out_dir, {i.file for i in writer.items.values()})
    return writer.close(**cost.stats(policy, len(references), failures))


def _create_sanitizers(policy: Policy, registry: Any) -> dict[str, tuple[str, Sanitizer]]:
    """The sanitizer of each shared group; its level must be the group's level."""
    out = {}
    for group, pol in policy.groups().items():
        name = pol.sanitizer_name()
        if name is None:
            continue
        where = f"policy.{group if group in ('target', 'background') else 'objects.' + group}"
        try:
            spec = registry.get("sanitizer", name)
        except Exception as exc:
            raise ConfigError(str(exc), location=f"{where}.sanitizer") from None
        sanitizer = spec.create(pol.params)
        if not isinstance(sanitizer, Sanitizer):
            raise PluginError(f"sanitizer {name!r} is not a Sanitizer", plugin=spec.plugin)
        if int(sanitizer.level) != int(pol.level):
            raise ConfigError(f"sanitizer {name!r} shares at L{int(sanitizer.level)} but the group "
                              f"is L{int(pol.level)}", location=f"{where}.sanitizer",
                              hint="pick a sanitizer of the group's level")
        out[group] = (name, sanitizer)
    return out


def _check_objects(policy: Policy, segmentation: Segmentation) -> None:
    """A policy naming an object no reference has is a misspelling, not an empty share."""
    if not len(segmentation):  # nothing was segmented: every reference is a listed failure
        return
    known = {g for ref_id in segmentation for g in segmentation.groups(ref_id)}
    for name in policy.objects:
        if name not in known:
            listed = ", ".join(sorted(known - {"target", "background"})) or "none"
            raise ConfigError(f"object {name!r} is not in any reference's segmentation "
                              f"(segmented objects: {listed})", location=f"policy.objects.{name}",
                              hint="name objects in annotations.json under 'objects'")


def _check_labels(references: ReferenceSet, request: Request) -> None:
    unknown = sorted({r.label for r in references} - set(request.labels))
    if unknown:
        raise ConfigError(f"references are labelled {unknown}, which the request does not list "
                          f"(labels: {list(request.labels)})", location="request.labels")


def _sanitize_one(ref: Reference, segmentation: Segmentation, policy: Policy,
                  sanitizers: dict[str, tuple[str, Sanitizer]]) -> list[_Share]:
    """What is shared of one reference; nothing is written until every group succeeded."""
    groups = [g for g in segmentation.groups(ref.id) if g in sanitizers]
    if not groups:
        return []
    image = ref.load()
    masks = segmentation.masks(ref.id)
    if image.shape[:2] != next(iter(masks.values())).shape:
        h, w = next(iter(masks.values())).shape
        raise InputError(ref.path, f"image is {image.shape[1]}x{image.shape[0]} but its "
                         f"segmentation is {w}x{h}; segment it again")
    shares = []
    for group in groups:
        mask = masks[group]
        box = bounding_box(mask)
        if box is None:  # the group has no pixel in this reference: nothing to share
            continue
        name, sanitizer = sanitizers[group]
        array = _checked(sanitizer.apply(object_segment(image, mask), mask), name)
        shares.append(_Share(group, int(policy.for_group(group).level), name, array, box))
    return shares


def _checked(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        raise PluginError(f"sanitizer {name!r} returned a {a.dtype} array of shape {a.shape}; "
                          "expected uint8 H x W, H x W x 3 or H x W x 4")
    return a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a


def _remove_stale_shares(out_dir: Path, listed: set[str]) -> None:
    """Remove shared files a previous run left that this payload does not list."""
    for f in out_dir.glob("*/L[12]-*/*.png"):
        if f.relative_to(out_dir).as_posix() not in listed:
            f.unlink()
    for d in sorted(out_dir.glob("*/L[12]-*"), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
            if not any(d.parent.iterdir()):
                d.parent.rmdir()
