"""How a sweep derives each configuration's pipeline and aggregates seeds."""

from __future__ import annotations

import math

import pytest

from spinml.pipeline import Pipeline
from spinml.sweep import SweepSpec, _configurations, aggregate, configure, utility_of

PIPE = Pipeline.from_dict({"stages": [
    {"name": "sanitize", "use": "stage:sanitize", "params": {"request": {}, "policy": "L0_L0"}},
    {"name": "generate", "use": "generator:cutpaste", "params": {"images_per_label": 5}},
    {"name": "train", "use": "trainer:timm-classifier"},
]})


def test_policy_seed_and_per_policy_generator():
    spec = SweepSpec(generators={"L1_L0": {"use": "generator:sd-controlnet", "params": {"steps": 20}}})
    p = configure(PIPE, spec, "L1_L0", 0.0, 3)
    assert p["sanitize"].params["policy"] == "L1_L0"
    assert (p["generate"].use, p["generate"].params) == ("generator:sd-controlnet", {"steps": 20, "seed": 3})
    assert p["train"].params == {"seed": 3, "alpha": 0.0}
    assert configure(PIPE, spec, "L2_L0", 0.0, 0)["generate"].use == "generator:cutpaste"


def test_alpha_adds_a_renamed_mix_branch_before_training():
    spec = SweepSpec(mix_policy="L0_L0", generators={"L0_L0": {"use": "generator:sd-text2img"}})
    p = configure(PIPE, spec, "L2_L0", 0.5, 1)
    assert [s.name for s in p.stages] == ["sanitize", "generate", "sanitize_mix", "generate_mix", "train"]
    assert p["sanitize_mix"].params["policy"] == "L0_L0"
    assert p["sanitize_mix"].outputs == {"payload": "payload_mix"}
    mix = p["generate_mix"]
    assert (mix.use, mix.inputs, mix.outputs) == ("generator:sd-text2img", {"payload": "payload_mix"},
                                                  {"synthetic": "synthetic_mix"})
    assert p["train"].params["alpha"] == 0.5


def test_configurations_mix_only_the_chosen_policies():
    spec = SweepSpec(policies=("L0_L0", "L1_L0", "L2_L0"), alphas=(0.0, 0.5), seeds=(0, 1),
                     alpha_policies=("L2_L0",))
    names = [(p, a) for p, a, _ in _configurations(spec)]
    assert names == [("L0_L0", 0.0)] * 2 + [("L1_L0", 0.0)] * 2 + [("L2_L0", 0.0)] * 2 + [("L2_L0", 0.5)] * 2
    with pytest.raises(ValueError, match="L4_L0"):
        _configurations(SweepSpec(policies=("L4_L0",)))


def test_aggregate_and_utility():
    rows = [{"config": "A", "policy": "A", "alpha": 0.0, "seed": s, "accuracy": v, "mi": 0.1}
            for s, v in enumerate((0.4, 0.6))]
    (row,) = aggregate(rows)
    assert row["accuracy"] == pytest.approx(0.5) and row["accuracy_std"] == pytest.approx(0.1414, abs=1e-4)
    assert row["seeds"] == 2 and row["mi_std"] == 0.0
    assert utility_of({"test": {"accuracy": 0.7}}) == ("accuracy", 0.7)
    assert utility_of({"mAP50-95": 0.2}) == ("mAP50-95", 0.2)
    assert math.isnan(utility_of({})[1])
