"""The thesis's table reproduced: every row, several seeds, beside the paper's numbers.

:func:`table_tasks` lists the networks (each row's preset for each seed, and the
trained-competition row once more with the original's competition mode, so that the
table says where a gain from trained competition comes from); :func:`collect` reads
their results from the store into one Dataset (one entry per run); :func:`table_markdown`
writes the table, the paired trained-versus-fixed comparison and the thesis's two claims,
each with its uncertainty.

Accuracies are in percent. "± " is the standard deviation over seeds in the table and
the standard error of a difference in the comparisons.
"""

from __future__ import annotations

import json
import math
import platform
import warnings

import numpy as np
import xarray as xr

from brainlc import __version__
from brainlc.core.presets import load_preset, preset_names
from brainlc.storage.store import Store, now

from .tasks import Task, finished_results

#: Methods whose accuracies every run reports (the voting methods differ by architecture).
READOUTS = ("vote", "linear", "patch_voting", "all_voting", "spikes_first")
#: Presets compared for "locally connected beats convolutional at equal size".
LC_VERSUS_C = (("lc-25-k12", "c-25-k12"), ("lc-25-k8", "c-25-k8"), ("lc-100-k8", "c-100-k8"))
TRAINED, FIXED = "lc-25-k12-trained", "lc-25-k12"
ORIGINAL_COMPETITION = (("competition", "original"),)


def table_rows() -> list[str]:
    """The presets of the paper's table, in its order."""
    rows = [(load_preset(name).paper.get("row"), name) for name in preset_names()]
    return [name for row, name in sorted((r, n) for r, n in rows if r is not None)]


def table_tasks(rows: list[str], seeds: list[int], train: int, calibrate: int, test: int,
                device: str = "cpp") -> list[Task]:
    """One run per row and seed; the trained-competition row also with the original's mode."""
    tasks = [Task(row, seed, train, calibrate, test, device=device) for row in rows for seed in seeds]
    if TRAINED in rows:
        tasks += [Task(TRAINED, seed, train, calibrate, test, ORIGINAL_COMPETITION, device,
                       label=f"{TRAINED} (original competition) seed {seed}") for seed in seeds]
    return tasks


def run_label(task: Task) -> str:
    """Row label of a task: the preset, with its overrides."""
    return task.preset + "".join(f" [{k}={v}]" for k, v in task.overrides)


def collect(tasks: list[Task], store: Store) -> xr.Dataset:
    """The results of the finished tasks (one entry per run, in the order of ``tasks``)."""
    finished = finished_results(store)
    entries = []
    for task in tasks:
        versions = [f for f in finished.get(task.key, []) if f.record.get("images_trained") == task.train]
        if not versions:
            continue
        first = min(versions, key=lambda f: (f.network_id, f.version))
        entries.append((task, first))
    n = len(entries)
    data: dict[str, tuple] = {
        "preset": ("run", np.array([t.preset for t, _ in entries], dtype=object)),
        "label": ("run", np.array([run_label(t) for t, _ in entries], dtype=object)),
        "overrides": ("run", np.array([json.dumps(dict(t.overrides)) for t, _ in entries], dtype=object)),
        "seed": ("run", np.array([t.seed for t, _ in entries], dtype=np.int64)),
        "task_key": ("run", np.array([t.key for t, _ in entries], dtype=object)),
        "network_id": ("run", np.array([f.network_id for _, f in entries], dtype=object)),
        "network_version": ("run", np.array([f.version for _, f in entries], dtype=np.int64)),
        "vote_method": ("run", np.array([f.record["scores"]["vote"].get("method", "")
                                         for _, f in entries], dtype=object)),
    }
    for method in READOUTS:
        values = [100 * f.record["accuracy"].get(method, math.nan) for _, f in entries]
        data[f"accuracy_{method}"] = ("run", np.array(values, dtype=np.float64))
    for name in ("train_ms_per_image", "eval_ms_per_image", "total_s", "compile_s"):
        values = [f.record.get("timings", {}).get(name) for _, f in entries]
        data[name] = ("run", np.array([math.nan if v is None else v for v in values], dtype=np.float64))
    ds = xr.Dataset(data, coords={"run": np.arange(n)})
    for method in READOUTS:
        ds[f"accuracy_{method}"].attrs["units"] = "percent"
    ds["train_ms_per_image"].attrs["units"] = "ms"
    ds["eval_ms_per_image"].attrs["units"] = "ms"
    sizes = {(t.train, t.calibrate, t.test) for t in tasks}
    ds.attrs.update(created=now(), brainlc=__version__, machine=platform.node(), processor=platform.processor(),
                    protocol=json.dumps(sorted(sizes)), readouts_percent=1)
    return ds


def _stats(values: np.ndarray) -> tuple[float, float, int]:
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan, 0
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else math.nan, len(values)


