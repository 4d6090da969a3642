"""How the wall time of a reproduction falls with the number of Dask workers.

Runs the same tasks (``--rows`` x ``--seeds`` at small image counts) through
``brainlc reproduce`` with 1 and with 2 workers (or ``--workers 1 2 4 ...``), each
into a fresh store, alternating, ``--repeats`` times; the compiled projects are built
once before the clock starts. Writes medians and the speed-up to JSON.

    python scripts/benchmark_workers.py -o benchmarks/workers.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def reproduce(rows: list[str], seeds: int, sizes: list[str], workers: int, out: Path) -> float:
    command = [sys.executable, "-m", "brainlc", "reproduce", "--rows", *rows, "--seeds", str(seeds), *sizes,
               "--workers", str(workers), "-o", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--rows", nargs="+", default=["lc-25-k12", "lc-25-k8"])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--images", type=int, default=500, help="train, calibrate and test images per task")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = ["--train", str(args.images), "--calibrate", str(max(100, args.images)), "--test", str(args.images)]
    seconds: dict[int, list[float]] = {w: [] for w in args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        reproduce(args.rows, 1, ["--train", "0", "--calibrate", "100", "--test", "1"], 1, Path(tmp) / "warm")
        for repeat in range(args.repeats):
            for workers in args.workers:
                seconds[workers].append(reproduce(args.rows, args.seeds, sizes, workers,
                                                  Path(tmp) / f"{workers}-{repeat}"))
                print(f"repeat {repeat}: {workers} workers {seconds[workers][-1]:.1f} s", flush=True)
    medians = {w: statistics.median(v) for w, v in seconds.items()}
    base = medians[args.workers[0]]
    result = {
        "what": "wall time of brainlc reproduce (whole process, LocalCluster start included) by worker count",
        "rows": args.rows, "seeds": args.seeds,
        "images_per_task": {"train": args.images, "calibrate": max(100, args.images), "test": args.images},
        "seconds": seconds, "median_s": medians,
        "speedup_vs_first": {w: round(base / m, 3) for w, m in medians.items()},
        "machine": {"node": platform.node(), "cores": os.cpu_count(), "python": platform.python_version()},
    }
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["median_s"]), json.dumps(result["speedup_vs_first"]))


if __name__ == "__main__":
    main()
