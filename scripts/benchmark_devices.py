"""Devices side by side: the same network on the CPU (cpp) and the GPU (cuda), as JSON.

For one preset (default lc-100-k12) and each device asked for, in one run: compile seconds
(into a fresh project cache), then training and evaluation milliseconds per 250 ms image
on real MNIST with Poisson input (median over repeats), and the mean number of spikes per
evaluation image. The first device listed is the baseline the others are compared to.
Both devices draw the same Poisson input (brainlc.sim.image_random), so spike counts differ
only where the GPU's atomic additions round differently; the parity tests
(tests/test_parity.py, tests/test_cuda.py) compare exact spike trains.

With ``--replicas``: evaluation of ``--eval-images`` images by the evaluation model with
each R listed (one process; R = 1 on the CPU is the one-core baseline). With
``--train-preset``: training of that preset, one network, ``--train-images`` images. With
``--sweep-replicas N``: N lc-25-k12 configurations trained (``--train-images`` each) one
after the other and as N training replicas in one simulation, on each device.

Usage: python scripts/benchmark_devices.py [--preset lc-100-k12] [--devices cpp cuda]
       [--images 40] [--repeats 3] [--replicas 1,64,256,1024] [--eval-images 2048]
       [--train-preset lc-1000-k12] [--train-images 20] [--sweep-replicas 16]
       [-o benchmarks/devices.json]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from benchlib import machine, network, time_repeats, write_report

from brainlc import __version__
from brainlc.core.encoding import firing_rates
from brainlc.core.presets import load_preset
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.experiment.mnist import load_mnist
from brainlc.experiment.runs import IMAGES_PER_RUN
from brainlc.sim import devices
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import CompiledNetwork
from brainlc.sim.training_replicas import ReplicaTrainer

#: ``--cache``: one project cache for every measurement (prebuilt with ``--prebuild``); None:
#: a fresh cache per measurement, so that its compile seconds are uncached.
CACHE: str | None = None


@contextlib.contextmanager
def project_cache(device: str):
    if CACHE is not None:
        yield CACHE
        return
    with tempfile.TemporaryDirectory(prefix=f"brainlc-bench-{device}-") as cache:
        yield cache


def build(kind: str, preset: str, device: str, size: int, images_per_run: int) -> str:
    """Compile one project of a later measurement into CACHE (in a fresh process)."""
    cfg = load_preset(preset).config
    if kind == "network":
        CompiledNetwork(cfg, images_per_run=images_per_run, cache_dir=CACHE, device=device).compile()
    elif kind == "evaluator":
        ReplicaEvaluator(cfg, size, images_per_run, workers=1, cache_dir=CACHE, device=device).compile()
    else:
        ReplicaTrainer(cfg, size, images_per_run=images_per_run, cache_dir=CACHE, device=device).compile()
    return f"{kind} {preset} {device} {size}"


def _set_cache(cache: str) -> None:
    global CACHE
    CACHE = cache


def prebuild(jobs: list[tuple], workers: int) -> None:
    """Compile every project of the run at once, in parallel processes (GPU builds are slow)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_set_cache, initargs=(CACHE,)) as pool:
        for name in pool.map(build, *zip(*jobs)):
            print(f"prebuilt {name}", flush=True)


def time_device(device: str, cfg, state, rates: np.ndarray, images: int, repeats: int) -> dict:
    with project_cache(device) as cache:
        net = CompiledNetwork(cfg, images_per_run=min(IMAGES_PER_RUN[device], images),
                              cache_dir=cache, device=device).compile()
        timed, counts = time_repeats(net, state, rates, images, repeats)
    spikes = counts.sum(axis=1)
    return {"compile_s_uncached": round(net.compile_seconds_, 2), **timed,
            "mean_spikes_per_image": round(float(spikes.mean()), 2),
            "images_without_spikes": int(np.sum(spikes == 0))}


