"""Learning curves (``brainlc curve``): accuracy against training images.

One task per seed trains one network in steps of ``every`` images and calibrates and
tests it before the first step and after each (every point is a version in the store,
so a curve cut short resumes from its last point).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainlc.storage.store import Store, now

from .tasks import Task, finished_results


def curve_tasks(preset: str, every: int, up_to: int, seeds: list[int], calibrate: int, test: int,
                overrides: dict | None = None, device: str = "cpp", score_on: str = "test") -> list[Task]:
    return [Task(preset, seed, up_to, calibrate, test, tuple((overrides or {}).items()), device, "curve", every,
                 score_on) for seed in seeds]


def collect_curve(tasks: list[Task], store: Store, readouts: tuple[str, ...] = ("vote", "linear")) -> xr.Dataset:
    """Accuracy (percent) by seed and training images; NaN where a point is missing."""
    finished = finished_results(store)
    points = tasks[0].points
    seeds = [t.seed for t in tasks]
    data = {m: np.full((len(seeds), len(points)), np.nan) for m in readouts}
    for s, task in enumerate(tasks):
        for f in finished.get(task.key, []):
            images = int(f.record.get("images_trained", -1))
            if images in points:
                for m in readouts:
                    data[m][s, points.index(images)] = 100 * f.record["accuracy"][m]
    ds = xr.Dataset({f"accuracy_{m}": (("seed", "images"), data[m], {"units": "percent"}) for m in readouts},
                    coords={"seed": seeds, "images": points})
    t = tasks[0]
    ds.attrs.update(preset=t.preset, every=t.every, up_to=t.train, calibrate=t.calibrate, test=t.test,
                    created=now())
    return ds


def curve_figure(ds: xr.Dataset) -> Figure:
    """Mean accuracy over seeds against training images, with the spread (± 1 std)."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    x = ds.images.values
    for name in [v for v in ds.data_vars if v.startswith("accuracy_")]:
        values = ds[name].values
        mean = np.nanmean(values, axis=0)
        ax.plot(x, mean, "o-", label=name.removeprefix("accuracy_"))
        if values.shape[0] > 1:
            std = np.nanstd(values, axis=0, ddof=1)
            ax.fill_between(x, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("training images")
    ax.set_ylabel("test accuracy (%)")
    seeds = ds.sizes["seed"]
    ax.set_title(f"{ds.attrs.get('preset', '')}: learning curve ({seeds} seed{'s' * (seeds != 1)}; "
                 f"{ds.attrs.get('calibrate')} calibration / {ds.attrs.get('test')} test images per point)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
