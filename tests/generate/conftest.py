"""Fixtures of the generation tests: payloads from real photos, a public pool, backgrounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gen_payloads import make_backgrounds, make_pool

from spinml.io import write_image


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Public coin images for the labels of both tasks (``small``, ``large``, ``coin``)."""
    return make_pool(tmp_path_factory.mktemp("pool"), ("small", "large", "coin"))


@pytest.fixture(scope="session")
def backgrounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_backgrounds(tmp_path_factory.mktemp("backgrounds"))


@pytest.fixture(scope="session")
def green(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single uniform pure-green background: every other pixel belongs to the pasted object."""
    path = tmp_path_factory.mktemp("green")
    write_image(path / "green.png", np.tile(np.array([0, 255, 0], np.uint8), (96, 96, 1)))
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tiny random Stable Diffusion, inpainting and ControlNet models saved by ``save_pretrained``."""
    pytest.importorskip("diffusers")
    from spinml_diffusers.tiny import save_tiny_controlnet, save_tiny_pipeline

    root = tmp_path_factory.mktemp("models")
    return {"sd": str(save_tiny_pipeline(root / "tiny-sd")),
            "inpaint": str(save_tiny_pipeline(root / "tiny-inpaint", inpaint=True)),
            "controlnet": str(save_tiny_controlnet(root / "tiny-controlnet"))}


@pytest.fixture
def one_thread():
    """Tiny models run faster on one CPU thread than on two that other processes contend for."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
