"""Golden results of two networks of one shape, each compiled on its own.

Made at commit d2bc903, when every hyper-parameter was a compile-time constant of the
generated code (so each config below had its own compiled project). The test
``tests/test_runtime_parameters.py`` checks that one compiled project, which takes the
hyper-parameters at run time, gives exactly these results for every config.

The input spikes are host-made trains of the keyed Poisson draws (brainlc.sim.image_random,
seeds 11 and 12), which the compiled model's Poisson input draws since the evaluation
replicas came: d2bc903 drew with Brian2's rand(), so the golden file was made again there,
in a worktree of d2bc903 with today's keyed draw copied in. d2bc903 has the flat layout of
brainlc 0.1, so it takes this script as it was before the package was split into rooms
(commit 8dbfbf7) and the draw from its flat place:

    git worktree add /tmp/golden d2bc903 && cd /tmp/golden
    git show 8dbfbf7:brainlc/image_random.py > brainlc/image_random.py
    git show 8dbfbf7:scripts/make_runtime_golden.py > scripts/make_runtime_golden.py
    python scripts/make_runtime_golden.py tests/data/runtime-golden.npz
"""

import sys

import numpy as np

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import firing_rates, spike_probabilities
from brainlc.core.state import initial_state
from brainlc.core.topology import build_connectivity
from brainlc.sim import image_random
from brainlc.sim.simulation import CompiledNetwork

SHAPE = dict(architecture="LC", channels=4, competition_trainable=True)
CONFIGS = {
    "a": NetworkConfig(**SHAPE, a_plus=0.5, a_minus=-0.3, c_w=-100.0),
    "b": NetworkConfig(**SHAPE, a_plus=0.8, a_minus=-0.1, c_w=-80.0, c_w_min=-150.0, c_w_max=-1.0,
                       mean_weight=0.3, nu_potentiation=2e-2, nu_depression=2e-4, theta_plus=0.1,
                       tau_membrane=15.0, v_threshold=-53.0, v_rest=-64.0, v_reset=-66.0, refractory=3,
                       tau_plus=15.0, tau_minus=25.0, tau_theta=5e5, tau_input_trace=15.0,
                       intensity=100.0),
    "d": NetworkConfig(**SHAPE, a_plus=0.5, a_minus=-0.3, weight_decay=0.01, c_w_min=-120.0),
    "e": NetworkConfig(**SHAPE, a_plus=0.2, a_minus=-0.6, weight_decay=0.03, c_w_min=-90.0, c_w=-60.0),
}
IMAGES = np.random.default_rng(7).integers(0, 256, size=(10, 20, 20)).astype(np.uint8)


def run(config: NetworkConfig) -> dict:
    net = CompiledNetwork(config, images_per_run=4, input_mode="spikes").compile()
    state = initial_state(config, build_connectivity(config), 3)
    p = spike_probabilities(firing_rates(IMAGES, config), config)
    steps = config.time_per_image
    trained = net.run(state, learning=True, spikes=image_random.input_spikes(11, 0, p[:7], steps))
    tested = net.run(trained.state, learning=False, spikes=image_random.input_spikes(12, 0, p[7:], steps))
    return {"train_counts": trained.spike_counts, "test_counts": tested.spike_counts,
            "w_xy": trained.state.w_xy, "w_yy": trained.state.w_yy, "theta": trained.state.theta}


if __name__ == "__main__":
    out = {}
    for name, config in CONFIGS.items():
        for key, value in run(config).items():
            out[f"{name}_{key}"] = value
        print(name, int(out[f"{name}_train_counts"].sum()), int(out[f"{name}_test_counts"].sum()))
    np.savez_compressed(sys.argv[1], **out)
