"""Speed benchmark: compile seconds and milliseconds per 250 ms image, written as JSON.

Everything is measured in one run on this machine, each figure beside the one-at-a-time
figure of the same run that it is compared to (medians over ``--repeats``; the machines
are shared and noisy). For each preset (default lc-100-k12 and lc-1000-k12), after
training ``--warmup`` images so that the network spikes as a trained one does:

- compile seconds of the full model and of the evaluation model, without any cache
  (fresh folder, ccache off), and again from the cache;
- training ms per image (full model, one network);
- evaluation ms per image one image at a time: the full model with learning off (what
  brainlc evaluated with before the evaluation model), the evaluation model
  (:mod:`brainlc.sim.evaluation_model`) on one core and on every core (these three in turn
  within each repeat, with per-repeat ratios), and with R = 1, 16, 64, 256 replicas on one
  core (R limited to ``--max-synapses`` synapses in all);
- the fixed per-image cost: blank images (no input spike) in training and evaluation;
- Brian2's profile of training, of the old evaluation and of the evaluation model:
  ms per image spent in each code object (a profiled build; its timers add their own
  cost, so the profile's sum exceeds the unprofiled time);
- ratios of every evaluation figure to the one-at-a-time full-model figure.

Then ``c-25-k12`` against ``lc-25-k12`` training (same neurons, same synapse count), a
sweep of ``--sweep`` ``lc-25-k12`` configurations trained one after the other on one
core against the same configurations as training replicas in one simulation
(:mod:`brainlc.sim.training_replicas`), and the numpy reference model's training speed (the
original's algorithm step by step) on ``--reference-images`` images; and (section
``build``) the C++ build brainlc makes against Brian2's default build of the same model
(Brian2 2.9's per-step CPU-clock reading, :mod:`brainlc.sim.generated_code`; g++ flags
without vectorised neuron updates), in turn within each repeat, for ``--build-presets``.
Section ``structured`` (not in the default set): this build against the build of commit
``--baseline`` (223e5ad, before structured propagation), each preset of
``--structured-presets`` measured by ``scripts/structured_worker.py`` in a fresh process
pinned to one core, the two builds in turn within each repeat: ms per image of training and
evaluation, of blank images, and the marginal ns per X->Y synaptic event of the evaluation
((evaluation - blank) / counted events), with medians and per-repeat ratios.
``--sections`` measures a part only.

Usage: python scripts/benchmark.py [--presets lc-100-k12,lc-1000-k12] [--images 200]
       [--repeats 3] [--replicas 1,16,64,256] [-o benchmarks/speed.json]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time

import numpy as np
from benchlib import machine, network, write_report

from brainlc import __version__
from brainlc.core.encoding import firing_rates, original_poisson_trains
from brainlc.core.presets import load_preset
from brainlc.core.reference import ReferenceNetwork
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.experiment.mnist import load_mnist
from brainlc.sim import devices, generated_code
from brainlc.sim.replicas import ReplicaEvaluator, default_workers
from brainlc.sim.simulation import CompiledNetwork
from brainlc.sim.training_replicas import ReplicaTrainer

TRAIN_IMAGES_PER_RUN = 100


def median_ms(run, images: int, repeats: int) -> dict:
    """Run ``run(repeat)`` ``repeats`` times; ms per image of each and their median."""
    times = []
    for repeat in range(repeats):
        start = time.perf_counter()
        run(repeat)
        times.append((time.perf_counter() - start) * 1000 / images)
    return {"ms_per_image": round(statistics.median(times), 3), "repeats_ms": [round(t, 3) for t in times]}


def per_image_profile(profile: dict[str, float], images: int) -> dict[str, float]:
    """Profile seconds per code object -> ms per image, largest first."""
    ranked = sorted(profile.items(), key=lambda item: -item[1])
    return {name: round(1000 * seconds / images, 4) for name, seconds in ranked}


def compile_seconds(make) -> dict:
    """Compile in a fresh cache with ccache off, then again from that cache."""
    with tempfile.TemporaryDirectory(prefix="brainlc-bench-") as cache:
        os.environ["CCACHE_DISABLE"] = "1"
        try:
            first = make(cache).compile()
        finally:
            os.environ.pop("CCACHE_DISABLE")
        start = time.perf_counter()
        make(cache).compile()
        return {"uncached_s": round(first.compile_seconds_, 2), "cached_s": round(time.perf_counter() - start, 3)}


def bench_preset(name: str, args, mnist) -> dict:
    cfg = load_preset(name).config
    conn = build_connectivity(cfg)
    synapses = int(conn.xy_pre.size + conn.yy_pre.size)
    n, repeats = args.images, args.repeats
    train_rates = firing_rates(mnist.train_images[: args.warmup + n * repeats], cfg)
    test_rates = firing_rates(mnist.test_images[: n * repeats], cfg)
    blank = np.zeros((n, cfg.n_input))
    out = {"network": network(cfg, conn)}
    print(f"[{name}] compiling", flush=True)
    out["compile"] = {
        "full_model": compile_seconds(lambda cache: CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN, cache_dir=cache)),
        "evaluation_model": compile_seconds(lambda cache: ReplicaEvaluator(cfg, 1, cache_dir=cache)),
    }
    full = CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN).compile()
    state = full.run(initial_state(cfg, conn, 0), learning=True, rates=train_rates[: args.warmup], seed=1).state
    test = [test_rates[r * n:(r + 1) * n] for r in range(repeats)]
    train = [train_rates[args.warmup + r * n: args.warmup + (r + 1) * n] for r in range(repeats)]

    print(f"[{name}] training, blank images", flush=True)
    out["train"] = median_ms(lambda r: full.run(state, learning=True, rates=train[r], seed=r), n, repeats)
    out["train_blank"] = median_ms(lambda r: full.run(state, learning=True, rates=blank, seed=r), n, repeats)
    lean = ReplicaEvaluator(cfg, 1, workers=1).compile()
    out["eval_blank"] = median_ms(lambda r: lean.run(state, rates=blank, seed=r), n, repeats)

    # the full model with learning off, the evaluation model on one core and on every core, in
    # turn within each repeat (the machine's load changes less between neighbours); every core
    # gets enough images that each worker has chunks to run
    cores = default_workers()
    every_core = ReplicaEvaluator(cfg, 1, workers=cores).compile()
    n_every = max(n, 2 * cores * every_core.images_per_invocation)
    every_rates = firing_rates(mnist.test_images[: n_every * repeats], cfg)
    print(f"[{name}] evaluation: one at a time, evaluation model, every core ({cores})", flush=True)
    timings = {"eval_one_at_a_time": [], "eval_model_one_core": [], "eval_every_core": []}
    for r in range(repeats):
        for key, run, images in (
                ("eval_one_at_a_time", lambda r=r: full.run(state, learning=False, rates=test[r], seed=r), n),
                ("eval_model_one_core", lambda r=r: lean.run(state, rates=test[r], seed=r), n),
                ("eval_every_core", lambda r=r: every_core.run(
                    state, rates=every_rates[r * n_every:(r + 1) * n_every], seed=r), n_every)):
            start = time.perf_counter()
            run()
            timings[key].append((time.perf_counter() - start) * 1000 / images)
    for key, times in timings.items():
        out[key] = {"ms_per_image": round(statistics.median(times), 3), "repeats_ms": [round(t, 3) for t in times]}
    baseline = out["eval_one_at_a_time"]["ms_per_image"]
    for key in ("eval_model_one_core", "eval_every_core"):
        out[key]["ratio_to_one_at_a_time"] = round(out[key]["ms_per_image"] / baseline, 3)
        out[key]["ratio_per_repeat"] = [round(a / b, 3) for a, b in zip(timings[key], timings["eval_one_at_a_time"])]
    out["eval_every_core"].update(workers=cores, images_per_repeat=n_every)

    replicas = {}
    for count in args.replicas:
        if count * synapses > args.max_synapses:
            replicas[str(count)] = {"skipped": f"{count * synapses} synapses > --max-synapses"}
            continue
        print(f"[{name}] evaluation model, R={count}", flush=True)
        evaluator = ReplicaEvaluator(cfg, count, workers=1).compile()
        evaluator.run(state, rates=test[0][:count], seed=0)  # warm the file cache
        timed = median_ms(lambda r, ev=evaluator: ev.run(state, rates=test[r], seed=r), n, repeats)
        timed["ratio_to_one_at_a_time"] = round(timed["ms_per_image"] / baseline, 3)
        timed["compile_s"] = round(evaluator.compile_seconds_, 2)
        replicas[str(count)] = timed
    out["eval_replicas_one_core"] = replicas

    print(f"[{name}] profiles", flush=True)
    profiled = CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN, profile=True).compile()
    lean_profiled = ReplicaEvaluator(cfg, 1, workers=1, profile=True).compile()
    out["profile_ms_per_image"] = {
        "train": per_image_profile(profiled.run(state, learning=True, rates=train[0], seed=0).extra["profile"], n),
        "train_blank": per_image_profile(profiled.run(state, learning=True, rates=blank, seed=0).extra["profile"], n),
        "eval_full_model_before": per_image_profile(
            profiled.run(state, learning=False, rates=test[0], seed=0).extra["profile"], n),
        "eval_evaluation_model_after": per_image_profile(
            lean_profiled.run(state, rates=test[0], seed=0).extra["profile"], n),
    }
    return out

#: g++ flags of the builds before the vectorised neuron updates (the baseline of ``build``).
BASELINE_GCC_FLAGS = ["-w", "-O3", "-march=native", "-fno-fast-math", "-ffp-contract=off"]


@contextlib.contextmanager
def brian2_default_build():
    """Compile as brainlc did before: Brian2 2.9's loop as generated, the baseline g++ flags."""
    flags, streamline = devices.GCC_FLAGS, generated_code.streamline
    devices.GCC_FLAGS, generated_code.streamline = BASELINE_GCC_FLAGS, lambda project: {}
    try:
        yield
    finally:
        devices.GCC_FLAGS, generated_code.streamline = flags, streamline


