"""How much ``import spinml`` (and listing components) adds over a bare interpreter.

Run: .venv/bin/python benchmarks/bench_import.py [--repeat 15]

Each figure is the median wall time of a fresh interpreter running the snippet, minus the
median of a bare ``python -c pass``; the target is under 0.5 s for ``import spinml``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SNIPPETS = {
    "bare interpreter": "pass",
    "import spinml": "import spinml",
    "import spinml + list components": "import spinml; spinml.list_components()",
    "import torch (for scale)": "import torch",
}


def median_seconds(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    base = median_seconds(SNIPPETS["bare interpreter"], args.repeat)
    print(f"{'snippet':34s} {'median s':>9s} {'over bare':>10s}")
    for name, code in SNIPPETS.items():
        t = median_seconds(code, args.repeat if "torch" not in code else 3)
        print(f"{name:34s} {t:9.3f} {t - base:10.3f}")


if __name__ == "__main__":
    main()
