"""brainlc: locally connected, convolutional and fully connected spiking networks
trained by STDP with trainable competition, on Brian2.

The public API, importable from here; heavy modules (Brian2, xarray, scikit-learn) load
only when the names that need them are first used::

    from brainlc import CompiledNetwork, load_preset, load_mnist, firing_rates, Store
"""

from __future__ import annotations

import importlib

from .config import NetworkConfig
from .errors import BrainlcError

__version__ = "0.1.0"

_EXPORTS = {
    "CompiledNetwork": "simulation", "RunResult": "simulation",
    "ReplicaEvaluator": "replicas", "ReplicaTrainer": "training_replicas",
    "NetworkState": "state", "initial_state": "state",
    "build_connectivity": "topology", "Connectivity": "topology",
    "load_preset": "presets", "preset_names": "presets",
    "load_mnist": "data", "firing_rates": "encoding",
    "Store": "store", "SavedNetwork": "store",
    "run_new": "experiment", "train_more": "experiment", "evaluate": "experiment",
    "predict": "experiment", "record": "experiment",
    "SpikeVoting": "readout", "LinearReadout": "readout",
    "read_recording": "recording", "write_recording": "recording",
}

__all__ = ["NetworkConfig", "BrainlcError", "__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'brainlc' has no attribute {name!r}")
