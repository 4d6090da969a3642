"""Write the reference traces the parity tests compare the compiled model against.

Nine small networks (LC, C, FC; fixed, trainable, and trainable with the original's
competition mode, where all N² Y->Y entries learn) each see 20 MNIST
training images with learning on, then 4 test images with learning off. Their input
spike trains come from the original's Poisson encoder; the numpy reference
(brainlc.core.reference) produces the spikes, voltages, thresholds and weights stored in
``tests/data/trace-<case>.nc``.

Usage: python scripts/make_reference_traces.py [--out tests/data] [--only CASE ...]
(a case's input trains and seed depend only on its position in CASES, so writing some
cases leaves the others' files as they were)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import firing_rates, original_poisson_trains
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.core.traces import make_trace, write_trace
from brainlc.experiment.mnist import load_mnist

TRAINABLE = dict(competition_trainable=True, a_plus=-1.0, a_minus=0.5, tau_plus=15.0, tau_minus=12.0)

CASES = {
    "lc-fixed": NetworkConfig("LC", 9, kernel=12, stride=4, mean_weight=0.4, c_w=-60.0),
    "lc-trainable": NetworkConfig("LC", 9, kernel=12, stride=4, mean_weight=0.4, c_w=-60.0,
                                  weight_decay=0.001, c_w_min=-75.0, c_w_max=-5.0, **TRAINABLE),
    "c-fixed": NetworkConfig("C", 9, kernel=8, stride=4, mean_weight=0.4, c_w=-60.0),
    "c-trainable": NetworkConfig("C", 9, kernel=8, stride=4, mean_weight=0.4, c_w=-60.0, **TRAINABLE),
    "fc-fixed": NetworkConfig("FC", 16, mean_weight=0.3, c_w=-60.0, tau_plus=8.0),
    "fc-trainable": NetworkConfig("FC", 16, mean_weight=0.3, c_w=-60.0, c_w_min=-80.0, **TRAINABLE),
    "lc-original": NetworkConfig("LC", 9, kernel=12, stride=4, mean_weight=0.4, c_w=-60.0,
                                 competition="original", c_w_min=-75.0, c_w_max=-5.0, **TRAINABLE),
    "c-original": NetworkConfig("C", 9, kernel=8, stride=4, mean_weight=0.4, c_w=-60.0,
                                competition="original", weight_decay=0.001, **TRAINABLE),
    "fc-original": NetworkConfig("FC", 16, mean_weight=0.3, c_w=-60.0, c_w_min=-80.0,
                                 competition="original", **TRAINABLE),
}
TRAIN_IMAGES, TEST_IMAGES = 20, 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="tests/data")
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="write only these cases")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mnist = load_mnist()
    images = np.concatenate([mnist.train_images[:TRAIN_IMAGES], mnist.test_images[:TEST_IMAGES]])
    learning = np.array([1] * TRAIN_IMAGES + [0] * TEST_IMAGES)
    for seed, (name, config) in enumerate(CASES.items()):
        if args.only and name not in args.only:
            continue
        rng = np.random.default_rng(1000 + seed)
        spikes = original_poisson_trains(firing_rates(images, config), config.time_per_image, rng)
        state = initial_state(config, build_connectivity(config), seed=seed)
        record = sorted({0, config.n_output // 2, config.n_output - 1})
        ds = make_trace(config, state, spikes, learning, record,
                        description=f"{name}: {TRAIN_IMAGES} MNIST training images with learning, "
                                    f"then {TEST_IMAGES} test images without")
        path = out / f"trace-{name}.nc"
        write_trace(ds, path)
        changed = np.mean(ds.w_yy_final.values != ds.w_yy_initial.values) if ds.sizes.get("yy_synapse") else 0
        print(f"{path}: {ds.sizes['output_spike']} output spikes, {ds.sizes['input_spike']} input spikes, "
              f"max theta {float(ds.theta_final.max()):.3f} mV, Y->Y weights changed: {changed:.2f}, "
              f"{path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
