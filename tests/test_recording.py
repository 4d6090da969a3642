"""Recordings: schema, NetCDF round trip, analysis from the file, figures, notebooks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from brainlc.analysis import recordings
from brainlc.analysis.plots import FIGURES
from brainlc.cli import main
from brainlc.storage.recording import RecordingError, read_recording, write_recording
from brainlc.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small trained lc-25-k12, evaluated, and recordings of its calibration and test images."""
    base = tmp_path_factory.mktemp("rec")
    store = base / "store"
    out = base / "run.json"
    assert main(["run", "lc-25-k12", "--train", "300", "--calibrate", "300", "--test", "200",
                 "--store", str(store), "--json", str(out)]) == 0
    network_id = json.loads(out.read_text())["id"]
    assert main(["train", network_id, "--images", "100", "--store", str(store)]) == 0
    assert main(["evaluate", network_id, "--store", str(store)]) == 0  # version 3
    test_nc, cal_nc = base / "test.nc", base / "calibration.nc"
    assert main(["record", network_id, "--images", "200", "--neurons", "0,7,100",
                 "-o", str(test_nc), "--store", str(store)]) == 0
    assert main(["record", network_id, "--split", "calibration", "--images", "300", "--voltages", "2",
                 "-o", str(cal_nc), "--store", str(store)]) == 0
    return {"store": store, "id": network_id, "test": test_nc, "calibration": cal_nc, "base": base}


def test_schema_dims_coords_units_and_attributes(setup):
    ds = read_recording(setup["test"])
    assert {"image", "neuron", "time", "pixel", "spike", "recorded", "xy_weight", "yy_synapse"} <= set(ds.dims)
    assert ds.sizes["image"] == 200 and ds.sizes["neuron"] == 225 and ds.sizes["time"] == 250
    assert set(ds.split.values) == {"test"}
    for coord in ("mnist_index", "label", "channel", "row", "col", "xy_pre", "xy_post", "yy_pre", "yy_post"):
        assert coord in ds.coords
    assert ds.spike_count.dims == ("image", "neuron")
    assert ds.v.dims == ("recorded", "image", "time") and ds.recorded.values.tolist() == [0, 7, 100]
    assert ds.v.attrs["units"] == "mV" and ds.spike_time.attrs["units"] == "ms"
    assert ds.time.attrs["units"] == "ms" and ds.w_xy.attrs["units"] == "mV"
    assert ds.spikes_per_image.attrs["sample_dimension"] == "spike"
    for attr in ("config", "seed", "device", "brainlc_version", "brian2_version", "network_id", "split"):
        assert attr in ds.attrs
    assert ds.attrs["split"] == "test" and ds.attrs["network_version"] == 3
    # the ragged array and the counts agree, image by image
    assert np.array_equal(ds.spikes_per_image.values, ds.spike_count.values.sum(axis=1))
    times, neurons = recordings.spike_trains(ds, 5)
    assert np.array_equal(np.bincount(neurons, minlength=225), ds.spike_count.values[5])
    assert np.all(np.diff(times) >= 0)
    # theta is frozen while recording, and equals the network's
    theta = ds.theta.sel(recorded=7).values
    assert np.all(theta == ds.theta_network.values[7])
    # black pixels never spike
    from brainlc.core.encoding import center_crop
    from brainlc.experiment.mnist import load_mnist

    pixels = center_crop(load_mnist().test_images[ds.mnist_index.values], 20).reshape(200, -1)
    assert np.all(ds.input_spike_count.values[pixels == 0] == 0)
    assert ds.input_spike_count.values.sum() > 1000


def test_round_trip_preserves_everything(setup, tmp_path):
    ds = read_recording(setup["test"])
    copy = tmp_path / "copy.nc"
    write_recording(ds, copy)
    again = read_recording(copy)
    xr.testing.assert_identical(ds, again)
    for name, var in ds.variables.items():
        assert again[name].dtype == var.dtype, name


def test_opens_with_plain_xarray_without_brainlc(setup):
    code = ("import sys, xarray as xr; ds = xr.open_dataset(sys.argv[1]); "
            "assert 'brainlc' not in sys.modules; "
            "print(int(ds.spike_count.sum()), ds.attrs['schema'], ds.v.attrs['units'])")
    out = subprocess.run([sys.executable, "-c", code, str(setup["test"])], capture_output=True,
                         text=True, check=True, cwd="/").stdout.split()
    assert out[1:] == ["brainlc-recording-1", "mV"] and int(out[0]) > 0


