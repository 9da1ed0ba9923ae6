"""The MI definition on hand-computed cases, and metric ``mi`` on a real payload."""

from __future__ import annotations

import math

import numpy as np
import pytest
from spinml_metrics.mi import (
    MutualInformation,
    edge_canvas,
    entropy,
    letterbox_512,
    letterbox_mask,
    mutual_information,
    normalized_mi,
)

from spinml.components import StageContext
from spinml.testing import fresh_plugin_manager, sample_image, sample_mask

u8 = lambda *v: np.array(v, dtype=np.uint8)


def test_constant_vectors_share_nothing() -> None:
    x = np.full(1000, 7, dtype=np.uint8)
    assert mutual_information(x, x) == 0.0


def test_two_value_cases_by_hand() -> None:
    assert mutual_information(u8(0, 0, 1, 1), u8(0, 1, 0, 1)) == pytest.approx(0.0, abs=1e-15)
    assert mutual_information(u8(0, 0, 1, 1), u8(0, 0, 1, 1)) == pytest.approx(math.log(2))
    # p(0,0)=1/2, p(0,1)=1/4, p(1,1)=1/4; p(x=0)=3/4, p(x=1)=1/4; p(y=0)=p(y=1)=1/2
    by_hand = 0.5 * math.log(0.5 / 0.375) + 0.25 * math.log(0.25 / 0.375) + 0.25 * math.log(2)
    assert mutual_information(u8(0, 0, 0, 1), u8(0, 0, 1, 1)) == pytest.approx(by_hand)


def test_mi_is_symmetric_and_uses_values_not_order() -> None:
    x, y = u8(3, 3, 9, 200, 200, 9), u8(1, 2, 2, 1, 1, 2)
    assert mutual_information(x, y) == pytest.approx(mutual_information(y, x))
    perm = np.array([5, 0, 3, 1, 4, 2])
    assert mutual_information(x[perm], y[perm]) == pytest.approx(mutual_information(x, y))


