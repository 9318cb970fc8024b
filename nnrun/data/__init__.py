"""Datasets: sources by name -> split, scaled, encoded arrays. Never imports TensorFlow."""

from nnrun.data.base import DataProblem, Dataset, Raw
from nnrun.data.prepare import prepare
from nnrun.data.preprocess import PreprocessingRecord, Preprocessor, Target

__all__ = ["DataProblem", "Dataset", "PreprocessingRecord", "Preprocessor", "Raw", "Target", "prepare"]
