"""What a network is, in numpy alone: its configuration and presets, the index maps of its
connections, its state, the input encoding, the readouts, and the numpy reference model
with its traces. Never imports Brian2."""
