"""Builds the Brian2 objects of one network (device independent).

The objects are laid out so that Brian2's schedule reproduces the original's order of
operations inside a 1 ms step (``docs/scheduling.md``):

=========================  =================================================
slot (order)               what runs
=========================  =================================================
start (0..4)               per image, at the first step of the next image:
                           X->Y normalisation (learning images only), clamp
                           to [0, 1] (learning), reset of v, traces, counters
groups                     traces decay; v decays, theta decays, v += I
                           unless refractory, I = 0, counter decrements
thresholds                 X spikes (host trains or Bernoulli), Y threshold
after_thresholds           resets: X trace = 1; Y v, counter, theta, traces
synapses (-1)              learning on post spikes (potentiation)
synapses (1)               X->Y on pre spikes: depression, clamp, transmission
                           (C, and Y->Y with weight decay: depression only)
synapses (2)               C: shared-kernel update summed over positions;
                           Y->Y weight decay
synapses (3, 4)            C: X->Y transmission; Y->Y on pre spikes (learning,
                           clamp) and transmission, into I of the next step
=========================  =================================================

A compiled run presents a fixed number of images and one extra step, in which the
last image's end-of-image work happens; the extra step has no input and no learning.
"""

from __future__ import annotations

import numpy as np

from brainlc.core.topology import Connectivity, replicated

from . import devices, image_random
from . import equations as eq
from .propagation_blocks import model_numbering
from .spec import BuildSpec, NetworkObjects


def select_function():
    """``select(c, a, b)``: a if c else b, for Brian2 code (C++, CUDA and numpy)."""
    from brian2 import Function

    func = Function(
        lambda c, a, b: np.where(c, a, b),
        arg_units=[1, 1, 1],
        arg_types=["boolean", "float", "float"],
        return_unit=1,
        return_type="float",
    )
    func.implementations.add_implementation(
        "cpp",
        "static inline double brainlc_select(const bool c, const double a, const double b)"
        " { return c ? a : b; }",
        name="brainlc_select",
    )
    func.implementations.add_implementation(
        "cuda",
        "__host__ __device__ static inline double brainlc_select(const bool c, const double a,"
        " const double b) { return c ? a : b; }",
        name="brainlc_select",
    )
    return func


