"""Experiments: train, calibrate, test, and save, all through one compiled binary.

:func:`run_new` is the main job (``brainlc run``); :func:`train_more` continues the
training of a saved network (a new version); :func:`evaluate` recalibrates and retests a
saved network (a new version); :func:`predict` classifies images with a saved network.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from brainlc.core.config import NetworkConfig
from brainlc.core.encoding import firing_rates
from brainlc.core.readout import (
    LinearReadout,
    SpikeVoting,
    accuracy_report,
    linear_readout,
    votes_distribution,
    voting_methods,
)
from brainlc.core.state import NetworkState, initial_state
from brainlc.core.topology import build_connectivity
from brainlc.errors import BrainlcError
from brainlc.progress import Progress
from brainlc.sim.compiler import check_cache
from brainlc.sim.devices import check_runnable
from brainlc.sim.replicas import ReplicaEvaluator
from brainlc.sim.simulation import CompiledNetwork
from brainlc.storage.store import SavedNetwork, Store

from .mnist import Mnist, load_mnist
from .protocol import (
    DEFAULT_SIZES,
    ProtocolError,
    check_neurons,
    check_sizes,
    scored_images,
    split_images,
    split_indices,
)

#: Images per invocation of the compiled binary. A GPU binary pays for starting CUDA at
#: every invocation, so it takes more images at a time.
IMAGES_PER_RUN = {"cpp": 100, "cuda": 1000}
#: Evaluation processes at once: a number, a function asked before each evaluation phase,
#: or None (the evaluator's default).
EvalWorkers = int | Callable[[], int] | None


def phase_seed(seed: int, phase: str, offset: int = 0) -> int:
    """Seed of the Poisson draws of one phase (different per phase and position)."""
    key = [seed, ["train", "calibration", "test", "feed"].index(phase), offset]
    return int(np.random.SeedSequence(key).generate_state(1, dtype=np.uint32)[0])


@dataclass
class Evaluation:
    """Readouts fitted on the calibration set and their scores on the test set."""

    voting: SpikeVoting
    linear: LinearReadout
    scores: dict
    accuracy: dict
    error: dict


class Runner:
    """Runs the phases of one network configuration: training through the full model's
    binary, calibration and testing through the evaluation model's (learning off, with
    ``replicas`` replicas, ``eval_workers`` invocations at once; see :mod:`brainlc.sim.replicas`).
    ``eval_workers`` may be a function, asked before each evaluation phase (a campaign's
    task takes the cores no other task uses, :class:`brainlc.campaign.cores.RunningTask`).
    Each is compiled once, when first needed."""

    def __init__(self, config: NetworkConfig, device: str = "cpp", mnist: Mnist | None = None,
                 show_progress: bool = True, replicas: int | None = None,
                 eval_workers: EvalWorkers = None) -> None:
        check_runnable(device)
        check_cache()
        self.config = config
        self.device = device
        self.mnist = mnist
        self.show_progress = show_progress
        self.eval_workers = eval_workers
        self.evaluator = ReplicaEvaluator(config, replicas, workers=None if callable(eval_workers) else eval_workers,
                                          device=device)
        self.compile_s = 0.0

    @functools.cached_property
    def net(self) -> CompiledNetwork:
        """The full model (learning on or off), compiled on first use."""
        net = CompiledNetwork(self.config, images_per_run=IMAGES_PER_RUN[self.device], device=self.device).compile()
        self.compile_s += net.compile_seconds_
        return net

    def _compiled_evaluator(self) -> ReplicaEvaluator:
        if not hasattr(self.evaluator, "manifest_"):
            self.evaluator.compile()
            self.compile_s += self.evaluator.compile_seconds_
        return self.evaluator

    def compile(self, training: bool) -> None:
        """Compile (or find in the cache) what the phases need, before any of them runs."""
        if training:
            self.net  # noqa: B018 - compiles the full model
        self._compiled_evaluator()

    def data(self) -> Mnist:
        if self.mnist is None:
            self.mnist = load_mnist()
        return self.mnist

    def train(self, state: NetworkState, n: int, seed: int, offset: int) -> tuple[NetworkState, float, int]:
        """Train on images ``offset .. offset + n`` of the training permutation; returns the
        new state, seconds and the images the simulation counted as learned from."""
        if n == 0:
            return state, 0.0, 0
        images, _ = split_images(self.data(), "train", split_indices("train", n, seed, offset))
        with Progress("training", n, enabled=self.show_progress) as bar:
            result = self.net.run(state, learning=True, rates=firing_rates(images, self.config),
                                  seed=phase_seed(seed, "train", offset), progress=bar)
        return result.state, bar.seconds, result.images_learned

    def activity(self, state: NetworkState, split: str, n: int, seed: int, offset: int = 0,
                 label: str | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """Spike counts (image, neuron) and labels of images ``offset .. offset + n`` of a
        split's permutation, learning off."""
        images, labels = split_images(self.data(), split, split_indices(split, n, seed, offset))
        evaluator = self._compiled_evaluator()
        if callable(self.eval_workers):
            evaluator.workers = max(1, int(self.eval_workers()))
        with Progress(label or split, n, enabled=self.show_progress) as bar:
            result = evaluator.run(state, rates=firing_rates(images, self.config),
                                   seed=phase_seed(seed, split, offset), progress=bar)
        return result.spike_counts, labels, bar.seconds

    def evaluate(self, state: NetworkState, calibrate: int, test: int, seed: int,
                 score_on: str = "test") -> tuple[Evaluation, float, int]:
        """Calibrate the readouts, then score them on ``test`` images of the test set, or of
        held-out calibration images (``score_on="validation"``, see :mod:`brainlc.experiment.protocol`)."""
        cal_counts, cal_labels, s1 = self.activity(state, "calibration", calibrate, seed)
        split, offset = scored_images(score_on, test, calibrate)
        test_counts, test_labels, s2 = self.activity(state, split, test, seed, offset, label=score_on)
        evaluation = fit_readouts(self.config, seed, cal_counts, cal_labels, test_counts, test_labels)
        return evaluation, s1 + s2, calibrate + test


