import json

import numpy as np
import pytest

from brainlc.core.readout import SpikeVoting, accuracy_report, linear_readout, votes_distribution
from brainlc.experiment.protocol import ProtocolError, split_indices


def two_by_two_counts():
    """2 channels x 2 positions; neuron = channel * 2 + position."""
    return SpikeVoting(channels=2, positions=2)


def test_votes_are_mean_counts_per_class():
    v = two_by_two_counts()
    counts = np.array([[1, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 4]] + [[0, 0, 0, 0]] * 7)
    labels = np.array([0, 0, 1] + list(range(2, 9)))
    v.fit(counts, labels)
    assert v.votes_.shape == (10, 2, 2)
    assert v.votes_[0, 0, 0] == 2.0 and v.votes_[1, 1, 1] == 4.0 and v.votes_[9].sum() == 0


def test_the_three_voting_rules_on_a_hand_made_case():
    v = two_by_two_counts()
    v.votes_ = np.zeros((10, 2, 2))
    # class 1: channel 0 votes strongly at both positions; class 2: channel 1 at position 0
    v.votes_[1, 0, 0] = v.votes_[1, 0, 1] = 1.0
    v.votes_[2, 1, 0] = 5.0
    v.votes_[3, 0, 0] = v.votes_[3, 1, 0] = 1.6
    v.method_ = "patch_voting"
    counts = np.array([[2, 2, 1, 0]])  # neurons (f0,p0)=2 (f0,p1)=2 (f1,p0)=1 (f1,p1)=0
    # patch: class1 = max(2,0)+max(2,0)=4; class2 = max(0,5)=5; class3 = max(3.2,1.6)=3.2
    np.testing.assert_allclose(v.decision_function(counts, "patch_voting")[0, 1:4], [4, 5, 3.2])
    # all: class1 = 4, class2 = 5, class3 = 3.2 + 1.6 = 4.8
    np.testing.assert_allclose(v.decision_function(counts, "all_voting")[0, 1:4], [4, 5, 4.8])
    # spikes first: position 0 -> channel 0 (2 > 1), position 1 -> channel 0
    np.testing.assert_allclose(v.decision_function(counts, "spikes_first")[0, 1:4], [4, 0, 3.2])
    assert v.predict(counts, "patch_voting")[0] == 2
    assert v.predict(counts, "spikes_first")[0] == 1
    assert v.predict(np.zeros((1, 4)), "all_voting")[0] == -1


def test_method_is_chosen_on_the_fitting_set():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 30)
    counts = rng.poisson(0.3, size=(300, 20 * 4)).astype(float)
    for k in range(10):  # channel k answers to class k at every position
        counts[labels == k, k * 4 : k * 4 + 4] += rng.poisson(3, size=(30, 4))
    v = SpikeVoting(20, 4).fit(counts, labels)
    assert v.method_ in v.methods and v.fit_accuracy_[v.method_] == max(v.fit_accuracy_.values())
    assert v.fit_accuracy_[v.method_] > 0.9
    lin = linear_readout(counts, labels, seed=0)
    assert (lin.predict(counts) == labels).mean() > 0.9
    again = linear_readout(counts, labels, seed=0)
    np.testing.assert_array_equal(lin.coef, again.coef)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_the_numpy_linear_readout_predicts_exactly_as_scikit_learn(n_classes):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(n_classes)
    labels = rng.integers(0, n_classes, 400)
    counts = rng.poisson(1.0, size=(400, 30)).astype(float)
    counts[:, 0] = 0.0  # a neuron that never spikes: scale 0 -> 1
    counts[np.arange(400), 1 + labels] += rng.poisson(2, 400)
    ours = linear_readout(counts[:300], labels[:300], seed=3)
    theirs = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=3))
    theirs.fit(counts[:300], labels[:300])
    np.testing.assert_array_equal(ours.predict(counts[300:]), theirs.predict(counts[300:]))
    np.testing.assert_allclose(ours.decision_function(counts[300:]),
                               theirs.decision_function(counts[300:]), rtol=1e-12, atol=1e-12)


