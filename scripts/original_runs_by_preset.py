"""The original's saved runs beside each preset of the paper's table (Markdown).

For every row of the table: the paper's numbers, brainlc's (from a reproduction's
``runs.nc``), and what the original's own saved runs of the same architecture reached
(``original-saved-runs.csv``): the best vote and linear accuracy of any run, the best at the
paper's 5,000 training images, and the runs with the preset's own mean_weight and c_w.
The original's vote is the best of its voting methods, chosen on its test set, counted only
where it was scored on at least ``--min-images`` test images.

    python scripts/original_runs_by_preset.py \
        --runs results/table/runs.nc -o results/original-runs-by-preset.md
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from brainlc.campaign.reproduce import table_rows
from brainlc.campaign.sweep import _as_float, original_rows
from brainlc.core.presets import load_preset

VOTING = ("patch_voting", "all_voting", "spikes_first")


def run_scores(row: dict, min_images: int) -> tuple[float, float]:
    """(vote, linear) of one saved run in percent; NaN where scored on too few images."""
    votes = [_as_float(row[m]) for m in VOTING if _as_float(row[f"{m}_n"]) >= min_images]
    votes = [v for v in votes if not math.isnan(v)]
    vote = 100 * max(votes) if votes else math.nan
    linear = 100 * _as_float(row["lc"]) if _as_float(row["lc_n"]) >= min_images else math.nan
    return vote, linear


def best(rows: list[dict], scores: list[tuple[float, float]], which: int) -> str:
    """The best score of one readout and the run's mean_weight, c_w and training images."""
    values = [s[which] for s in scores]
    if not any(np.isfinite(values)):
        return "–"
    i = int(np.nanargmax(values))
    r = rows[i]
    return (f"{values[i]:.1f} ({_as_float(r['mean_weight']):.2g}, {_as_float(r['c_w']):.4g}, "
            f"{int(_as_float(r['n_iter']))})")


def brainlc_scores(runs_nc: Path | None) -> dict[str, tuple[float, float, int]]:
    """Mean vote and linear accuracy and the number of seeds per table row of runs.nc."""
    if runs_nc is None or not runs_nc.is_file():
        return {}
    import xarray as xr

    ds = xr.open_dataset(runs_nc)
    out = {}
    for label in set(ds.label.values.tolist()):
        mask = ds.label.values == label
        out[label] = (float(ds.accuracy_vote.values[mask].mean()), float(ds.accuracy_linear.values[mask].mean()),
                      int(mask.sum()))
    return out


def report(csv_path: Path, runs_nc: Path | None, min_images: int) -> str:
    ours = brainlc_scores(runs_nc)
    lines = ["# The original's saved runs beside each preset", "",
             f"From `{csv_path.name}` (the original's {sum(1 for _ in open(csv_path)) - 1} saved runs). Same network "
             "type, channels, kernel, stride and trainability of the competition as the preset. Vote: the best of "
             "the original's voting methods, chosen on its test set; only scores measured on at least "
             f"{min_images} test images count. Best runs as accuracy (mean_weight, c_w, training images). "
             "brainlc: mean over the seeds of the reproduction, vote chosen on the calibration set.", "",
             "| preset | paper vote / linear | brainlc vote / linear (seeds) | original runs (scored) "
             "| original best vote | best vote at 5000 images | original best linear "
             "| original at the preset's mean_weight, c_w: vote / linear (training images) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in table_rows():
        preset = load_preset(name)
        cfg = preset.config
        rows = original_rows(csv_path, cfg)
        scores = [run_scores(r, min_images) for r in rows]
        scored = sum(1 for v, li in scores if np.isfinite(v) or np.isfinite(li))
        at_5000 = [(r, s) for r, s in zip(rows, scores) if _as_float(r["n_iter"]) == 5000]
        same = [(r, s) for r, s in zip(rows, scores)
                if math.isclose(_as_float(r["mean_weight"]), cfg.mean_weight, abs_tol=1e-9)
                and math.isclose(_as_float(r["c_w"]), cfg.c_w, abs_tol=1e-6) and np.isfinite(s).any()]
        paper = preset.paper
        mine = ours.get(name)
        lines.append(" | ".join([
            f"| `{name}`", f"{paper.get('method1', math.nan):.1f} / {paper.get('method2', math.nan):.1f}",
            f"{mine[0]:.1f} / {mine[1]:.1f} ({mine[2]})" if mine else "–",
            f"{len(rows)} ({scored})", best(rows, scores, 0),
            best([r for r, _ in at_5000], [s for _, s in at_5000], 0) if at_5000 else "–",
            best(rows, scores, 1), summary(same)]) + " |")
    return "\n".join(lines) + "\n"


def summary(runs: list[tuple[dict, tuple[float, float]]]) -> str:
    """One run as vote / linear (training images); several as their count, median and best."""
    if not runs:
        return "–"
    if len(runs) == 1:
        r, (v, li) = runs[0]
        return f"{_fmt(v)} / {_fmt(li)} ({int(_as_float(r['n_iter']))})"
    votes = np.array([s[0] for _, s in runs])
    linears = np.array([s[1] for _, s in runs])
    images = sorted({int(_as_float(r["n_iter"])) for r, _ in runs})
    return (f"{len(runs)} runs (training images {', '.join(map(str, images))}): vote median "
            f"{_fmt(float(np.nanmedian(votes)))}, best {_fmt(float(np.nanmax(votes)))}; linear best "
            f"{_fmt(float(np.nanmax(linears))) if np.isfinite(linears).any() else '–'}")


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=None,
                        help="original-saved-runs.csv (default: the table packaged with brainlc)")
    parser.add_argument("--runs", type=Path, default=None, help="a reproduction's runs.nc (optional)")
    parser.add_argument("--min-images", type=int, default=1000, help="fewest test images of a counted score")
    parser.add_argument("-o", "--output", type=Path, required=True, help="Markdown file to write")
    args = parser.parse_args()
    from brainlc.campaign.sweep import packaged_original_runs

    text = report(args.csv or packaged_original_runs(), args.runs, args.min_images)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
