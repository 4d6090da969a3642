"""A plain numpy, step-by-step implementation of the original's discrete-time algorithm.

This is the oracle the Brian2 model is tested against (the step order of ``docs/scheduling.md``),
not the product: it is slow and simple on purpose. It implements the decisions written
in ``docs/model.md`` (competition synapses only between channels at one position, C
kernels normalised at initialisation, no normalisation when learning is off, a zero
weight sum leaves a group unchanged).

Arithmetic is written in the same algebraic form as the generated C++ code, and every
sum over synapses runs in the same order, so that both give bit-identical numbers.

One time step ``t`` (dt = 1 ms) of one image, in order:

1. X traces decay; Y: ``v`` decays to rest, theta decays (learning only), ``v += I``
   unless refractory, ``I = 0``, refractory counter decrements, Y traces decay.
2. Spikes: X from the given trains, Y where ``v >= v_threshold + theta``.
3. Resets: X trace = 1; Y ``v = v_reset``, counter = refractory, theta += theta_plus
   (learning only), Y traces = 1.
4. Learning (on): X->Y potentiation on Y spikes, depression on X spikes, summed (in
   this order; the original adds depression first, which differs by rounding only), then
   clamped to [0, 1] (C: summed over every position sharing a kernel element); Y->Y
   likewise with (a_minus, a_plus), then minus weight_decay, clamped to
   [c_w_min, c_w_max].
5. Transmission: ``I`` of the next step = W_xy^T s_X + W_yy^T s_Y.

After the last step of an image: X->Y normalisation (learning only; with the
original's competition mode, LC's Y->Y entries outside the competition pairs are then set
to 0), then the state reset (theta and weights kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NetworkConfig
from .state import NetworkState, normalise_xy
from .topology import Connectivity


@dataclass
class ReferenceResult:
    """Output of :meth:`ReferenceNetwork.run`.

    spikes : bool array (image, step, neuron) of Y spikes.
    voltages : float array (image, step, recorded neuron) of v after each step, mV,
        or None.
    thetas : float array (image, step, recorded neuron) of theta after each step, mV,
        or None.
    """

    spikes: np.ndarray
    voltages: np.ndarray | None
    thetas: np.ndarray | None


def _order_by_pre(pre: np.ndarray) -> np.ndarray:
    """Synapse indices sorted by pre neuron, synapse order kept within one neuron."""
    return np.argsort(pre, kind="stable")


class ReferenceNetwork:
    """The original algorithm on explicit index maps.

    Parameters
    ----------
    config, conn : the network.
    state : initial weights and theta; copied, then updated in place by :meth:`run`.
    """

    def __init__(self, config: NetworkConfig, conn: Connectivity, state: NetworkState) -> None:
        state.check(config, conn)
        self.config = config
        self.conn = conn
        self.state = state.copy()
        self._xy_by_pre = _order_by_pre(conn.xy_pre)
        self._yy_by_pre = _order_by_pre(conn.yy_pre)

    # ------------------------------------------------------------------ helpers
    def _xy_weights_of_synapses(self) -> np.ndarray:
        if self.conn.xy_kernel is None:
            return self.state.w_xy
        return self.state.w_xy[self.conn.xy_kernel]

    def _learn_xy(self, s_x: np.ndarray, s_y: np.ndarray, x_pre: np.ndarray, y_post: np.ndarray) -> None:
        cfg, conn, st = self.config, self.conn, self.state
        pre_events = s_x[conn.xy_pre]
        post_events = s_y[conn.xy_post]
        if conn.xy_kernel is None:
            w = st.w_xy
            w[post_events] = w[post_events] + cfg.nu_potentiation * x_pre[conn.xy_pre[post_events]]
            w[pre_events] = w[pre_events] + (-cfg.nu_depression * y_post[conn.xy_post[pre_events]])
            np.clip(w, 0.0, 1.0, out=w)
        else:
            dw = np.zeros_like(st.w_xy)
            post_syn = np.flatnonzero(post_events)
            np.add.at(dw, conn.xy_kernel[post_syn], cfg.nu_potentiation * x_pre[conn.xy_pre[post_syn]])
            order = self._xy_by_pre[pre_events[self._xy_by_pre]]
            np.add.at(dw, conn.xy_kernel[order], -cfg.nu_depression * y_post[conn.xy_post[order]])
            st.w_xy = np.clip(st.w_xy + dw, 0.0, 1.0)

    def _learn_yy(self, s_y: np.ndarray, y_pre: np.ndarray, y_post: np.ndarray) -> None:
        cfg, conn, st = self.config, self.conn, self.state
        w = st.w_yy
        pre_events = s_y[conn.yy_pre]
        post_events = s_y[conn.yy_post]
        w[post_events] = w[post_events] + cfg.a_plus * y_pre[conn.yy_pre[post_events]]
        w[pre_events] = w[pre_events] + cfg.a_minus * y_post[conn.yy_post[pre_events]]
        if cfg.weight_decay != 0:
            w -= cfg.weight_decay
        np.clip(w, cfg.c_w_min, cfg.c_w_max, out=w)

    def _transmit(self, s_x: np.ndarray, s_y: np.ndarray) -> np.ndarray:
        conn = self.conn
        current = np.zeros(self.config.n_output)
        active = self._xy_by_pre[s_x[conn.xy_pre[self._xy_by_pre]]]
        np.add.at(current, conn.xy_post[active], self._xy_weights_of_synapses()[active])
        active = self._yy_by_pre[s_y[conn.yy_pre[self._yy_by_pre]]]
        np.add.at(current, conn.yy_post[active], self.state.w_yy[active])
        return current

    # ------------------------------------------------------------------ main loop
    def run(
        self,
        input_spikes: np.ndarray,
        learning: bool,
        record: np.ndarray | list[int] | None = None,
    ) -> ReferenceResult:
        """Present images one after another.

        input_spikes : bool array (image, step, input neuron).
        learning : STDP, competition plasticity, theta adaptation and normalisation on.
        record : Y neuron indices whose v and theta are recorded after each step.
        """
        cfg, conn, st = self.config, self.conn, self.state
        n_images, n_steps, n_in = input_spikes.shape
        if n_in != cfg.n_input or n_steps != cfg.time_per_image:
            raise ValueError(
                f"input spikes have shape {input_spikes.shape}; expected "
                f"(images, {cfg.time_per_image}, {cfg.n_input})"
            )
        n_out = cfg.n_output
        rec = None if record is None else np.asarray(record, dtype=int)
        spikes = np.zeros((n_images, n_steps, n_out), dtype=bool)
        voltages = None if rec is None else np.zeros((n_images, n_steps, rec.size))
        thetas = None if rec is None else np.zeros((n_images, n_steps, rec.size))
        d_v = cfg.decay(cfg.tau_membrane)
        d_theta = cfg.decay(cfg.tau_theta)
        d_x = cfg.decay(cfg.tau_input_trace)
        d_plus = cfg.decay(cfg.tau_plus)
        d_minus = cfg.decay(cfg.tau_minus)

        for image in range(n_images):
            v = np.full(n_out, cfg.v_rest)
            refr = np.zeros(n_out, dtype=np.int64)
            current = np.zeros(n_out)
            x_pre = np.zeros(n_in)
            y_pre = np.zeros(n_out)
            y_post = np.zeros(n_out)
            for t in range(n_steps):
                # 1. state updates
                x_pre = x_pre * d_x
                v = cfg.v_rest + (v - cfg.v_rest) * d_v
                if learning:
                    st.theta = st.theta * d_theta
                v = v + current * (refr == 0)
                refr = refr - (refr > 0)
                y_pre = y_pre * d_plus
                y_post = y_post * d_minus
                # 2. spikes
                s_x = input_spikes[image, t]
                s_y = v >= cfg.v_threshold + st.theta
                # 3. resets
                x_pre[s_x] = 1.0
                v[s_y] = cfg.v_reset
                refr[s_y] = cfg.refractory
                if learning:
                    st.theta[s_y] = st.theta[s_y] + cfg.theta_plus
                y_pre[s_y] = 1.0
                y_post[s_y] = 1.0
                # 4. learning
                if learning:
                    self._learn_xy(s_x, s_y, x_pre, y_post)
                    if cfg.competition_trainable:
                        self._learn_yy(s_y, y_pre, y_post)
                # 5. transmission (one-step delay)
                current = self._transmit(s_x, s_y)
                spikes[image, t] = s_y
                if rec is not None:
                    voltages[image, t] = v[rec]
                    thetas[image, t] = st.theta[rec]
            if learning:
                st.w_xy = normalise_xy(cfg, conn, st.w_xy)
                if conn.yy_in_patch is not None and cfg.architecture == "LC":
                    st.w_yy = st.w_yy * conn.yy_in_patch  # the original's mask_YY
        return ReferenceResult(spikes=spikes, voltages=voltages, thetas=thetas)
