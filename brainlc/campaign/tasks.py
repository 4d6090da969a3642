"""Experiments as tasks: one network (preset, overrides, seed, protocol sizes) each.

A :class:`Task` is what ``brainlc reproduce``, ``sweep`` and ``curve`` fan out: it runs
through the normal pipeline (:mod:`brainlc.experiment.runs`) and saves its network in the
store. Its :attr:`~Task.key` hashes everything that decides the result (the full
configuration after overrides, seed, image counts, device, curve spacing, scoring split), and every
version a task saves carries that key, so a task whose result is already in the store is
never run again: an interrupted command resumes where it stopped. A network saved by a
plain ``brainlc run`` counts as the run task with the same key.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainlc.core.config import NetworkConfig
from brainlc.errors import BrainlcError
from brainlc.experiment.protocol import SCORE_SPLITS
from brainlc.storage.store import Store, StoreError

from .cores import RunningTask

KINDS = ("run", "curve")


class TaskError(BrainlcError, ValueError):
    """A task that cannot be described (unknown parameter, bad value)."""


@dataclass(frozen=True)
class Task:
    """One network to train and score.

    kind : ``"run"`` (train ``train`` images, calibrate, test) or ``"curve"`` (train in
        steps of ``every`` images up to ``train``, calibrating and testing after each step
        and before the first).
    overrides : (field, value) pairs applied to the preset's configuration, sorted.
    score_on : ``"test"`` (the paper's protocol) or ``"validation"``: ``test`` held-out
        calibration images (:mod:`brainlc.experiment.protocol`), to choose hyper-parameters.
    """

    preset: str
    seed: int
    train: int
    calibrate: int
    test: int
    overrides: tuple[tuple[str, Any], ...] = ()
    device: str = "cpp"
    kind: str = "run"
    every: int = 0
    score_on: str = "test"
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TaskError(f"task kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "curve" and not (self.every >= 1 and self.train % self.every == 0):
            raise TaskError(f"curve: --up-to {self.train} must be a multiple of --every {self.every} (>= 1)")
        if self.score_on not in SCORE_SPLITS:
            raise TaskError(f"task scoring split must be one of {SCORE_SPLITS}, got {self.score_on!r}")
        object.__setattr__(self, "overrides", tuple(sorted(self.overrides)))

    @functools.cached_property
    def config(self) -> NetworkConfig:
        """The preset's configuration with the overrides applied (checked)."""
        from brainlc.core.overrides import check_overrides
        from brainlc.core.presets import load_preset

        return check_overrides(load_preset(self.preset).config, dict(self.overrides))

    @property
    def key(self) -> str:
        """Hash of everything that decides the task's result."""
        return task_key(self.kind, self.config, self.seed, self.train, self.calibrate, self.test,
                        self.device, self.every, self.score_on)

    @property
    def points(self) -> list[int]:
        """Training images at which the task scores its network."""
        if self.kind == "run":
            return [self.train]
        return list(range(0, self.train + 1, self.every))

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.overrides)
        return self.label or f"{self.preset}{extra} seed {self.seed}"


def task_key(kind: str, config: NetworkConfig, seed: int, train: int, calibrate: int, test: int,
             device: str, every: int = 0, score_on: str = "test") -> str:
    payload = {"kind": kind, "config": config.to_dict(), "seed": int(seed), "train": int(train),
               "calibrate": int(calibrate), "test": int(test), "device": device}
    if kind == "curve":
        payload["every"] = int(every)
    if score_on != "test":  # test-scored keys stay those of the networks saved before this option
        payload["score_on"] = score_on
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@dataclass
class Finished:
    """A saved version that holds one point of a task's result."""

    network_id: str
    version: int
    record: dict
    header: dict


def _run_key(header: dict, record: dict) -> str | None:
    """The run-task key of a network's first version saved by ``brainlc run``."""
    history = record.get("history") or [{}]
    event = history[0]
    if event.get("event") != "run" or len(history) != 1:
        return None
    config = NetworkConfig.from_dict(header["config"])
    return task_key("run", config, header["seed"], event["train"], event["calibrate"], event["test"],
                    event.get("device", "cpp"), score_on=record.get("scored_on", "test"))