def bench_build(name: str, args, mnist) -> dict:
    """Training, blank training, evaluation (evaluation model) and blank evaluation, ms per
    image, with brainlc's build and with the baseline build, in turn within each repeat."""
    cfg = load_preset(name).config
    conn = build_connectivity(cfg)
    n, repeats = args.images, args.repeats
    train_rates = firing_rates(mnist.train_images[: args.warmup + n * repeats], cfg)
    test_rates = firing_rates(mnist.test_images[: n * repeats], cfg)
    blank = np.zeros((n, cfg.n_input))
    builds = {}
    with tempfile.TemporaryDirectory(prefix="brainlc-bench-baseline-") as baseline_cache:
        with brian2_default_build():
            builds["baseline"] = (CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN, cache_dir=baseline_cache).compile(),
                                  ReplicaEvaluator(cfg, 1, workers=1, cache_dir=baseline_cache).compile())
        builds["brainlc"] = (CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN).compile(),
                             ReplicaEvaluator(cfg, 1, workers=1).compile())
        state = builds["brainlc"][0].run(initial_state(cfg, conn, 0), learning=True,
                                         rates=train_rates[: args.warmup], seed=1).state
        phases = {
            "train": lambda full, lean, r: full.run(
                state, learning=True, rates=train_rates[args.warmup + r * n: args.warmup + (r + 1) * n], seed=r),
            "train_blank": lambda full, lean, r: full.run(state, learning=True, rates=blank, seed=r),
            "eval": lambda full, lean, r: lean.run(state, rates=test_rates[r * n:(r + 1) * n], seed=r),
            "eval_blank": lambda full, lean, r: lean.run(state, rates=blank, seed=r),
        }
        times = {phase: {build: [] for build in builds} for phase in phases}
        results = {}
        for r in range(repeats):
            for phase, run in phases.items():
                for build, (full, lean) in builds.items():
                    start = time.perf_counter()
                    result = run(full, lean, r)
                    times[phase][build].append((time.perf_counter() - start) * 1000 / n)
                    results[phase, build] = result
                same = results[phase, "baseline"]
                assert np.array_equal(same.state.w_xy, results[phase, "brainlc"].state.w_xy)  # the same network
    out = {}
    for phase, by_build in times.items():
        base, ours = (statistics.median(by_build[b]) for b in ("baseline", "brainlc"))
        out[phase] = {"baseline_ms_per_image": round(base, 3), "brainlc_ms_per_image": round(ours, 3),
                      "ratio": round(ours / base, 3),
                      "ratio_per_repeat": [round(a / b, 3) for a, b in zip(by_build["brainlc"], by_build["baseline"])]}
    return {"baseline": f"Brian2 {devices.toolchain('cpp')['brian2']} loop as generated, g++ {BASELINE_GCC_FLAGS}",
            "brainlc": f"g++ {devices.GCC_FLAGS}, brainlc.sim.generated_code", **out}


