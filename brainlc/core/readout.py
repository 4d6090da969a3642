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

Method 2, ``linear``: a seeded logistic regression on standardised spike counts, fitted
on the calibration set with scikit-learn and kept as plain arrays (:class:`LinearReadout`),
which numpy alone turns into predictions: a saved readout does not depend on scikit-learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

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


class SpikeVoting:
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


def _one_blas_thread():
    """BLAS limited to one thread: sums in a fixed order, so a fit gives the same bits in a
    Dask worker (one thread) and in a plain ``brainlc run`` (as many threads as cores).
    Several threads change the last bits of the products, and the solver's iterations can
    grow them into a different readout."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@dataclass
class LinearReadout:
    """A fitted linear readout (method 2) as plain arrays; predicts with numpy alone.

    ``scores = ((counts - mean) / scale) @ coef.T + intercept``; the prediction is the class
    of the highest score (with two classes, ``coef`` has one row and a positive score means
    ``classes[1]``), exactly as scikit-learn's StandardScaler + LogisticRegression predict.
    """

    mean: np.ndarray       #: (neuron,) mean spike count on the calibration set
    scale: np.ndarray      #: (neuron,) standard deviation (1 where it is 0)
    coef: np.ndarray       #: (class or 1, neuron)
    intercept: np.ndarray  #: (class or 1,)
    classes: np.ndarray    #: (class,) the labels seen in fitting

    @classmethod
    def fit(cls, counts: np.ndarray, labels: np.ndarray, seed: int = 0) -> "LinearReadout":
        """Standardise, then a seeded logistic regression (scikit-learn, imported here)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        counts = np.asarray(counts, dtype=np.float64)
        labels = np.asarray(labels)
        if len(np.unique(labels)) < 2:
            raise ValueError("the linear readout needs calibration images of at least two classes")
        with _one_blas_thread():
            scaler = StandardScaler().fit(counts)
            logistic = LogisticRegression(max_iter=1000, random_state=seed).fit(scaler.transform(counts), labels)
        return cls(scaler.mean_.copy(), scaler.scale_.copy(), logistic.coef_.copy(),
                   logistic.intercept_.copy(), logistic.classes_.copy())

    def decision_function(self, counts: np.ndarray) -> np.ndarray:
        x = np.asarray(counts, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.mean.size:
            raise ValueError(f"spike counts have shape {x.shape}; expected (images, {self.mean.size})")
        with _one_blas_thread():
            scores = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, counts: np.ndarray) -> np.ndarray:
        """Predicted class per image."""
        scores = self.decision_function(counts)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes[index]


def linear_readout(counts: np.ndarray, labels: np.ndarray, seed: int) -> LinearReadout:
    """The linear readout (method 2) fitted on calibration counts and labels."""
    return LinearReadout.fit(counts, labels, seed)


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


#: Version of the readout's layout in NetCDF files; readers refuse a newer one.
READOUT_FORMAT = 2  # 1: the linear readout's scikit-learn parameters were stored too


def readout_to_dataset(voting: SpikeVoting, linear: LinearReadout):
    """Fitted readouts as plain arrays (votes per class and neuron; linear parameters)."""
    import xarray as xr

    votes = voting.votes_.reshape(N_CLASSES, -1)
    return xr.Dataset(
        {
            "votes": (("class", "neuron"), votes, {"long_name": "mean spike count per calibration class"}),
            "linear_coef": (("linear_row", "neuron"), linear.coef,
                            {"long_name": "logistic regression coefficients on standardised counts"}),
            "linear_intercept": ("linear_row", linear.intercept),
            "linear_scaler_mean": ("neuron", linear.mean, {"long_name": "mean calibration spike count"}),
            "linear_scaler_scale": ("neuron", linear.scale,
                                    {"long_name": "standard deviation of calibration spike counts"}),
            "linear_classes": ("linear_class", np.asarray(linear.classes, dtype=np.int64)),
        },
        coords={"class": np.arange(N_CLASSES)},
        attrs={
            "readout_format": READOUT_FORMAT,
            "vote_method": voting.method_,
            "vote_methods": json.dumps(list(voting.methods)),
            "vote_fit_accuracy": json.dumps(voting.fit_accuracy_),
            "vote_layout": json.dumps([voting.channels, voting.positions]),
        },
    )


def readout_from_dataset(ds) -> tuple[SpikeVoting, LinearReadout]:
    """Rebuild fitted readouts from :func:`readout_to_dataset` variables and attributes.

    Reads format 1 (classes in an attribute, coefficients over ``class``) and 2; refuses
    a newer format with a message.
    """
    fmt = int(ds.attrs.get("readout_format", 1))
    if fmt > READOUT_FORMAT:
        raise ValueError(f"the readout was written by a newer brainlc (readout format {fmt}; "
                         f"this version reads up to {READOUT_FORMAT}): upgrade brainlc")
    channels, positions = json.loads(ds.attrs["vote_layout"])
    voting = SpikeVoting(channels, positions, tuple(json.loads(ds.attrs["vote_methods"])))
    voting.votes_ = ds["votes"].values.reshape(N_CLASSES, channels, positions)
    voting.classes_ = np.arange(N_CLASSES)
    voting.method_ = ds.attrs["vote_method"]
    voting.fit_accuracy_ = json.loads(ds.attrs["vote_fit_accuracy"])
    classes = (ds["linear_classes"].values if "linear_classes" in ds.variables
               else np.asarray(json.loads(ds.attrs["linear_classes"])))
    linear = LinearReadout(mean=ds["linear_scaler_mean"].values.astype(np.float64),
                           scale=ds["linear_scaler_scale"].values.astype(np.float64),
                           coef=np.atleast_2d(ds["linear_coef"].values.astype(np.float64)),
                           intercept=np.atleast_1d(ds["linear_intercept"].values.astype(np.float64)),
                           classes=np.asarray(classes, dtype=np.int64))
    return voting, linear
