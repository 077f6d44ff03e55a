"""dlsetup: from a GPU box with a driver (or no GPU) to a verified deep-learning environment."""

__version__ = "0.1.0"