class TrainingError(BrainlcError, RuntimeError):
    """A training whose result is not what was asked of it: nothing of it is saved."""


def prove_trained(before: NetworkState, after: NetworkState, images: int, counted: int) -> dict:
    """The proof a saved network carries that it trained: the images the simulation itself
    counted with learning on equal the images asked for, and when any were asked for, the
    X->Y weights differ from those it started from. Raises :class:`TrainingError`
    otherwise; returns the record's ``trained`` entry."""
    if counted != images:
        raise TrainingError(f"the simulation counted {counted} training images where {images} were asked for; "
                            "nothing was saved")
    changed = int(np.count_nonzero(before.w_xy != after.w_xy))
    if images > 0 and changed == 0:
        raise TrainingError(f"{images} training images left every X->Y weight as it was; nothing was saved")
    return {"images_counted": counted, "xy_weights_changed": changed}


def fit_readouts(config: NetworkConfig, seed: int, cal_counts: np.ndarray, cal_labels: np.ndarray,
                 test_counts: np.ndarray, test_labels: np.ndarray) -> Evaluation:
    """Fit voting and linear readouts on calibration counts; score all on test counts."""
    voting = SpikeVoting(config.channels, config.conv**2, voting_methods(config.architecture))
    voting.fit(cal_counts, cal_labels)
    linear = linear_readout(cal_counts, cal_labels, seed)
    scores = {m: accuracy_report(test_labels, voting.predict(test_counts, m)) for m in voting.methods}
    scores["vote"] = {**scores[voting.method_], "method": voting.method_}
    scores["linear"] = accuracy_report(test_labels, linear.predict(test_counts))
    scores["votes_distribution"] = votes_distribution(voting.votes_)
    scores["calibration_accuracy"] = voting.fit_accuracy_
    names = [*voting.methods, "vote", "linear"]
    return Evaluation(voting, linear, scores,
                      accuracy={m: scores[m]["accuracy"] for m in names},
                      error={m: scores[m]["error"] for m in names})


