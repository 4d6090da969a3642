"""One build's speed on one preset, as JSON on stdout: the worker of ``benchmark.py --sections structured``.

It uses only what both builds compared there have (brainlc at commit 223e5ad and now), so
the same file measures either: the build is the ``brainlc`` it imports (``PYTHONPATH``).
Timed, each once, on ``--images`` MNIST training images: training from the network's
initial state (full model, 100 images per invocation), evaluation of the trained network
(evaluation model, one replica, one process, 100 images per invocation), and both on blank
images (no input spike: the fixed per-step cost). The X->Y synaptic events of the
evaluation are counted on the host: input spikes (the keyed draws the binary makes) times
each pixel's out-degree.

Usage: python scripts/structured_worker.py PRESET --images N --cache DIR
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

import numpy as np


def _module(name: str):
    """``brainlc.<room>.<name>`` (brainlc in rooms) or ``brainlc.<old name>`` (223e5ad's flat
    package), whichever the imported build has. Decided by its folders, not by trying: an
    editable install of the other build would answer the import of a name it lacks."""
    import brainlc

    rooms = {"encoding": "core.encoding", "presets": "core.presets", "state": "core.state",
             "topology": "core.topology", "mnist": "experiment.mnist", "image_random": "sim.image_random",
             "replicas": "sim.replicas", "simulation": "sim.simulation"}
    flat = {"mnist": "data"}
    in_rooms = (Path(brainlc.__file__).parent / "core").is_dir()
    module = importlib.import_module(f"brainlc.{rooms[name] if in_rooms else flat.get(name, name)}")
    if Path(brainlc.__file__).parent not in Path(module.__file__).parents:
        raise SystemExit(f"{module.__name__} comes from {module.__file__}, not from {brainlc.__file__}'s build")
    return module


firing_rates, spike_probabilities = _module("encoding").firing_rates, _module("encoding").spike_probabilities
load_preset = _module("presets").load_preset
initial_state = _module("state").initial_state
build_connectivity = _module("topology").build_connectivity
load_mnist = _module("mnist").load_mnist
image_random = _module("image_random")
ReplicaEvaluator = _module("replicas").ReplicaEvaluator
CompiledNetwork = _module("simulation").CompiledNetwork

TRAIN_KEY, EVAL_KEY = 11, 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--cache", required=True)
    args = parser.parse_args()
    cfg = load_preset(args.preset).config
    conn = build_connectivity(cfg)
    rates = firing_rates(load_mnist().train_images[: args.images], cfg)
    blank = np.zeros_like(rates)
    net = CompiledNetwork(cfg, images_per_run=100, cache_dir=args.cache).compile()
    evaluator = ReplicaEvaluator(cfg, replicas=1, images_per_run=100, workers=1, cache_dir=args.cache)
    evaluator.compile()
    state = initial_state(cfg, conn, 0)
    import brainlc

    out = {"source": str(Path(brainlc.__file__).parent),
           "compile_s": round(net.compile_seconds_ + evaluator.compile_seconds_, 1)}

    def timed(name, run):
        start = time.perf_counter()
        result = run()
        out[f"{name}_ms_per_image"] = round(1000 * (time.perf_counter() - start) / args.images, 3)
        return result

    trained = timed("train", lambda: net.run(state, learning=True, rates=rates, seed=TRAIN_KEY)).state
    timed("eval", lambda: evaluator.run(trained, rates=rates, seed=EVAL_KEY))
    timed("train_blank", lambda: net.run(trained, learning=True, rates=blank, seed=TRAIN_KEY))
    timed("eval_blank", lambda: evaluator.run(trained, rates=blank, seed=EVAL_KEY))
    spikes = image_random.input_spikes(EVAL_KEY, 0, spike_probabilities(rates, cfg), cfg.time_per_image)
    out_degree = np.bincount(conn.xy_pre, minlength=cfg.n_input)
    out["xy_events_per_image"] = float((spikes.sum(axis=(0, 1)) * out_degree).sum() / args.images)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