def bench_conv_against_lc(args, mnist) -> dict:
    out = {}
    for name in ("lc-25-k12", "c-25-k12"):
        cfg = load_preset(name).config
        net = CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN).compile()
        rates = firing_rates(mnist.train_images[: args.images * args.repeats], cfg)
        state = initial_state(cfg, build_connectivity(cfg), 0)
        n = args.images
        chunks = [rates[r * n:(r + 1) * n] for r in range(args.repeats)]
        out[name] = median_ms(lambda r, net=net, state=state, chunks=chunks: net.run(
            state, learning=True, rates=chunks[r], seed=r), n, args.repeats)
    out["ratio_c_to_lc"] = round(out["c-25-k12"]["ms_per_image"] / out["lc-25-k12"]["ms_per_image"], 2)
    return out


def bench_sweep(args, mnist) -> dict:
    """``--sweep`` lc-25-k12 configurations trained one after the other (one compiled project),
    and the same as training replicas in one simulation, in turn, ``--repeats`` times."""
    base = load_preset("lc-25-k12").config
    values = [(w, c) for w in (0.3, 0.35, 0.4, 0.45) for c in (-100.0, -80.0, -60.0, -40.0)][: args.sweep]
    configs = [base.replace(mean_weight=w, c_w=c) for w, c in values]
    conn = build_connectivity(base)
    n = args.sweep_images
    rates = firing_rates(mnist.train_images[:n], base)
    states = [initial_state(cfg, conn, index) for index, cfg in enumerate(configs)]
    sequential = [CompiledNetwork(cfg, TRAIN_IMAGES_PER_RUN).compile() for cfg in configs]
    trainer = ReplicaTrainer(base, len(configs), images_per_run=min(n, TRAIN_IMAGES_PER_RUN)).compile()
    times = {"sequential": [], "replicas": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        alone = [net.run(state, learning=True, rates=rates, seed=k)
                 for k, (net, state) in enumerate(zip(sequential, states))]
        times["sequential"].append(time.perf_counter() - start)
        start = time.perf_counter()
        together = trainer.run(states, configs, learning=True, rates=[rates] * len(configs),
                               seeds=list(range(len(configs))))
        times["replicas"].append(time.perf_counter() - start)
    assert all(np.array_equal(a.state.w_xy, b.state.w_xy) for a, b in zip(alone, together))  # the same networks
    seq, rep = statistics.median(times["sequential"]), statistics.median(times["replicas"])
    return {"configurations": len(values), "images_each": n,
            "sequential_s": round(seq, 3), "replicas_s": round(rep, 3),
            "ratio_replicas_to_sequential": round(rep / seq, 3),
            "repeats_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
            "compile_s_replicas": round(trainer.compile_seconds_, 2)}


def bench_reference(args, mnist) -> dict:
    cfg = load_preset("lc-100-k12").config
    conn = build_connectivity(cfg)
    rates = firing_rates(mnist.train_images[: args.reference_images], cfg)
    spikes = original_poisson_trains(rates, cfg.time_per_image, np.random.default_rng(0))
    reference = ReferenceNetwork(cfg, conn, initial_state(cfg, conn, seed=0))
    start = time.perf_counter()
    reference.run(spikes, learning=True)
    return {"name": "brainlc.core.reference (numpy, step by step), lc-100-k12 training",
            "images": args.reference_images,
            "train_ms_per_image": round((time.perf_counter() - start) * 1000 / args.reference_images, 1)}


def bench_structured(args) -> dict:
    """This build against ``args.baseline``'s, in turn within each repeat, one core each."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parents[1]
    work = Path(tempfile.mkdtemp(prefix="brainlc-structured-"))
    baseline = work / "baseline"
    subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(baseline), args.baseline],
                   check=True, capture_output=True)
    builds = {"baseline": baseline, "this": here}
    core = str(sorted(os.sched_getaffinity(0))[-1])
    from brainlc.sim.compiler import cpu_model

    this_commit = subprocess.run(["git", "-C", str(here), "describe", "--always", "--dirty"], capture_output=True,
                                 text=True).stdout.strip()
    report = {"baseline_commit": args.baseline, "this_commit": this_commit, "cpu_model": cpu_model()["model"],
              "core": int(core),
              "images": args.images, "repeats": args.repeats, "presets": {}}
    try:
        for name in args.structured_presets.split(","):
            runs = {build: [] for build in builds}
            for repeat in range(args.repeats + 1):  # the first compiles and warms up: not counted
                for build, root in builds.items():
                    command = ["taskset", "-c", core, sys.executable, str(here / "scripts" / "structured_worker.py"),
                               name, "--images", str(args.images), "--cache", str(work / f"cache-{build}")]
                    env = dict(os.environ, PYTHONPATH=str(root))
                    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=work)
                    if repeat:
                        runs[build].append(json.loads(done.stdout.strip().splitlines()[-1]))
                    print(f"[structured {name}] repeat {repeat} {build}: {done.stdout.strip()[-300:]}", flush=True)
            entry = {}
            for figure in ("train", "eval", "train_blank", "eval_blank"):
                key = f"{figure}_ms_per_image"
                this = [r[key] for r in runs["this"]]
                before = [r[key] for r in runs["baseline"]]
                entry[figure] = {"this_ms": statistics.median(this), "baseline_ms": statistics.median(before),
                                 "ratio": round(statistics.median(this) / statistics.median(before), 3),
                                 "ratio_per_repeat": [round(a / b, 3) for a, b in zip(this, before)],
                                 "this_repeats_ms": this, "baseline_repeats_ms": before}
            events = runs["this"][0]["xy_events_per_image"]
            for build in builds:
                marginal = [1e6 * (r["eval_ms_per_image"] - r["eval_blank_ms_per_image"]) / events for r in runs[build]]
                entry[f"{build}_ns_per_xy_event_eval"] = round(statistics.median(marginal), 3)
            entry["xy_events_per_image"] = events
            report["presets"][name] = entry
            print(json.dumps({name: entry}), flush=True)
    finally:
        subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="lc-100-k12,lc-1000-k12")
    parser.add_argument("--images", type=int, default=200, help="images per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=300, help="training images before the timings")
    parser.add_argument("--replicas", default="1,16,64,256")
    parser.add_argument("--max-synapses", type=int, default=64_000_000,
                        help="largest replica count measured: R x synapses at most this")
    parser.add_argument("--sweep", type=int, default=16)
    parser.add_argument("--sweep-images", type=int, default=100)
    parser.add_argument("--reference-images", type=int, default=3)
    parser.add_argument("--build-presets", default="lc-100-k12,lc-1000-k12", help="presets of section build")
    parser.add_argument("--sections", default="presets,build,conv,sweep,reference",
                        help="what to measure (default: all)")
    parser.add_argument("--baseline", default="223e5ad", help="commit of section structured's baseline build")
    parser.add_argument("--structured-presets", default="lc-100-k12,lc-1000-k12,c-100-k8,fc-100")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    args.replicas = [int(r) for r in args.replicas.split(",")]
    sections = set(args.sections.split(","))
    mnist = load_mnist()
    report = {"brainlc": __version__, "machine": machine(), "images_per_repeat": args.images,
              "repeats": args.repeats, "presets": {}}
    for name in args.presets.split(",") if "presets" in sections else []:
        report["presets"][name] = bench_preset(name, args, mnist)
        write_report(report, args.output)  # what is done so far, in case the run is cut short
    for name in args.build_presets.split(",") if "build" in sections else []:
        print(f"[{name}] brainlc's build against the baseline build", flush=True)
        report.setdefault("build_against_baseline", {})[name] = bench_build(name, args, mnist)
        write_report(report, args.output)
    if "conv" in sections:
        print("[c-25-k12 against lc-25-k12]", flush=True)
        report["conv_against_lc_training"] = bench_conv_against_lc(args, mnist)
    if "sweep" in sections:
        print("[sweep]", flush=True)
        report["sweep_lc_25_k12"] = bench_sweep(args, mnist)
    if "reference" in sections:
        report["reference_baseline"] = bench_reference(args, mnist)
    if "structured" in sections:
        report["structured_against_baseline"] = bench_structured(args)
    write_report(report, args.output)


if __name__ == "__main__":
    main()
