"""A testing kit for plugin authors (and SpinML's own tests).

::

    from spinml.testing import fresh_plugin_manager, registered_plugin, make_references

    def test_my_sanitizer(tmp_path):
        with registered_plugin(MyPlugin()) as pm:
            sanitizer = pm.registry.create("sanitizer", "mine")
            ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .io import write_image, write_json
from .plugins import PluginManager

__all__ = ["fresh_plugin_manager", "registered_plugin", "sample_image", "sample_mask",
           "make_references"]


def fresh_plugin_manager(*, entrypoints: bool = True, strict: bool = True) -> PluginManager:
    """A new plugin manager (strict by default, so plugin errors surface in tests)."""
    pm = PluginManager(strict=strict)
    if entrypoints:
        pm.load_entrypoints()
    return pm


@contextlib.contextmanager
def registered_plugin(plugin: object, *, name: str | None = None,
                      pm: PluginManager | None = None) -> Iterator[PluginManager]:
    """Register ``plugin`` for the duration of the block, then unregister it.

    Without ``pm`` the process-wide plugin manager is used, so components the
    plugin registers are visible to ``spinml.create`` and pipelines.
    """
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    plugin_name = pm.register(plugin, name=name)
    try:
        yield pm
    finally:
        if pm.get_plugin(plugin_name or "") is not None:
            pm.unregister(name=plugin_name)
        pm.infos.pop(plugin_name or "", None)


def sample_image(height: int = 64, width: int = 64, seed: int = 0) -> np.ndarray:
    """A textured RGB test image (uint8): a noisy gradient with a bright disc in the middle."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1),
                    np.full_like(xx, 96)], axis=2).astype(np.int16)
    img += rng.integers(-20, 21, size=img.shape, dtype=np.int16)
    img[sample_mask(height, width)] = (250, 220, 40)
    return np.clip(img, 0, 255).astype(np.uint8)


def sample_mask(height: int = 64, width: int = 64) -> np.ndarray:
    """The disc of :func:`sample_image` as a boolean mask."""
    yy, xx = np.mgrid[0:height, 0:width]
    r = min(height, width) / 4
    return (yy - height / 2) ** 2 + (xx - width / 2) ** 2 <= r * r


def make_references(root: str | Path, labels: Sequence[str] = ("a", "b"), per_label: int = 2,
                    size: int = 64, *, with_masks: bool = False) -> Path:
    """Write a small reference folder (``root/<label>/<n>.png`` + ``annotations.json``).

    Each image has its target disc boxed; with ``with_masks`` the exact mask is given too.
    """
    root = Path(root)
    ann = {}
    r = size // 4
    for li, label in enumerate(labels):
        for k in range(per_label):
            rel = f"{label}/{k}.png"
            write_image(root / rel, sample_image(size, size, seed=li * 100 + k))
            entry: dict[str, object] = {"box": [size // 2 - r - 1, size // 2 - r - 1,
                                                size // 2 + r + 2, size // 2 + r + 2]}
            if with_masks:
                write_image(root / "masks" / f"{label}-{k}.png", sample_mask(size, size))
                entry["mask"] = f"masks/{label}-{k}.png"
            ann[rel] = entry
    write_json(root / "annotations.json", ann)
    return root
