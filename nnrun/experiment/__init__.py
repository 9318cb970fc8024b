"""One experiment end to end: config -> data -> model -> trainer -> run folder.

- `prepare`: everything that can fail because of the user's input, without TensorFlow.
- `lifecycle`: `execute` builds, trains and closes the run folder, whatever happens.
- `history`: the hooks that write history.csv and TensorBoard while training.
- `artefacts`: the model, test metrics, predictions, figures and diagnosis of a finished run.
- Stop signals are handled by `nnrun.signals`, shared with the sweep runner.

Importing this package does not import TensorFlow (`execute` does, when called).
"""

from nnrun.experiment.lifecycle import Outcome, execute, release_session, seed_everything
from nnrun.experiment.prepare import Prepared, prepare_experiment, prepare_loaded
from nnrun.signals import Interrupted

__all__ = [
    "Interrupted",
    "Outcome",
    "Prepared",
    "execute",
    "prepare_experiment",
    "prepare_loaded",
    "release_session",
    "seed_everything",
]