def test_independent_vectors_have_near_zero_mi() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, 200_000).astype(np.uint8)
    y = rng.integers(0, 4, 200_000).astype(np.uint8)
    assert 0 <= mutual_information(x, y) < 1e-3  # the plug-in bias is about 9 / (2 n)
    assert mutual_information(x, (x + y) % 4) < 1e-3  # pairwise independent too
    assert mutual_information(x, x // 2) == pytest.approx(math.log(2), abs=1e-3)


def test_identity_gives_entropy() -> None:
    x = np.random.default_rng(1).integers(0, 256, 50_000).astype(np.uint8)
    assert mutual_information(x, x) == pytest.approx(entropy(x), rel=1e-12)
    assert entropy(u8(0, 1, 2, 3)) == pytest.approx(math.log(4))


def test_normalized_mi_divides_by_raw_entropy() -> None:
    raw = u8(0, 1, 2, 3)
    assert normalized_mi(u8(0, 0, 1, 1), u8(0, 0, 1, 1), raw) == pytest.approx(0.5)
    assert normalized_mi(u8(0, 1), u8(0, 1), u8(5, 5)) == 0.0  # nothing to leak


def test_mismatched_vectors_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        mutual_information(u8(1, 2), u8(1, 2, 3))
    with pytest.raises(ValueError, match="uint8"):
        mutual_information(np.array([1.0, 2.0]), np.array([1.0, 2.0]))


def test_letterbox_keeps_aspect_and_centres_on_black() -> None:
    img = np.full((32, 64, 3), 200, dtype=np.uint8)  # wide: fills the width, 256 rows high
    canvas = letterbox_512(img)
    assert canvas.shape == (512, 512, 3) and canvas.dtype == np.uint8
    assert (canvas[128:384] == 200).all()
    assert (canvas[:128] == 0).all() and (canvas[384:] == 0).all()
    mask = letterbox_mask(np.ones((32, 64), dtype=bool))
    assert mask.sum() == 512 * 256 and mask[128:384].all()
    assert letterbox_512(np.full((10, 10), 9, dtype=np.uint8)).min() == 9  # gray -> RGB, upscaled
    edges = np.zeros((10, 20), dtype=np.uint8)
    edges[4, 3:9] = 255
    assert set(np.unique(letterbox_512(edges, nearest=True))) == {0, 255}  # no invented values


def test_edge_canvas_is_binary_three_channel_canny() -> None:
    edges = edge_canvas(letterbox_512(sample_image()))
    assert edges.shape == (512, 512, 3)
    assert set(np.unique(edges)) <= {0, 255} and edges.any()
    assert (edges[..., 0] == edges[..., 2]).all()


def _ctx() -> StageContext:
    return StageContext(stage="test", show_progress=False)


def _by_key(found: list) -> dict:
    return {(m.key, m.level): m for m in found}


def test_metric_l2_target(references, segmentation, make_payload) -> None:
    payload = make_payload("L2_L0")
    found = _by_key(MutualInformation().measure(references, segmentation, payload, None, _ctx()))
    art, cor = found[("mi/artifact/target", 2)], found[("mi/corrected/target", 2)]
    assert art.n == cor.n == 4 and set(art.extra["per_reference"]) == {r.id for r in references}
    # the artifact's L2 target term is the entropy ratio H(segment) / H(raw)
    ref = references.references[0]
    image, mask = ref.load(), sample_mask()
    segment = letterbox_512(np.where(mask[..., None], image, 0).astype(np.uint8))
    raw = letterbox_512(image)
    assert art.extra["per_reference"][ref.id] == pytest.approx(entropy(segment) / entropy(raw), abs=1e-6)
    # corrected: the received share against the raw pixels of the target only
    m = letterbox_mask(mask)
    expected = mutual_information(segment[m], raw[m]) / entropy(raw)
    assert cor.extra["per_reference"][ref.id] == pytest.approx(expected, abs=1e-6)
    # nothing of the background was shared: it counts as zero ...
    assert found[("mi/artifact/background", 0)].value == 0.0
    # ... but the artifact's definition sees the target's black hole in the background segment
    leak_art = found[("mi/artifact/background_via_target", 2)].value
    leak_cor = found[("mi/corrected/background_via_target", 2)].value
    assert leak_art > 0.05 and leak_cor < leak_art / 5
    assert found[("mi/artifact/background_via_target", 2)].extra["via"] == "target"


def test_metric_l1_leaks_less_than_l2(references, segmentation, make_payload) -> None:
    l1 = _by_key(MutualInformation().measure(references, segmentation, make_payload("L1_L0"), None, _ctx()))
    l2 = _by_key(MutualInformation().measure(references, segmentation, make_payload("L2_L0"), None, _ctx()))
    for variant in ("artifact", "corrected"):
        key = f"mi/{variant}/target"
        assert 0 < l1[(key, 1)].value < l2[(key, 2)].value


def test_metric_l0_l0_is_all_zero(references, segmentation, make_payload) -> None:
    found = MutualInformation().measure(references, segmentation, make_payload("L0_L0"), None, _ctx())
    assert {(m.variant, m.group, m.level, m.value) for m in found} == {
        (v, g, 0, 0.0) for v in ("artifact", "corrected") for g in ("target", "background")}


def test_measure_stage_runs_registered_metrics(tmp_path, references, segmentation, make_payload) -> None:
    from spinml.datasets import Measurements

    pm = fresh_plugin_manager()
    stage = pm.registry.create("stage", "measure", {"metrics": [{"name": "mi",
                                                                   "params": {"cross_groups": False}}]})
    ctx = StageContext(stage="measure", registry=pm.registry, show_progress=False)
    inputs = {"references": references, "segmentation": segmentation, "payload": make_payload("L1_L0")}
    out = stage.run(inputs, tmp_path / "measure", ctx)["leakage"]
    saved = Measurements.load(tmp_path / "measure")
    assert [m.key for m in saved] == [m.key for m in out]
    assert not any("_via_" in m.group for m in saved)
    assert {m.key for m in saved} == {f"mi/{v}/{g}" for v in ("artifact", "corrected")
                                      for g in ("target", "background")}


def test_payload_of_the_sanitize_stage(tmp_path, references, segmentation, make_payload) -> None:
    """Payloads name references by opaque ids; the metric pairs them back and agrees with a
    payload written with the references' own ids."""
    pm = fresh_plugin_manager()
    sanitize = pm.registry.create("stage", "sanitize", {"request": {"target": "disc", "labels": ["a", "b"]},
                                                        "policy": "L1_L0"})
    ctx = StageContext(stage="sanitize", registry=pm.registry, show_progress=False)
    payload = sanitize.run({"references": references, "segmentation": segmentation},
                           tmp_path / "sanitized", ctx)["payload"]
    assert {i.reference for i in payload}.isdisjoint(r.id for r in references)
    opaque = _by_key(MutualInformation().measure(references, segmentation, payload, None, _ctx()))
    own = _by_key(MutualInformation().measure(references, segmentation, make_payload("L1_L0"), None, _ctx()))
    assert opaque.keys() == own.keys()
    for key, m in own.items():
        assert opaque[key].value == pytest.approx(m.value, abs=1e-9), key


def test_payload_of_other_references_is_refused(tmp_path, references, segmentation, make_payload) -> None:
    from spinml.errors import PayloadError
    from spinml.private import ReferenceSet
    from spinml.testing import make_references

    others = ReferenceSet.load(make_references(tmp_path / "others", labels=("c",), per_label=1))
    with pytest.raises(PayloadError, match="not in"):
        MutualInformation().measure(others, segmentation, make_payload("L1_L0"), None, _ctx())