def _timings(compile_s: float, train_s: float, n_train: int, eval_s: float, n_eval: int,
             start: float) -> dict:
    return {
        "compile_s": round(compile_s, 3),
        "train_ms_per_image": round(1000 * train_s / n_train, 3) if n_train else None,
        "eval_ms_per_image": round(1000 * eval_s / n_eval, 3) if n_eval else None,
        "total_s": round(time.perf_counter() - start, 3),
    }


def _record(previous: dict | None, event: dict, evaluation: Evaluation, timings: dict,
            images_trained: int, train_offset: int, calibrate: int, test: int) -> dict:
    history = list(previous.get("history", [])) if previous else []
    history.append(event)
    return {
        "images_trained": images_trained,
        "train_offset": train_offset,
        "calibration_images": calibrate,
        "test_images": test,
        "accuracy": evaluation.accuracy,
        "error": evaluation.error,
        "scores": evaluation.scores,
        "timings": timings,
        "history": history,
    }


def _experiment(store: Store, network_id: str, preset: str, config: NetworkConfig, seed: int,
                previous: SavedNetwork | None, train: int, calibrate: int, test: int, event: dict,
                device: str, mnist: Mnist | None, show_progress: bool,
                extra_record: dict | None = None, score_on: str = "test",
                replicas: int | None = None, eval_workers: EvalWorkers = None,
                trained: Trained | None = None) -> SavedNetwork:
    """The one experiment path: check, compile, train, calibrate, test, save a version.

    Everything that can be refused (sizes, seed, device, the store) is refused before any
    work; ``previous`` is the version the experiment continues from (its weights and θ, and
    the new version's parent), None for a new network with initial weights.
    ``extra_record``: more fields for the version's record.json (a task's key).
    ``score_on``: ``"test"`` or ``"validation"`` (held-out calibration images); recorded as
    the record's ``scored_on``. ``replicas`` and ``eval_workers``: of the evaluation
    (:class:`brainlc.sim.replicas.ReplicaEvaluator`; None: chosen for the device and machine).
    ``trained``: the network already trained on its ``train`` images, with others in one
    simulation (:func:`run_new_together`); only calibration, test and saving are left.
    """
    rec = previous.record if previous is not None else {}
    offset = int(rec.get("train_offset", rec.get("images_trained", 0)))
    check_sizes(train, calibrate, test, seed, train_offset=offset, score_on=score_on)
    store.check_writable()
    start = time.perf_counter()
    runner = Runner(config, device, mnist, show_progress, replicas, eval_workers)
    runner.compile(training=train > 0 and trained is None)
    if trained is None:
        before = previous.state if previous is not None else initial_state(config, build_connectivity(config), seed)
        state, train_s, counted = runner.train(before, train, seed, offset)
        proof = prove_trained(before, state, train, counted)
    else:
        state, train_s, proof = trained.state, trained.seconds, trained.proof
        runner.compile_s += trained.compile_seconds
        start -= trained.seconds + trained.compile_seconds
    evaluation, eval_s, n_eval = runner.evaluate(state, calibrate, test, seed, score_on)
    timings = _timings(runner.compile_s, train_s, train, eval_s, n_eval, start)
    event = {**event, "device": device, "replicas": runner.evaluator.replicas, "trained": proof}
    if trained is not None:
        event["trained_together"] = trained.networks
    if previous is not None:
        event["from_version"] = previous.version
    record = _record(rec, event, evaluation, timings, int(rec.get("images_trained", 0)) + train,
                     offset + train, calibrate, test)
    record["preset"] = preset
    record["scored_on"] = score_on
    record.update(extra_record or {})
    return store.save(network_id, preset, config, seed, state, record, evaluation.voting,
                      evaluation.linear, parent=None if previous is None else previous.version)


