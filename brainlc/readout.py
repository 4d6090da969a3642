"""Readouts: from spike counts to digit labels (thesis "method 1" and "method 2").

Spike counts are (image, neuron) arrays, neuron ``f * positions + p`` for channel f at
position p. Votes are the mean spike count of each neuron on the calibration images of
each class, shape (class, channel, position).

Voting (method 1), for one image with counts ``s`` and ``R = s * votes``:

- ``patch_voting``: score of class k = sum over positions of the best channel's R[k, f, p];
- ``all_voting``: score of class k = sum of R[k] over channels and positions;
- ``spikes_first`` (LC only): at each position take the channel with the most spikes
  (the first on ties) and add its ``s * votes[k]``.

The prediction is the class with the highest score; an image whose scores are all zero
(no neuron spiked, or only neurons with no votes) is predicted as -1 and counts as wrong.
The reported "vote" method is the one with the best accuracy on the calibration set.

Method 2, ``linear``: a seeded scikit-learn logistic regression on standardised spike
counts, fitted on the calibration set.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

N_CLASSES = 10
VOTING_METHODS = ("patch_voting", "all_voting", "spikes_first")
NO_PREDICTION = -1
_SCORE_BUDGET = 4_000_000  # numbers held at once while scoring


def voting_methods(architecture: str) -> tuple[str, ...]:
    """The voting methods of an architecture (``spikes_first`` is LC only, as in the thesis)."""
    return VOTING_METHODS if architecture == "LC" else VOTING_METHODS[:2]


def _scores_batch(counts: np.ndarray, votes: np.ndarray, method: str) -> np.ndarray:
    """Class scores (image, class) of counts (image, channel, position)."""
    if method == "all_voting":
        return np.einsum("nfp,kfp->nk", counts, votes)
    if method == "patch_voting":
        weighted = counts[:, None, :, :] * votes[None]  # (n, k, f, p)
        return weighted.max(axis=2).sum(axis=2)
    if method == "spikes_first":
        best = counts.argmax(axis=1)  # (n, p): channel with most spikes at each position
        n_img, n_pos = best.shape
        chosen_counts = np.take_along_axis(counts, best[:, None, :], axis=1)[:, 0, :]  # (n, p)
        chosen_votes = votes[:, best, np.arange(n_pos)[None, :]]  # (k, n, p)
        return np.einsum("np,knp->nk", chosen_counts, chosen_votes)
    raise ValueError(f"unknown voting method {method!r}; methods: {', '.join(VOTING_METHODS)}")


class SpikeVoting(ClassifierMixin, BaseEstimator):
    """Vote-based readout (thesis method 1), with scikit-learn's estimator conventions.

    Parameters
    ----------
    channels, positions : layout of the Y layer (neuron = channel * positions + position).
    methods : voting methods to consider; :meth:`fit` picks the one with the best
        accuracy on the data it was fitted on (the calibration set).

    Attributes (after fit)
    ----------------------
    votes_ : (class, channel, position) mean spike count per class.
    method_ : the chosen method.
    fit_accuracy_ : accuracy of each method on the fitting data.
    classes_ : 0..9.
    """

    def __init__(self, channels: int, positions: int, methods: tuple[str, ...] = VOTING_METHODS):
        self.channels = channels
        self.positions = positions
        self.methods = methods

    def _reshape(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        expected = self.channels * self.positions
        if counts.ndim != 2 or counts.shape[1] != expected:
            raise ValueError(f"spike counts have shape {counts.shape}; expected (images, {expected})")
        return counts.reshape(len(counts), self.channels, self.positions)

    def fit(self, counts: np.ndarray, labels: np.ndarray) -> "SpikeVoting":
        """Votes from calibration counts and labels, then the best method."""
        x = self._reshape(counts)
        labels = np.asarray(labels)
        votes = np.zeros((N_CLASSES, self.channels, self.positions))
        for k in range(N_CLASSES):
            members = labels == k
            if members.any():
                votes[k] = x[members].mean(axis=0)
        self.votes_ = votes
        self.classes_ = np.arange(N_CLASSES)
        self.fit_accuracy_ = {m: float(np.mean(self.predict(counts, m) == labels)) for m in self.methods}
        self.method_ = max(self.methods, key=lambda m: self.fit_accuracy_[m])  # first on ties
        return self

    def decision_function(self, counts: np.ndarray, method: str | None = None) -> np.ndarray:
        """Class scores (image, class)."""
        x = self._reshape(counts)
        method = method or self.method_
        batch = max(1, _SCORE_BUDGET // (N_CLASSES * self.channels * self.positions))
        parts = [_scores_batch(x[i : i + batch], self.votes_, method) for i in range(0, len(x), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, N_CLASSES))

    def predict(self, counts: np.ndarray, method: str | None = None) -> np.ndarray:
        """Predicted class per image; -1 where all scores are zero."""
        scores = self.decision_function(counts, method)
        prediction = scores.argmax(axis=1)
        prediction[scores.sum(axis=1) == 0] = NO_PREDICTION
        return prediction


def linear_readout(seed: int) -> Pipeline:
    """The linear readout (method 2): standardisation, then seeded logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def accuracy_report(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy with its binomial standard error, per-class accuracy, confusion matrix.

    The confusion matrix has rows = true class (normalised per row) and 11 columns:
    predicted classes 0-9, then "no prediction" (-1).
    """
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    n = len(labels)
    correct = predictions == labels
    acc = float(correct.mean()) if n else float("nan")
    counts = np.zeros((N_CLASSES, N_CLASSES + 1))
    columns = np.where(predictions == NO_PREDICTION, N_CLASSES, predictions)
    np.add.at(counts, (labels, columns), 1)
    per_row = counts.sum(axis=1, keepdims=True)
    confusion = np.divide(counts, per_row, out=np.zeros_like(counts), where=per_row > 0)
    per_class = np.diag(confusion[:, :N_CLASSES])
    class_n = per_row[:, 0]
    return {
        "accuracy": acc,
        "error": float(np.sqrt(acc * (1 - acc) / n)) if n else float("nan"),
        "n": int(n),
        "no_prediction": int(np.sum(predictions == NO_PREDICTION)),
        "per_class_accuracy": per_class.tolist(),
        "per_class_error": np.sqrt(per_class * (1 - per_class) / np.maximum(class_n, 1)).tolist(),
        "per_class_n": class_n.astype(int).tolist(),
        "confusion": confusion.tolist(),
    }


def votes_distribution(votes: np.ndarray) -> dict:
    """Each neuron's 10 votes sorted in descending order: mean, min, max over neurons per rank."""
    flat = np.asarray(votes).reshape(N_CLASSES, -1).T  # (neuron, class)
    ranked = -np.sort(-flat, axis=1)
    return {"mean": ranked.mean(axis=0).tolist(), "min": ranked.min(axis=0).tolist(),
            "max": ranked.max(axis=0).tolist()}


def readout_to_dataset(voting: SpikeVoting, linear: Pipeline) -> xr.Dataset:
    """Fitted readouts as plain arrays (votes per class and neuron; linear parameters)."""
    scaler, logistic = linear[0], linear[-1]
    votes = voting.votes_.reshape(N_CLASSES, -1)
    return xr.Dataset(
        {
            "votes": (("class", "neuron"), votes, {"long_name": "mean spike count per calibration class"}),
            "linear_coef": (("class", "neuron"), logistic.coef_),
            "linear_intercept": ("class", logistic.intercept_),
            "linear_scaler_mean": ("neuron", scaler.mean_),
            "linear_scaler_scale": ("neuron", scaler.scale_),
        },
        coords={"class": np.arange(N_CLASSES)},
        attrs={
            "vote_method": voting.method_,
            "vote_methods": json.dumps(list(voting.methods)),
            "vote_fit_accuracy": json.dumps(voting.fit_accuracy_),
            "vote_layout": json.dumps([voting.channels, voting.positions]),
            "linear_classes": json.dumps(logistic.classes_.tolist()),
            "linear_params": json.dumps(logistic.get_params()),
        },
    )


def readout_from_dataset(ds: xr.Dataset) -> tuple[SpikeVoting, Pipeline]:
    """Rebuild fitted readouts from :func:`readout_to_dataset` variables and attributes."""
    channels, positions = json.loads(ds.attrs["vote_layout"])
    voting = SpikeVoting(channels, positions, tuple(json.loads(ds.attrs["vote_methods"])))
    voting.votes_ = ds["votes"].values.reshape(N_CLASSES, channels, positions)
    voting.classes_ = np.arange(N_CLASSES)
    voting.method_ = ds.attrs["vote_method"]
    voting.fit_accuracy_ = json.loads(ds.attrs["vote_fit_accuracy"])
    scaler = StandardScaler()
    scaler.mean_ = ds["linear_scaler_mean"].values
    scaler.scale_ = ds["linear_scaler_scale"].values
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = scaler.mean_.size
    logistic = LogisticRegression(**json.loads(ds.attrs["linear_params"]))
    logistic.coef_ = ds["linear_coef"].values
    logistic.intercept_ = ds["linear_intercept"].values
    logistic.classes_ = np.asarray(json.loads(ds.attrs["linear_classes"]))
    logistic.n_features_in_ = logistic.coef_.shape[1]
    return voting, make_pipeline(scaler, logistic)