def _fitted_readouts(seed):
    """Spike counts (200 images, 2 channels x 4 positions) and the readouts fitted on them."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 20)
    counts = rng.poisson(1.0, size=(200, 8)).astype(float)
    return counts, SpikeVoting(2, 4).fit(counts, labels), linear_readout(counts, labels, seed=0)


def test_the_linear_readout_is_the_same_bits_whatever_the_blas_thread_count():
    # A Dask worker has one BLAS thread, a plain `brainlc run` one per core; the readout must not care.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 6000)
    counts = rng.poisson(rng.gamma(1.0, 1.0, (10, 225))[labels]).astype(float)
    fits = []
    for threads in (1, 2, 4):
        with threadpool_limits(limits=threads, user_api="blas"):
            readout = linear_readout(counts, labels, seed=0)
            fits.append((readout.coef, readout.intercept, readout.decision_function(counts)))
    for other in fits[1:]:
        for a, b in zip(fits[0], other):
            np.testing.assert_array_equal(a, b)


def test_the_linear_readout_round_trips_through_plain_arrays_and_refuses_newer_formats():
    from brainlc.core.readout import readout_from_dataset, readout_to_dataset

    counts, voting, linear = _fitted_readouts(1)
    ds = readout_to_dataset(voting, linear)
    assert not any("param" in key for key in ds.attrs)  # nothing scikit-learn specific
    _, back = readout_from_dataset(ds)
    np.testing.assert_array_equal(back.predict(counts), linear.predict(counts))
    ds.attrs["readout_format"] = 99
    with pytest.raises(ValueError, match="newer brainlc"):
        readout_from_dataset(ds)


def test_the_linear_readout_needs_two_classes():
    with pytest.raises(ValueError, match="at least two classes"):
        linear_readout(np.ones((5, 3)), np.zeros(5, dtype=int), seed=0)


def test_accuracy_report_counts_no_prediction_as_wrong():
    labels = np.array([0, 0, 1, 1])
    preds = np.array([0, -1, 1, 0])
    rep = accuracy_report(labels, preds)
    assert rep["accuracy"] == 0.5 and rep["no_prediction"] == 1
    assert rep["error"] == pytest.approx(np.sqrt(0.25 / 4))
    conf = np.array(rep["confusion"])
    assert conf.shape == (10, 11)
    np.testing.assert_allclose(conf[0, [0, 10]], [0.5, 0.5])
    np.testing.assert_allclose(conf[1, [0, 1]], [0.5, 0.5])
    assert rep["per_class_accuracy"][:2] == [0.5, 0.5]


def test_votes_distribution_is_sorted_per_neuron():
    votes = np.zeros((10, 1, 2))
    votes[:, 0, 0] = np.arange(10)
    votes[3, 0, 1] = 4.0
    dist = votes_distribution(votes)
    assert dist["mean"][0] == (9 + 4) / 2 and dist["max"][0] == 9 and dist["min"][-1] == 0


def test_splits_are_disjoint_seeded_and_without_replacement():
    a = split_indices("train", 50_000, seed=3)
    assert np.array_equal(np.sort(a), np.arange(50_000))
    assert np.array_equal(split_indices("train", 100, 3), a[:100])
    assert np.array_equal(split_indices("train", 100, 3, offset=100), a[100:200])
    assert not np.array_equal(split_indices("train", 100, 4), a[:100])
    cal = split_indices("calibration", 10_000, seed=3)
    assert cal.min() == 50_000 and cal.max() == 59_999 and np.unique(cal).size == 10_000
    with pytest.raises(ProtocolError, match="the test split has 10000 images"):
        split_indices("test", 10_001, 0)
    with pytest.raises(ProtocolError, match="after 49990 already used"):
        split_indices("train", 20, 0, offset=49_990)


def test_progress_draws_a_bar_on_a_terminal_and_one_line_otherwise():
    import io

    from brainlc.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    with Progress("training", 200, stream=tty) as bar:
        bar(100)
        bar(100)
    text = tty.getvalue()
    assert "\r" in text and "200/200" in text and "images/s" in text and "s left" in text
    log = io.StringIO()
    with Progress("test", 50, stream=log) as bar:
        bar(50)
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("test: 50 images in ")


def test_a_readout_saved_by_brainlc_0_1_is_still_read():
    """Format 1: classes and scikit-learn's parameters in attributes, coefficients over class."""
    from brainlc.core.readout import readout_from_dataset, readout_to_dataset

    counts, voting, linear = _fitted_readouts(2)
    old = readout_to_dataset(voting, linear).drop_vars("linear_classes").rename({"linear_row": "class"})
    old.attrs.pop("readout_format")
    old.attrs.update(linear_classes=json.dumps(list(range(10))),
                     linear_params=json.dumps({"C": 1.0, "multi_class": "deprecated", "max_iter": 1000}))
    _, back = readout_from_dataset(old)
    np.testing.assert_array_equal(back.predict(counts), linear.predict(counts))