def run_new(preset_name: str, config: NetworkConfig, store: Store, seed: int = 0,
            train: int = DEFAULT_SIZES["train"], calibrate: int = DEFAULT_SIZES["calibration"],
            test: int = DEFAULT_SIZES["test"], device: str = "cpp", mnist: Mnist | None = None,
            show_progress: bool = True, extra_record: dict | None = None,
            score_on: str = "test", replicas: int | None = None,
            eval_workers: EvalWorkers = None) -> SavedNetwork:
    """Train a new network, calibrate and test it, save it; returns the saved version.

    ``score_on="validation"`` scores on ``test`` held-out calibration images instead of
    the test set (for choosing hyper-parameters).
    """
    event = {"event": "run", "train": train, "calibrate": calibrate, "test": test, "seed": seed}
    return _experiment(store, store.new_id(preset_name), preset_name, config, seed, None,
                       train, calibrate, test, event, device, mnist, show_progress, extra_record, score_on,
                       replicas, eval_workers)


@dataclass
class Trained:
    """A network trained with others in one simulation: its state and its share of the time."""

    state: NetworkState
    seconds: float  # the training's seconds / networks
    compile_seconds: float  # the training binary's compile seconds / networks
    networks: int  # trained together
    proof: dict  # prove_trained's entry for the record


@dataclass
class NewRun:
    """One network of :func:`run_new_together`."""

    preset: str
    config: NetworkConfig
    seed: int
    extra_record: dict | None = None


def run_new_together(runs: Sequence[NewRun], store: Store, train: int = DEFAULT_SIZES["train"],
                     calibrate: int = DEFAULT_SIZES["calibration"], test: int = DEFAULT_SIZES["test"],
                     device: str = "cpp", mnist: Mnist | None = None, score_on: str = "test",
                     eval_workers: EvalWorkers = None) -> list[SavedNetwork]:
    """:func:`run_new` for several networks of one shape, trained at once as training replicas
    (:class:`brainlc.sim.training_replicas.ReplicaTrainer`) in one simulation, then each
    calibrated, tested and saved. Each network is exactly the one :func:`run_new` makes with
    its config and seed (the same images, Poisson draws, weights and scores); its record says
    ``trained_together``. Pays where replicas are faster than one network after another (a
    GPU; docs/evaluation.md), not on a CPU.
    """
    from brainlc.sim.training_replicas import ReplicaTrainer

    if not runs:
        return []
    shape = runs[0].config.shape()
    for run in runs:
        if run.config.shape() != shape:
            raise ProtocolError(f"networks trained together need one shape: {run.config.shape()} is not {shape}")
        check_sizes(train, calibrate, test, run.seed, score_on=score_on)
    store.check_writable()
    check_runnable(device)
    mnist = mnist if mnist is not None else load_mnist()
    connectivity = build_connectivity(runs[0].config)
    initial_states = [initial_state(run.config, connectivity, run.seed) for run in runs]
    trained_states, counted = initial_states, [0] * len(runs)
    seconds = compile_seconds = 0.0
    if train > 0:
        trainer = ReplicaTrainer(runs[0].config, len(runs), images_per_run=min(train, IMAGES_PER_RUN[device]),
                                 device=device).compile()
        rates = [firing_rates(split_images(mnist, "train", split_indices("train", train, run.seed, 0))[0],
                              run.config) for run in runs]
        start = time.perf_counter()
        results = trainer.run(trained_states, [run.config for run in runs], learning=True, rates=rates,
                              seeds=[phase_seed(run.seed, "train", 0) for run in runs])
        seconds, compile_seconds = time.perf_counter() - start, trainer.compile_seconds_
        trained_states = [result.state for result in results]
        counted = [result.images_learned for result in results]
    proofs = [prove_trained(*args, train, n) for *args, n in zip(initial_states, trained_states, counted)]
    event = {"event": "run", "train": train, "calibrate": calibrate, "test": test}
    share = len(runs)
    return [_experiment(store, store.new_id(run.preset), run.preset, run.config, run.seed, None, train,
                        calibrate, test, {**event, "seed": run.seed}, device, mnist, False, run.extra_record,
                        score_on, None, eval_workers,
                        trained=Trained(state, seconds / share, compile_seconds / share, share, proof))
            for run, state, proof in zip(runs, trained_states, proofs)]


