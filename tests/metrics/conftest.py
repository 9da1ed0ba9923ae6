"""Private references, their segmentation and payloads built directly with the core writers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from spinml.config import Policy, Request
from spinml.payload import Payload, PayloadWriter
from spinml.private import ReferenceSet, Segmentation
from spinml.testing import make_references, sample_mask

REQUEST = Request(target="disc", labels=("a", "b"))


@pytest.fixture
def references(tmp_path: Path) -> ReferenceSet:
    return ReferenceSet.load(make_references(tmp_path / "refs", labels=("a", "b"), per_label=2))


@pytest.fixture
def segmentation(tmp_path: Path, references: ReferenceSet) -> Segmentation:
    seg = Segmentation(tmp_path / "seg")
    for ref in references:
        seg.add(ref, {"target": sample_mask(64, 64)})
    return seg


def edge_share(segment: np.ndarray) -> np.ndarray:
    """What the ``canny`` sanitizer shares: the edge map of the object's own pixels."""
    import cv2

    return cv2.Canny(cv2.cvtColor(segment, cv2.COLOR_RGB2GRAY), 100, 200)


def rgba_share(segment: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What the ``segment`` sanitizer shares: the object's pixels with the mask as alpha."""
    return np.dstack([segment, mask.astype(np.uint8) * 255])


@pytest.fixture
def make_payload(tmp_path: Path, references: ReferenceSet,
                 segmentation: Segmentation) -> Callable[[str], Payload]:
    """Payloads of the given policy: L1 groups share edge maps, L2 groups their segments."""

    def build(policy: str) -> Payload:
        pol = Policy.parse(policy)
        writer = PayloadWriter(tmp_path / f"payload-{policy}", REQUEST, pol)
        for ref in references:
            image = ref.load()
            for group, mask in segmentation.masks(ref.id).items():
                level = int(pol.for_group(group).level)
                segment = np.where(mask[..., None], image, 0).astype(np.uint8)
                if level == 1:
                    writer.add(ref.id, ref.label, group, 1, "canny", edge_share(segment))
                elif level == 2:
                    writer.add(ref.id, ref.label, group, 2, "segment", rgba_share(segment, mask))
        return writer.close()

    return build


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """Real photographs: the demo's digits on scikit-image surfaces (2 labels, small)."""
    from spinml_demo.data import build_demo_data

    return build_demo_data(tmp_path_factory.mktemp("demo"), seed=1, refs_per_digit=3, test_size=16,
                           size=48, labels=("1", "3"))