def _pm(mean: float, spread: float, digits: int = 1, sign: bool = False) -> str:
    if math.isnan(mean):
        return "–"
    value = f"{mean:+.{digits}f}" if sign else f"{mean:.{digits}f}"
    if math.isnan(spread):
        return value
    return f"{value} ± {spread:.{digits}f}"


def _verdict(differences: list[tuple[float, float]]) -> str:
    """reproduced: every difference above 0 by 2 standard errors; refuted: one below 0 by 2;
    partly reproduced: some above 0 by 2 standard errors, the others within 2 of no difference."""
    if not differences or any(math.isnan(d) for d, _ in differences):
        return "not measured"
    if any(math.isnan(se) for _, se in differences):
        return "not decided (one seed: no uncertainty)"
    above = sum(d > 2 * se for d, se in differences)
    if above == len(differences):
        return "reproduced"
    if any(d < -2 * se for d, se in differences):
        return "refuted"
    if above:
        return (f"reproduced for {above} of {len(differences)} pairs "
                "(the others within 2 standard errors of no difference)")
    return "not shown (within 2 standard errors of no difference)"


def paper_gain(method: str) -> tuple[float, float]:
    """The paper's trained − fixed competition difference and its standard error (two
    rows of 5 runs each, mean ± std in the presets)."""
    key = {"vote": "method1", "linear": "method2"}[method]
    trained, fixed = load_preset(TRAINED).paper, load_preset(FIXED).paper
    se = math.sqrt(trained.get(f"{key}_std", math.nan) ** 2 / 5 + fixed.get(f"{key}_std", math.nan) ** 2 / 5)
    return trained.get(key, math.nan) - fixed.get(key, math.nan), se


def _against(gain: float, se: float, paper: float, paper_se: float) -> str:
    """brainlc's gain against the paper's: the difference, ± combined SE, and a verdict."""
    if math.isnan(gain) or math.isnan(se):
        return "not decided (one seed: no uncertainty)" if not math.isnan(gain) else "not measured"
    diff, both = gain - paper, math.sqrt(se**2 + paper_se**2)
    word = "smaller" if diff < -2 * both else "larger" if diff > 2 * both else "consistent"
    return f"{word} ({diff:+.1f} ± {both:.1f})"