def build_full_objects(spec: BuildSpec, conn: Connectivity, summing_codeobj_class=None,
                       kernel_order: np.ndarray | None = None) -> NetworkObjects:
    """Create every Brian2 object of the network; returns them by role.

    Must be called with the target device active. Weights, theta and inputs get
    their values at run time (run_args), so the generated code depends only on
    ``spec``. ``summing_codeobj_class`` is the code object class of the per-image sums
    of synaptic weights into their target neurons (None: the device's default; on a GPU
    one that adds atomically, see :func:`brainlc.sim.devices.summing_codeobj_class`).
    ``kernel_order`` (a convolution): kernel element ``m`` of the model is the topology's
    element ``kernel_order[m]`` (:func:`brainlc.sim.propagation_blocks.offset_major_kernel`;
    None: the same numbering). The kernel-to-channel synapses keep the topology's order, so
    each channel's weight sum adds its elements in the same order.
    """
    if not spec.learning:
        raise ValueError("the full model is the learning one: build learning=False with the evaluation model")
    from brian2 import (
        NeuronGroup,
        SpikeMonitor,
        StateMonitor,
        Synapses,
        TimedArray,
        defaultclock,
        ms,
    )

    cfg, replicas = spec.config, spec.replicas
    shared = replicas == 1  # training replicas: hyper-parameters, key and images per replica
    n_img, steps = spec.images_per_run, cfg.time_per_image
    n_in, n_out = cfg.n_input, cfg.n_output
    image_dt = steps * ms
    defaultclock.dt = cfg.dt * ms
    ns = {"image_duration": image_dt, "select": select_function(), "steps_per_image": steps, "replicas": 1,
          "replica": 0}
    ns["learning_flag"] = TimedArray(np.zeros(n_img + 1), dt=image_dt, name="learning_flag")
    if spec.input_mode == "spikes":
        inputs = TimedArray(np.zeros((n_img * steps + 1, replicas * n_in)), dt=cfg.dt * ms, name="input_spikes")
        ns["input_spikes"] = inputs
        x_threshold = eq.INPUT_THRESHOLD_SPIKES
        x_model = eq.INPUT_MODEL
    else:
        inputs = TimedArray(np.zeros((n_img + 1, replicas * n_in)), dt=image_dt, name="spike_probability")
        ns.update(spike_probability=inputs, image_uniform=image_random.brian_function())
        x_threshold = eq.INPUT_THRESHOLD_POISSON
        if shared:
            x_threshold = x_threshold.replace("pixel", "i")
        x_model = eq.INPUT_MODEL + (eq.INPUT_KEYS if shared else eq.INPUT_KEYS_PER_REPLICA)

    x = NeuronGroup(replicas * n_in, eq.with_parameters(x_model, "X", shared), threshold=x_threshold,
                    reset=eq.INPUT_RESET, namespace=ns, name="X")
    if not shared and spec.input_mode == "poisson":
        x.pixel = np.tile(np.arange(n_in), replicas)
    y = NeuronGroup(replicas * n_out, eq.with_parameters(eq.OUTPUT_MODEL + eq.IMAGES_LEARNED_MODEL, "Y", shared),
                    threshold=eq.OUTPUT_THRESHOLD, reset=eq.OUTPUT_RESET, namespace=ns, name="Y")
    for group in (x, y):
        group.resetter["spike"].when = "after_thresholds"
    x.run_regularly(eq.INPUT_UPDATE, when="groups", name="X_update")
    y.run_regularly(eq.OUTPUT_UPDATE, when="groups", name="Y_update")

    objects = {"X": x, "Y": y, "inputs": inputs, "learning_flag": ns["learning_flag"]}
    every_image = {"dt": image_dt, "when": "start"}
    xy_pre, xy_post = replicated(conn.xy_pre, conn.xy_post, n_in, n_out, replicas)

    if conn.xy_kernel is None:
        xy = Synapses(x, y, eq.with_parameters(eq.XY_MODEL, "XY", shared), namespace=ns, name="XY",
                      on_pre=eq.XY_PRE, on_post=eq.XY_LEARN_POST,
                      **devices.zero_delays(spec.device, eq.XY_PRE, eq.XY_LEARN_POST))
        xy.connect(i=xy_pre, j=xy_post)
        y.run_regularly(eq.GROUP_SUM_RESET, order=0, name="Y_sum_reset", **every_image)
        xy.run_regularly(eq.XY_SUM, order=1, name="XY_sum", codeobj_class=summing_codeobj_class,
                         **every_image)
        y.run_regularly(eq.GROUP_SCALE, order=2, name="Y_scale", **every_image)
        xy.run_regularly(eq.XY_SCALE, order=3, name="XY_scale", **every_image)
        objects["w_xy_owner"] = xy
    else:
        n_kernel = conn.n_kernel_elements
        kernel = NeuronGroup(replicas * n_kernel, eq.KERNEL_MODEL, namespace=ns, name="K")
        channel = NeuronGroup(replicas * cfg.channels, eq.with_parameters(eq.CHANNEL_MODEL, "F", shared),
                              namespace=ns, name="F")
        on_pre = {"pre": eq.CONV_LEARN_PRE, "transmit": eq.CONV_TRANSMIT}
        xy = Synapses(x, y, eq.with_parameters(eq.CONV_MODEL, "XY", shared), namespace=ns, name="XY",
                      on_pre=on_pre, on_post=eq.CONV_LEARN_POST,
                      **devices.zero_delays(spec.device, on_pre, eq.CONV_LEARN_POST))
        xy.connect(i=xy_pre, j=xy_post)
        model_element = model_numbering(kernel_order, n_kernel)
        xy.kernel_index = (model_element[conn.xy_kernel][None, :] + n_kernel * np.arange(replicas)[:, None]).ravel()
        # Shared weights: the synapses read and write the kernel group's variables
        # through their kernel element index.
        xy.variables.add_reference("w_kernel", kernel, "w", index="kernel_index")
        xy.variables.add_reference("dw_kernel", kernel, "dw", index="kernel_index")
        kernel.run_regularly(eq.KERNEL_APPLY, when="synapses", order=2, name="K_apply")
        kf = Synapses(kernel, channel, namespace=ns, name="KF")
        elements = np.arange(n_kernel)
        kf_pre, kf_post = replicated(model_element, elements // (cfg.kernel**2), n_kernel, cfg.channels, replicas)
        kf.connect(i=kf_pre, j=kf_post)
        channel.run_regularly(eq.GROUP_SUM_RESET, order=0, name="F_sum_reset", **every_image)
        kf.run_regularly(eq.KERNEL_SUM, order=1, name="KF_sum", codeobj_class=summing_codeobj_class,
                         **every_image)
        channel.run_regularly(eq.GROUP_SCALE, order=2, name="F_scale", **every_image)
        kf.run_regularly(eq.KERNEL_SCALE, order=3, name="KF_scale", **every_image)
        objects.update(K=kernel, F=channel, KF=kf, w_xy_owner=kernel)
    xy.post.order = -1
    xy.pre.order = 1
    if conn.xy_kernel is not None:
        xy.transmit.order = 3
    objects["XY"] = xy

    y.run_regularly(eq.OUTPUT_IMAGE_RESET, order=4, name="Y_image_reset", **every_image)
    x.run_regularly(eq.INPUT_IMAGE_RESET, order=4, name="X_image_reset", **every_image)
    if spec.input_mode == "poisson":
        x.run_regularly(eq.INPUT_IMAGE_PROBABILITY, order=5, name="X_image_probability",
                        **every_image)
    y.run_regularly(eq.COUNT_LEARNED_IMAGE, order=6, name="Y_count_learned", **every_image)

    yy_model = eq.with_parameters(eq.YY_MODEL, "YY", shared)
    if cfg.all_pairs_compete:
        yy_model += eq.YY_IN_PATCH + "\n"
    if not cfg.competition_trainable:
        yy = Synapses(y, y, yy_model, on_pre=eq.YY_TRANSMIT_FIXED, namespace=ns, name="YY",
                      **devices.zero_delays(spec.device, eq.YY_TRANSMIT_FIXED))
    elif cfg.weight_decay != 0:
        on_pre = {"pre": eq.YY_LEARN_PRE, "transmit": eq.YY_TRANSMIT_FIXED}
        yy = Synapses(y, y, yy_model, namespace=ns, name="YY", on_pre=on_pre, on_post=eq.YY_LEARN_POST_UNCLAMPED,
                      **devices.zero_delays(spec.device, on_pre, eq.YY_LEARN_POST_UNCLAMPED))
        yy.run_regularly(eq.YY_DECAY, when="synapses", order=2, name="YY_decay")
    else:
        yy = Synapses(y, y, yy_model, namespace=ns, name="YY", on_pre=eq.YY_PRE_CLAMPED,
                      on_post=eq.YY_LEARN_POST_CLAMPED,
                      **devices.zero_delays(spec.device, eq.YY_PRE_CLAMPED, eq.YY_LEARN_POST_CLAMPED))
    if conn.yy_pre.size:
        yy_pre, yy_post = replicated(conn.yy_pre, conn.yy_post, n_out, n_out, replicas)
        yy.connect(i=yy_pre, j=yy_post)
    if cfg.all_pairs_compete:
        yy.in_patch = np.tile(conn.yy_in_patch.astype(np.float64), replicas)
        if cfg.architecture == "LC":
            yy.run_regularly(eq.YY_MASK, order=4, name="YY_mask", **every_image)
        yy.run_regularly(eq.YY_CLAMP_ALL, order=5, name="YY_clamp", **every_image)
    yy.pre.order = 4
    if cfg.competition_trainable:
        yy.post.order = -1
        if cfg.weight_decay != 0:
            yy.pre.order = 1
            yy.transmit.order = 4
    objects["YY"] = yy

    objects["spikes"] = SpikeMonitor(y, name="Y_spikes")
    if spec.record_input:
        objects["input_spikes"] = SpikeMonitor(x, name="X_spikes")
    if spec.record:
        objects["state"] = StateMonitor(y, ["v", "theta"], record=list(spec.record),
                                        when="end", name="Y_state")
        if spec.record_runtime:  # the binary takes the recorded neurons on its command line
            objects["state"].variables["_indices"].read_only = False
    runtime = ("inputs", "learning_flag", "w_xy_owner")
    return NetworkObjects(members=[obj for key, obj in objects.items() if key not in runtime],
                          roles={key: obj for key, obj in objects.items() if key not in runtime},
                          inputs=objects["inputs"], learning_flag=objects["learning_flag"],
                          w_xy_owner=objects["w_xy_owner"], duration=(n_img * steps + 1) * cfg.dt * ms)