def time_replicas(device: str, cfg, state, rates: np.ndarray, replicas: list[int], repeats: int) -> dict:
    """Evaluation ms per image with each replica count (one process)."""
    out = {}
    for count in replicas:
        if (count <= 16) != (device == "cpp"):
            continue  # replicas lose on the CPU (scripts/benchmark.py); one image at a time on the GPU is above
        with project_cache(device) as cache:
            # as many images per replica as there are: no blank padding in the timing
            evaluator = ReplicaEvaluator(cfg, count, -(-len(rates) // count), workers=1, cache_dir=cache,
                                         device=device).compile()
            times, spikes = [], 0
            for repeat in range(repeats):
                result = evaluator.run(state, rates=rates, seed=repeat)
                times.append(1000 * result.seconds / len(rates))
                spikes = int(result.spike_counts.sum())
        out[str(count)] = {"compile_s": round(evaluator.compile_seconds_, 2),
                           "eval_ms_per_image_median": round(float(np.median(times)), 4),
                           "eval_ms_per_image": [round(t, 4) for t in times],
                           "mean_spikes_per_image": round(spikes / len(rates), 2)}
    return out


def time_training(device: str, cfg, state, rates: np.ndarray, repeats: int) -> dict:
    with project_cache(device) as cache:
        net = CompiledNetwork(cfg, images_per_run=len(rates), cache_dir=cache, device=device).compile()
        times = [1000 * net.run(state, learning=True, rates=rates, seed=r).seconds / len(rates)
                 for r in range(repeats)]
    return {"compile_s": round(net.compile_seconds_, 2), "train_ms_per_image_median": round(float(np.median(times)), 3),
            "train_ms_per_image": [round(t, 3) for t in times]}


def time_sweep(device: str, count: int, rates: np.ndarray) -> dict:
    """``count`` lc-25-k12 configurations: one after the other, then as training replicas."""
    base = load_preset("lc-25-k12").config
    configs = [base.replace(c_w=-100.0 + 5.0 * k) for k in range(count)]
    conn = build_connectivity(base)
    states = [initial_state(c, conn, k) for k, c in enumerate(configs)]
    with project_cache(device) as cache:
        nets = [CompiledNetwork(c, images_per_run=len(rates), cache_dir=cache, device=device).compile()
                for c in configs]
        trainer = ReplicaTrainer(base, count, images_per_run=len(rates), cache_dir=cache, device=device).compile()
        sequential = sum(net.run(s, learning=True, rates=rates, seed=k).seconds
                         for k, (net, s) in enumerate(zip(nets, states)))
        together = trainer.run(states, configs, learning=True, rates=[rates] * count, seeds=list(range(count)))
    replicas = together[0].seconds
    return {"configurations": count, "images_each": len(rates), "sequential_s": round(sequential, 3),
            "replicas_s": round(replicas, 3), "ratio_replicas_to_sequential": round(replicas / sequential, 3),
            "compile_s_replicas": round(trainer.compile_seconds_, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lc-100-k12")
    parser.add_argument("--devices", nargs="+", default=["cpp", "cuda"], choices=devices.DEVICES)
    parser.add_argument("--images", type=int, default=40, help="images per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replicas", default="", help="comma-separated replica counts of the evaluation model")
    parser.add_argument("--eval-images", type=int, default=2048)
    parser.add_argument("--train-preset", default=None)
    parser.add_argument("--train-images", type=int, default=20)
    parser.add_argument("--sweep-replicas", type=int, default=0)
    parser.add_argument("--cache", default=None,
                        help="one project cache for all measurements (default: a fresh one for each)")
    parser.add_argument("--prebuild", type=int, default=0, metavar="WORKERS",
                        help="first compile every project in parallel processes into --cache")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    for device in args.devices:
        try:
            devices.check_runnable(device)
        except devices.DeviceError as exc:
            parser.error(str(exc))
    counts = [int(r) for r in args.replicas.split(",")] if args.replicas else []
    if args.cache:
        _set_cache(args.cache)
    if args.prebuild:
        if not args.cache:
            parser.error("--prebuild needs --cache")
        jobs = []
        for d in args.devices:
            jobs.append(("network", args.preset, d, 1, min(IMAGES_PER_RUN[d], args.images)))
            jobs += [("evaluator", args.preset, d, r, -(-args.eval_images // r)) for r in counts
                     if (r <= 16) == (d == "cpp")]
            if args.train_preset:
                jobs.append(("network", args.train_preset, d, 1, args.train_images))
            if args.sweep_replicas:
                jobs += [("network", "lc-25-k12", d, 1, args.train_images),
                         ("trainer", "lc-25-k12", d, args.sweep_replicas, args.train_images)]
        prebuild(jobs, args.prebuild)

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
    if counts:
        eval_rates = firing_rates(load_mnist().test_images[: args.eval_images], cfg)
        report["replicas"] = {d: time_replicas(d, cfg, state, eval_rates, counts, args.repeats)
                              for d in args.devices}
        one_core = report["replicas"][base_name]["1"]["eval_ms_per_image_median"]
        for results_of_device in report["replicas"].values():
            for result in results_of_device.values():
                result["speed_vs_one_cpu_core"] = round(one_core / result["eval_ms_per_image_median"], 2)
        write_report(report, args.output)
    if args.train_preset:
        train_cfg = load_preset(args.train_preset).config
        train_state = initial_state(train_cfg, build_connectivity(train_cfg), seed=0)
        train_rates = firing_rates(load_mnist().train_images[: args.train_images], train_cfg)
        report["training"] = {"preset": args.train_preset, "images": args.train_images,
                              **{d: time_training(d, train_cfg, train_state, train_rates, args.repeats)
                                 for d in args.devices}}
        write_report(report, args.output)
    if args.sweep_replicas:
        sweep_rates = firing_rates(load_mnist().train_images[: args.train_images], cfg)
        report["sweep_replicas"] = {d: time_sweep(d, args.sweep_replicas, sweep_rates) for d in args.devices}
        write_report(report, args.output)


if __name__ == "__main__":
    main()
