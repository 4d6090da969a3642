"""Every hyper-parameter has a declared valid range, checked before any work; repeated
campaign inputs are refused; the original's saved runs ship with the package (issue 18)."""

import csv
import dataclasses
import math

import numpy as np
import pytest
import xarray as xr

from brainlc.cli import main
from brainlc.cli.common import warn_unusual
from brainlc.core.config import VALID_RANGES, ConfigError, NetworkConfig
from brainlc.core.presets import load_preset, preset_names

BAD = ["c_w=nan", "c_w=inf", "c_w=-inf", "intensity=1e12", "theta_plus=1e300", "theta_plus=-1", "intensity=-1",
       "intensity=0", "tau_membrane=1e-300", "tau_theta=0", "nu_potentiation=-0.01", "nu_depression=2",
       "mean_weight=1.5", "v_threshold=nan", "v_reset=-40", "refractory=1000", "a_plus=inf", "crop=30",
       "weight_decay=nan", "c_w_min=nan"]


def test_every_numeric_hyper_parameter_has_a_range_with_a_reason():
    numeric = {f.name for f in dataclasses.fields(NetworkConfig)
               if f.name not in ("architecture", "competition", "competition_trainable", "dt")}
    assert numeric == set(VALID_RANGES)
    assert all(bound.reason and bound.describe().startswith(("[", "(")) for bound in VALID_RANGES.values())


def test_every_preset_and_every_saved_run_of_the_original_is_in_range():
    for name in preset_names():
        load_preset(name)
    from brainlc.campaign.sweep import packaged_original_runs

    with open(packaged_original_runs()) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 680

    def number(text, default):
        return float(text) if text not in ("", None) else default

    for row in rows:
        NetworkConfig("LC", int(row["n_filters"]), kernel=int(number(row["kernel_size"], 12)),
                      mean_weight=number(row["mean_weight"], 0.4), c_w=number(row["c_w"], -100),
                      c_w_min=number(row["c_w_min"], -math.inf), c_w_max=number(row["c_w_max"], 0.0),
                      a_plus=number(row["A_neg"], 0.0), a_minus=-number(row["A_pos"], 0.0),
                      tau_plus=number(row["tau_pos"], 20.0), tau_minus=number(row["tau_neg"], 20.0),
                      weight_decay=number(row["weight_decay"], 0.0), intensity=number(row["intensity"], 127.5))


@pytest.mark.parametrize("setting", BAD)
def test_a_value_out_of_range_is_one_line_before_any_work(setting, tmp_path, capsys):
    store = tmp_path / "networks"
    assert main(["run", "lc-25-k12", "--set", setting, "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brainlc: error: ") and "internal" not in err[0], err
    name = setting.partition("=")[0]
    assert name in err[0]
    assert not store.exists() or not any(store.iterdir())


def test_the_message_names_the_range_and_why():
    with pytest.raises(ConfigError, match=r"intensity=1e\+12 is outside its valid range \(0, 1000\] Hz: a white"):
        NetworkConfig("LC", 4, intensity=1e12)
    with pytest.raises(ConfigError, match=r"c_w must be a number, got 'x'"):
        NetworkConfig("LC", 4, c_w="x")
    with pytest.raises(ConfigError, match="competition_trainable must be true or false"):
        NetworkConfig("LC", 4, competition_trainable="yes")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", '"strong"'])
def test_a_preset_file_with_a_bad_value_is_refused_in_one_line(value, tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(f"[model]\narchitecture = 'LC'\nchannels = 4\nc_w = {value}\n")
    assert main(["run", str(path), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "c_w" in err[0] and "internal" not in err[0], err


def test_a_sweep_with_a_bad_value_is_refused_before_dask_starts(tmp_path, capsys):
    assert main(["sweep", "lc-25-k12", "--param", "c_w=nan,1", "-o", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        "brainlc: error: c_w=nan is outside its valid range [-10000, 10000] mV: a finite competition weight; "
        "beyond ±10⁴ mV it swamps every other input"]
    assert "Traceback" not in captured.out + captured.err and not (tmp_path / "out").exists()


def test_a_legal_but_unusual_value_is_one_warning_line(capsys):
    config = load_preset("lc-25-k12").config
    assert config.unusual() == []
    excitatory = config.replace(c_w=5.0)
    warn_unusual([excitatory, excitatory, config])
    assert capsys.readouterr().err.splitlines() == [
        "brainlc: warning: c_w=5 mV > 0 makes the competition excitatory; going on"]
    assert "grow" in load_preset("lc-25-k12-trained").config.replace(weight_decay=-1e-3).unusual()[0]


@pytest.mark.parametrize("args, message", [
    (["reproduce", "--rows", "fc-100", "fc-100"], "--rows: fc-100 given more than once"),
    (["sweep", "lc-25-k12", "--param", "c_w=-50,-50.0"], "repeated values"),
    (["sweep", "lc-25-k12", "--param", "c_w=-50,-40", "--param", "c_w=-30"], "a parameter is given twice"),
    (["sweep", "lc-25-k12", "--param", "c_w=-50,-40", "--set", "c_w=-30"], "c_w: both swept (--param) and fixed"),
    (["run", "lc-25-k12", "--set", "c_w=-50", "--set", "c_w=-40"], "--set c_w is given twice"),
])
def test_repeated_campaign_inputs_are_refused(args, message, tmp_path, capsys):
    out = ["-o", str(tmp_path / "out")] if args[0] != "run" else ["--store", str(tmp_path / "s")]
    assert main([*args, *out]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_original_runs_are_packaged_data(monkeypatch):
    import brainlc
    from brainlc.campaign.sweep import packaged_original_runs
    from brainlc.cli.campaigns import _original_runs_csv

    monkeypatch.delenv("BRAINLC_ORIGINAL_RUNS", raising=False)
    path = _original_runs_csv()
    assert path == packaged_original_runs() and path.is_file()
    assert path.resolve().is_relative_to(__import__("pathlib").Path(brainlc.__file__).resolve().parent)
    import tomllib

    pyproject = tomllib.loads((path.parents[2] / "pyproject.toml").read_text())
    assert "resources/*.csv" in pyproject["tool"]["setuptools"]["package-data"]["brainlc"]


@pytest.mark.parametrize("seeds, title", [(1, "(1 seed;"), (2, "(2 seeds;")])
def test_the_curve_title_counts_its_seeds(seeds, title):
    from brainlc.campaign.curve import curve_figure

    ds = xr.Dataset({"accuracy_vote": (("seed", "images"), np.full((seeds, 2), 50.0))},
                    coords={"seed": range(seeds), "images": [0, 10]}, attrs={"preset": "x", "calibrate": 100,
                                                                               "test": 10})
    assert title in curve_figure(ds).axes[0].get_title()


def test_the_documented_ranges_are_the_declared_ones():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    for name, bound in VALID_RANGES.items():
        assert f"| `{name}` | {bound.describe()} | {bound.reason} |" in text, name
