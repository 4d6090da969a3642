"""Compile the networks of tests/test_cuda.py for the GPU in parallel, into the project cache.

The test module compiles its four networks one after the other; each spends most of its
time in single-threaded code generation. On a many-core GPU machine, building them in
parallel processes first (same arguments, hence the same cache keys) cuts the wall time of
``scripts/gpu_check.sh``; the tests then find every project in ``$BRAINLC_CACHE``.

Usage: python scripts/prebuild_cuda_tests.py [--workers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

TRACES = Path(__file__).resolve().parent.parent / "tests" / "data"
#: (trace, input mode or "replicas", record the trace's neurons?) as tests/test_cuda.py builds them
BUILDS = [("lc-fixed", "spikes", True), ("c-trainable", "spikes", True),
          ("fc-trainable", "spikes", True), ("lc-fixed", "poisson", False), ("lc-fixed", "replicas", False)]


def build(trace: str, input_mode: str, record: bool) -> tuple[str, float]:
    from brainlc.core.traces import read_trace
    from brainlc.sim.replicas import ReplicaEvaluator
    from brainlc.sim.simulation import CompiledNetwork

    ds, cfg = read_trace(TRACES / f"trace-{trace}.nc")
    recorded = tuple(int(r) for r in ds.recorded.values) if record else ()
    start = time.perf_counter()
    if input_mode == "replicas":  # the evaluation model of test_gpu_replicas_reproduce_the_reference
        ReplicaEvaluator(cfg, replicas=4, images_per_run=2, input_mode="spikes", workers=1, device="cuda").compile()
    else:
        CompiledNetwork(cfg, images_per_run=8, input_mode=input_mode, record=recorded,
                        device="cuda").compile()
    return f"{trace}/{input_mode}", time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=len(BUILDS))
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")  # one fresh Brian2 per build
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        futures = [pool.submit(build, *b) for b in BUILDS]
        for future in as_completed(futures):
            name, seconds = future.result()
            print(f"prebuilt {name} for cuda in {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
