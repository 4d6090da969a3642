"""The same network on every Python this machine has: ``brainlc run lc-25-k12`` (200 training,
500 calibration, 500 test images, seed 0) under Python 3.11 (brian2 2.9), 3.12 (brian2 2.10)
and 3.13 (brian2 2.11), each in its own virtual environment with this tree installed (not
editable), its own store and its own compile cache. Writes each run's versions and
accuracies, and whether its trained weights and thresholds equal those of the first Python
bit for bit (JSON).

Usage: python scripts/compare_pythons.py [--work DIR] [-o benchmarks/python-versions.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from brainlc import Store  # noqa: E402

PYTHONS = ("3.11", "3.12", "3.13")
RUN = ["run", "lc-25-k12", "--train", "200", "--calibrate", "500", "--test", "500", "--seed", "0"]
REPORT = "import sys, brian2, numpy; print(sys.version.split()[0], brian2.__version__, numpy.__version__)"


def find_python(version: str) -> str | None:
    """An interpreter of this minor version: ``pythonX.Y`` on PATH, else pyenv's."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root, "versions").glob(f"{version}.*/bin/python3"))
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if check.returncode == 0 and check.stdout.strip() == version:
            return candidate
    return None


def run_on(version: str, python: str, work: Path) -> dict:
    """Install this tree under ``python`` and run the network; returns what it gave."""
    venv = work / f"venv-{version}"
    if not venv.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([venv / "bin" / "pip", "install", "-q", str(HERE)], check=True)
    py, brian2, numpy = subprocess.run([venv / "bin" / "python", "-c", REPORT], capture_output=True, text=True,
                                       check=True).stdout.split()
    store, out = work / f"store-{version}", work / f"run-{version}.json"
    shutil.rmtree(store, ignore_errors=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(Path.home()),
           "BRAINLC_HOME": str(store), "BRAINLC_CACHE": str(work / f"cache-{version}")}
    subprocess.run([venv / "bin" / "brainlc", *RUN, "--json", str(out)], env=env, cwd=work, check=True)
    summary = json.loads(out.read_text())
    return {"python": py, "brian2": brian2, "numpy": numpy, "accuracy": summary["accuracy"],
            "network": summary["id"], "store": str(store)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=None, help="folder for the environments (kept: a rerun reuses them)")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="brainlc-pythons-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = {}
    for version in PYTHONS:
        python = find_python(version)
        if python is None:
            print(f"Python {version}: not on this machine", file=sys.stderr)
            continue
        runs[version] = run_on(version, python, work)
        print(f"Python {version}: {runs[version]['accuracy']}", flush=True)
    first = next(iter(runs))
    reference = Store(runs[first]["store"]).load(runs[first]["network"]).state
    for run in runs.values():
        state = Store(run["store"]).load(run["network"]).state
        run["same_as_" + first] = {
            "accuracy": run["accuracy"] == runs[first]["accuracy"],
            **{name: bool(np.array_equal(getattr(state, name), getattr(reference, name)))
               for name in ("w_xy", "w_yy", "theta")},
        }
        del run["store"]
    result = {"command": "brainlc " + " ".join(RUN), "runs": runs}
    text = json.dumps(result, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
