"""Grid searches over hyper-parameters (``brainlc sweep``), as in the thesis.

Every point of the grid is one task per seed (:mod:`brainlc.campaign.tasks`). The results go to
a Dataset with one dimension per swept parameter and one for the seed; each readout
gets a heatmap (two parameters) or a line (one parameter). Where the original's saved
runs (``original-saved-runs.csv``, see :func:`original_runs`) include networks of the
same architecture, their accuracies are drawn beside brainlc's on the same axes.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainlc.core.config import NetworkConfig
from brainlc.storage.store import Store, now

from .tasks import Task, finished_results

#: brainlc name -> (column of the original's saved runs, factor to brainlc's convention).
ORIGINAL_COLUMNS = {"mean_weight": ("mean_weight", 1.0), "c_w": ("c_w", 1.0), "tau_plus": ("tau_pos", 1.0),
                    "tau_minus": ("tau_neg", 1.0), "a_plus": ("A_neg", 1.0), "a_minus": ("A_pos", -1.0),
                    "intensity": ("intensity", 1.0), "weight_decay": ("weight_decay", 1.0),
                    "c_w_min": ("c_w_min", 1.0), "c_w_max": ("c_w_max", 1.0)}
ORIGINAL_TYPES = {"LC": "LC_SNN", "C": "C_SNN", "FC": "FC_SNN"}


def grid_tasks(preset: str, axes: dict[str, list], seeds: list[int], train: int, calibrate: int, test: int,
               base_overrides: dict | None = None, device: str = "cpp", score_on: str = "test") -> list[Task]:
    """One task per grid point and seed (the grid's last axis varies fastest); scored on
    ``test`` images of the test set or of held-out calibration images (``score_on``)."""
    base = dict(base_overrides or {})
    tasks = []
    for values in itertools.product(*axes.values()):
        point = {**base, **dict(zip(axes, values))}
        for seed in seeds:
            tasks.append(Task(preset, seed, train, calibrate, test, tuple(point.items()), device,
                              score_on=score_on))
    return tasks


def collect_grid(tasks: list[Task], axes: dict[str, list], seeds: list[int], store: Store,
                 readouts: tuple[str, ...] = ("vote", "linear")) -> xr.Dataset:
    """Accuracy (percent) of every grid point and seed; NaN where a task has no result."""
    finished = finished_results(store)
    shape = [len(v) for v in axes.values()] + [len(seeds)]
    data = {m: np.full(shape, np.nan) for m in readouts}
    ids = np.full(shape, "", dtype=object)
    for task in tasks:
        hits = [f for f in finished.get(task.key, []) if f.record.get("images_trained") == task.train]
        if not hits:
            continue
        over = dict(task.overrides)
        index = tuple(axes[name].index(over[name]) for name in axes) + (seeds.index(task.seed),)
        for m in readouts:
            data[m][index] = 100 * hits[0].record["accuracy"][m]
        ids[index] = hits[0].network_id
    dims = [*axes, "seed"]
    coords = {name: np.asarray(values) for name, values in axes.items()} | {"seed": np.asarray(seeds)}
    ds = xr.Dataset({f"accuracy_{m}": (dims, data[m], {"units": "percent"}) for m in readouts}, coords=coords)
    ds["network_id"] = (dims, ids)
    t = tasks[0]
    ds.attrs.update(preset=t.preset, train=t.train, calibrate=t.calibrate, test=t.test, scored_on=t.score_on,
                    created=now())
    return ds


def _as_float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def original_rows(csv_path: Path, config: NetworkConfig) -> list[dict]:
    """The original's saved runs (rows of ``original-saved-runs.csv``) of the same network
    type, channels, kernel, stride and trainability of the competition as ``config``."""
    rows = []
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["network_type"] != ORIGINAL_TYPES[config.architecture]:
                continue
            if _as_float(row["n_filters"]) != config.channels:
                continue
            if config.architecture != "FC" and (_as_float(row["kernel_size"]) != config.kernel
                                                or _as_float(row["stride"]) != config.stride):
                continue
            if (row["c_l"] in ("True", "1")) != config.competition_trainable:
                continue
            rows.append(row)
    return rows


def packaged_original_runs() -> Path:
    """The original's 680 saved runs (hyper-parameters and accuracies), packaged with brainlc."""
    from importlib import resources

    return Path(str(resources.files("brainlc") / "resources" / "original-saved-runs.csv"))


def original_runs(csv_path: Path, config: NetworkConfig, names: list[str], train: int | None = None) -> dict:
    """The original's saved runs of the same architecture, as arrays per swept parameter.

    Same network type, channels, kernel, stride and trainability. The original's vote is
    the best of its voting methods (it chose the method on the test set); its linear
    readout is the ``lc`` column. Runs trained on ``train`` images are preferred when
    there are any. Returns {} when the runs cannot be placed on these axes.
    """
    if not csv_path.is_file() or any(n not in ORIGINAL_COLUMNS for n in names):
        return {}
    rows = original_rows(csv_path, config)
    if train is not None and any(_as_float(r["n_iter"]) == train for r in rows):
        rows = [r for r in rows if _as_float(r["n_iter"]) == train]
    if not rows:
        return {}
    out = {name: np.array([_as_float(r[ORIGINAL_COLUMNS[name][0]]) * ORIGINAL_COLUMNS[name][1] for r in rows])
           for name in names}
    votes = [[_as_float(r[m]) for m in ("patch_voting", "all_voting", "spikes_first", "old_accuracy")] for r in rows]
    out["vote"] = 100 * np.array([np.nanmax(v) if not all(math.isnan(x) for x in v) else math.nan for v in votes])
    out["linear"] = 100 * np.array([_as_float(r["lc"]) for r in rows])
    out["n_iter"] = sorted({int(_as_float(r["n_iter"])) for r in rows})
    return out


def sweep_figure(ds: xr.Dataset, readout: str, original: dict) -> Figure:
    """Mean accuracy over seeds on the grid, and the original's runs on the same axes."""
    names = [d for d in ds[f"accuracy_{readout}"].dims if d != "seed"]
    mean = ds[f"accuracy_{readout}"].mean("seed", skipna=True).values
    has_original = bool(original) and np.isfinite(original.get(readout, np.array([np.nan]))).any()
    fig = Figure(figsize=(11 if has_original else 6, 4.5))
    axes = fig.subplots(1, 2 if has_original else 1, squeeze=False)[0]
    values = [mean[np.isfinite(mean)]] + ([original[readout][np.isfinite(original[readout])]]
                                          if has_original else [])
    finite = np.concatenate(values) if values else np.array([])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 100.0)
    scored_on = ds.attrs.get("scored_on", "test")
    title = f"{ds.attrs.get('preset', '')}: {readout} {scored_on} accuracy (%), brainlc"
    if len(names) == 2:
        x, y = ds[names[1]].values.astype(float), ds[names[0]].values.astype(float)
        image = axes[0].pcolormesh(_edges(x), _edges(y), mean, vmin=vmin, vmax=vmax, cmap="viridis")
        for i, j in itertools.product(range(len(y)), range(len(x))):
            if np.isfinite(mean[i, j]):
                axes[0].text(x[j], y[i], f"{mean[i, j]:.1f}", ha="center", va="center", fontsize=6, color="w")
        axes[0].set_xlabel(names[1])
        axes[0].set_ylabel(names[0])
        fig.colorbar(image, ax=axes[-1] if has_original else axes[0], label="accuracy (%)")
        if has_original:
            ok = np.isfinite(original[readout])
            axes[1].scatter(original[names[1]][ok], original[names[0]][ok], c=original[readout][ok],
                            vmin=vmin, vmax=vmax, cmap="viridis", edgecolors="k", s=40)
            axes[1].set_xlim(axes[0].get_xlim())
            axes[1].set_ylim(axes[0].get_ylim())
            axes[1].set_xlabel(names[1])
            axes[1].set_title(f"the original's saved runs ({int(ok.sum())}; {original['n_iter']} training images)",
                              fontsize=9)
    else:
        x = ds[names[0]].values.astype(float)
        axes[0].plot(x, mean.ravel(), "o-", label="brainlc (mean over seeds)")
        axes[0].set_xlabel(names[0])
        axes[0].set_ylabel("accuracy (%)")
        if has_original:
            ok = np.isfinite(original[readout])
            axes[1].scatter(original[names[0]][ok], original[readout][ok], s=20)
            axes[1].set_xlim(axes[0].get_xlim())
            axes[1].set_ylim(axes[0].get_ylim())
            axes[1].set_xlabel(names[0])
            axes[1].set_title("the original's saved runs", fontsize=9)
    axes[0].set_title(title, fontsize=9)
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (one cell of width 1 for a single value)."""
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])
