"""The Brian2 objects of an evaluation: R replicas of one network, learning off, nothing else.

Calibration and testing present images with learning off: weights and θ never change,
and traces, θ decay, normalisation and every learning pathway do nothing. This model
leaves all of that out and keeps what decides the spikes: the membrane potential, the
input buffer ``I``, the refractory counter and the transmission of X->Y and Y->Y spikes,
in the order of :mod:`brainlc.sim.full_model` (so the spikes are exactly those of the full
model with learning off).

It holds ``R`` replicas of the network side by side (neuron ``r * n + k`` of a group is
neuron ``k`` of replica ``r``), each with its own copy of the weights and θ, each seeing
its own image: ``R`` images advance in every time step. One invocation presents
``images_per_run`` images per replica: image ``j`` of a chunk goes to replica ``j % R``
in image slot ``j // R``.

Poisson input draws from :mod:`brainlc.sim.image_random` as in the full model, keyed by the
run's key (``X.rng_key``) and the image's number (``X.first_image`` + its index in the
chunk): an image gets the same spikes in any replica, chunk or process, and the same as
in :mod:`brainlc.sim.full_model`.
"""

from __future__ import annotations

import numpy as np

from brainlc.core.topology import Connectivity, replicated

from . import devices, image_random
from . import equations as eq
from .propagation_blocks import model_numbering
from .spec import BuildSpec, NetworkObjects

#: Run-time values of the evaluation model's groups (by the group's Brian2 name).
PARAMETERS = {
    "Y": ("decay_v", "v_rest", "v_reset", "v_threshold", "refractory_steps"),
}

INPUT_MODEL = """
p_spike : 1                      # spike probability per step of the current image
replica : integer (constant)     # which replica this input neuron belongs to
pixel : integer (constant)       # its input index within the replica
""" + eq.INPUT_KEYS
INPUT_IMAGE_PROBABILITY = "p_spike = spike_probability(t, i)"

OUTPUT_MODEL = """
v : 1                      # membrane potential (mV)
theta : 1 (constant)       # adaptive threshold increment (mV), fixed while evaluating
I : 1                      # input that arrives at the next step (mV)
refractory_left : integer  # refractory steps left
"""
#: Exactly the v, I and counter lines of :data:`brainlc.sim.equations.OUTPUT_UPDATE`.
OUTPUT_UPDATE = """
v = v_rest + (v - v_rest) * decay_v
v = v + I * int(refractory_left == 0)
I = 0.0
refractory_left = refractory_left - int(refractory_left > 0)
"""
OUTPUT_RESET = """
v = v_reset
refractory_left = refractory_steps
"""
OUTPUT_IMAGE_RESET = """
v = v_rest
refractory_left = 0
I = 0.0
"""
TRANSMIT = "I_post += w"
TRANSMIT_KERNEL = "I_post += w_kernel"


def build_evaluation_objects(spec: BuildSpec, conn: Connectivity,
                             kernel_order: np.ndarray | None = None) -> NetworkObjects:
    """Every Brian2 object of ``spec.replicas`` replicas of the network, learning off.

    Must be called with the target device active; roles and ``kernel_order`` as in
    :func:`brainlc.sim.full_model.build_full_objects` (no ``learning_flag``).
    """
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, TimedArray, defaultclock, ms

    cfg, replicas = spec.config, spec.replicas
    slots, steps = spec.images_per_run, cfg.time_per_image
    n_in, n_out = cfg.n_input, cfg.n_output
    image_dt = steps * ms
    defaultclock.dt = cfg.dt * ms
    ns = {"steps_per_image": steps, "replicas": replicas}
    if spec.input_mode == "spikes":
        inputs = TimedArray(np.zeros((slots * steps + 1, replicas * n_in)), dt=cfg.dt * ms, name="input_spikes")
        ns["input_spikes"] = inputs
        threshold = eq.INPUT_THRESHOLD_SPIKES
    else:
        inputs = TimedArray(np.zeros((slots + 1, replicas * n_in)), dt=image_dt, name="spike_probability")
        ns.update(spike_probability=inputs, image_uniform=image_random.brian_function())
        threshold = eq.INPUT_THRESHOLD_POISSON

    x = NeuronGroup(replicas * n_in, INPUT_MODEL, threshold=threshold, reset="", namespace=ns, name="X")
    x.replica = np.repeat(np.arange(replicas), n_in)
    x.pixel = np.tile(np.arange(n_in), replicas)
    y = NeuronGroup(replicas * n_out, eq.with_parameters(OUTPUT_MODEL, "Y", declared=PARAMETERS),
                    threshold=eq.OUTPUT_THRESHOLD, reset=OUTPUT_RESET, namespace=ns, name="Y")
    y.resetter["spike"].when = "after_thresholds"
    y.run_regularly(OUTPUT_UPDATE, when="groups", name="Y_update")
    every_image = {"dt": image_dt, "when": "start"}
    y.run_regularly(OUTPUT_IMAGE_RESET, order=4, name="Y_image_reset", **every_image)
    if spec.input_mode == "poisson":
        x.run_regularly(INPUT_IMAGE_PROBABILITY, order=5, name="X_image_probability", **every_image)
    roles = {"X": x, "Y": y}

    xy_pre, xy_post = replicated(conn.xy_pre, conn.xy_post, n_in, n_out, replicas)
    if conn.xy_kernel is None:
        xy = Synapses(x, y, "w : 1 (constant)", on_pre=TRANSMIT, namespace=ns, name="XY",
                      **devices.zero_delays(spec.device, TRANSMIT))
        xy.connect(i=xy_pre, j=xy_post)
        owner = xy
    else:  # one shared kernel serves every replica
        kernel = NeuronGroup(conn.n_kernel_elements, "w : 1 (constant)", namespace=ns, name="K")
        xy = Synapses(x, y, eq.CONV_MODEL, on_pre=TRANSMIT_KERNEL, namespace=ns, name="XY",
                      **devices.zero_delays(spec.device, TRANSMIT_KERNEL))
        xy.connect(i=xy_pre, j=xy_post)
        xy.kernel_index = np.tile(model_numbering(kernel_order, conn.n_kernel_elements)[conn.xy_kernel], replicas)
        xy.variables.add_reference("w_kernel", kernel, "w", index="kernel_index")
        roles["K"] = owner = kernel
    xy.pre.order = 1
    roles["XY"] = xy

    yy = Synapses(y, y, "w : 1 (constant)", on_pre=TRANSMIT, namespace=ns, name="YY",
                  **devices.zero_delays(spec.device, TRANSMIT))
    if conn.yy_pre.size:
        yy_pre, yy_post = replicated(conn.yy_pre, conn.yy_post, n_out, n_out, replicas)
        yy.connect(i=yy_pre, j=yy_post)
    yy.pre.order = 4
    roles["YY"] = yy
    roles["spikes"] = SpikeMonitor(y, name="Y_spikes")
    members = [roles[name] for name in ("X", "Y", "XY", "YY", "spikes")]
    if "K" in roles:
        members.insert(2, roles["K"])
    return NetworkObjects(members=members, roles=roles, inputs=inputs, learning_flag=None,
                          w_xy_owner=owner, duration=(slots * steps + 1) * cfg.dt * ms)
