"""reproduce, sweep and curve: tasks fanned out on a real Dask LocalCluster, resumable."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from brainlc.campaign.engine import run_tasks
from brainlc.campaign.tasks import Task, execute, finished_results
from brainlc.cli import main
from brainlc.storage.store import Store

TINY = ["--train", "20", "--calibrate", "100", "--test", "20"]


def test_tiny_reproduction_on_a_local_cluster(tmp_path, capsys):
    out = tmp_path / "table"
    rc = main(["reproduce", "--rows", "lc-25-k12", "lc-25-k12-trained", "--seeds", "2", *TINY,
               "--workers", "2", "-o", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "local cluster with 2 workers" in printed
    ds = xr.open_dataset(out / "runs.nc")
    # 2 rows x 2 seeds, and the trained row again with the original's competition mode
    assert ds.sizes["run"] == 6
    labels = sorted(zip(ds.label.values.tolist(), ds.seed.values.tolist()))
    assert labels == sorted([(label, s) for s in (0, 1) for label in
                             ("lc-25-k12", "lc-25-k12-trained", "lc-25-k12-trained [competition=original]")])
    for name in ("accuracy_vote", "accuracy_linear"):
        assert np.all((ds[name].values >= 0) & (ds[name].values <= 100))
    store = Store(out / "networks")
    assert sorted(ds.network_id.values.tolist()) == sorted(store.ids())
    original = [i for i, o in zip(ds.network_id.values, ds.overrides.values) if "original" in o]
    assert all(store.header(i)["config"]["competition"] == "original" for i in original)
    table = (out / "table.md").read_text()
    assert "| 5 | `lc-25-k12` | 2 |" in table and "80.1 ± 1.0" in table  # the paper's numbers beside
    assert "| 4 | `lc-25-k12-trained` | 2 |" in table and "82.3 ± 1.0" in table
    assert "| patch (brainlc's default) | 2 |" in table and "| original (all Y→Y pairs learn) | 2 |" in table
    assert "| competition mode | seeds | Δ vote | against the paper |" in table
    assert "Training the competition increases accuracy" in table
    assert "| `lc-25-k12` | 2 |" in table.split("chosen on the test set, as the original did")[1]
    # run again: nothing to do, nothing recomputed, the same table
    assert main(["reproduce", "--rows", "lc-25-k12", "lc-25-k12-trained", "--seeds", "2", *TINY,
                 "-o", str(out)]) == 0
    assert "6 of 6 tasks already finished" in capsys.readouterr().out
    assert len(store.ids()) == 6
    # --report-only with a third seed: runs nothing, reports the 6 finished runs of 9
    assert main(["reproduce", "--rows", "lc-25-k12", "lc-25-k12-trained", "--seeds", "3", *TINY,
                 "--report-only", "-o", str(out)]) == 0
    assert "6 of 9 tasks finished" in capsys.readouterr().out
    assert len(store.ids()) == 6 and xr.open_dataset(out / "runs.nc").sizes["run"] == 6
    assert "| 5 | `lc-25-k12` | 2 |" in (out / "table.md").read_text()


def test_the_vote_chosen_on_the_test_set_is_the_best_method_of_each_run():
    from brainlc.campaign.reproduce import vote_chosen_on_test

    ds = xr.Dataset({"accuracy_patch_voting": ("run", [70.0, 80.0, np.nan]),
                     "accuracy_all_voting": ("run", [72.0, 79.0, np.nan]),
                     "accuracy_spikes_first": ("run", [np.nan, 81.5, np.nan])})
    np.testing.assert_array_equal(vote_chosen_on_test(ds), [72.0, 81.5, np.nan])


def test_the_trained_competition_gain_is_weighed_against_the_papers():
    from brainlc.campaign.reproduce import _against, paper_gain

    gain, se = paper_gain("vote")
    assert round(gain, 1) == 2.2 and 0.5 < se < 0.7  # 82.3 ± 1.0 against 80.1 ± 1.0, five runs each
    assert _against(-0.5, 0.5, gain, se).startswith("smaller (-2.7 ± 0.")
    assert _against(2.0, 0.5, gain, se).startswith("consistent")
    assert _against(5.0, 0.3, gain, se).startswith("larger")
    assert _against(1.0, float("nan"), gain, se).startswith("not decided")


@pytest.mark.parametrize("preset, measured", [("lc-1000-k12", 8.9), ("c-169-k12", 2.49), ("c-81-k12", 1.40),
                                             ("lc-100-k8", 1.12), ("c-25-k12", 0.64), ("lc-25-k12", 0.49),
                                             ("fc-100", 0.40), ("c-25-k8", 0.57)])
def test_the_cost_of_a_task_follows_the_measured_run_times(preset, measured):
    # Run times of the table's rows on 2 workers, relative to lc-100-k12 (207 s); the time
    # left that a reproduction prints rests on these ratios.
    from brainlc.campaign.tasks import cost

    ratio = cost(Task(preset, 0, 5000, 10000, 10000)) / cost(Task("lc-100-k12", 0, 5000, 10000, 10000))
    assert measured / 1.25 < ratio < measured * 1.25


def test_the_time_left_counts_the_workers_and_each_tasks_own_time():
    from brainlc.campaign.engine import time_left

    # Four equal tasks of 3400 s on two workers; the first has just finished (the second
    # nearly): two tasks' worth of time is left at most, not three times the elapsed time.
    assert time_left(3.0, [(1.0, 3400.0)], 2, 3400.0, 1.0) == 1.5 * 3400
    assert time_left(2.0, [(1.0, 3400.0), (1.0, 3410.0)], 2, 3410.0, 2.0) == 3405.0
    assert time_left(2.0, [], 2, 100.0, 1.0) == 200.0  # only failed or borrowed results so far
    assert time_left(0.0, [(1.0, 10.0)], 2, 10.0, 1.0) == 0.0


def test_a_claim_is_reproduced_refuted_or_reproduced_for_some_pairs():
    from brainlc.campaign.reproduce import _verdict

    assert _verdict([(1.1, 0.2), (3.9, 0.3)]) == "reproduced"
    assert _verdict([(0.5, 0.5), (1.1, 0.2), (3.9, 0.3)]).startswith("reproduced for 2 of 3 pairs")
    assert _verdict([(-1.5, 0.5), (1.1, 0.2)]) == "refuted"
    assert _verdict([(0.5, 0.5)]).startswith("not shown")
    assert _verdict([(0.5, float("nan"))]).startswith("not decided")


def test_an_interrupted_reproduction_finishes_only_the_missing_tasks(tmp_path):
    out = tmp_path / "table"
    command = [sys.executable, "-m", "brainlc", "reproduce", "--rows", "lc-25-k12", "c-25-k12", "--seeds", "3",
               "--train", "100", "--calibrate", "100", "--test", "100", "--workers", "1", "-o", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("[1/6"):
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.communicate(timeout=120)[0]
    assert proc.returncode == 143, "".join(lines) + rest
    assert "the tasks that finished are saved: run the same command again to resume" in rest
    store = Store(out / "networks")
    before = {i: store.records(i) for i in store.ids()}
    assert 1 <= len(before) < 6
    time.sleep(1)
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(before)} of 6 tasks already finished" in again.stdout
    assert f"running {6 - len(before)} tasks" in again.stdout
    ids = store.ids()
    assert len(ids) == 6  # nothing ran twice
    for network_id, records in before.items():  # nothing finished was touched
        assert store.records(network_id) == records
    assert xr.open_dataset(out / "runs.nc").sizes["run"] == 6


def _fail_for_seed_one(task, store_root):
    if task.seed == 1:
        raise RuntimeError("simulated failure of one task")
    return execute(task, store_root)


def test_two_commands_sharing_a_store_never_run_one_task_twice(tmp_path):
    import threading

    from brainlc.campaign.tasks import _compute

    store = Store(tmp_path / "networks")
    task = Task("lc-25-k12", 0, 20, 100, 20)
    results = {}
    with store.task_lock(task.key):  # this "command" runs the task; another one asks for it meanwhile
        other = threading.Thread(target=lambda: results.update(execute(task, str(store.root))))
        other.start()
        saved = _compute(task, store, [])
        time.sleep(0.5)
        assert other.is_alive()  # the other command waits for the lock: it computes nothing
    other.join(timeout=60)
    assert results["by_another"] is True and results["id"] == saved.id
    assert results["accuracy"] == saved.record["accuracy"]
    assert store.ids() == [saved.id]


def test_a_failed_task_is_reported_and_the_others_go_on(tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    store = Store(tmp_path / "networks")
    tasks = [Task("lc-25-k12", seed, 20, 100, 20) for seed in range(3)]
    lines = []
    report = run_tasks(tasks, store, workers=2, echo=lines.append, function=_fail_for_seed_one)
    assert [t.seed for t, _ in report.failed] == [1]
    assert "simulated failure of one task" in report.failed[0][1]
    assert sorted(t.seed for t in report.done) == [0, 2]
    assert any("FAILED: RuntimeError: simulated failure" in line for line in lines)
    assert len(finished_results(store)) == 2


def test_a_sweep_compiles_once_and_writes_its_grid_and_heatmaps(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BRAINLC_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep"
    rc = main(["sweep", "lc-25-k12", "--param", "mean_weight=0.3:0.5:2", "--param", "c_w=-100,-50",
               "--seeds", "1", *TINY, "--workers", "2", "-o", str(out)])
    assert rc == 0
    ds = xr.open_dataset(out / "sweep.nc")
    assert dict(ds.sizes) == {"mean_weight": 2, "c_w": 2, "seed": 1}
    assert ds.mean_weight.values.tolist() == [0.3, 0.5] and ds.c_w.values.tolist() == [-100.0, -50.0]
    assert np.isfinite(ds.accuracy_vote.values).all() and np.isfinite(ds.accuracy_linear.values).all()
    assert (out / "sweep-vote.png").stat().st_size > 10_000 and (out / "sweep-linear.png").is_file()
    store = Store(out / "networks")
    configs = [store.header(i)["config"] for i in store.ids()]
    assert sorted((c["mean_weight"], c["c_w"]) for c in configs) == [(0.3, -100.0), (0.3, -50.0),
                                                                      (0.5, -100.0), (0.5, -50.0)]
    projects = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    # four hyper-parameter sets, one compiled network: its full model and its evaluation model
    assert sorted(json.loads((p / "manifest.json").read_text())["spec"]["learning"] for p in projects) == [False, True]
    assert "best vote" in capsys.readouterr().out


def test_a_curve_scores_one_network_as_it_trains_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "curve"
    args = ["curve", "lc-25-k12", "--every", "10", "--up-to", "20", "--seeds", "1", "--calibrate", "100",
            "--test", "20", "--workers", "1", "-o", str(out)]
    assert main(args) == 0
    ds = xr.open_dataset(out / "curve.nc")
    assert ds.images.values.tolist() == [0, 10, 20]
    assert np.isfinite(ds.accuracy_linear.values).all()
    store = Store(out / "networks")
    (network_id,) = store.ids()
    assert [r["images_trained"] for _, r in store.records(network_id)] == [0, 10, 20]
    assert (out / "curve.png").is_file()
    capsys.readouterr()
    assert main(args) == 0
    assert "1 of 1 tasks already finished" in capsys.readouterr().out

    # Looking up finished tasks reads again only the networks whose versions changed.
    import json
    import shutil

    from brainlc.campaign import tasks

    read = []
    real = tasks._network_results
    monkeypatch.setattr(tasks, "_network_results", lambda st, nid: read.append(nid) or real(st, nid))
    finished_results(store)
    assert read == []  # the re-run above read it; nothing changed since
    folder = store.root / network_id
    shutil.copytree(folder / "v0003", folder / "v0004")
    record = json.loads((folder / "v0004" / "record.json").read_text())
    (folder / "v0004" / "record.json").write_text(json.dumps({**record, "version": 4, "images_trained": 30}))
    points = {f.record["images_trained"] for f in next(iter(finished_results(store).values()))}
    assert read == [network_id] and points == {0, 10, 20, 30}


def test_a_sweep_scored_on_validation_images_never_touches_the_test_set(tmp_path, capsys):
    from brainlc.experiment.protocol import split_indices
    from brainlc.experiment.runs import Runner, fit_readouts

    out = tmp_path / "sweep"
    common = ["sweep", "lc-25-k12", "--param", "c_w=-100", "--seeds", "1", *TINY, "--workers", "1", "-o", str(out)]
    assert main([*common, "--score-on", "validation"]) == 0
    assert "best vote (validation)" in capsys.readouterr().out
    ds = xr.open_dataset(out / "sweep.nc")
    assert ds.attrs["scored_on"] == "validation"
    store = Store(out / "networks")
    (network_id,) = store.ids()
    saved = store.load(network_id)
    assert saved.record["scored_on"] == "validation"
    # the scores are those of calibration images 100..119 of the permutation, after the 100 that fit
    runner = Runner(saved.config, show_progress=False)
    cal, cal_labels, _ = runner.activity(saved.state, "calibration", 100, 0)
    val, val_labels, _ = runner.activity(saved.state, "calibration", 20, 0, offset=100)
    again = fit_readouts(saved.config, 0, cal, cal_labels, val, val_labels)
    assert again.accuracy == saved.record["accuracy"]
    assert not set(split_indices("calibration", 100, 0)) & set(split_indices("calibration", 20, 0, 100))
    # the same point scored on the test set is another task: it runs, and is scored on test images
    assert main(common) == 0
    assert len(store.ids()) == 2
    tested = [store.load(i) for i in store.ids() if i != network_id]
    assert len(tested) == 1 and tested[0].record["scored_on"] == "test"
    assert xr.open_dataset(out / "sweep.nc").attrs["scored_on"] == "test"


@pytest.mark.parametrize("args, message", [
    (["sweep", "lc-25-k12", "--param", "c_w=-100", "--score-on", "validation", "--calibrate", "9990", "--test", "20"],
     "calibration + validation images must be at most 10000"),
    (["reproduce", "--rows", "lc-7-k3"], "not in the paper's table"),
    (["sweep", "lc-25-k12", "--param", "nope=1:2:3"], "unknown hyper-parameter 'nope'"),
    (["sweep", "lc-25-k12", "--param", "mean_weight=-1,0.4"], "mean_weight=-1 is outside its valid range (0, 1]"),
    (["sweep", "lc-25-k12", "--param", "c_w=1:2"], "START:STOP:COUNT"),
    (["curve", "lc-25-k12", "--every", "300", "--up-to", "1000"], "multiple of --every"),
    (["reproduce", "--seeds", "0"], "--seeds must be at least 1"),
    (["reproduce", "--calibrate", "50"], "calibration"),
])
def test_campaigns_refuse_bad_input_before_any_work(tmp_path, capsys, args, message):
    rc = main([*args, "-o", str(tmp_path / "out")])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "networks").exists()


def test_run_takes_the_competition_mode_and_hyper_parameters(tmp_path, capsys):
    store = tmp_path / "networks"
    rc = main(["run", "lc-25-k12-trained", "--competition", "original", "--set", "c_w=-80", "--set", "refractory=3",
               *TINY, "--store", str(store)])
    assert rc == 0
    (network_id,) = Store(store).ids()
    config = Store(store).header(network_id)["config"]
    assert (config["competition"], config["c_w"], config["refractory"]) == ("original", -80.0, 3)
    assert Store(store).load(network_id).state.w_yy.size == 225**2  # every pair is a synapse
    for bad, message in ((["--set", "nope=1"], "unknown hyper-parameter 'nope'"),
                         (["--set", "refractory=2.5"], "refractory=2.5: not a valid int"),
                         (["--set", "c_w"], "expected NAME=VALUE")):
        capsys.readouterr()
        assert main(["run", "lc-25-k12", *bad, *TINY, "--store", str(store)]) == 2
        assert message in capsys.readouterr().err
    assert len(Store(store).ids()) == 1


def test_tasks_group_to_train_together_by_shape_and_protocol():
    from brainlc.campaign.tasks import TaskError, groups_to_train_together

    a = [Task("lc-25-k12", seed, 20, 100, 20, overrides=(("c_w", c),)) for seed in (0, 1) for c in (-100.0, -50.0)]
    other_shape = Task("c-25-k12", 0, 20, 100, 20)
    other_sizes = Task("lc-25-k12", 0, 40, 100, 20)
    curve = Task("lc-25-k12", 0, 20, 100, 20, kind="curve", every=10)
    tasks = [a[0], other_shape, a[1], curve, a[2], other_sizes, a[3]]
    assert groups_to_train_together(tasks, 3) == [[a[0], a[1], a[2]], [other_shape], [curve], [other_sizes], [a[3]]]
    assert groups_to_train_together(tasks, 1) == [[t] for t in tasks]
    with pytest.raises(TaskError, match="--train-together must be at least 1"):
        groups_to_train_together(tasks, 0)


def test_networks_trained_together_are_the_networks_trained_alone(tmp_path, capsys):
    sweep = ["sweep", "lc-25-k12", "--param", "c_w=-100,-50", "--seeds", "2", *TINY, "--workers", "1"]
    assert main([*sweep, "-o", str(tmp_path / "alone")]) == 0
    capsys.readouterr()
    # 4 tasks of one shape: a group of 3 and a group of 1
    assert main([*sweep, "--train-together", "3", "-o", str(tmp_path / "together")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("trained with 2 others in one simulation") == 3
    alone, together = Store(tmp_path / "alone" / "networks"), Store(tmp_path / "together" / "networks")

    def by_task(store):
        return {store.load(i).record["task"]: store.load(i) for i in store.ids()}

    alone, together = by_task(alone), by_task(together)
    assert alone.keys() == together.keys() and len(alone) == 4
    for key, saved in alone.items():
        same = together[key]
        assert np.array_equal(saved.state.w_xy, same.state.w_xy) and np.array_equal(saved.state.theta, same.state.theta)
        assert saved.record["accuracy"] == same.record["accuracy"]
    assert sorted(s.record["history"][-1].get("trained_together", 1) for s in together.values()) == [1, 3, 3, 3]
    # run again: everything is finished, nothing is trained
    assert main([*sweep, "--train-together", "3", "-o", str(tmp_path / "together")]) == 0
    assert "4 of 4 tasks already finished" in capsys.readouterr().out


def _record_start(task, root):
    with open(f"{root}/started.txt", "a") as log:
        log.write(f"{task.preset} {task.seed}\n")
    return {"id": "x", "version": 1, "accuracy": {"vote": 0.5, "linear": 0.5}, "seconds": 0.0}


def test_tasks_start_longest_first_across_seeds(tmp_path):
    import cloudpickle

    from brainlc.campaign.tasks import cost

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    tasks = [Task(preset, seed, 20, 100, 20) for seed in (0, 1) for preset in ("lc-25-k12", "lc-1000-k12")]
    assert cost(tasks[1]) > 5 * cost(tasks[0])
    run_tasks(tasks, Store(tmp_path), workers=1, echo=lambda line: None, function=_record_start)
    started = (tmp_path / "started.txt").read_text().split("\n")[:-1]
    assert started == ["lc-1000-k12 0", "lc-1000-k12 1", "lc-25-k12 0", "lc-25-k12 1"]


def test_a_task_evaluates_on_the_cores_no_other_task_uses(tmp_path):
    import subprocess
    import sys

    from brainlc.campaign.cores import RUNNING, RunningTask

    with RunningTask(tmp_path, "a", cores=4) as a:
        assert a() == 4
        with RunningTask(tmp_path, "b", cores=4):
            assert a() == 3
        assert a() == 4
        # a task of a process that is gone (killed) is not counted, and its entry goes
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
        (tmp_path / RUNNING / f"c.{dead}").touch()
        assert a() == 4 and not (tmp_path / RUNNING / f"c.{dead}").exists()
    assert list((tmp_path / RUNNING).iterdir()) == []
    with RunningTask(tmp_path, "d", cores=1) as d:
        with RunningTask(tmp_path, "e", cores=1):
            assert d() == 1  # at least one
