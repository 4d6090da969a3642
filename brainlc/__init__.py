"""brainlc: locally connected, convolutional and fully connected spiking networks
trained by STDP with trainable competition, on Brian2.

The public API, importable from here; heavy modules (Brian2, xarray, scikit-learn) load
only when the names that need them are first used::

    from brainlc import CompiledNetwork, load_preset, load_mnist, firing_rates, Store
"""

from __future__ import annotations

import importlib

from .core.config import NetworkConfig
from .errors import BrainlcError

__version__ = "0.1.0"

_EXPORTS = {
    "CompiledNetwork": "sim.simulation", "RunResult": "sim.simulation",
    "ReplicaEvaluator": "sim.replicas", "ReplicaTrainer": "sim.training_replicas",
    "NetworkState": "core.state", "initial_state": "core.state",
    "build_connectivity": "core.topology", "Connectivity": "core.topology",
    "load_preset": "core.presets", "preset_names": "core.presets",
    "load_mnist": "experiment.mnist", "firing_rates": "core.encoding",
    "Store": "storage.store", "SavedNetwork": "storage.store",
    "run_new": "experiment.runs", "train_more": "experiment.runs", "evaluate": "experiment.runs",
    "predict": "experiment.runs", "record": "experiment.runs",
    "SpikeVoting": "core.readout", "LinearReadout": "core.readout",
    "read_recording": "storage.recording", "write_recording": "storage.recording",
}

__all__ = ["NetworkConfig", "BrainlcError", "__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'brainlc' has no attribute {name!r}")
