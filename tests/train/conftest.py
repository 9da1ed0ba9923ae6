"""Fixtures of the trainer tests: real digit datasets, one torch thread per test."""

from __future__ import annotations

import pytest
from train_data import digit_images, write_dataset, write_folder

from spinml.datasets import ImageDataset


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch thread per test: test runs share the cores, and oversubscribed OpenMP
    threads spin (a tiny model then trains several times slower)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ImageDataset]:
    """``pool_a`` (240 white digits), ``pool_b`` (160 green-tinted), ``test`` (120 real, unseen)."""
    root = tmp_path_factory.mktemp("digits")
    return {"pool_a": write_dataset(root / "pool_a", digit_images(0, 240)),
            "pool_b": write_dataset(root / "pool_b", digit_images(240, 160, tint=(60, 255, 60))),
            "test": write_folder(root / "test", digit_images(400, 120))}
