"""One line and exit 2 for every user mistake, before any work (issue 18, item 6)."""

import os
import subprocess
import sys

import pytest

from brainlc.cli import main

TINY = ["--train", "10", "--calibrate", "100", "--test", "10"]


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


def _one_line(capsys, rc: int, *expected: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured.err
    assert len(lines) == 1, captured.err
    assert "internal error" not in lines[0] and "Traceback" not in captured.out + captured.err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [["reproduce", "--rows", "fc-100"],
                                     ["sweep", "lc-25-k12", "--param", "c_w=-50,-40"],
                                     ["curve", "lc-25-k12", "--every", "10", "--up-to", "20"]])
def test_an_output_folder_below_a_file_is_refused(command, afile, capsys):
    rc = main([*command, "-o", str(afile / "sub")])
    _one_line(capsys, rc, f"{afile} is a file, not a folder")


@pytest.mark.parametrize("variable, purpose", [("BRAINLC_CACHE", "compiled networks"), ("BRAINLC_DATA", "MNIST")])
def test_an_unusable_cache_or_data_folder_is_refused_before_mnist_or_a_task(variable, purpose, afile, tmp_path,
                                                                            monkeypatch, capsys):
    monkeypatch.setenv(variable, str(afile))
    rc = main(["run", "lc-25-k12", *TINY, "--store", str(tmp_path / "s")])
    _one_line(capsys, rc, f"${variable}={afile}", "is a file, not a folder", purpose)
    monkeypatch.setenv(variable, str(afile / "below"))
    rc = main(["reproduce", "--rows", "fc-100", "--seeds", "1", *TINY, "-o", str(tmp_path / "out")])
    _one_line(capsys, rc, "is a file, not a folder")
    assert not (tmp_path / "out" / "runs.nc").exists()


def test_a_read_only_cache_is_refused(tmp_path, monkeypatch, capsys):
    from brainlc.sim.compiler import CacheError, check_cache

    monkeypatch.setattr("brainlc.folders.tempfile.mkstemp",
                        lambda **kw: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
    with pytest.raises(CacheError, match="not writable \\(Read-only file system\\)"):
        check_cache(tmp_path / "cache")


@pytest.mark.parametrize("args, expected", [
    (["reproduce", "--rows", "fc-100", "--scheduler", "nonsense"], "--scheduler 'nonsense': not the address"),
    (["reproduce", "--rows", "fc-100", "--workers", "0"], "--workers 0: must be 1 .."),
    (["reproduce", "--rows", "fc-100", "--workers", "100000"], "--workers 100000: must be 1 .."),
    (["run", "lc-25-k12", "--eval-workers", "100000"], "--eval-workers 100000: must be 1 .."),
    (["run", "lc-25-k12", "--replicas", "100000"], "--replicas 100000: 100000 x 37,800 synapses need about"),
    (["reproduce", "--rows", "lc-1000-k12", "--train-together", "100000"], "--train-together 100000: 100000 x"),
])
def test_options_that_cannot_work_are_one_line(args, expected, tmp_path, capsys):
    where = ["-o", str(tmp_path / "out")] if args[0] != "run" else ["--store", str(tmp_path / "s")]
    rc = main([*args, *TINY, *where])
    _one_line(capsys, rc, expected)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("args, expected", [
    (["run", "lc-25-k12", "--eval-workers", "0"], "brainlc run: error: argument --eval-workers: must be at least 1"),
    (["run", "lc-25-k12", "--train", "abc"], "brainlc run: error: argument --train: invalid int value: 'abc'"),
    (["reproduce", "--train-together", "0", "-o", "x"], "argument --train-together: must be at least 1"),
    (["nonsense"], "brainlc: error: argument COMMAND: invalid choice: 'nonsense'"),
    (["show"], "the following arguments are required: id"),
])
def test_argparse_mistakes_are_one_line_not_the_usage(args, expected, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and err[0].endswith("--help)"), err


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    import dask.distributed  # imported first, so that the patch below is undone for the tests after this one

    from brainlc.campaign import engine

    monkeypatch.setattr(dask.distributed, "Client", lambda *a, **k: (_ for _ in ()).throw(
        OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 20 s")))
    rc = main(["reproduce", "--rows", "fc-100", "--seeds", "1", *TINY, "--scheduler", "tcp://127.0.0.1:1",
               "-o", str(tmp_path / "out")])
    _one_line(capsys, rc, "--scheduler tcp://127.0.0.1:1: cannot reach a Dask scheduler there (Timed out")
    assert engine.SchedulerError


def test_a_bad_eval_workers_variable_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BRAINLC_EVAL_WORKERS", "abc")
    rc = main(["run", "lc-25-k12", *TINY, "--store", str(tmp_path / "s")])
    _one_line(capsys, rc, "BRAINLC_EVAL_WORKERS='abc' must be a whole number >= 1")


def test_delete_with_stdin_closed_asks_for_yes(tmp_path):
    from brainlc.core.presets import load_preset
    from brainlc.core.state import initial_state
    from brainlc.core.topology import build_connectivity
    from brainlc.storage.store import Store

    config = load_preset("lc-25-k12").config
    store = Store(tmp_path / "s")
    store.save("lc-25-k12-0000", "lc-25-k12", config, 0, initial_state(config, build_connectivity(config), 0),
               {"images_trained": 0}, None, None)
    proc = subprocess.run([sys.executable, "-m", "brainlc", "delete", "lc-25-k12-0000", "--store", str(store.root)],
                          capture_output=True, text=True, preexec_fn=lambda: os.close(0))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "brainlc: error: not deleting lc-25-k12-0000 without confirmation: pass --yes"]
    assert store.ids() == ["lc-25-k12-0000"]


def test_a_plot_resolution_out_of_range_is_one_line(tmp_path, capsys):
    rc = main(["plot", "anything", "weights-xy", "-o", str(tmp_path / "x.png"), "--dpi", "0"])
    _one_line(capsys, rc, "--dpi 0: must be 10 .. 2400")
