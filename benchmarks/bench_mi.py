"""Benchmark: the vectorised MI of ``spinml_metrics.mi`` against a per-bin loop of the same formula.

Both compute ``sum p(x, y) ln(p(x, y) / (p(x) p(y)))`` over the non-empty bins of the
256 x 256 joint histogram. The loop version counts value by value and sums bin by bin
in pure Python; the vectorised one uses ``np.bincount`` on ``x * 256 + y``. The cases are
the metric's real inputs: 512 x 512 x 3 canvases (786,432 values) of a photograph, its
segment and its edge map. Run::

    python benchmarks/bench_mi.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from spinml_metrics.mi import edge_canvas, letterbox_512, mutual_information

from spinml.testing import sample_mask


def mi_loops(x: np.ndarray, y: np.ndarray) -> float:
    """The same MI, computed with pure-Python loops over the values and the 256 x 256 bins."""
    joint = [[0] * 256 for _ in range(256)]
    for a, b in zip(x.ravel().tolist(), y.ravel().tolist()):
        joint[a][b] += 1
    n = x.size
    px = [sum(row) / n for row in joint]
    py = [sum(joint[i][j] for i in range(256)) / n for j in range(256)]
    total = 0.0
    for i in range(256):
        for j in range(256):
            if joint[i][j]:
                p = joint[i][j] / n
                total += p * math.log(p / (px[i] * py[j]))
    return total


def cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Canvas pairs as the metric builds them, from a scikit-image photograph."""
    import skimage.data

    photo = skimage.data.chelsea()
    mask = np.zeros(photo.shape[:2], dtype=bool)
    disc = sample_mask(200, 200)
    mask[50:250, 120:320] = disc
    raw = letterbox_512(photo)
    segment = letterbox_512(np.where(mask[..., None], photo, 0).astype(np.uint8))
    return {"raw vs raw (entropy)": (raw, raw), "segment vs raw": (segment, raw),
            "edges vs segment": (edge_canvas(segment), segment)}


def best_of(fn: Callable[[np.ndarray, np.ndarray], float], x: np.ndarray, y: np.ndarray,
            repeat: int) -> tuple[float, float]:
    """The value of ``fn(x, y)`` and its best time over ``repeat`` runs."""
    times, value = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(x, y)
        times.append(time.perf_counter() - start)
    return value, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing runs per case (best is kept)")
    args = parser.parse_args()
    print(f"{'case':24} {'values':>8} {'MI (nats)':>14} {'|diff|':>9} {'loops s':>9} "
          f"{'numpy s':>9} {'speed-up':>9}")
    for name, (x, y) in cases().items():
        fast, t_fast = best_of(mutual_information, x, y, args.repeat)
        slow, t_slow = best_of(mi_loops, x, y, max(1, args.repeat // 2))
        diff = abs(fast - slow)
        assert diff <= 1e-12 * max(1.0, abs(slow)), f"{name}: {fast!r} != {slow!r}"
        print(f"{name:24} {x.size:>8} {fast:>14.10f} {diff:>9.1e} {t_slow:>9.3f} {t_fast:>9.4f} "
              f"{t_slow / t_fast:>8.0f}x")


if __name__ == "__main__":
    main()
