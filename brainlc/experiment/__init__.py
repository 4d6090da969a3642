"""One experiment: the protocol and its image splits, MNIST, the user's own images, and the
one path that trains, calibrates, tests and saves a network (:mod:`brainlc.experiment.runs`)."""
