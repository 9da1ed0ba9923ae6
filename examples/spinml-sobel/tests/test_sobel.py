"""Tests of the sobel plugin, written as any plugin author would write them."""

from __future__ import annotations

import numpy as np

import spinml
from spinml.payload import Payload
from spinml.pipeline import Pipeline
from spinml.testing import fresh_plugin_manager, make_references


def test_plugin_is_discovered_through_its_entry_point():
    pm = fresh_plugin_manager()
    info = {i.name: i for i in pm.plugin_infos()}["sobel"]
    assert (info.status, info.distribution, info.builtin) == ("loaded", "spinml-sobel", False)
    spec = pm.registry.get("sanitizer", "sobel")
    assert spec.meta["level"] == 1 and spec.plugin == "sobel"


def test_sobel_marks_the_edges_of_a_square():
    sobel = spinml.create("sanitizer", "sobel", threshold=32)
    segment = np.zeros((16, 16, 3), np.uint8)
    segment[4:12, 4:12] = 200
    edges = sobel.apply(segment, segment[..., 0] > 0)
    assert edges.dtype == np.uint8 and set(np.unique(edges)) == {0, 255}
    assert edges[8, 3] == 255 and edges[8, 4] == 255  # the square's left border
    assert edges[8, 8] == 0 and edges[0, 0] == 0      # flat inside and outside


def test_sobel_runs_inside_a_pipeline_composed_in_python(tmp_path):
    refs = make_references(tmp_path / "refs", labels=("mug", "cup"), with_masks=True)
    pipe = Pipeline.from_dict({
        "inputs": {"references": str(refs)},
        "stages": [
            {"name": "segment", "use": "segmenter:masks"},
            {"name": "sanitize", "use": "stage:sanitize", "params": {
                "request": {"target": "mug", "labels": ["cup", "mug"]},
                "policy": {"target": {"level": 1, "sanitizer": "sobel",
                                      "params": {"threshold": 40}}}}},
        ],
    })
    out = pipe.run(tmp_path / "run", progress=False)
    payload = Payload.load(out["payload"].path)
    assert len(payload) == 4
    assert {i.sanitizer for i in payload} == {"sobel"} and {i.level for i in payload} == {1}
    shared = payload.read(payload.items[0])
    assert shared.ndim == 2 and set(np.unique(shared)) <= {0, 255}
