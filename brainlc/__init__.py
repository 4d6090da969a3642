"""brainlc: locally connected, convolutional and fully connected spiking networks
trained by STDP with trainable competition, on Brian2."""

from .config import NetworkConfig

__version__ = "0.1.0"

__all__ = ["NetworkConfig", "__version__"]
