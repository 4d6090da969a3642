"""Everything that can be checked is refused before any simulation, with one line and exit 2;
every error a user can cause ends as one line; quick commands import nothing heavy."""

import argparse
import json
import os
import subprocess
import sys

import pytest

from brainlc.cli import _parser, main
from brainlc.experiment import runs
from brainlc.experiment.protocol import MAX_SEED


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks") / "store"
    out = root.parent / "run.json"
    assert main(["run", "lc-25-k12", "--train", "10", "--calibrate", "100", "--test", "10",
                 "--store", str(root), "--json", str(out)]) == 0
    record = root.parent / "rec.nc"
    assert main(["record", json.loads(out.read_text())["id"], "--images", "2", "--neurons", "1,2",
                 "-o", str(record), "--store", str(root)]) == 0
    return root, json.loads(out.read_text())["id"], record


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation fails the test: a refusal must come before the work."""

    class Forbidden:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a simulation started before the arguments were checked")

    monkeypatch.setattr(runs, "Runner", Forbidden)
    monkeypatch.setattr("brainlc.sim.simulation.CompiledNetwork.compile", Forbidden.__init__)


CASES = [
    (["run", "lc-25-k12", "--train", "-1"], "at least 0"),
    (["run", "lc-25-k12", "--calibrate", "0"], "needs at least 100"),
    (["run", "lc-25-k12", "--calibrate", "1"], "needs at least 100"),
    (["run", "lc-25-k12", "--calibrate", "99"], "needs at least 100"),
    (["run", "lc-25-k12", "--test", "0"], "needs at least 1"),
    (["run", "lc-25-k12", "--train", "50001"], "the train split has 50000 images"),
    (["run", "lc-25-k12", "--calibrate", "10001"], "the calibration split has 10000 images"),
    (["run", "lc-25-k12", "--seed", "-1"], "seeds are 0"),
    (["run", "lc-25-k12", "--seed", str(MAX_SEED + 1)], "seeds are 0"),
    (["run", "lc-25-k12", "--json", "TMP/missing/out.json"], "does not exist"),
    (["run", "lc-25-k12", "--json", "TMP/out.txt"], "unknown file type"),
    (["run", "lc-25-k12", "--json", "TMP"], "unknown file type"),
    (["train", "ID", "--images", "0"], "at least 1"),
    (["train", "ID", "--images", "-5"], "at least 1"),
    (["train", "ID", "--images", "49991"], "the train split has 50000 images"),
    (["train", "ID", "--images", "5", "--version", "7"], "has no version 7"),
    (["evaluate", "ID", "--calibrate", "50"], "needs at least 100"),
    (["evaluate", "ID", "--test", "10001"], "the test split has 10000 images"),
    (["feed", "ID", "TMP/none.png", "--seed", "-3"], "seeds are 0"),
    (["record", "ID", "-o", "TMP/r.csv"], "unknown file type"),
    (["record", "ID", "-o", "TMP/missing/r.nc"], "does not exist"),
    (["record", "ID", "--neurons", "1,1", "-o", "TMP/r.nc"], "listed more than once"),
    (["record", "ID", "--neurons", "0,225", "-o", "TMP/r.nc"], "do not exist"),
    (["record", "ID", "--neurons", "a,b", "-o", "TMP/r.nc"], "comma-separated"),
    (["record", "ID", "--voltages", "226", "-o", "TMP/r.nc"], "225 neurons"),
    (["record", "ID", "--images", "0", "-o", "TMP/r.nc"], "at least 1"),
    (["record", "ID", "--images", "10001", "-o", "TMP/r.nc"], "10000 images"),
    (["plot", "ID", "weights-xy", "-o", "TMP/w.xyz"], "unknown file type"),
    (["plot", "ID", "weights-xy", "-o", "TMP/missing/w.png"], "does not exist"),
    (["plot", "ID", "no-such-kind", "-o", "TMP/w.png"], "unknown figure kind"),
    (["plot", "ID", "competition-lines", "--channel", "25", "-o", "TMP/w.png"], "channel 25 does not exist"),
    (["plot", "ID", "raster", "-o", "TMP/w.png"], "needs a recording"),
    (["plot", "REC", "raster", "--image", "2", "-o", "TMP/w.png"], "image 2 is not in the recording"),
    (["plot", "REC", "voltage", "--neuron", "3", "-o", "TMP/w.png"], "neuron 3 was not recorded"),
    (["plot", "REC", "learning-curve", "-o", "TMP/w.png"], "needs a saved network id"),
    (["plot", "TMP/foreign.nc", "raster", "-o", "TMP/w.png"], "foreign.nc"),
    (["import", "TMP"], "network.json is missing"),
    (["show", "ID", "--version", "9"], "has no version 9"),
    (["info", "no-such-preset"], "unknown preset"),
]


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a[:1] + a[2:])[:60] for a, _ in CASES])
def test_bad_arguments_are_refused_before_any_work(saved, tmp_path, no_simulation, capsys, args, message):
    root, network_id, recording = saved
    (tmp_path / "foreign.nc").write_bytes(b"not a netcdf file")
    before = sorted(str(p) for p in root.rglob("*"))
    args = [a.replace("TMP", str(tmp_path)).replace("ID", network_id).replace("REC", str(recording))
            for a in args]
    assert main([*args, "--store", str(root)] if args[0] != "info" else args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainlc: error:") and "\n" not in err, err
    assert message in err, err
    assert sorted(str(p) for p in root.rglob("*")) == before


def test_every_option_has_a_help_text_and_shows_its_default():
    parser = _parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        text = sub.format_help()
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default not in (None, False) and not action.required:
                assert f"(default: {action.default})" in " ".join(text.split()), (name, action.dest)
            if action.option_strings and action.default is None and not action.required:
                assert "default" in action.help, (name, action.dest)


def test_version(capsys):
    from brainlc import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"brainlc {__version__}"


HEAVY = ("xarray", "sklearn", "matplotlib", "brian2", "pandas", "scipy", "netCDF4")


@pytest.mark.parametrize("command", [["list"], ["show", "ID"], ["info", "lc-25-k12"], ["--help"],
                                     ["presets"]])
def test_quick_commands_import_no_heavy_library(saved, command):
    """list, show, info and --help answer without xarray, scikit-learn, matplotlib or Brian2
    (their time is measured by scripts/benchmark_cli.py, not here)."""
    root, network_id, _ = saved
    args = [a.replace("ID", network_id) for a in command]
    if command[0] in ("list", "show"):
        args += ["--store", str(root)]
    code = ("import sys\nfrom brainlc.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (args, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]", out


def test_binary_failures_are_one_line(saved, monkeypatch, capsys):
    from brainlc.sim.replicas import ReplicaEvaluator
    from brainlc.sim.simulation import BinaryError, CompiledNetwork

    root, network_id, _ = saved

    def broken(self, *args, **kwargs):
        raise BinaryError("the compiled network in /x failed (exit 139): Segmentation fault")

    monkeypatch.setattr(CompiledNetwork, "run", broken)
    monkeypatch.setattr(ReplicaEvaluator, "run", broken)
    assert main(["evaluate", network_id, "--store", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "brainlc: error: the compiled network in /x failed (exit 139): Segmentation fault"


def test_an_internal_error_is_one_line_and_a_traceback_file(saved, monkeypatch, capsys, tmp_path):
    root, network_id, _ = saved
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr("brainlc.storage.store.Store.summary", bug)
    assert main(["show", network_id, "--store", str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("brainlc: internal error: ZeroDivisionError: a planted bug")
    report = err.split("full traceback in ")[1]
    assert os.path.dirname(report) == str(tmp_path)
    assert "Traceback" in open(report).read() and "a planted bug" in open(report).read()


def test_an_unwritable_output_is_one_line(saved, tmp_path, capsys, monkeypatch):
    root, network_id, _ = saved

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "w.png"))

    monkeypatch.setattr("brainlc.analysis.plots.save_figure", full)
    assert main(["plot", network_id, "stdp", "-o", str(tmp_path / "w.png"), "--store", str(root)]) == 1
    assert capsys.readouterr().err.strip() == f"brainlc: error: No space left on device: {tmp_path / 'w.png'}"
