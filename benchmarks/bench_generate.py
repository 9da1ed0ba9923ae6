"""SpinML's diffusers backend against calling the diffusers pipeline directly.

Run: .venv/bin/python benchmarks/bench_generate.py [--images 32] [--batch 4] [--steps 20]
                                                  [--resolution 64] [--repeat 5] [--threads 1]

A tiny random Stable Diffusion pipeline is saved with ``save_pretrained`` and loaded
by both sides through ``from_pretrained``. Both generate the same images with the
same per-image seeds and batches: SpinML through ``sd-text2img`` (which also writes
PNGs and provenance), the direct side by calling the pipeline and converting the
output to uint8. It prints:

* whether every image is identical on both sides;
* the best time of ``--repeat`` alternating rounds of each side (the round least
  disturbed by other processes) and SpinML's overhead over the direct call
  (target: under 5 %);
* SpinML's own share of its run time: everything outside the pipeline call
  (planning, conditioning, PNG and provenance writes), measured inside the same
  run, so it does not depend on the machine's load;
* the throughput of batched against one-at-a-time generation.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spinml_diffusers.backends import Text2Img, to_uint8
from spinml_diffusers.tiny import save_tiny_pipeline
from spinml_synth.plan import batched, plan

from spinml.components import StageContext
from spinml.config import Policy, Request
from spinml.datasets import DatasetWriter
from spinml.payload import Payload, PayloadWriter

LABELS = ("sleeping", "eating")
QUIET = StageContext(stage="bench", show_progress=False)


class TimedText2Img(Text2Img):
    """``sd-text2img`` that adds up the seconds spent inside the pipeline call."""

    pipeline_seconds = 0.0

    def run_pipeline(self, *args: Any, **kwargs: Any) -> np.ndarray:
        start = time.perf_counter()
        try:
            return super().run_pipeline(*args, **kwargs)
        finally:
            self.pipeline_seconds += time.perf_counter() - start


def spinml_round(gen: TimedText2Img, payload: Payload, out: Path
                 ) -> tuple[float, float, dict[str, np.ndarray]]:
    """Every image by SpinML into a fresh directory: (seconds, seconds in the pipeline, images)."""
    writer = DatasetWriter(out, payload.request.task, payload.request.labels)
    gen.pipeline_seconds = 0.0
    start = time.perf_counter()
    gen.generate(payload, writer, QUIET)
    seconds = time.perf_counter() - start
    return seconds, gen.pipeline_seconds, {r.id: r.load() for r in writer.finalize()}


def direct_round(pipe: Any, request: Request, args: argparse.Namespace
                 ) -> tuple[float, dict[str, np.ndarray]]:
    """The same images from the diffusers pipeline called directly with the same seeds."""
    jobs = plan(request.labels, args.images // len(request.labels), seed=0)
    images = {}
    start = time.perf_counter()
    for batch in batched(jobs, args.batch):
        out = pipe(prompt=[request.prompt_for(j.label) for j in batch],
                   generator=[torch.Generator("cpu").manual_seed(j.seed) for j in batch],
                   num_inference_steps=args.steps, guidance_scale=7.5, height=args.resolution,
                   width=args.resolution, output_type="np")
        images.update(zip((j.id for j in batch), to_uint8(out.images)))
    return time.perf_counter() - start, images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32, help="images in all (split over 2 labels)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from diffusers import StableDiffusionPipeline

    tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    model = save_tiny_pipeline(tmp / "tiny-sd")
    request = Request(target="husky", labels=LABELS)
    payload = PayloadWriter(tmp / "payload", request, Policy.parse("L0_L0")).close()
    settings = {"model": str(model), "resolution": args.resolution, "steps": args.steps,
                "images_per_label": args.images // len(LABELS)}
    gen = TimedText2Img(batch_size=args.batch, **settings)
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    _ = gen.pipe  # both sides are timed with the model already loaded
    direct_round(pipe, request, args)  # warm-up

    spin, inside, direct, identical = [], [], [], True
    for k in range(args.repeat):
        t_spin, t_inside, ours = spinml_round(gen, payload, tmp / f"spinml-{k}")
        t_direct, theirs = direct_round(pipe, request, args)
        spin.append(t_spin)
        inside.append(t_inside)
        direct.append(t_direct)
        identical &= ours.keys() == theirs.keys() and all(
            np.array_equal(ours[i], theirs[i]) for i in ours)
    n = len(plan(LABELS, args.images // len(LABELS), 0))
    own = min(s - i for s, i in zip(spin, inside))
    print(f"{n} images, {args.resolution} px, {args.steps} steps, batch {args.batch}, "
          f"{args.threads} torch thread(s), best of {args.repeat} alternating rounds")
    print(f"images identical to the direct call: {identical}")
    for name, rounds in (("direct diffusers call", direct), ("SpinML sd-text2img", spin)):
        print(f"{name:26s} {min(rounds):7.3f} s   (rounds: {', '.join(f'{t:.2f}' for t in rounds)})")
    print(f"SpinML overhead over the direct call: {100 * (min(spin) / min(direct) - 1):+.1f} % "
          "(target: under 5 %)")
    print(f"SpinML's own work outside the pipeline: {own:.3f} s = {1000 * own / n:.1f} ms/image "
          f"= {100 * own / min(spin):.1f} % of its run")

    one = TimedText2Img(batch_size=1, **settings)
    _ = one.pipe
    t_one = min(spinml_round(one, payload, tmp / f"one-{k}")[0] for k in range(args.repeat))
    print(f"{'one at a time (batch 1)':26s} {t_one:7.3f} s   {n / t_one:6.1f} images/s")
    print(f"{f'batched (batch {args.batch})':26s} {min(spin):7.3f} s   {n / min(spin):6.1f} images/s")


if __name__ == "__main__":
    main()
