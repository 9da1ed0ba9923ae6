"""A user's own L1 sanitizer, registered in code and used in a Python-composed pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from device_photos import PHOTOS, REQUEST, known_masks, photo
from user_sanitizer import MeanColourPlugin

from spinml.errors import ConfigError
from spinml.payload import Payload
from spinml.pipeline import Pipeline, Stage
from spinml.testing import registered_plugin


def pipeline(refs, policy) -> Pipeline:
    return Pipeline(inputs={"references": str(refs)}, stages=(
        Stage(name="segment", use="segmenter:masks"),
        Stage(name="sanitize", use="stage:sanitize",
              params={"request": REQUEST.model_dump(), "policy": policy}),
    ))


POLICY = {"target": {"level": "L1", "sanitizer": "mean-colour", "params": {"step": 4}},
          "background": {"level": "L1", "sanitizer": "silhouette"}}


def test_a_user_sanitizer_runs_in_a_composed_pipeline(photo_refs, tmp_path, pm):
    with registered_plugin(MeanColourPlugin(), name="mean-colour-plugin", pm=pm):
        assert pm.registry.get("sanitizer", "mean-colour").meta["level"] == 1
        payload = pipeline(photo_refs, POLICY).run(tmp_path / "run", pm=pm, progress=False)["payload"]
    assert isinstance(payload, Payload) and len(payload) == 2 * len(PHOTOS)
    item = next(i for i in payload.select(group="target") if i.label == "cat")
    assert item.sanitizer == "mean-colour" and item.file.startswith("target/L1-mean-colour/")
    shared = payload.read(item)
    mask = known_masks("chelsea")["target"]
    colours = np.unique(shared[mask], axis=0)
    assert len(colours) == 1 and not shared[~mask].any()
    expected = np.rint(photo("chelsea")[mask].mean(axis=0) / 4) * 4
    assert np.array_equal(colours[0], expected)
    assert Payload.load(payload.path).items == payload.items


def test_without_the_plugin_the_name_is_unknown(photo_refs, tmp_path, pm):
    with pytest.raises(ConfigError, match="unknown sanitizer 'mean-colour'"):
        pipeline(photo_refs, POLICY).run(tmp_path / "run", pm=pm, progress=False)