# Per store folder, per network id: (its folder's inode and versions, the finished points read
# from them). A committed version folder never changes, so a network whose signature is
# unchanged need not be read again; a Dask worker thus reads only the networks saved since
# its last task. (The inode makes a network deleted and imported again read afresh.)
_SCANNED: dict[str, dict[str, tuple[tuple[int, ...], list[tuple[str, Finished]]]]] = {}


def _network_results(store: Store, network_id: str) -> list[tuple[str, Finished]]:
    header = store.header(network_id)
    records = store.records(network_id)
    out = []
    for version, record in records:
        key = record.get("task")
        if key is None and version == records[0][0]:
            try:
                key = _run_key(header, record)
            except (KeyError, TypeError, ValueError, BrainlcError):
                key = None
        if key is not None:
            out.append((key, Finished(network_id, version, record, header)))
    return out


def finished_results(store: Store) -> dict[str, list[Finished]]:
    """Saved versions by task key (unreadable entries are skipped: they hold no result).

    Networks read by an earlier call in this process are not read again unless their
    versions changed, so the cost of a call grows with what is new in the store.
    """
    scanned = _SCANNED.setdefault(str(Path(store.root).absolute()), {})
    ids = store.ids()
    for gone in set(scanned) - set(ids):
        del scanned[gone]
    out: dict[str, list[Finished]] = {}
    for network_id in ids:
        try:
            signature = ((store.root / network_id).stat().st_ino, *store.versions(network_id))
        except OSError:  # deleted meanwhile
            continue
        cached = scanned.get(network_id)
        if cached is None or cached[0] != signature:
            try:
                cached = (signature, _network_results(store, network_id))
            except StoreError:
                scanned.pop(network_id, None)
                continue
            scanned[network_id] = cached
        for key, finished in cached[1]:
            out.setdefault(key, []).append(finished)
    return out


def is_finished(task: Task, finished: dict[str, list[Finished]]) -> bool:
    """Whether every point of the task is in the store."""
    have = {int(f.record.get("images_trained", -1)) for f in finished.get(task.key, [])}
    return set(task.points) <= have


@functools.lru_cache(maxsize=1)
def _mnist():
    from brainlc.experiment.mnist import load_mnist

    return load_mnist()


def execute(task: Task, store_root: str) -> dict:
    """Run one task in this process (a Dask worker) and save its versions in the store.

    The task's lock in the store is held meanwhile: when another command sharing the store
    runs the same task, this one waits for it and then uses its result (``"by_another":
    True``) instead of computing it twice. A curve resumes from the last point already
    saved. Returns a summary of the last version saved: id, version, accuracies, seconds.
    """
    import time

    store = Store(store_root)
    start = time.perf_counter()
    with store.task_lock(task.key):
        done = finished_results(store).get(task.key, [])
        if is_finished(task, {task.key: done}):
            last = _latest(done)
            return {"id": last.network_id, "version": last.version, "accuracy": last.record["accuracy"],
                    "seconds": time.perf_counter() - start, "by_another": True}
        with RunningTask(store_root, task.key) as share:
            saved = _compute(task, store, done, share)
    return {"id": saved.id, "version": saved.version, "accuracy": saved.record["accuracy"],
            "seconds": time.perf_counter() - start}


def groups_to_train_together(tasks: list[Task], together: int) -> list[list[Task]]:
    """``tasks`` in groups of at most ``together`` that can train in one simulation.

    Run tasks (not curves) group when their networks have one shape and their tasks the same
    image counts, scoring split and device; each group keeps the order of ``tasks`` (by its
    first task), and every other task is a group of its own.
    """
    if together < 1:
        raise TaskError(f"--train-together must be at least 1, got {together}")
    groups: dict[tuple, list[list[Task]]] = {}
    order: list[list[Task]] = []
    for task in tasks:
        if together == 1 or task.kind != "run":
            order.append([task])
            continue
        key = (json.dumps(task.config.shape(), sort_keys=True), task.train, task.calibrate, task.test,
               task.score_on, task.device)
        open_groups = groups.setdefault(key, [])
        if open_groups and len(open_groups[-1]) < together:
            open_groups[-1].append(task)
        else:
            open_groups.append([task])
            order.append(open_groups[-1])
    return order


