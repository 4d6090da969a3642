"""Speed benchmark: compile time and milliseconds per 250 ms image, written as JSON.

For one preset (default lc-100-k12), in one run:
- compile seconds without any cache (fresh project folder, ccache disabled), and again
  from the project cache in a new CompiledNetwork (what a new process pays);
- training and evaluation milliseconds per image of the compiled binary (Poisson input
  from real MNIST), median over repeats of ``--images`` images each;
- the same per-image time of the numpy reference model (``brainlc.reference``) on a few
  images with the original's encoder, as the baseline the compiled model is compared to.

Usage: python scripts/benchmark.py [--preset lc-100-k12] [--images 200] [--repeats 3]
       [--reference-images 3] [-o benchmarks/lc-100-k12.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from benchlib import machine, network, time_repeats, write_report

from brainlc import __version__
from brainlc.data import load_mnist
from brainlc.encoding import firing_rates, original_poisson_trains
from brainlc.presets import load_preset
from brainlc.reference import ReferenceNetwork
from brainlc.simulation import CompiledNetwork
from brainlc.state import initial_state
from brainlc.topology import build_connectivity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lc-100-k12")
    parser.add_argument("--images", type=int, default=200, help="images per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images-per-run", type=int, default=100)
    parser.add_argument("--reference-images", type=int, default=3)
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()

    preset = load_preset(args.preset)
    cfg = preset.config
    conn = build_connectivity(cfg)
    mnist = load_mnist()
    rates = firing_rates(mnist.train_images[: args.images * args.repeats], cfg)
    state = initial_state(cfg, conn, seed=0)

    with tempfile.TemporaryDirectory(prefix="brainlc-bench-") as cache:
        os.environ["CCACHE_DISABLE"] = "1"
        net = CompiledNetwork(cfg, images_per_run=args.images_per_run, cache_dir=cache).compile()
        compile_uncached = net.compile_seconds_
        os.environ.pop("CCACHE_DISABLE")
        start = time.perf_counter()
        again = CompiledNetwork(cfg, images_per_run=args.images_per_run, cache_dir=cache).compile()
        compile_cached = time.perf_counter() - start
        assert again.project_ == net.project_

        timed, _ = time_repeats(net, state, rates, args.images, args.repeats)

    rng = np.random.default_rng(0)
    ref_spikes = original_poisson_trains(rates[: args.reference_images], cfg.time_per_image, rng)
    reference = ReferenceNetwork(cfg, conn, initial_state(cfg, conn, seed=0))
    t0 = time.perf_counter()
    reference.run(ref_spikes, learning=True)
    ref_ms = (time.perf_counter() - t0) * 1000 / args.reference_images

    report = {
        "preset": args.preset,
        "brainlc": __version__,
        "machine": machine(),
        "network": network(cfg, conn),
        "images_per_repeat": args.images,
        "repeats": args.repeats,
        "compile_s_uncached": round(compile_uncached, 2),
        "compile_s_cached": round(compile_cached, 3),
        **timed,
        "baseline": {
            "name": "brainlc.reference (numpy, step by step), training",
            "images": args.reference_images,
            "train_ms_per_image": round(ref_ms, 1),
        },
        "speedup_vs_baseline_train": round(ref_ms / timed["train_ms_per_image_median"], 1),
    }
    write_report(report, args.output)


if __name__ == "__main__":
    main()
