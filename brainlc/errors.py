"""The one base class of every error a user can cause; the CLI reports each as one line."""


class BrainlcError(Exception):
    """Bad input, a missing requirement or a store problem, explained in the message."""
