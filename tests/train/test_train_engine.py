"""The pieces of the training loop: batches and seeded augmentation."""

from __future__ import annotations

import pytest
import torch
from spinml_timm.config import Augment
from spinml_timm.engine import augment_batch, batch_bounds


@pytest.mark.parametrize(("n", "size", "expected"), [
    (10, 4, [(0, 4), (4, 8), (8, 10)]),
    (9, 4, [(0, 4), (4, 9)]),          # a last batch of one joins the one before
    (1, 4, [(0, 1)]),
    (8, 8, [(0, 8)]),
])
def test_batch_bounds(n, size, expected):
    assert batch_bounds(n, size) == expected


def _images() -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=gen)


def test_augmentation_off_is_the_identity():
    images = _images()
    x, flipped = augment_batch(images, Augment(hflip=0, color_jitter=0, crop_scale=1),
                               torch.Generator().manual_seed(0))
    assert torch.equal(x, images.float() / 255) and not flipped.any()


def test_flip_always_flips_and_jitter_stays_in_range():
    images = _images()
    x, flipped = augment_batch(images, Augment(hflip=1, color_jitter=0, crop_scale=1),
                               torch.Generator().manual_seed(0))
    assert flipped.all() and torch.equal(x, images.flip(-1).float() / 255)
    y, _ = augment_batch(images, Augment(hflip=0, color_jitter=0.5, crop_scale=0.5),
                         torch.Generator().manual_seed(0))
    assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
    assert not torch.equal(y, images.float() / 255)


def test_augmentation_is_seeded():
    images, aug = _images(), Augment()
    a, fa = augment_batch(images, aug, torch.Generator().manual_seed(3))
    b, fb = augment_batch(images, aug, torch.Generator().manual_seed(3))
    c, _ = augment_batch(images, aug, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and torch.equal(fa, fb) and not torch.equal(a, c)
