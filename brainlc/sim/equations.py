"""The model as Brian2 code: equations, thresholds, resets and synaptic code, as data.

All state variables are plain numbers in the units of :mod:`brainlc.core.config` (mV, ms),
so that the generated C++ computes with exactly the constants of the numpy reference.
Each step is one 1 ms time step of the original; the order inside a step is set by the
``when``/``order`` of the objects in :mod:`brainlc.sim.full_model` (see docs/model.md).

The hyper-parameters in the code below are run-time values: shared, constant variables of
the group that uses them (:data:`PARAMETERS`), which the binary takes on its command line
with every run, so one compiled project serves every config of one shape:
``decay_*`` (exp(-dt/tau) per step), ``v_rest``, ``v_reset``, ``v_threshold``,
``theta_plus``, ``refractory_steps``, ``nu_depression``, ``nu_potentiation``,
``a_plus``, ``a_minus``, ``weight_decay``, ``c_w_min``, ``c_w_max`` (mV),
``normalisation_target`` (mV). ``image_duration`` is a compile-time constant (shape).
``learning_flag(t)`` is a TimedArray: 1 for an image presented with learning on, 0 for
an image without learning, for padding, and for the one extra step that ends a run.
``select(c, a, b)`` is ``a if c else b``.
"""

from collections.abc import Mapping, Sequence

LEARNING = "learning_flag(t) > 0.5"

#: The run-time hyper-parameters of each group (by the group's Brian2 name).
PARAMETERS = {
    "X": ("decay_x",),
    "Y": ("decay_v", "decay_theta", "decay_plus", "decay_minus", "v_rest", "v_reset", "v_threshold",
          "theta_plus", "refractory_steps", "normalisation_target"),
    "F": ("normalisation_target",),
    "XY": ("nu_depression", "nu_potentiation"),
    "YY": ("a_plus", "a_minus", "c_w_min", "c_w_max", "weight_decay"),
}
INTEGER_PARAMETERS = ("refractory_steps",)


def with_parameters(model: str, group: str, shared: bool = True,
                    declared: Mapping[str, Sequence[str]] = PARAMETERS) -> str:
    """A group's model equations with its run-time hyper-parameters declared: shared by
    the group, or (``shared=False``, training replicas) one value per element, so that each
    replica has its own. ``declared``: the parameters of each group (the full model's by
    default; the evaluation model declares fewer)."""
    flags = "(shared, constant)" if shared else "(constant)"
    lines = [f"{name} : {'integer' if name in INTEGER_PARAMETERS else '1'} {flags}"
             for name in declared.get(group, ())]
    return model.rstrip() + "\n" + "\n".join(lines) + "\n"


# ------------------------------------------------------------------ input layer X
INPUT_MODEL = """
x_trace : 1        # nearest-spike trace of the input spikes (tau_input_trace), 0..1
p_spike : 1        # spike probability per step for the current image (Poisson input)
"""
#: Poisson input: the run's key and the number of its first image (see INPUT_THRESHOLD_POISSON).
INPUT_KEYS = """
rng_key : 1 (shared, constant)      # key of this run's draws, 0..2**32-1
first_image : 1 (shared, constant)  # number of the run's first image
"""
#: The same per input neuron, for training replicas (each replica its own key and images).
INPUT_KEYS_PER_REPLICA = """
rng_key : 1 (constant)
first_image : 1 (constant)
pixel : integer (constant)          # input index within the replica
"""
INPUT_UPDATE = "x_trace = x_trace * decay_x"
#: Host-made spike trains (parity tests, exact encoders).
INPUT_THRESHOLD_SPIKES = "input_spikes(t, i) > 0.5"
#: Bernoulli spikes with probability rate * dt per step, drawn in the compiled code from
#: brainlc.sim.image_random: the draw of input ``pixel`` at step s of image number n depends
#: on (rng_key, n, s, pixel) only. ``replica`` and ``replicas`` place images side by side
#: (brainlc.sim.evaluation_model; 0 and 1 in one network).
INPUT_THRESHOLD_POISSON = (
    "p_spike > 0 and image_uniform(rng_key, first_image + (int(t / dt + 0.5) // steps_per_image) * replicas"
    " + replica, int(t / dt + 0.5) % steps_per_image, pixel) < p_spike"
)
#: Per image (run_regularly at its first step): the image's spike probabilities.
INPUT_IMAGE_PROBABILITY = "p_spike = spike_probability(t, i)"
INPUT_RESET = "x_trace = 1.0"
INPUT_IMAGE_RESET = "x_trace = 0.0"

