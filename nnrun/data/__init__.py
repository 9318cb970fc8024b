"""Datasets: sources by name -> split, scaled, encoded arrays. Never imports TensorFlow."""

from nnrun.data.base import DataProblem, Dataset, Raw
from nnrun.data.prepare import prepare

__all__ = ["DataProblem", "Dataset", "Raw", "prepare"]