def train_more(store: Store, key: str, images: int, device: str = "cpp", mnist: Mnist | None = None,
               show_progress: bool = True, version: int | None = None,
               extra_record: dict | None = None, replicas: int | None = None,
               eval_workers: EvalWorkers = None) -> SavedNetwork:
    """Continue training a saved network (its latest version unless ``version``) on unseen
    training images, then recalibrate and retest (on the split it was scored on); saves a
    new version."""
    if images < 1:
        raise ProtocolError(f"--images must be at least 1 (got {images})")
    saved = store.load(key, version)
    rec = saved.record
    return _experiment(store, saved.id, saved.preset, saved.config, saved.seed, saved,
                       images, int(rec.get("calibration_images", 0)), int(rec.get("test_images", 0)),
                       {"event": "train", "images": images}, device, mnist, show_progress, extra_record,
                       rec.get("scored_on", "test"), replicas, eval_workers)


def evaluate(store: Store, key: str, calibrate: int | None = None, test: int | None = None,
             device: str = "cpp", mnist: Mnist | None = None, show_progress: bool = True,
             version: int | None = None, replicas: int | None = None,
             eval_workers: EvalWorkers = None) -> SavedNetwork:
    """Recalibrate and retest a saved network (weights unchanged; scored on the split it was
    scored on before); saves a new version."""
    saved = store.load(key, version)
    rec = saved.record
    calibrate = int(rec.get("calibration_images", DEFAULT_SIZES["calibration"])) if calibrate is None else calibrate
    test = int(rec.get("test_images", DEFAULT_SIZES["test"])) if test is None else test
    return _experiment(store, saved.id, saved.preset, saved.config, saved.seed, saved,
                       0, calibrate, test, {"event": "evaluate", "calibrate": calibrate, "test": test},
                       device, mnist, show_progress, score_on=rec.get("scored_on", "test"),
                       replicas=replicas, eval_workers=eval_workers)


def predict(saved: SavedNetwork, images: np.ndarray, seed: int = 0) -> dict:
    """Every readout's prediction for uint8 images (n, crop, crop) or (n, 28, 28), learning off."""
    saved.require_readout("classifying images")
    evaluator = ReplicaEvaluator(saved.config, workers=1).compile()
    result = evaluator.run(saved.state, rates=firing_rates(images, saved.config), seed=phase_seed(seed, "feed"))
    counts = result.spike_counts
    out = {m: saved.voting.predict(counts, m).tolist() for m in saved.voting.methods}
    out["vote"] = saved.voting.predict(counts).tolist()
    out["linear"] = saved.linear.predict(counts).tolist()
    out["spikes"] = counts.sum(axis=1).tolist()
    return out


def record(saved: SavedNetwork, split: str = "test", images: int = 100,
           neurons: tuple[int, ...] = (), mnist: Mnist | None = None,
           show_progress: bool = True) -> xr.Dataset:
    """Record a saved network's activity, learning off, as a Dataset (brainlc.storage.recording).

    The images and Poisson draws are those of :func:`evaluate` for the same split and
    count, so analyses of the recording reproduce the evaluation's numbers.
    """
    from brainlc.storage.recording import recording_dataset
    from brainlc.storage.store import now

    config = saved.config
    check_neurons(neurons, config.n_output)
    indices = split_indices(split, images, saved.seed)
    mnist = mnist or load_mnist()
    pixels, labels = split_images(mnist, split, indices)
    net = CompiledNetwork(config, images_per_run=IMAGES_PER_RUN["cpp"], record=tuple(neurons),
                          record_input=True).compile()
    with Progress(f"record {split}", images, enabled=show_progress) as bar:
        result = net.run(saved.state, learning=False, rates=firing_rates(pixels, config),
                         seed=phase_seed(saved.seed, split), progress=bar)
    return recording_dataset(
        config=config, state=saved.state, spike_counts=result.spike_counts,
        spike_image=result.spike_image, spike_step=result.spike_step,
        spike_neuron=result.spike_neuron, input_counts=result.input_counts,
        mnist_index=indices, labels=labels, split=split, seed=saved.seed,
        recorded=tuple(neurons), voltages=result.voltages, thetas=result.thetas,
        voting=saved.voting, linear=saved.linear, network_id=saved.id,
        network_version=saved.version, created=now())