# ------------------------------------------------------------------ output layer Y
OUTPUT_MODEL = """
v : 1                      # membrane potential (mV)
theta : 1                  # adaptive threshold increment (mV)
I : 1                      # input that arrives at the next step (mV)
refractory_left : integer  # refractory steps left
trace_plus : 1                  # nearest-spike trace with tau_plus
trace_minus : 1                 # nearest-spike trace with tau_minus
weight_sum : 1             # afferent X->Y weight sum at normalisation (mV)
norm_scale : 1             # normalisation factor of this image end
"""
OUTPUT_UPDATE = f"""
v = v_rest + (v - v_rest) * decay_v
theta = select({LEARNING}, theta * decay_theta, theta)
v = v + I * int(refractory_left == 0)
I = 0.0
refractory_left = refractory_left - int(refractory_left > 0)
trace_plus = trace_plus * decay_plus
trace_minus = trace_minus * decay_minus
"""
OUTPUT_THRESHOLD = "v >= v_threshold + theta"
OUTPUT_RESET = f"""
v = v_reset
refractory_left = refractory_steps
theta = select({LEARNING}, theta + theta_plus, theta)
trace_plus = 1.0
trace_minus = 1.0
"""
#: The full model's own count of the images it learned from: per image, at the first step of
#: the next, +1 after an image with learning on. The binary writes it out with the weights, so
#: a training proves that the simulation saw its images. One count per neuron, not a shared
#: value: on a GPU every thread would add to a shared one (and OpenMP threads would race).
IMAGES_LEARNED_MODEL = "images_learned : 1  # images presented with learning on, this invocation\n"
COUNT_LEARNED_IMAGE = "images_learned += int(t > 0*ms and learning_flag(t - image_duration) > 0.5)"
OUTPUT_IMAGE_RESET = """
v = v_rest
refractory_left = 0
I = 0.0
trace_plus = 0.0
trace_minus = 0.0
"""

# ------------------------------------------------------------------ X -> Y, own weights
# In one step the post pathway (potentiation) runs first, then the pre pathway
# (depression, clamp, transmission). Both updates of a synapse whose pre and post neuron
# spiked in the same step are summed before the one clamp: the post pathway clamps only
# when the pre neuron did not spike (its trace is exactly 1 only in a step where it
# spiked). Transmission uses the weight after this step's learning, as in the original.
XY_MODEL = "w : 1  # X->Y weight (mV)"
XY_LEARN_POST = f"""
w = select({LEARNING}, w + nu_potentiation * x_trace_pre, w)
w = select({LEARNING} and x_trace_pre < 1.0, clip(w, 0.0, 1.0), w)
"""
XY_PRE = f"""
w = select({LEARNING}, clip(w + (-nu_depression * trace_minus_post), 0.0, 1.0), w)
I_post += w
"""
# Normalisation, at the start of the step after an image (run_regularly code).
XY_SUM = "weight_sum_post += w"
XY_SCALE = f"""
w = w * norm_scale_post
w = select({LEARNING}, clip(w, 0.0, 1.0), w)
"""
GROUP_SUM_RESET = "weight_sum = 0.0"
GROUP_SCALE = (
    "norm_scale = select(t > 0*ms and learning_flag(t - image_duration) > 0.5 "
    "and weight_sum > 0, normalisation_target / weight_sum, 1.0)"
)

# ------------------------------------------------------------------ X -> Y, shared kernel (C)
# w_kernel / dw_kernel refer to the kernel group's variables through the synapse's
# kernel element index ``kernel_index``.
KERNEL_MODEL = """
w : 1   # shared kernel weight (mV)
dw : 1  # summed update of this step
"""
CONV_MODEL = "kernel_index : integer (constant)"
CONV_LEARN_PRE = f"dw_kernel += select({LEARNING}, -nu_depression * trace_minus_post, 0.0)"
CONV_LEARN_POST = f"dw_kernel += select({LEARNING}, nu_potentiation * x_trace_pre, 0.0)"
CONV_TRANSMIT = "I_post += w_kernel"
KERNEL_APPLY = f"""
w = select({LEARNING}, clip(w + dw, 0.0, 1.0), w)
dw = 0.0
"""
KERNEL_SUM = "weight_sum_post += w_pre"
KERNEL_SCALE = f"""
w_pre = w_pre * norm_scale_post
w_pre = select({LEARNING}, clip(w_pre, 0.0, 1.0), w_pre)
"""
CHANNEL_MODEL = """
weight_sum : 1  # kernel weight sum at normalisation (mV)
norm_scale : 1
"""

# ------------------------------------------------------------------ Y -> Y competition
YY_MODEL = "w : 1  # competition weight (mV), <= 0 for inhibition"
YY_TRANSMIT_FIXED = "I_post += w"
YY_LEARN_PRE = f"w = select({LEARNING}, w + a_minus * trace_minus_post, w)"
YY_PRE_CLAMPED = f"""
w = select({LEARNING}, clip(w + a_minus * trace_minus_post, c_w_min, c_w_max), w)
I_post += w
"""
YY_LEARN_POST_CLAMPED = f"""
w = select({LEARNING}, w + a_plus * trace_plus_pre, w)
w = select({LEARNING} and trace_plus_pre < 1.0, clip(w, c_w_min, c_w_max), w)
"""
YY_LEARN_POST_UNCLAMPED = f"w = select({LEARNING}, w + a_plus * trace_plus_pre, w)"
#: The original's trainable competition (every pair a synapse): per image, at its first
#: step, LC's entries outside the competition pairs go back to 0 after a training image
#: (the original's ``mask_YY``), and a training image starts with every weight clamped
#: (the original clamps every entry at every learning step; entries change only through
#: spikes, decay or that mask, and no Y neuron can spike in an image's first step).
YY_IN_PATCH = "in_patch : 1 (constant)  # 1 on a same-position pair of two channels, else 0"
YY_MASK = "w = select(t > 0*ms and learning_flag(t - image_duration) > 0.5, w * in_patch, w)"
YY_CLAMP_ALL = f"w = select({LEARNING}, clip(w, c_w_min, c_w_max), w)"
#: With weight decay every learning step subtracts it from every weight, then clamps.
YY_DECAY = f"w = select({LEARNING}, clip(w - weight_decay, c_w_min, c_w_max), w)"
