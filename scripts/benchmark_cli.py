"""How quickly the quick commands answer: ``brainlc --help``, ``list``, ``show ID`` and
``info PRESET``, each as a whole process, beside a baseline, in one run (JSON, medians).

The baseline is the bare interpreter (``python -c pass``) and, with ``--baseline-src DIR``,
the same commands from another brainlc source tree (e.g. an older commit checked out with
``git worktree add``), run on the same store in alternation with this one. Each tree is
installed (``pip install --no-deps --target``) into a temporary folder first, so that both
run as installed packages, whatever brainlc the interpreter has installed itself.

Usage: python scripts/benchmark_cli.py [--repeats 15] [--baseline-src DIR] [-o FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
#: Runs the brainlc installed in SITE, also where another brainlc is installed (an editable
#: install's import hook would otherwise win over sys.path).
LAUNCH = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in repr(f)]; "
          "sys.path.insert(0, {src!r}); from brainlc.cli import main; sys.exit(main(sys.argv[1:]))")


def install(source: Path, target: Path) -> str:
    """``pip install --no-deps --target`` of a brainlc source tree; returns the folder."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    check = subprocess.run([sys.executable, "-c", LAUNCH.format(src=str(target)), "presets"],
                           capture_output=True, text=True)
    if check.returncode != 0 or "lc-100-k12" not in check.stdout:
        raise SystemExit(f"the brainlc installed from {source} does not run: {check.stderr[-500:]}")
    return str(target)


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--baseline-src", default=None, help="another brainlc source tree to compare with")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        env = dict(os.environ, PYTHONPATH=str(HERE))
        subprocess.run([sys.executable, "-m", "brainlc", "run", "lc-25-k12", "--train", "10", "--calibrate",
                        "100", "--test", "10", "--store", str(store)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        network_id = next(p.name for p in store.iterdir() if not p.name.startswith("."))
        commands = {"help": ["--help"], "list": ["list", "--store", str(store)],
                    "show": ["show", network_id, "--store", str(store)], "info": ["info", "lc-100-k12"]}
        sources = {"this": install(HERE, Path(tmp) / "this")}
        if args.baseline_src:
            sources["baseline"] = install(Path(args.baseline_src).resolve(), Path(tmp) / "baseline")
        times: dict = {src: {name: [] for name in commands} for src in sources}
        times["python -c pass"] = []
        for _ in range(args.repeats):  # alternate, so that load changes hit both alike
            times["python -c pass"].append(timed([sys.executable, "-c", "pass"], env))
            for src, path in sources.items():
                for name, argv in commands.items():
                    launch = [sys.executable, "-c", LAUNCH.format(src=path), *argv]
                    times[src][name].append(timed(launch, env))

    def median_ms(values):
        return round(1000 * statistics.median(values), 1)

    report = {"repeats": args.repeats, "python": sys.version.split()[0],
              "interpreter_start_ms_median": median_ms(times.pop("python -c pass")),
              "median_ms": {src: {n: median_ms(v) for n, v in cmds.items()} for src, cmds in times.items()}}
    if "baseline" in times:
        report["speedup_vs_baseline"] = {n: round(statistics.median(times["baseline"][n]) /
                                                  statistics.median(times["this"][n]), 2) for n in commands}
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
