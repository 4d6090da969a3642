"""End to end on real MNIST: the brainlc command trains, evaluates, stores and reloads networks."""

import json

import numpy as np
import pytest

from brainlc.cli import main
from brainlc.experiment.images import read_digit_image
from brainlc.experiment.mnist import load_mnist
from brainlc.storage.store import Store, StoreError

SMALL = ["--train", "300", "--calibrate", "300", "--test", "300"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def trained(store):
    """A small lc-25-k12 run and the same network untrained, as the CLI saves them."""
    out = {}
    for name, train in (("trained", "300"), ("untrained", "0")):
        path = store.parent / f"{name}.json"
        args = ["run", "lc-25-k12", "--store", str(store), "--json", str(path), "--seed", "0",
                "--train", train, "--calibrate", "300", "--test", "300"]
        assert main(args) == 0
        out[name] = json.loads(path.read_text())
    return out


def test_training_beats_the_untrained_network_by_a_wide_margin(trained):
    t, u = trained["trained"], trained["untrained"]
    assert set(t["accuracy"]) == {"patch_voting", "all_voting", "spikes_first", "vote", "linear"}
    assert t["accuracy"]["vote"] > 0.6 and t["accuracy"]["linear"] > 0.6
    assert t["accuracy"]["vote"] > u["accuracy"]["vote"] + 0.2
    assert t["accuracy"]["linear"] > u["accuracy"]["linear"] + 0.2
    assert t["error"]["vote"] == pytest.approx(np.sqrt(t["accuracy"]["vote"] * (1 - t["accuracy"]["vote"]) / 300))
    assert set(t["timings"]) == {"compile_s", "train_ms_per_image", "eval_ms_per_image", "total_s"}


def test_a_saved_network_reloads_with_theta_and_predicts_the_same(trained, store):
    saved = Store(store).load(trained["trained"]["id"])
    assert saved.version == 1 and saved.state.theta.max() > 0  # theta restored
    assert saved.record["images_trained"] == 300
    vote = saved.record["scores"]["vote"]
    assert vote["method"] == saved.voting.method_
    assert np.array(vote["confusion"]).shape == (10, 11)
    # the reloaded readouts give the stored test accuracy on the same counts
    from brainlc.experiment.runs import Runner

    runner = Runner(saved.config, show_progress=False)
    counts, labels, _ = runner.activity(saved.state, "test", 300, saved.seed)
    assert np.mean(saved.voting.predict(counts) == labels) == pytest.approx(vote["accuracy"])
    assert np.mean(saved.linear.predict(counts) == labels) == pytest.approx(saved.record["accuracy"]["linear"])


def test_list_show_train_evaluate_and_versions(trained, store, capsys):
    network_id = trained["trained"]["id"]
    assert main(["list", "--store", str(store)]) == 0
    listing = capsys.readouterr().out
    assert network_id in listing and trained["untrained"]["id"] in listing
    assert main(["train", network_id[:14], "--images", "100", "--store", str(store)]) == 0
    assert main(["evaluate", network_id, "--test", "200", "--store", str(store)]) == 0
    s = Store(store)
    assert s.versions(network_id) == [1, 2, 3]
    v1, v2, v3 = (s.load(network_id, v) for v in (1, 2, 3))
    assert v2.record["images_trained"] == 400 and v2.record["train_offset"] == 400
    assert not np.array_equal(v1.state.w_xy, v2.state.w_xy)
    assert np.array_equal(v2.state.w_xy, v3.state.w_xy) and v3.record["test_images"] == 200
    assert [e["event"] for e in v3.record["history"]] == ["run", "train", "evaluate"]
    assert [e["device"] for e in v3.record["history"]] == ["cpp", "cpp", "cpp"]
    capsys.readouterr()
    assert main(["show", network_id, "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "version 3" in shown and "patch_voting" in shown and "87.5" not in shown


def test_feed_a_users_digit_image(trained, store, tmp_path, capsys):
    from PIL import Image

    digit = load_mnist().test_images[0]  # a 7, bright on dark
    big = Image.fromarray(255 - digit).resize((112, 112))  # dark ink on white paper
    path = tmp_path / "seven.png"
    big.save(path)
    image = read_digit_image(path)
    assert image.shape == (1, 28, 28) and image[0, 0, 0] == 0 and image.max() > 200  # inverted
    # MNIST-like placement: the ink lies (almost all) inside the central 20 x 20 crop
    assert image[0, 4:24, 4:24].sum() > 0.9 * image.sum()
    assert main(["feed", trained["trained"]["id"], str(path), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    for name in ("patch_voting", "all_voting", "spikes_first", "vote (", "linear"):
        assert name in out


def test_an_image_without_ink_is_refused(tmp_path):
    from PIL import Image

    from brainlc.experiment.images import ImageError

    path = tmp_path / "blank.png"
    Image.fromarray(np.full((30, 30), 255, np.uint8)).save(path)
    with pytest.raises(ImageError, match="no visible ink"):
        read_digit_image(path)


@pytest.mark.parametrize("args,message", [
    (["run", "lc-7-k1"], "unknown preset"),
    (["run", "lc-25-k12", "--test", "10001"], "the test split has 10000 images"),
    (["run", "lc-25-k12", "--device", "cuda"], "cuda"),
    (["show", "nope"], "no saved network 'nope'"),
    (["feed", "TRAINED", "missing.png"], "cannot read image missing.png"),
    (["delete", "TRAINED"], "without confirmation"),
])
def test_bad_input_is_one_clear_error_and_touches_nothing(trained, store, args, message, capsys):
    before = sorted(p.name for p in store.rglob("*"))
    args = [a.replace("TRAINED", trained["trained"]["id"]) for a in args]
    assert main([*args, "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainlc: error:") and message in err and "\n" not in err
    assert sorted(p.name for p in store.rglob("*")) == before


def test_corrupt_entries_and_interrupted_saves(trained, store, tmp_path, monkeypatch, capsys):
    import shutil

    from brainlc.storage import store as store_module

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    s = Store(copy)
    network_id = trained["untrained"]["id"]
    saved = s.load(network_id)
    # an interrupted save leaves the existing versions and no half-written version
    def boom(ds, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "_write_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        s.save(network_id, saved.preset, saved.config, saved.seed, saved.state, saved.record,
               saved.voting, saved.linear)
    monkeypatch.undo()
    assert s.versions(network_id) == [1]
    assert sorted(p.name for p in (copy / network_id).iterdir()) == ["network.json", "v0001"]
    # a corrupt state file is reported, not used
    (copy / network_id / "v0001" / "state.nc").write_bytes(b"garbage")
    with pytest.raises(StoreError, match="is unreadable"):
        s.load(network_id)
    assert main(["show", network_id, "--store", str(copy)]) == 2
    assert "unreadable" in capsys.readouterr().err
    assert main(["delete", network_id, "--yes", "--store", str(copy)]) == 0
    assert network_id not in s.ids()


def test_evaluation_is_the_same_on_one_or_several_processes_and_replicas(trained, store):
    """evaluate --eval-workers 1 and --eval-workers 3 --replicas 2 give the very same scores."""
    network_id = trained["trained"]["id"]
    records = []
    for extra in (["--eval-workers", "1"], ["--eval-workers", "3", "--replicas", "2"]):
        assert main(["evaluate", network_id, "--store", str(store), "--version", "1", "--calibrate", "300",
                     "--test", "300", *extra]) == 0
        records.append(Store(store).load(network_id).record)
    assert records[0]["scores"] == records[1]["scores"]
    assert records[0]["accuracy"] == trained["trained"]["accuracy"]  # as run, one image at a time
    assert [r["history"][-1]["replicas"] for r in records] == [1, 2]


@pytest.mark.parametrize("option", ["--replicas", "--eval-workers"])
def test_replicas_and_eval_workers_must_be_at_least_one(option, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "lc-25-k12", option, "0"])
    assert stop.value.code == 2
    assert f"argument {option}: must be at least 1, got 0" in capsys.readouterr().err
