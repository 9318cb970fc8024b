"""The declarative config: pydantic models, YAML loading with line numbers, checks.

Never imports TensorFlow or Keras.
"""

from nnrun.spec.config import Spec
from nnrun.spec.parse import load_spec, loads_spec

__all__ = ["Spec", "load_spec", "loads_spec"]
