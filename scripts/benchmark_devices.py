"""Devices side by side: the same network on the CPU (cpp) and the GPU (cuda), as JSON.

For one preset (default lc-100-k12) and each device asked for, in one run: compile seconds
(into a fresh project cache), then training and evaluation milliseconds per 250 ms image
on real MNIST with Poisson input (median over repeats), and the mean number of spikes per
evaluation image. The first device listed is the baseline the others are compared to.
Each device draws its own Poisson spikes, so spike counts agree only statistically; the
parity tests (tests/test_parity.py, tests/test_cuda.py) compare exact spike trains.

Usage: python scripts/benchmark_devices.py [--preset lc-100-k12] [--devices cpp cuda]
       [--images 40] [--repeats 3] [-o benchmarks/devices.json]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from benchlib import machine, network, time_repeats, write_report

from brainlc import __version__, devices
from brainlc.data import load_mnist
from brainlc.encoding import firing_rates
from brainlc.experiment import IMAGES_PER_RUN
from brainlc.presets import load_preset
from brainlc.simulation import CompiledNetwork
from brainlc.state import initial_state
from brainlc.topology import build_connectivity


def time_device(device: str, cfg, state, rates: np.ndarray, images: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"brainlc-bench-{device}-") as cache:
        net = CompiledNetwork(cfg, images_per_run=min(IMAGES_PER_RUN[device], images),
                              cache_dir=cache, device=device).compile()
        timed, counts = time_repeats(net, state, rates, images, repeats)
    spikes = counts.sum(axis=1)
    return {"compile_s_uncached": round(net.compile_seconds_, 2), **timed,
            "mean_spikes_per_image": round(float(spikes.mean()), 2),
            "images_without_spikes": int(np.sum(spikes == 0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lc-100-k12")
    parser.add_argument("--devices", nargs="+", default=["cpp", "cuda"], choices=devices.DEVICES)
    parser.add_argument("--images", type=int, default=40, help="images per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    for device in args.devices:
        try:
            devices.check_runnable(device)
        except devices.DeviceError as exc:
            parser.error(str(exc))

    cfg = load_preset(args.preset).config
    conn = build_connectivity(cfg)
    rates = firing_rates(load_mnist().train_images[: args.images * args.repeats], cfg)
    state = initial_state(cfg, conn, seed=0)
    results = {d: time_device(d, cfg, state, rates, args.images, args.repeats) for d in args.devices}

    base_name = args.devices[0]
    base = results[base_name]
    for name, result in results.items():
        if name != base_name:
            for phase in ("train", "eval"):
                key = f"{phase}_ms_per_image_median"
                result[f"{phase}_speed_vs_{base_name}"] = round(base[key] / result[key], 3)
    report = {
        "preset": args.preset,
        "brainlc": __version__,
        "machine": machine(gpus=devices.visible_gpus()),
        "network": network(cfg, conn),
        "images_per_repeat": args.images,
        "repeats": args.repeats,
        "baseline": base_name,
        "devices": results,
    }
    write_report(report, args.output)


if __name__ == "__main__":
    main()
