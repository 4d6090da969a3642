"""Fault injection: concurrent writers, kill -9 at random moments, SIGTERM/SIGINT, saves that
fail half-way or on a full disk, malformed store entries. Nothing finished may be lost, and
nothing an interrupted command leaves may be mistaken for a network."""

import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brainlc.cli import main
from brainlc.storage import store as store_module
from brainlc.storage.store import STAGING, SaveError, Store

SMALL = ["--calibrate", "100", "--test", "20"]


def cli(*args, tmp: Path, env: dict | None = None) -> subprocess.Popen:
    """``python -m brainlc ARGS`` in its own process; its run folders go to ``tmp``."""
    env = dict(os.environ, **(env or {}), TMPDIR=str(tmp), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "brainlc", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store with one small lc-25-k12 network (compiled once for the whole module)."""
    root = tmp_path_factory.mktemp("base") / "store"
    out = root.parent / "run.json"
    assert main(["run", "lc-25-k12", "--train", "20", *SMALL, "--store", str(root), "--json", str(out)]) == 0
    return root, json.loads(out.read_text())["id"]


@pytest.fixture
def store(base, tmp_path):
    root, network_id = base
    copy = tmp_path / "store"
    shutil.copytree(root, copy)
    runs = tmp_path / "runs"
    runs.mkdir()
    return copy, network_id, runs


def readable_versions(root: Path, network_id: str) -> dict[int, dict]:
    s = Store(root)
    return {v: s.load(network_id, v).record for v in s.versions(network_id)}


def test_eight_concurrent_writers_lose_nothing_and_record_their_parents(store):
    root, network_id, runs = store
    other = Store(root)
    # a second network, deleted while the others write
    victim = other.save("victim-1", "lc-25-k12", other.load(network_id).config, 0,
                        other.load(network_id).state, {"images_trained": 0}, None, None)
    procs = [cli("train", network_id, "--images", 10, "--store", root, tmp=runs) for _ in range(8)]
    procs += [cli("evaluate", network_id, "--test", 20, "--store", root, tmp=runs) for _ in range(2)]
    procs += [cli("run", "lc-25-k12", "--train", 10, *SMALL, "--seed", seed, "--store", root, tmp=runs)
              for seed in (1, 2)]
    procs.append(cli("delete", victim.id, "--yes", "--store", root, tmp=runs))
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    versions = readable_versions(root, network_id)
    assert sorted(versions) == list(range(1, 12))  # 1 + 8 trains + 2 evaluations, numbers unique
    claimed = []
    for out, _ in outputs[:10]:  # each command names the version it saved
        version = int(re.search(rf"network {network_id} version (\d+)", out).group(1))
        claimed.append(version)
        record = versions[version]
        parent = versions[record["parent"]]
        assert record["history"][-1]["from_version"] == record["parent"] < version
        trained = record["images_trained"] - parent["images_trained"]
        assert trained == (10 if record["history"][-1]["event"] == "train" else 0)
        assert record["branch"] == (record["parent"] != version - 1)
    assert sorted(claimed) == list(range(2, 12))
    ids = Store(root).ids()
    assert victim.id not in ids and len(ids) == 3
    assert not any((root / STAGING).iterdir())


def _leftovers(root: Path, runs: Path) -> list[Path]:
    staging = root / STAGING
    return [*(staging.iterdir() if staging.is_dir() else []), *runs.glob("brainlc-run-*")]


def test_kill_9_at_random_moments_never_corrupts_and_the_next_command_cleans_up(store):
    root, network_id, runs = store
    commands = [("train", network_id, "--images", 20), ("run", "lc-25-k12", "--train", 20, *SMALL)]
    start = time.perf_counter()  # how long a whole command takes here
    for command in commands:
        assert cli(*command, "--store", root, tmp=runs).wait(timeout=600) == 0
    full = (time.perf_counter() - start) / len(commands)
    rng = random.Random(0)
    finished = {"train": 1, "run": 1}  # commands that exited normally, counting the two above
    started = dict(finished)
    for trial in range(24):
        command = commands[trial % 2]
        started[command[0]] += 1
        proc = cli(*command, "--store", root, tmp=runs)
        time.sleep(rng.uniform(0.0, 2.0 * full))  # wide: a loaded machine makes later commands slower
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        if proc.returncode == 0:
            finished[command[0]] += 1
        s = Store(root)
        for nid in s.ids():  # every entry is a readable network: no half-written version
            for v in s.versions(nid):
                s.load(nid, v)
    s = Store(root)
    # every finished command's version is there; a killed one saved all or nothing
    versions = s.versions(network_id)
    assert versions == list(range(1, len(versions) + 1))
    assert 1 + finished["train"] <= len(versions) <= 1 + started["train"]
    assert 1 + finished["run"] <= len(s.ids()) <= 1 + started["run"]
    assert 0 < sum(finished.values()) - 2 < 24, "the kills should fall both before and after the end"
    # the next command removes what the killed ones left
    listing = cli("list", "--store", root, tmp=runs)
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0 and "unreadable" not in out, out + err
    assert _leftovers(root, runs) == []


@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_sigint_stop_cleanly_and_save_nothing(store, sig, code, word):
    root, network_id, runs = store
    proc = cli("train", network_id, "--images", 5000, "--store", root, tmp=runs)
    deadline = time.time() + 120
    while not list(runs.glob("brainlc-run-*")):  # wait until it simulates
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (proc.returncode, err[-3000:])
    assert err.strip().splitlines()[-1] == f"brainlc: {word}; nothing was saved for this command"
    assert Store(root).versions(network_id) == [1]
    assert _leftovers(root, runs) == []
    binaries = subprocess.run(["pgrep", "-f", f"{runs}/brainlc-run"], capture_output=True, text=True).stdout
    assert binaries.strip() == ""


def test_a_save_that_fails_half_way_is_recovered_and_imported(store, monkeypatch, tmp_path, capsys):
    root, network_id, runs = store
    s = Store(root)
    saved = s.load(network_id)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    calls = []
    real_write = store_module._write_netcdf

    def fail_second_write(ds, path):  # state.nc written, readout.nc fails: disk full
        calls.append(path)
        if len(calls) == 2:
            path.write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(ds, path)

    monkeypatch.setattr(store_module, "_write_netcdf", fail_second_write)
    record = {**saved.record, "history": saved.record["history"] + [{"event": "train"}]}
    state = saved.state.copy()
    state.w_xy[:] *= 0.5
    with pytest.raises(SaveError) as caught:
        s.save(network_id, saved.preset, saved.config, saved.seed, state, record, saved.voting,
               saved.linear, parent=1)
    monkeypatch.setattr(store_module, "_write_netcdf", real_write)
    message = str(caught.value)
    assert "No space left on device" in message and "brainlc import" in message
    folder = Path(re.search(r"written to (\S+);", message).group(1))
    assert folder.parent == root / "recovered"
    assert s.versions(network_id) == [1] and not any((root / STAGING).iterdir())
    assert main(["import", str(folder), "--store", str(root)]) == 0
    imported = s.load(network_id, 2)
    np.testing.assert_array_equal(imported.state.w_xy, state.w_xy)
    assert imported.record["parent"] == 1 and imported.has_readout
    np.testing.assert_array_equal(imported.linear.coef, saved.linear.coef)
    assert "imported" in capsys.readouterr().out


def test_when_the_store_cannot_take_it_the_results_go_to_the_next_recovery_folder(store, monkeypatch, tmp_path):
    root, network_id, runs = store
    s = Store(root)
    saved = s.load(network_id)
    (root / "recovered").write_text("a file where the recovery folder would be")
    monkeypatch.setenv("BRAINLC_RECOVERY", str(tmp_path / "elsewhere"))

    rename = os.rename

    def deny(src, dst, *args, **kwargs):  # renames into the store are denied; elsewhere they work
        if Path(dst).resolve().is_relative_to(root.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied")
        return rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "rename", deny)
    with pytest.raises(SaveError, match="Permission denied") as caught:
        s.save(network_id, saved.preset, saved.config, saved.seed, saved.state, saved.record,
               saved.voting, saved.linear, parent=1)
    assert str(tmp_path / "elsewhere") in str(caught.value)


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_disk_after_the_simulation_loses_nothing(store, tmp_path):
    """A real full filesystem (a tiny tmpfs store) when mounting is allowed; else skipped,
    the patched writer above covering the same path."""
    root, network_id, runs = store
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("cannot mount a tmpfs here (the patched-writer test covers a failing save)")
    try:
        shutil.copytree(root, disk / "store")
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # fill the disk
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        proc = cli("evaluate", network_id, "--test", 20, "--store", disk / "store", tmp=runs,
                   env={"BRAINLC_RECOVERY": str(tmp_path / "rescue")})
        out, err = proc.communicate(timeout=600)
        last = err.strip().splitlines()[-1]
        assert proc.returncode == 2 and last.startswith("brainlc: error:") and "Traceback" not in err, err
        assert "the disk is full" in last and str(tmp_path / "rescue") in last
        folder = re.search(r"written to (\S+);", err).group(1)
        assert Store(disk / "store").versions(network_id) == [1]
        filler.unlink()
        assert main(["import", folder, "--store", str(disk / "store")]) == 0
        assert Store(disk / "store").load(network_id, 2).record["test_images"] == 20
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_read_only_store_is_refused_before_any_work(store, tmp_path, monkeypatch, capsys):
    root, network_id, _ = store
    from brainlc.experiment import runs

    monkeypatch.setattr(runs, "Runner", None)  # any simulation would fail loudly
    disk = tmp_path / "ro"
    if _mount_tmpfs(disk, "1m"):
        try:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            assert main(["run", "lc-25-k12", "--store", str(disk / "store")]) == 2
            assert "read-only filesystem" in capsys.readouterr().err
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True)
    (tmp_path / "afile").write_text("x")
    assert main(["run", "lc-25-k12", "--store", str(tmp_path / "afile")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["train", network_id, "--images", "5", "--store", str(tmp_path / "afile")]) == 2


def test_a_bad_entry_never_hides_the_good_ones(store, capsys, tmp_path):
    root, good, runs = store
    bad = {
        "wrong-shape": lambda d: (d / "network.json").write_text("[1, 2, 3]"),
        "missing-keys": lambda d: (d / "network.json").write_text("{}"),
        "empty-version": lambda d: [shutil.rmtree(d / "v0001"), (d / "v0001").mkdir()],
        "record-wrong-shape": lambda d: (d / "v0001" / "record.json").write_text('"text"'),
        "newer-format": lambda d: (d / "network.json").write_text(
            json.dumps({**json.loads((d / "network.json").read_text()), "format": 99})),
    }
    for name, damage in bad.items():
        shutil.copytree(root / good, root / name)
        damage(root / name)
    shutil.copytree(root / good, root / "no-readout")
    (root / "no-readout" / "v0001" / "readout.nc").unlink()
    orphan = root / STAGING / "otherhost.1.deadbeef"  # another host's: kept
    dead = root / STAGING / f"{os.uname().nodename}.999999999.cafe"  # a dead process here: removed
    for folder in (orphan, dead):
        folder.mkdir(parents=True)
    assert main(["list", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "unreadable" not in lines[good] and "unreadable" not in lines["no-readout"]
    assert set(lines) == {good, "no-readout", *bad}
    for name in bad:
        assert "unreadable" in lines[name], lines[name]
    assert "newer brainlc" in lines["newer-format"]
    assert not dead.exists() and orphan.exists()
    assert main(["show", "no-readout", "--store", str(root)]) == 0
    assert "readout: none" in capsys.readouterr().out
    for args in (["feed", "no-readout", str(tmp_path / "x.png")],
                 ["plot", "no-readout", "confusion", "-o", str(tmp_path / "c.png")]):
        assert main([*args, "--store", str(root)]) == 2
        assert "no calibrated readout" in capsys.readouterr().err
    assert main(["evaluate", "no-readout", "--store", str(root)]) == 0  # calibrating makes one
    assert Store(root).load("no-readout").has_readout
    capsys.readouterr()
    for name in bad:
        assert main(["show", name, "--store", str(root)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("brainlc: error:") and len(err.strip().splitlines()) == 1


def test_a_killed_first_save_leaves_no_entry(store, monkeypatch):
    """A new network appears with its first version or not at all."""
    root, network_id, runs = store
    s = Store(root)
    saved = s.load(network_id)

    def killed(*args):
        raise KeyboardInterrupt  # as if killed between writing and renaming

    monkeypatch.setattr(store_module.Store, "_commit", killed)
    with pytest.raises(KeyboardInterrupt):
        s.save("fresh-1", saved.preset, saved.config, 0, saved.state, saved.record, None, None)
    assert "fresh-1" not in s.ids() and not (root / "fresh-1").exists()
    assert not any((root / STAGING).iterdir())


# ------------------------------------------------------------------ the compile cache checks itself
def _damaged(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "zeros":
        path.write_bytes(bytes(len(data)))
    elif how == "half":
        path.write_bytes(data[: len(data) // 2])
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes())
    else:  # one flipped bit
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    """A compiled lc-25-k12 project (2 images per invocation) in a cache of its own, and its output."""
    from brainlc.core.presets import load_preset
    from brainlc.core.state import initial_state
    from brainlc.sim.simulation import CompiledNetwork

    cache = tmp_path_factory.mktemp("cache")
    config = load_preset("lc-25-k12").config
    net = CompiledNetwork(config, images_per_run=2, cache_dir=cache).compile()
    state = initial_state(config, net.connectivity_, 0)
    rates = np.random.default_rng(1).uniform(0, 60, (2, config.n_input))
    result = net.run(state, learning=True, rates=rates, seed=5)
    return cache, config, state, rates, result


def _rerun(tiny_project):
    from brainlc.sim.simulation import CompiledNetwork

    cache, config, state, rates, _ = tiny_project
    net = CompiledNetwork(config, images_per_run=2, cache_dir=cache).compile()
    return net, net.run(state, learning=True, rates=rates, seed=5)


@pytest.mark.parametrize("how", ["empty", "zeros", "half", "random", "bit"])
def test_every_damage_of_every_file_a_binary_runs_on_is_detected(tiny_project, how, tmp_path):
    from brainlc.sim.compiler import damage, load_manifest, runtime_files

    cache = tiny_project[0]
    (project,) = [p for p in cache.iterdir() if p.is_dir()]
    manifest = load_manifest(project)
    files = runtime_files(project)
    assert {f.name for f in files} >= {"main", "_static_array__array_XY_sources", "_static_array__array_XY_targets"}
    assert damage(project, manifest) is None
    for path in files:
        if path.stat().st_size == 0 and how in ("half", "bit", "empty", "zeros", "random"):
            continue  # nothing to damage in an empty array
        keep = tmp_path / "keep"
        shutil.copy2(path, keep)
        _damaged(path, how)
        try:
            if path.read_bytes() != keep.read_bytes():
                assert damage(project, manifest) == f"{path.relative_to(project)} changed since it was built", path
        finally:
            shutil.copy2(keep, path)
    assert damage(project, manifest) is None
    extra = project / "static_arrays" / "_static_array__extra"
    extra.write_bytes(b"1")
    assert damage(project, manifest) == "static_arrays/_static_array__extra was added"
    extra.unlink()
    assert damage(project, {**manifest, "checksums": None}) == "it records no checksums"


@pytest.mark.parametrize("victim", ["main", "static_arrays/_static_array__array_XY_sources"])
def test_a_damaged_project_is_rebuilt_in_one_line_and_gives_the_same_network(tiny_project, victim, caplog):
    import logging

    cache, _, _, _, before = tiny_project
    (project,) = [p for p in cache.iterdir() if p.is_dir()]
    _damaged(project / victim, "zeros" if victim != "main" else "half")
    with caplog.at_level(logging.INFO, logger="brainlc"):
        net, after = _rerun(tiny_project)
    said = [r.getMessage() for r in caplog.records]
    assert any(f"is damaged ({victim} changed since it was built): compiling it again" in m for m in said), said
    assert net.compile_seconds_ > 0
    for key in ("w_xy", "theta"):
        assert np.array_equal(getattr(before.state, key), getattr(after.state, key))
    assert np.array_equal(before.spike_counts, after.spike_counts)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="brainlc"):
        assert _rerun(tiny_project)[0].compile_seconds_ == 0.0  # intact again: used as it is
    assert not caplog.records


def _processes_in(folder: Path) -> list[str]:
    """Command lines of the processes whose working folder is under ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def test_kill_9_while_compiling_kills_the_compiler_and_the_half_build_is_never_used(tmp_path):
    from brainlc.sim.compiler import MANIFEST

    cache = tmp_path / "cache"
    code = ("from brainlc.core.presets import load_preset; from brainlc.sim.simulation import CompiledNetwork; "
            f"CompiledNetwork(load_preset('lc-25-k8').config, images_per_run=3, cache_dir={str(cache)!r}).compile()")
    env = dict(os.environ, CCACHE_DISABLE="1")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("cc1plus" in c or "g++" in c for c in _processes_in(cache)):
        time.sleep(0.05)
    assert proc.poll() is None, "the compile ended before the compiler was seen"
    assert any("g++" in c or "cc1plus" in c for c in _processes_in(cache))
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _processes_in(cache):
        time.sleep(0.05)
    assert _processes_in(cache) == [], "make or g++ outlived the command"
    (project,) = [p for p in cache.iterdir() if p.is_dir()]
    assert not (project / MANIFEST).exists()  # the half build is never taken for a project
    from brainlc.sim.compiler import load_manifest

    assert load_manifest(project) is None


# ------------------------------------------------------------------ a group partly finished by another command
def test_a_group_partly_finished_by_another_command_trains_the_rest_alone(tmp_path):
    """The second of two reproductions with --train-together 3 finds 2 of its group's 3 tasks
    finished by the first: the third trains alone, exactly as a separate run."""
    from brainlc.campaign.tasks import Task, execute, execute_together

    def same(a, b) -> None:
        for key in ("w_xy", "w_yy", "theta"):
            assert np.array_equal(getattr(a.state, key), getattr(b.state, key)), key
        assert a.record["accuracy"] == b.record["accuracy"]

    store = tmp_path / "shared"
    tasks = [Task("lc-25-k12", seed, 20, 100, 20) for seed in (1, 2, 3)]
    for task in tasks[:2]:  # the other command's group covered seeds 1 and 2
        execute(task, str(store))
    summaries = execute_together(tasks, str(store))
    assert [s.get("by_another", False) for s in summaries] == [True, True, False]
    assert summaries[2]["trained_together"] == 1
    saved = Store(store).load(summaries[2]["id"])
    reference = Store(tmp_path / "alone").load(execute(tasks[2], str(tmp_path / "alone"))["id"])
    same(saved, reference)
    assert saved.record["history"][-1]["trained"]["images_counted"] == 20
    assert saved.state.theta.max() > 0
    assert "trained_together" not in saved.record["history"][-1]


# ------------------------------------------------------------------ an interrupted campaign
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_campaign_leaves_nothing_half_made_and_says_one_line(how, tmp_path):
    """Ctrl-C (SIGINT to the terminal's whole process group, Dask workers included) or SIGTERM
    of ``reproduce`` while its workers save: one line, no half-written recovered folder, every
    saved network whole, no worker left."""
    out = tmp_path / "table"
    command = [sys.executable, "-m", "brainlc", "reproduce", "--rows", "lc-25-k12", "fc-100", "--seeds", "40",
               "--train", "20", "--calibrate", "100", "--test", "20", "--workers", "2", "-o", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:
        if line.startswith("[6/"):  # both workers are saving networks one after the other
            break
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (130 if how == "ctrl-c" else 143)
    word = "interrupted" if how == "ctrl-c" else "terminated"
    assert err.splitlines() == [f"brainlc: {word}; the tasks that finished are saved: "
                                "run the same command again to resume"], err
    root = out / "networks"
    recovered = root / "recovered"
    assert not recovered.exists() or not any(recovered.iterdir()), list(recovered.iterdir())
    store = Store(root)
    assert len(store.ids()) >= 6
    for network_id in store.ids():
        assert store.load(network_id).record["history"][-1]["trained"]["images_counted"] == 20
    deadline, left = time.monotonic() + 10, True  # multiprocessing's resource tracker takes a second
    while left and time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
            time.sleep(0.2)
        except ProcessLookupError:
            left = False
    assert not left, "a worker outlived the command"


def test_a_recovered_result_is_written_whole_or_not_at_all(store, monkeypatch, tmp_path):
    """A write interrupted half-way leaves no folder that looks like a recovered result,
    and what a killed process left is removed by the next command."""
    root, network_id, _ = store
    saved = Store(root).load(network_id)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "write_version_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store_module.recover(network_id, Store(root).header(network_id), saved.config, saved.state,
                             saved.record, saved.voting, saved.linear, root)
    assert calls and (not (root / "recovered").exists() or not any((root / "recovered").iterdir()))
    # a folder half-written by a process that was killed -9 meanwhile
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    half = root / "recovered" / f".{__import__('socket').gethostname()}.{dead}.abcd1234{store_module.PARTIAL}"
    (half / "version").mkdir(parents=True)
    (half / "network.json").write_text("{}")
    assert store_module.recovered_results(root) == []
    Store(root).clean_leftovers()
    assert not half.exists()


def test_ctrl_c_while_compiling_is_one_line_and_stops_the_compiler(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, CCACHE_DISABLE="1", BRAINLC_CACHE=str(cache))
    proc = subprocess.Popen([sys.executable, "-m", "brainlc", "run", "lc-25-k8", "--train", "20", "--calibrate",
                             "100", "--test", "20", "--store", str(tmp_path / "s")], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("cc1plus" in c for c in _processes_in(cache)):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == "" and err.splitlines()[-1] == "brainlc: interrupted; nothing was saved for this command", err
    assert all(line.startswith("brainlc: compiling the") for line in err.splitlines()[:-1]), err
    time.sleep(0.5)
    assert _processes_in(cache) == []
