import json
import subprocess
import sys

import pytest

from brainlc.cli import main
from brainlc.cli.inspection import info
from brainlc.core.presets import PresetError, load_preset, parse_preset, preset_names
from brainlc.core.topology import build_connectivity

EXPECTED = {
    "lc-1000-k12": ("LC", 1000, 12, 9000, 10_287_000, 92.3, 95.1),
    "lc-100-k12": ("LC", 100, 12, 900, 218_700, 87.5, 91.5),
    "lc-100-k8": ("LC", 100, 8, 1600, 260_800, 82.9, 88.1),
    "lc-25-k12-trained": ("LC", 25, 12, 225, 37_800, 82.3, 88.2),
    "lc-25-k12": ("LC", 25, 12, 225, 37_800, 80.1, 85.5),
    "lc-25-k8": ("LC", 25, 8, 400, 35_200, 73.6, 80.3),
    "c-169-k12": ("C", 169, 12, 1521, 279_864, 79.2, 85.7),
    "c-81-k12": ("C", 81, 12, 729, 69_984, 77.2, 83.1),
    "c-100-k8": ("C", 100, 8, 1600, 164_800, 77.4, 82.1),
    "c-25-k12": ("C", 25, 12, 225, 9_000, 65.8, 77.1),
    "c-25-k8": ("C", 25, 8, 400, 11_200, 63.1, 75.8),
    "fc-100": ("FC", 100, 20, 100, 49_900, 81.4, 82.1),
}


def test_all_twelve_presets_are_installed():
    assert sorted(preset_names()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_info_reports_the_papers_sizes(name):
    arch, channels, kernel, neurons, params, m1, m2 = EXPECTED[name]
    data = info(name)
    assert (data["preset"], data["architecture"], data["channels"], data["kernel"]) == (name, arch, channels, kernel)
    assert data["neurons"] == neurons
    assert data["parameters"] == params
    assert data["stride"] == (4 if arch != "FC" else 1)
    assert (data["paper"]["method1"], data["paper"]["method2"]) == (m1, m2)
    conn = build_connectivity(load_preset(name).config)  # the arithmetic counts are the maps' sizes
    assert (data["xy_synapses"], data["xy_weights"], data["yy_synapses"], data["parameters"]) == (
        conn.xy_pre.size, conn.n_xy_weights, conn.yy_pre.size, conn.parameter_count)


def test_trained_preset_documents_the_swapped_names():
    cfg = load_preset("lc-25-k12-trained").config
    assert cfg.competition_trainable
    # original code: A_pos = -0.0556 (= -a_minus), A_neg = -1.626 (= a_plus)
    assert cfg.a_plus == pytest.approx(-1.6260407487677235)
    assert cfg.a_minus == pytest.approx(0.05557006922455341)
    assert cfg.c_w_min == float("-inf") and cfg.c_w_max == 0.0


def test_cli_info_prints_one_json_object():
    out = subprocess.run([sys.executable, "-m", "brainlc", "info", "lc-100-k12"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["parameters"] == 218_700 and data["neurons"] == 900


def test_unknown_preset_is_a_clear_error(capsys):
    assert main(["info", "lc-7-k3"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'lc-7-k3'" in err and "lc-100-k12" in err


@pytest.mark.parametrize("text,message", [
    ("[model\narchitecture = 'LC'", "not valid TOML"),
    ("description = 'x'", "no \\[model\\] table"),
    ("[model]\narchitecture = 'LC'\nchannels = 4\nwhatever = 3", "unknown configuration keys: whatever"),
    ("[model]\narchitecture = 'LC'\nchannels = -4", "channels=-4 is outside its valid range \\[1, 100000\\]"),
])
def test_malformed_preset_files_are_named_in_the_error(tmp_path, text, message, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(PresetError, match=message):
        load_preset(str(path))
    assert main(["info", str(path)]) == 2
    assert "broken.toml" in capsys.readouterr().err


def test_parse_preset_reads_protocol_and_paper():
    preset = parse_preset("x", "[model]\narchitecture='FC'\nchannels=10\n[paper]\nmethod1=50.0\n")
    assert preset.config.n_output == 10 and preset.paper == {"method1": 50.0}