def execute_together(tasks: list[Task], store_root: str) -> list[dict]:
    """:func:`execute` for a group of :func:`groups_to_train_together`: the group's
    unfinished tasks train at once (:func:`brainlc.experiment.runs.run_new_together`), each saved
    as its own network. Holds every task's lock meanwhile (taken in key order, so that two
    commands never wait for each other). One summary per task, in the group's order."""
    import time

    from brainlc.experiment.runs import NewRun, run_new_together

    store = Store(store_root)
    start = time.perf_counter()
    with contextlib.ExitStack() as locks:
        for key in sorted({task.key for task in tasks}):
            locks.enter_context(store.task_lock(key))
        finished = finished_results(store)
        todo = [task for task in tasks if not is_finished(task, finished)]
        share = locks.enter_context(RunningTask(store_root, tasks[0].key))
        if len(todo) == 1:  # the others were finished by another command: it trains alone
            saved = [_compute(todo[0], store, [], share)]
        elif todo:
            first = todo[0]
            saved = run_new_together(
                [NewRun(t.preset, t.config, t.seed, {"task": t.key}) for t in todo], store,
                first.train, first.calibrate, first.test, first.device, _mnist(), first.score_on,
                eval_workers=share)
        else:
            saved = []
    seconds = time.perf_counter() - start
    by_key = {task.key: version for task, version in zip(todo, saved)}
    summaries = []
    for task in tasks:
        if task.key in by_key:
            version = by_key[task.key]
            summaries.append({"id": version.id, "version": version.version, "accuracy": version.record["accuracy"],
                              "seconds": seconds / len(todo), "trained_together": len(todo)})
        else:
            last = _latest(finished[task.key])
            summaries.append({"id": last.network_id, "version": last.version, "accuracy": last.record["accuracy"],
                              "seconds": 0.0, "by_another": True})
    return summaries


def _latest(done: list[Finished]) -> Finished:
    """The saved point of a task with the most training images (the newest version on ties)."""
    return max(done, key=lambda f: (int(f.record["images_trained"]), f.version))


def _compute(task: Task, store: Store, done: list[Finished], eval_workers=1):
    """Run a task (a curve from its last saved point in ``done``); returns the last version
    saved. ``eval_workers``: evaluation processes (a number, or a function asked before each
    evaluation phase: :class:`brainlc.campaign.cores.RunningTask`)."""
    from brainlc.experiment.runs import run_new, train_more

    extra = {"task": task.key}
    if task.kind == "run":
        saved = run_new(task.preset, task.config, store, task.seed, task.train, task.calibrate, task.test,
                        task.device, _mnist(), show_progress=False, extra_record=extra, score_on=task.score_on,
                        eval_workers=eval_workers)
    else:
        if done:
            last = _latest(done)
            saved = store.load(last.network_id, last.version)
        else:
            saved = run_new(task.preset, task.config, store, task.seed, 0, task.calibrate, task.test,
                            task.device, _mnist(), show_progress=False, extra_record=extra,
                            score_on=task.score_on, eval_workers=eval_workers)
        while saved.record["images_trained"] < task.train:
            saved = train_more(store, saved.id, task.every, task.device, _mnist(), show_progress=False,
                               version=saved.version, extra_record=extra, eval_workers=eval_workers)
    return saved


def cost(task: Task) -> float:
    """Rough relative cost of a task (for ordering and for the time left), in ms of one core.

    Per image, 2.3 ms + 27 ns per X→Y synapse + 1.5 ns per Y→Y synapse + 2.5 µs per Y
    neuron, × 1.4 for a convolutional network: a fit to the run times of the table's rows on
    two workers (within 10 % for LC and FC, 25 % for C; `lc-1000-k12` costs 9 ×
    `lc-100-k12`, not the 40 × its synapse count would say).
    """
    counts = task.config.synapse_counts()
    per_image = (2.3 + 2.7e-5 * counts["xy_synapses"] + 1.5e-6 * counts["yy_synapses"]
                 + 2.5e-3 * task.config.n_output)
    if task.config.architecture == "C":
        per_image *= 1.4
    images = task.train * 1.1 + (task.calibrate + task.test) * len(task.points)
    return images * per_image
