"""Device cost of segmentation and sanitization on real photographs.

Segments scikit-image's bundled photos (full size) with GrabCut from a box around
the subject, then sanitizes them under L0_L0, L1_L0, L2_L0 and L2_L2, and prints
time per image, peak memory and payload bytes per image and per level::

    python benchmarks/bench_sanitize.py            # 4 photos, 3 repeats
    python benchmarks/bench_sanitize.py --repeat 5 --iterations 3

Peak memory is measured with tracemalloc (Python and NumPy allocations; memory
OpenCV allocates itself is not traced); the process's peak RSS is printed too.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from spinml.components import StageContext
from spinml.config import Request
from spinml.io import write_image, write_json
from spinml.plugins import get_registry
from spinml.private import ReferenceSet, Segmentation

#: photo -> (label, box around the subject in full-size pixel coordinates)
PHOTOS = {
    "astronaut": ("person", (140, 20, 370, 300)),
    "coffee": ("cup", (60, 20, 460, 380)),
    "chelsea": ("cat", (90, 10, 370, 295)),
    "rocket": ("rocket", (290, 20, 370, 420)),
}
POLICIES = ("L0_L0", "L1_L0", "L2_L0", "L2_L2")


def write_references(root: Path) -> ReferenceSet:
    """The bundled photos as a reference folder with one box per photo."""
    from skimage import data

    ann = {}
    for name, (label, box) in PHOTOS.items():
        write_image(root / label / f"{name}.png", getattr(data, name)())
        ann[f"{label}/{name}.png"] = {"box": list(box)}
    write_json(root / "annotations.json", ann)
    return ReferenceSet.load(root)


def measure(fn):  # type: ignore[no-untyped-def]
    """Run ``fn``; return its result, the seconds it took and its traced peak (bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = fn()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="sanitize runs per policy (median)")
    parser.add_argument("--iterations", type=int, default=5, help="GrabCut iterations")
    args = parser.parse_args(argv)

    import spinml_sanitize

    registry = get_registry()
    mib = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        refs = write_references(work / "refs")
        n = len(refs)
        request = Request(target="object", labels=tuple(refs.labels))
        segmenter = registry.create("segmenter", "grabcut", iterations=args.iterations)
        ctx = StageContext(stage="segment", show_progress=False)
        out, seconds, peak = measure(
            lambda: segmenter.run({"references": refs}, work / "seg", ctx)["segmentation"])
        seg: Segmentation = out
        sizes = ", ".join(f"{r.load().shape[1]}x{r.load().shape[0]}" for r in refs)
        print(f"photos: {n} ({sizes}); segmenter grabcut, {args.iterations} iterations, "
              f"max_side {segmenter.config.max_side}")
        print(f"segmentation: {seconds / n:.3f} s/image, traced peak {peak / mib:.1f} MiB, "
              f"failures {len(seg.failures)}")
        print()
        header = (f"{'policy':<7} {'s/image':>8} {'peak MiB':>9} {'bytes/image':>12} "
                  f"{'L1 bytes/image':>15} {'L2 bytes/image':>15}")
        print(header)
        print("-" * len(header))
        for policy in POLICIES:
            runs = []
            for k in range(args.repeat):
                payload = spinml_sanitize.sanitize(refs, seg, request, policy,
                                                   work / f"payload-{policy}-{k}", registry=registry)
                runs.append(payload.manifest["stats"])
            stats = runs[-1]
            per_image = statistics.median(r["seconds_per_image"] for r in runs)
            peak_mib = max(r["peak_memory_bytes"] for r in runs) / mib
            by_level = stats["payload_bytes_by_level"]
            print(f"{policy:<7} {per_image:>8.4f} {peak_mib:>9.1f} "
                  f"{stats['payload_bytes_per_image']:>12,} {round(by_level['L1'] / n):>15,} "
                  f"{round(by_level['L2'] / n):>15,}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / mib if sys.platform == "darwin" else rss / 1024
    print()
    print(f"process peak RSS: {rss_mib:.0f} MiB (ru_maxrss, includes the Python runtime, "
          "NumPy, OpenCV and scikit-image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
