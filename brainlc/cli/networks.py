"""``brainlc`` commands on saved networks: run (a new one), list, show, delete, import,
train, evaluate and feed."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from brainlc.core.presets import load_preset
from brainlc.experiment.protocol import DEFAULT_SIZES, MAX_SEED, check_seed
from brainlc.storage.store import SavedNetwork, Store, StoreError

from .common import (
    SCORE_ON_ARGS,
    SCORE_ON_KWARGS,
    SharedOptions,
    check_output_path,
    config_with,
    format_scores,
    header_line,
    mention_recovered,
    paper_of,
    percent,
    warn_unusual,
)


@dataclass
class _SavedSummary:
    """What ``show`` prints of a version: read from JSON alone."""

    id: str
    version: int
    preset: str
    seed: int
    record: dict


def _summary_json(saved: SavedNetwork) -> dict:
    rec = saved.record
    return {"id": saved.id, "version": saved.version, "preset": saved.preset,
            "parent": rec.get("parent"), "branch": rec.get("branch", False),
            "accuracy": rec["accuracy"], "error": rec["error"], "timings": rec["timings"]}


def cmd_run(args) -> int:
    preset = load_preset(args.preset)
    config = config_with(preset, args.set, args.competition)
    warn_unusual([config])
    check_output_path(args.json, (".json",), "--json")
    store = Store(args.store)
    from brainlc.experiment.runs import run_new

    saved = run_new(preset.name, config, store, seed=args.seed, train=args.train, calibrate=args.calibrate,
                    test=args.test, device=args.device, score_on=args.score_on, replicas=args.replicas,
                    eval_workers=args.eval_workers)
    print(header_line(saved))
    if args.score_on == "validation":
        print(f"scored on {args.test} validation images (held-out calibration images), not the test set")
    print(format_scores(saved, preset.paper if args.score_on == "test" else None))
    print(f"saved as {saved.id} in {store.root}")
    if args.json:
        Path(args.json).write_text(json.dumps(_summary_json(saved), indent=2) + "\n")
    return 0


def cmd_list(args) -> int:
    store = Store(args.store)
    ids = store.ids()
    mention_recovered(store)
    if not ids:
        print(f"no saved networks in {store.root}")
        return 0
    print(f"{'id':<30}{'ver':>4}{'arch':>5}{'ch':>6}{'k':>4}{'mean_w':>8}{'c_w':>9}{'comp':>6}"
          f"{'trained':>9}{'vote %':>9}{'linear %':>10}  saved")
    for network_id in ids:
        try:
            header = store.header(network_id)
            version, r = store.records(network_id)[-1]
            c = header["config"]
            comp = "train" if c.get("competition_trainable") else "fixed"
            accuracy = r.get("accuracy", {})
            line = (f"{network_id:<30}{version:>4}{c['architecture']:>5}{c['channels']:>6}{c['kernel']:>4}"
                    f"{c['mean_weight']:>8.3g}{c['c_w']:>9.4g}{comp:>6}"
                    f"{r.get('images_trained', 0):>9}{percent(accuracy.get('vote')):>9}"
                    f"{percent(accuracy.get('linear')):>10}  {r.get('saved', '')}")
        except (StoreError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else f"malformed entry ({type(exc).__name__}: {exc})"
            line = f"{network_id:<30}  unreadable: {reason}"
        print(line)
    return 0


def cmd_show(args) -> int:
    store = Store(args.store)
    header, version, rec, vdir = store.summary(args.id, args.version)
    network_id = header.get("id") or vdir.parent.name
    theta = rec.get("theta_mV")
    if theta is None:  # saved by brainlc 0.1: read the weights
        state = store.load(network_id, version).state
        theta = {"mean": float(state.theta.mean()), "max": float(state.theta.max())}
    saved = _SavedSummary(id=vdir.parent.name, version=version, preset=header["preset"],
                          seed=header["seed"], record=rec)
    print(header_line(saved))
    print(f"versions: {store.versions(saved.id)}; folder {vdir}")
    cfg = header["config"]
    print(f"{cfg.get('architecture')}, {cfg.get('channels')} channels, kernel {cfg.get('kernel')}, "
          f"stride {cfg.get('stride')}, mean_weight {cfg.get('mean_weight')}, c_w {cfg.get('c_w')}, "
          f"trainable competition {cfg.get('competition_trainable', False)}")
    print(f"theta: mean {theta['mean']:.3f} mV, max {theta['max']:.3f} mV")
    if not (vdir / "readout.nc").is_file() or "vote" not in rec.get("scores", {}):
        print(f"readout: none (calibrate it with 'brainlc evaluate {saved.id}')")
    else:
        print(format_scores(saved, paper_of(saved.preset)))
        vote = rec["scores"]["vote"]
        per_class = " ".join(f"{k}:{100 * a:.1f}" for k, a in enumerate(vote["per_class_accuracy"]))
        print(f"per-class accuracy of the vote (%): {per_class}")
        print(f"images without any output spike: {vote['no_prediction']} of {vote['n']}")
    print("history:")
    for event in rec.get("history", []):
        print("  " + json.dumps(event))
    return 0


def cmd_delete(args) -> int:
    store = Store(args.store)
    network_id = store.resolve(args.id)
    if not args.yes:
        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (ValueError, OSError):  # stdin closed
            interactive = False
        if not interactive:
            raise StoreError(f"not deleting {network_id} without confirmation: pass --yes")
        try:
            answer = input(f"delete {network_id} and all its versions? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    store.check_writable()
    store.delete(network_id)
    print(f"deleted {network_id}")
    return 0


def cmd_import(args) -> int:
    store = Store(args.store)
    saved = store.import_recovered(args.folder)
    print(f"imported {args.folder} as {saved.id} version {saved.version} in {store.root}")
    return 0


def cmd_train(args) -> int:
    from brainlc.experiment.runs import train_more

    saved = train_more(Store(args.store), args.id, args.images, device=args.device, version=args.version,
                       replicas=args.replicas, eval_workers=args.eval_workers)
    print(header_line(saved))
    print(format_scores(saved, paper_of(saved.preset)))
    return 0


def cmd_evaluate(args) -> int:
    from brainlc.experiment.runs import evaluate

    saved = evaluate(Store(args.store), args.id, args.calibrate, args.test, device=args.device,
                     version=args.version, replicas=args.replicas, eval_workers=args.eval_workers)
    print(header_line(saved))
    print(format_scores(saved, paper_of(saved.preset)))
    return 0


def cmd_feed(args) -> int:
    check_seed(args.seed)
    saved = Store(args.store).load(args.id)
    saved.require_readout("classifying an image")  # before reading the image
    from brainlc.experiment.images import read_digit_image

    image = read_digit_image(args.image)
    from brainlc.experiment.runs import predict

    result = predict(saved, image, seed=args.seed)
    print(f"{args.image}: {result['spikes'][0]} output spikes")
    for method in [*saved.voting.methods, "vote", "linear"]:
        label = result[method][0]
        name = f"vote ({saved.voting.method_})" if method == "vote" else method
        print(f"  {name:<26}{'no prediction (no spikes)' if label < 0 else label}")
    return 0


def add_commands(command, shared: SharedOptions) -> None:
    """The commands on saved networks, added to the parser through ``command``."""
    p = command("run", "train, calibrate, test and save a new network",
                [shared.store, shared.device, shared.evaluation], cmd_run)
    p.add_argument("preset", help=f"preset name ({shared.presets}) or a .toml file")
    p.add_argument("--train", type=int, default=DEFAULT_SIZES["train"], metavar="N",
                   help="training images (0: an untrained network)")
    p.add_argument("--calibrate", type=int, default=DEFAULT_SIZES["calibration"], metavar="N",
                   help="calibration images, at least 100")
    p.add_argument("--test", type=int, default=DEFAULT_SIZES["test"], metavar="N", help="test images")
    p.add_argument("--seed", type=int, default=0, help=f"seed of everything random, 0..{MAX_SEED}")
    p.add_argument("--json", default=None, metavar="FILE.json",
                   help="also write the results as JSON to this file (default: none)")
    p.add_argument("--competition", default=None, choices=["patch", "original"],
                   help="trainable competition: patch (Y->Y synapses only between channels at one "
                        "position) or original (all N² Y->Y entries learn; LC masks them after each "
                        "image) (default: the preset's, patch unless it says otherwise)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a hyper-parameter of the preset, e.g. --set c_w=-80 (repeatable)")
    p.add_argument(*SCORE_ON_ARGS, **SCORE_ON_KWARGS)

    command("list", "list saved networks", [shared.store], cmd_list)
    p = command("show", "show a saved network", [shared.store], cmd_show)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--version", type=int, default=None, help="version to show (default: the latest)")
    p = command("delete", "delete a saved network and all its versions", [shared.store], cmd_delete)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = command("import", "add results that a failed save wrote to a recovery folder", [shared.store], cmd_import)
    p.add_argument("folder", help="the folder that the error message named")
    p = command("train", "continue training on unseen images (saves a new version)",
                [shared.store, shared.device, shared.evaluation, shared.version], cmd_train)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--images", type=int, required=True, metavar="N", help="training images to add, at least 1")
    p = command("evaluate", "recalibrate and retest (saves a new version)",
                [shared.store, shared.device, shared.evaluation, shared.version], cmd_evaluate)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("--calibrate", type=int, default=None, metavar="N",
                   help="calibration images, at least 100 (default: as last time)")
    p.add_argument("--test", type=int, default=None, metavar="N", help="test images (default: as last time)")
    p = command("feed", "classify a digit image (PNG, JPEG, ...)", [shared.store], cmd_feed)
    p.add_argument("id", help="network id or a unique prefix of one")
    p.add_argument("image", help="image file of one digit, any size, dark or light background")
    p.add_argument("--seed", type=int, default=0, help=f"seed of the Poisson input, 0..{MAX_SEED}")
