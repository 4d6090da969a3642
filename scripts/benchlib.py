"""What the benchmark scripts share: timing train/evaluate repeats, describing the machine and
the network, and writing the JSON report."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from brainlc.sim.simulation import CompiledNetwork


def time_repeats(net: CompiledNetwork, state, rates: np.ndarray, images: int,
                 repeats: int) -> tuple[dict, np.ndarray]:
    """Train on ``images`` images, then evaluate them with learning off, ``repeats`` times.

    Returns the milliseconds per image of each repeat and their medians, and the
    evaluation spike counts (image, neuron) of all repeats.
    """
    train_ms, eval_ms, counts = [], [], []
    for r in range(repeats):
        chunk = rates[r * images:(r + 1) * images]
        t0 = time.perf_counter()
        state = net.run(state, learning=True, rates=chunk, seed=r).state
        train_ms.append((time.perf_counter() - t0) * 1000 / len(chunk))
        t0 = time.perf_counter()
        tested = net.run(state, learning=False, rates=chunk, seed=r)
        eval_ms.append((time.perf_counter() - t0) * 1000 / len(chunk))
        counts.append(tested.spike_counts)
    timings = {
        "train_ms_per_image": [round(x, 3) for x in train_ms],
        "eval_ms_per_image": [round(x, 3) for x in eval_ms],
        "train_ms_per_image_median": round(statistics.median(train_ms), 3),
        "eval_ms_per_image_median": round(statistics.median(eval_ms), 3),
    }
    return timings, np.concatenate(counts)


def machine(**extra) -> dict:
    """Python version, processor and visible cores (plus ``extra``)."""
    return {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cores_visible": len(os.sched_getaffinity(0)), **extra}


def network(cfg, conn) -> dict:
    """Size of a network: output neurons and synapses."""
    return {"neurons": cfg.n_output, "xy_synapses": int(conn.xy_pre.size),
            "yy_synapses": int(conn.yy_pre.size)}


def write_report(report: dict, output: str | None) -> None:
    """Print the report as JSON, and write it to ``output`` if given."""
    text = json.dumps(report, indent=2)
    print(text)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text + "\n")
