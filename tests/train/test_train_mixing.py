"""How a training mix is drawn from weighted pools, and the train/validation split."""

from __future__ import annotations

import pytest
from spinml_timm.data import draw_mix, mix_counts, pool_labels, split_indices

from spinml.errors import ConfigError, InputError


@pytest.mark.parametrize(("weights", "total", "expected"), [
    ([0.75, 0.25], 100, [75, 25]),
    ([0.7, 0.3], 10, [7, 3]),
    ([1, 1, 1], 10, [4, 3, 3]),           # remainder to the earlier pool on ties
    ([0.1, 0.85, 0.05], 7, [1, 6, 0]),    # 0.7/5.95/0.35: floors 0/5/0, remainders .7 .95 .35
    ([2.0, 6.0], 8, [2, 6]),              # weights need not sum to one
])
def test_mix_counts_are_exact_and_sum_to_total(weights, total, expected):
    assert mix_counts(weights, total) == expected
    assert sum(mix_counts(weights, total)) == total


def test_mix_counts_refuse_bad_weights():
    with pytest.raises(ConfigError, match="non-negative"):
        mix_counts([0.0, 0.0], 10)
    with pytest.raises(ConfigError, match="non-negative"):
        mix_counts([1.0, -0.5], 10)


def test_draw_mix_takes_exact_counts_without_replacement(digits):
    pools = [(digits["pool_a"], 0.75), (digits["pool_b"], 0.25)]
    drawn = draw_mix(pools, 100, seed=3)
    assert [sum(p == i for p, _ in drawn) for i in range(2)] == [75, 25]
    ids = [(p, r.id) for p, r in drawn]
    assert len(set(ids)) == len(ids) == 100
    for p, rec in drawn:
        assert rec in pools[p][0].records
    assert draw_mix(pools, 100, seed=3) == drawn
    assert draw_mix(pools, 100, seed=4) != drawn


def test_draw_mix_total_defaults_to_first_pool(digits):
    drawn = draw_mix([(digits["pool_b"], 0.5), (digits["pool_a"], 0.5)], None, seed=0)
    assert len(drawn) == len(digits["pool_b"]) == 160
    assert sum(p == 0 for p, _ in drawn) == 80


def test_draw_mix_refuses_a_pool_too_small(digits):
    with pytest.raises(ConfigError, match=r"pool 1 .* has 160 images but the mix needs 200"):
        draw_mix([(digits["pool_a"], 0.5), (digits["pool_b"], 0.5)], 400, seed=0)


def test_pools_must_share_labels_and_task(digits, tmp_path):
    from train_data import digit_images, write_dataset

    other = write_dataset(tmp_path / "other", [(lab, im) for lab, im in digit_images(0, 40)
                                               if lab != "three"])
    other.labels = ["zero", "one", "two"]
    assert pool_labels([(digits["pool_a"], 1.0)], "classification") == ["zero", "one", "two", "three"]
    with pytest.raises(InputError, match="has labels"):
        pool_labels([(digits["pool_a"], 0.5), (other, 0.5)], "classification")
    with pytest.raises(InputError, match="this trainer needs detection"):
        pool_labels([(digits["pool_a"], 1.0)], "detection")


@pytest.mark.parametrize(("n", "fraction", "n_val"), [(100, 0.1, 10), (5, 0.1, 1), (7, 0.0, 0), (1, 0.5, 0)])
def test_split_is_seeded_disjoint_and_sized(n, fraction, n_val):
    train, val = split_indices(n, fraction, seed=1)
    assert len(val) == n_val and sorted(train + val) == list(range(n))
    assert split_indices(n, fraction, seed=1) == (train, val)
