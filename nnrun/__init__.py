"""nnrun: a command-line experiment runner for neural networks."""

import os as _os

# TensorFlow's C++ start-up chatter is noise for a CLI; users can still override it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
