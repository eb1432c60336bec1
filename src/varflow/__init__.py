"""varflow: machine-learning methods for genetic variants as one pipeline."""

__version__ = "0.1.0"
