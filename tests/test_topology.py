import numpy as np
import pytest

from brainlc.core.config import ConfigError, NetworkConfig
from brainlc.core.topology import build_connectivity, competition_synapses, receptive_field_synapses

PAPER_COUNTS = [
    ("LC", 1000, 12, 10_287_000),
    ("LC", 100, 12, 218_700),
    ("LC", 100, 8, 260_800),
    ("LC", 25, 12, 37_800),
    ("LC", 25, 8, 35_200),
    ("C", 169, 12, 279_864),
    ("C", 81, 12, 69_984),
    ("C", 100, 8, 164_800),
    ("C", 25, 12, 9_000),
    ("C", 25, 8, 11_200),
    ("FC", 100, 20, 49_900),
]


@pytest.mark.parametrize("arch,channels,kernel,expected", PAPER_COUNTS)
def test_parameter_counts_match_the_paper(arch, channels, kernel, expected):
    cfg = NetworkConfig(arch, channels, kernel=kernel)
    conn = build_connectivity(cfg)
    assert conn.parameter_count == expected
    # and the paper's closed formulas
    n_pos = cfg.conv**2
    xy = channels * kernel**2 if arch == "C" else kernel**2 * cfg.n_output
    assert xy + channels * (channels - 1) * n_pos == expected


@pytest.mark.parametrize("kernel,conv", [(12, 3), (8, 4), (16, 2), (20, 1)])
def test_receptive_fields_follow_the_original_index_formula(kernel, conv):
    cfg = NetworkConfig("LC", 3, kernel=kernel, stride=4)
    assert cfg.conv == conv
    pre, post, element = receptive_field_synapses(cfg)
    assert pre.size == 3 * conv * conv * kernel * kernel
    # every synapse: input (r*s + k1, c*s + k2) -> output f*conv^2 + r*conv + c
    f, rest = np.divmod(post, conv * conv)
    r, c = np.divmod(rest, conv)
    row, col = np.divmod(pre, 20)
    k1, k2 = row - r * 4, col - c * 4
    assert np.all((k1 >= 0) & (k1 < kernel) & (k2 >= 0) & (k2 < kernel))
    assert np.array_equal(element, f * kernel * kernel + k1 * kernel + k2)
    # each output neuron sees exactly its k x k patch, each pixel once
    pairs = set(zip(pre.tolist(), post.tolist()))
    assert len(pairs) == pre.size
    assert np.all(np.bincount(post) == kernel * kernel)
    # grouped by input neuron
    assert np.all(np.diff(pre) >= 0)


def test_convolution_shares_each_kernel_element_over_all_positions():
    cfg = NetworkConfig("C", 5, kernel=8, stride=4)
    conn = build_connectivity(cfg)
    assert conn.n_kernel_elements == 5 * 64
    assert np.all(np.bincount(conn.xy_kernel) == cfg.conv**2)


def test_competition_pairs_are_same_position_different_channel():
    cfg = NetworkConfig("LC", 4, kernel=12, stride=4)
    pre, post = competition_synapses(cfg)
    n_pos = cfg.conv**2
    assert pre.size == 4 * 3 * n_pos
    assert np.all(pre % n_pos == post % n_pos)
    assert np.all(pre // n_pos != post // n_pos)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size


def test_fc_competition_is_all_ordered_pairs():
    cfg = NetworkConfig("FC", 6)
    assert (cfg.kernel, cfg.conv, cfg.n_output) == (20, 1, 6)
    pre, post = competition_synapses(cfg)
    assert sorted(zip(pre.tolist(), post.tolist())) == [(i, j) for i in range(6) for j in range(6) if i != j]


@pytest.mark.parametrize("kwargs,message", [
    ({"architecture": "XX", "channels": 3}, "architecture"),
    ({"architecture": "LC", "channels": 0}, "channels"),
    ({"architecture": "LC", "channels": 3, "kernel": 24}, "kernel"),
    ({"architecture": "LC", "channels": 3, "c_w_min": 1.0, "c_w_max": 0.0}, "c_w_min"),
    ({"architecture": "LC", "channels": 3, "dt": 0.5}, "dt"),
])
def test_bad_configs_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        NetworkConfig(**kwargs)


def test_config_round_trips_through_a_dict_with_infinite_bounds():
    cfg = NetworkConfig("LC", 25, competition_trainable=True, a_plus=-1.6, a_minus=0.05)
    data = cfg.to_dict()
    assert data["c_w_min"] == "-inf"
    assert NetworkConfig.from_dict(data) == cfg
    with pytest.raises(ConfigError, match="unknown configuration keys: bogus"):
        NetworkConfig.from_dict({**data, "bogus": 1})


def test_refractory_defaults_follow_the_original():
    assert NetworkConfig("LC", 2).refractory == 2
    assert NetworkConfig("C", 2).refractory == 5
    assert NetworkConfig("FC", 2).refractory == 5
