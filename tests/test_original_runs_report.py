"""scripts/original_runs_by_preset.py: the original's saved runs beside each preset."""

import csv
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "original_runs_by_preset.py"
COLUMNS = ["name", "A_neg", "A_pos", "all_voting", "all_voting_n", "c_l", "c_w", "c_w_max", "c_w_min", "crop",
           "intensity", "kernel_size", "lc", "lc_n", "mean_weight", "n_filters", "n_iter", "network_type",
           "old_accuracy", "patch_voting", "patch_voting_n", "spikes_first", "spikes_first_n", "stride", "tau_neg",
           "tau_pos", "time_max", "train_method", "weight_decay"]


def _script():
    spec = importlib.util.spec_from_file_location("original_runs_by_preset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(**values) -> dict:
    base = {c: "" for c in COLUMNS}
    base.update(network_type="LC_SNN", n_filters="25", kernel_size="12", stride="4", c_l="False",
                crop="20", intensity="127.5", time_max="250", train_method="basic", c_w_min="-inf")
    base.update({k: str(v) for k, v in values.items()})
    return base


def test_the_report_counts_only_runs_scored_on_enough_images(tmp_path):
    path = tmp_path / "runs.csv"
    rows = [
        # the preset's own point (lc-25-k12: mean_weight 0.46, c_w -126.67): all_voting is the best vote
        _row(name="a", mean_weight=0.46, c_w=-126.66666666666667, n_iter=5000, patch_voting=0.70,
             patch_voting_n=10000, all_voting=0.75, all_voting_n=10000, lc=0.86, lc_n=10000),
        # a higher vote, but scored on 10 images only: ignored
        _row(name="b", mean_weight=0.3, c_w=-50, n_iter=5000, patch_voting=0.99, patch_voting_n=10),
        # another architecture: not counted for lc-25-k12
        _row(name="c", mean_weight=0.46, c_w=-126.66666666666667, n_iter=5000, n_filters=100,
             patch_voting=0.95, patch_voting_n=10000),
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    text = _script().report(path, None, 1000)
    (line,) = [li for li in text.splitlines() if li.startswith("| `lc-25-k12` ")]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "80.1 / 85.5"  # the paper
    assert cells[3] == "2 (1)"  # two runs of this architecture, one scored on enough images
    assert cells[4] == "75.0 (0.46, -126.7, 5000)"
    assert cells[6] == "86.0 (0.46, -126.7, 5000)"
    assert cells[7] == "75.0 / 86.0 (5000)"