def test_analysis_from_the_file_matches_brainlc_evaluate(setup):
    saved = Store(setup["store"]).load(setup["id"])
    test = read_recording(setup["test"])
    from_file = recordings.scores(test)
    for method in ("patch_voting", "all_voting", "spikes_first", "vote", "linear"):
        assert from_file[method]["accuracy"] == saved.record["scores"][method]["accuracy"], method
        assert from_file[method]["confusion"] == saved.record["scores"][method]["confusion"], method
    # recalibrating from the calibration recording gives the evaluation's numbers too
    refit = recordings.calibrate_and_score(read_recording(setup["calibration"]), test)
    for method in ("vote", "linear"):
        assert refit[method]["accuracy"] == pytest.approx(saved.record["scores"][method]["accuracy"], abs=1e-12)
    stats = recordings.spike_statistics(test)
    assert stats["images"] == 200 and stats["output_spikes_per_image_mean"] > 1
    assert 0 < stats["first_spike_ms_mean"] < 250


def test_truncated_or_foreign_files_are_refused(setup, tmp_path, capsys):
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(setup["test"].read_bytes()[:5000])
    with pytest.raises(RecordingError, match="not a readable NetCDF"):
        read_recording(truncated)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3))}).to_netcdf(foreign)
    with pytest.raises(RecordingError, match="not a brainlc recording"):
        read_recording(foreign)
    assert main(["plot", str(truncated), "raster", "-o", str(tmp_path / "x.png")]) == 2
    assert "truncated.nc" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_recording_costs_nothing_unless_asked(setup):
    from brainlc.sim.simulation import CompiledNetwork

    saved = Store(setup["store"]).load(setup["id"])
    plain = CompiledNetwork(saved.config, images_per_run=100).compile()
    assert not {"input_spike_i", "record_v"} & set(plain.manifest_["outputs"])
    recording = CompiledNetwork(saved.config, images_per_run=100, record=(0, 7, 100), record_input=True).compile()
    assert {"input_spike_i", "record_v", "record_theta"} <= set(recording.manifest_["outputs"])


@pytest.mark.parametrize("kind", list(FIGURES))
def test_every_figure_kind_renders(setup, kind, tmp_path):
    source = setup["id"] if kind == "learning-curve" else str(setup["test"])
    png = tmp_path / f"{kind}.png"
    assert main(["plot", source, kind, "-o", str(png), "--store", str(setup["store"])]) == 0
    assert png.stat().st_size > 10_000
    if not FIGURES[kind].needs_recording and kind != "learning-curve":  # from the store as well
        png2 = tmp_path / f"{kind}-id.png"
        assert main(["plot", setup["id"], kind, "-o", str(png2), "--store", str(setup["store"])]) == 0


def test_figures_leave_pyplot_and_the_backend_alone(setup):
    """The library draws Figure objects: no pyplot figure is opened, no backend is switched."""
    code = f"""
import sys, matplotlib
matplotlib.use("svg")
from brainlc.analysis import figures
from brainlc.storage.recording import read_recording, recording_config
ds = read_recording({str(setup["test"])!r})
fig = figures.weights_xy(recording_config(ds), ds["w_xy"].values)
fig2 = figures.raster(ds, 0)
import matplotlib.pyplot as plt
print(type(fig).__name__, matplotlib.get_backend(), len(plt.get_fignums()), "pyplot" in str(type(fig.canvas)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Figure", "svg", "0", "False"]


def test_record_refuses_bad_neurons(setup, tmp_path, capsys):
    assert main(["record", setup["id"], "--neurons", "0,999", "-o", str(tmp_path / "r.nc"),
                 "--store", str(setup["store"])]) == 2
    assert "999" in capsys.readouterr().err


@pytest.mark.parametrize("notebook", ["anatomy", "dynamics", "accuracy"])
def test_notebooks_run_top_to_bottom(setup, notebook, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "analysis" / f"{notebook}.ipynb", as_version=4)
    monkeypatch.setenv("BRAINLC_RECORDING", str(setup["test"]))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(setup["base"])}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    figure_calls = sum("".join(c.source).count("display(figures.") for c in nb.cells if c.cell_type == "code")
    assert figure_calls and len(images) >= figure_calls - 2  # dynamics: up to 3 voltage plots, >= 1 shown