def paired_difference(ds: xr.Dataset, a: str, b: str, method: str) -> tuple[float, float, int]:
    """Mean and standard error of (a − b) over seeds present for both labels."""
    acc = ds[f"accuracy_{method}"]
    va = {int(s): float(v) for s, v, lab in zip(ds.seed.values, acc.values, ds.label.values) if lab == a}
    vb = {int(s): float(v) for s, v, lab in zip(ds.seed.values, acc.values, ds.label.values) if lab == b}
    diffs = np.array([va[s] - vb[s] for s in sorted(set(va) & set(vb))])
    if not len(diffs):
        return math.nan, math.nan, 0
    se = float(diffs.std(ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else math.nan
    return float(diffs.mean()), se, len(diffs)


def _unpaired(ds: xr.Dataset, a: str, b: str, method: str) -> tuple[float, float]:
    acc = ds[f"accuracy_{method}"].values
    ma, sa, na = _stats(acc[ds.label.values == a])
    mb, sb, nb = _stats(acc[ds.label.values == b])
    if not na or not nb:
        return math.nan, math.nan
    se = math.sqrt(sa**2 / na + sb**2 / nb) if na > 1 and nb > 1 else math.nan
    return ma - mb, se


VOTING_METHODS = ("patch_voting", "all_voting", "spikes_first")


def vote_chosen_on_test(ds: xr.Dataset) -> np.ndarray:
    """Per run, the best voting method's test accuracy (percent): the original's choice."""
    methods = np.stack([ds[f"accuracy_{m}"].values for m in VOTING_METHODS if f"accuracy_{m}" in ds])
    with warnings.catch_warnings():  # a run without any voting score stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(methods, axis=0)


def vote_chosen_on_test_section(ds: xr.Dataset, labels: list[str]) -> list[str]:
    """Markdown: how much choosing the voting method on the test set (as the original did)
    adds to the vote brainlc reports (chosen on the calibration set)."""
    best = vote_chosen_on_test(ds)
    lines = ["", "## The vote if the voting method were chosen on the test set, as the original did", "",
             "The original scored every voting method on the test set and reported the best; brainlc "
             "chooses the method on the calibration set (the table's vote). Mean ± std over seeds; gain "
             "paired by seed.", "",
             "| preset | seeds | vote (chosen on calibration) | vote (chosen on test) | gain |",
             "|---|---|---|---|---|"]
    for label in labels:
        mask = ds.label.values == label
        if not mask.any():
            continue
        vote = ds["accuracy_vote"].values[mask]
        mean, std, n = _stats(vote)
        tmean, tstd, _ = _stats(best[mask])
        gmean, gstd, _ = _stats(best[mask] - vote)
        lines.append(f"| `{label}` | {n} | {_pm(mean, std)} | {_pm(tmean, tstd)} | {_pm(gmean, gstd)} |")
    return lines


def table_markdown(ds: xr.Dataset, rows: list[str], seconds: float | None = None,
                   workers: int | None = None) -> str:
    """The reproduced table beside the paper's, the comparisons and the claims (Markdown)."""
    protocol = json.loads(ds.attrs.get("protocol", "[]"))
    lines = ["# The thesis's table, reproduced with brainlc", ""]
    sizes = ", ".join(f"{t} / {c} / {s}" for t, c, s in protocol)
    lines.append(f"Protocol (train / calibrate / test images): {sizes}. Accuracies in percent, mean ± standard "
                 "deviation over seeds; Δ = brainlc − paper, ± the standard error of that difference. "
                 "vote: the best voting method chosen on the calibration set (method 1); linear: the "
                 "linear readout (method 2).")
    lines += ["", "| row | preset | seeds | vote | paper | Δ vote | linear | paper | Δ linear | train ms/image |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    labels = list(dict.fromkeys([r for r in rows] + [str(x) for x in ds.label.values]))
    for label in labels:
        mask = ds.label.values == label
        preset = load_preset(label.split(" ")[0])
        paper = preset.paper
        cells = [str(paper.get("row", "")) if label in rows else "", f"`{label}`", str(int(mask.sum()))]
        for method, key in (("vote", "method1"), ("linear", "method2")):
            mean, std, n = _stats(ds[f"accuracy_{method}"].values[mask])
            pm, ps = paper.get(key, math.nan), paper.get(f"{key}_std", math.nan)
            cells.append(_pm(mean, std))
            cells.append(_pm(pm, ps) if label in rows else "")
            if n and label in rows and not math.isnan(pm):
                se = math.sqrt((std**2 / n if n > 1 else 0) + ps**2 / 5)
                cells.append(f"{mean - pm:+.1f} ± {se:.1f}")
            else:
                cells.append("")
        train_ms, _, _ = _stats(ds["train_ms_per_image"].values[mask])
        cells.append("–" if math.isnan(train_ms) else f"{train_ms:.1f}")
        lines.append("| " + " | ".join(cells) + " |")

    lines += vote_chosen_on_test_section(ds, labels)
    paper = {m: paper_gain(m) for m in ("vote", "linear")}
    lines += ["", "## Trained versus fixed competition (paired by seed)", "",
              f"`{TRAINED}` − `{FIXED}`; the paper: vote {_pm(*paper['vote'], sign=True)}, linear "
              f"{_pm(*paper['linear'], sign=True)} (± the standard error of a difference of two rows of 5 runs). "
              "Against the paper: brainlc's gain − the paper's, ± the combined standard error; *smaller* or "
              "*larger* when that is beyond 2 standard errors, else *consistent*.", "",
              "| competition mode | seeds | Δ vote | against the paper | Δ linear | against the paper |",
              "|---|---|---|---|---|---|"]
    trained_claim = []
    for mode, label in (("patch (brainlc's default)", TRAINED),
                        ("original (all Y→Y pairs learn)", run_label(Task(TRAINED, 0, 1, 100, 1,
                                                                           ORIGINAL_COMPETITION)))):
        dv, sv, n = paired_difference(ds, label, FIXED, "vote")
        dl, sl, _ = paired_difference(ds, label, FIXED, "linear")
        if n:
            lines.append(f"| {mode} | {n} | {_pm(dv, sv)} | {_against(dv, sv, *paper['vote'])} | {_pm(dl, sl)} | "
                         f"{_against(dl, sl, *paper['linear'])} |")
            trained_claim.append((label, dv, sv, dl, sl))

    lines += ["", "## The thesis's claims", ""]
    pairs = [(lc, c) for lc, c in LC_VERSUS_C if lc in rows and c in rows]
    for method in ("vote", "linear"):
        diffs = [_unpaired(ds, lc, c, method) for lc, c in pairs]
        detail = "; ".join(f"{lc} − {c}: {_pm(d, s)}" for (lc, c), (d, s) in zip(pairs, diffs))
        lines.append(f"- Locally connected beats convolutional at equal size ({method}): "
                     f"**{_verdict(diffs)}**. {detail}")
    for label, dv, sv, dl, sl in trained_claim:
        lines.append(f"- Training the competition increases accuracy, `{label}` against `{FIXED}`: "
                     f"vote **{_verdict([(dv, sv)])}** ({_pm(dv, sv)}), linear **{_verdict([(dl, sl)])}** "
                     f"({_pm(dl, sl)}). Beside the paper's gain, brainlc's is "
                     f"{_against(dv, sv, *paper['vote'])} in vote and {_against(dl, sl, *paper['linear'])} in linear.")
    lines.append("")
    if seconds is not None:
        lines.append(f"Wall time of this command: {seconds / 60:.1f} min on {workers} workers "
                     f"({platform.node()}, {platform.processor() or platform.machine()}).")
    return "\n".join(lines) + "\n"
