"""Bit-for-bit results of a build, for tests/test_structured_propagation.py.

Runs every parity trace (tests/data/trace-*.nc: 20 images with learning, then 4 without,
in chunks of 8 per invocation) through the compiled full model, and random-rate images
through evaluation replicas, and writes each result to tests/data/build-golden.npz. The
committed file was made with the build of commit 9b3c73e (Brian2's own X->Y code and
spike queues, before structured propagation):

    git worktree add /tmp/before 9b3c73e
    PYTHONPATH=/tmp/before python /tmp/before/../main/scripts/make_build_golden.py  # any path to this script

Usage: python scripts/make_build_golden.py [-o tests/data/build-golden.npz]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np

import brainlc
from brainlc.core.config import NetworkConfig
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import dense_spikes, learning_phases, read_trace, trace_initial_state
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import CompiledNetwork

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TRACE_CASES = ["lc-fixed", "lc-trainable", "c-fixed", "c-trainable", "fc-fixed", "fc-trainable",
               "lc-original", "c-original", "fc-original"]
#: The evaluation-replica cases: (architecture, channels, kernel, stride).
EVALUATION_CASES = {"lc-eval": ("LC", 9, 12, 4), "c-eval": ("C", 9, 12, 4)}


def evaluation_rates(config: NetworkConfig, images: int, seed: int = 0) -> np.ndarray:
    """Random input rates (Hz), mostly dark as MNIST is."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0, 64, (images, config.n_input))
    rates[rng.random(rates.shape) < 0.6] = 0.0
    return rates


def trace_results(name: str) -> dict[str, np.ndarray]:
    ds, cfg = read_trace(DATA / f"trace-{name}.nc")
    net = CompiledNetwork(cfg, images_per_run=8, input_mode="spikes", record=tuple(int(r) for r in ds.recorded.values))
    inputs = dense_spikes(ds, "input", cfg.n_input)
    state, out = trace_initial_state(ds), {}
    for phase, (start, stop, learning) in enumerate(learning_phases(ds.learning.values)):
        result = net.run(state, learning=learning, spikes=inputs[start:stop])
        for field in ("spike_image", "spike_step", "spike_neuron", "voltages", "thetas"):
            out[f"{name}_{phase}_{field}"] = getattr(result, field)
        state = result.state
    for field in ("w_xy", "w_yy", "theta"):
        out[f"{name}_{field}"] = getattr(state, field)
    return out


def evaluation_results(name: str) -> dict[str, np.ndarray]:
    architecture, channels, kernel, stride = EVALUATION_CASES[name]
    cfg = NetworkConfig(architecture, channels, kernel=kernel, stride=stride, mean_weight=0.5)
    state = initial_state(cfg, build_connectivity(cfg), 1)
    result = ReplicaEvaluator(cfg, replicas=3, images_per_run=2, workers=1).run(state, rates=evaluation_rates(cfg, 7),
                                                                                seed=5)
    return {f"{name}_{field}": getattr(result, field)
            for field in ("spike_counts", "spike_image", "spike_step", "spike_neuron")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DATA / "build-golden.npz")
    args = parser.parse_args()
    arrays = {}
    for name in TRACE_CASES:
        arrays.update(trace_results(name))
    for name in EVALUATION_CASES:
        arrays.update(evaluation_results(name))
    source = Path(brainlc.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    np.savez_compressed(args.output, commit=np.array(commit), **arrays)
    print(f"{len(arrays)} arrays from the build of {commit or source} -> {args.output}")


if __name__ == "__main__":
    main()
