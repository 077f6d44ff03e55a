"""dlsetup: from a GPU box (driver or not, or no GPU) to a verified, reproducible deep-learning environment."""

__version__ = "0.1.0"
